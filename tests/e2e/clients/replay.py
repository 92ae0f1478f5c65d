"""Replays every file of a directory, byte for byte, each over its own TLS
connection to https://api.openai.com (a private /etc/hosts, the aigw CA in
argv[2]), and reports what came back: a status, a close, or a timeout.
Prints one JSON line."""
import json
import os
import socket
import ssl
import sys


def main():
    directory, ca = sys.argv[1], sys.argv[2]
    ctx = ssl.create_default_context(cafile=ca)
    out = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        try:
            s = ctx.wrap_socket(socket.create_connection(("api.openai.com", 443), timeout=10),
                                server_hostname="api.openai.com")
        except OSError as e:
            out[name] = "connect:" + str(e)
            continue
        try:
            s.sendall(data)
        except OSError:
            pass
        got = b""
        try:
            while len(got) < 16:
                b = s.recv(4096)
                if not b:
                    break
                got += b
            out[name] = got.split(b" ", 2)[1].decode() if got.startswith(b"HTTP/1.1 ") else "closed"
        except (OSError, ssl.SSLError):
            out[name] = "closed" if not got else "partial"
        except socket.timeout:
            out[name] = "timeout"
        s.close()
    print(json.dumps({"results": out}))


if __name__ == "__main__":
    main()
