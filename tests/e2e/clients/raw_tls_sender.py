"""Sends each file of a corpus of malformed HTTP/1.1 requests, byte for
byte, over its own TLS connection to https://api.openai.com (verified with
the aigw CA given), and checks the answer: the status listed in the
corpus's EXPECTED file, then a closed connection. Prints one JSON line."""
import json
import os
import socket
import ssl
import sys


def exchange(data, ctx):
    s = ctx.wrap_socket(socket.create_connection(("api.openai.com", 443), timeout=10),
                        server_hostname="api.openai.com")
    try:
        s.sendall(data)
    except OSError:
        pass  # the gateway may answer and close before taking everything
    got = b""
    closed = False
    try:
        while True:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            got += b
    except (ssl.SSLError, ConnectionResetError):
        closed = True
    except socket.timeout:
        closed = False
    s.close()
    return got, closed


def main():
    corpus, cafile = sys.argv[1], sys.argv[2]
    ctx = ssl.create_default_context(cafile=cafile)
    results = {}
    with open(os.path.join(corpus, "EXPECTED")) as f:
        cases = [line.split() for line in f if line.strip() and not line.startswith("#")]
    for name, want in cases:
        with open(os.path.join(corpus, name), "rb") as f:
            data = f.read()
        try:
            got, closed = exchange(data, ctx)
        except OSError as e:
            results[name] = {"ok": False, "error": str(e)}
            continue
        status = got.split(b" ", 2)[1].decode() if got.startswith(b"HTTP/1.1 ") else None
        ok = status == want and closed
        results[name] = {"ok": ok, "want": want, "status": status, "closed": closed,
                         "head": got[:200].decode("latin-1")}
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main()
