"""A TLS client whose server name is chosen freely (none, any name, a
trailing dot), run inside a test cgroup (or a netns of its own). Connects to
IP:PORT, verifies the chain against --cafile (and the name unless
--no-name-check), optionally POSTs a JSON body, and prints one JSON line:
pid, the peer the kernel reports (getpeername), the server certificate's
subject and issuer CN, the status and body, or the error and errno.

With --hold it connects (TLS done), prints {"ready": true, "pid": ...} and
waits for a line on stdin before sending its request: a connection that
lives across whatever the test does meanwhile.
"""
import argparse
import json
import os
import socket
import ssl
import sys

from close_delimited import read_answer


def cn(name):
    for rdn in name or ():
        for k, v in rdn:
            if k == "commonName":
                return v
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ip", required=True)
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--sni", default="api.openai.com", help='"" sends none')
    ap.add_argument("--host-header", default=None)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--no-name-check", action="store_true")
    ap.add_argument("--path", default="/v1/models")
    ap.add_argument("--body", default=None, help="JSON to POST")
    ap.add_argument("--hold", action="store_true")
    ap.add_argument("--timeout", type=float, default=10)
    a = ap.parse_args()
    out = {"pid": os.getpid()}
    try:
        raw = socket.create_connection((a.ip, a.port), timeout=a.timeout)
        out["peer"] = list(raw.getpeername()[:2])
        ctx = ssl.create_default_context(cafile=a.cafile)
        if a.no_name_check or not a.sni:
            ctx.check_hostname = False
        s = ctx.wrap_socket(raw, server_hostname=a.sni or None)
        cert = s.getpeercert()
        out["subject"] = cn(cert.get("subject"))
        out["issuer"] = cn(cert.get("issuer"))
        if a.hold:
            print(json.dumps({"ready": True, "pid": os.getpid(), "peer": out["peer"]}), flush=True)
            sys.stdin.readline()
        host = a.host_header or a.sni or a.ip
        if a.body is None:
            req = f"GET {a.path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
        else:
            body = a.body.encode()
            req = (f"POST {a.path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        s.sendall(req)
        out["status"], out["body"] = read_answer(s)
    except (OSError, ValueError, IndexError) as e:
        out["error"] = str(e)
        out["errno"] = getattr(e, "errno", None)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
