"""A plain TLS client, run inside a test cgroup: connect to IP:PORT with
socket.create_connection, verify the server as HOST against --cafile, send
one HTTP/1.1 request, and print one JSON line: our pid, the peer address the
kernel reports (getpeername), the status and body, or the error and errno.
"""
import argparse
import json
import os
import socket
import ssl
import sys
import time

from close_delimited import read_answer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ip", required=True)
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--host", default="api.openai.com")
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--path", default="/v1/models")
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--plain", action="store_true", help="connect only: no TLS, no request")
    a = ap.parse_args()
    out = {"pid": os.getpid()}
    t0 = time.monotonic()
    try:
        raw = socket.create_connection((a.ip, a.port), timeout=a.timeout)
        out["connect_ms"] = (time.monotonic() - t0) * 1000
        out["peer"] = list(raw.getpeername()[:2])
        if a.plain:
            raw.close()
            print(json.dumps(out), flush=True)
            return
        ctx = ssl.create_default_context(cafile=a.cafile)
        s = ctx.wrap_socket(raw, server_hostname=a.host)
        s.sendall(f"GET {a.path} HTTP/1.1\r\nHost: {a.host}\r\nConnection: close\r\n\r\n".encode())
        out["status"], out["body"] = read_answer(s)
    except OSError as e:
        out["error"] = str(e)
        out["errno"] = e.errno
        out["error_ms"] = (time.monotonic() - t0) * 1000
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
