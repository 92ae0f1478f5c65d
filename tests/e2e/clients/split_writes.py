"""One keep-alive TLS connection to https://api.openai.com (verified with
the aigw CA given) whose requests arrive in awkward pieces: two requests in
one write (pipelined), a head and its body in separate writes with pauses
between them, and a head dribbled in small pieces. Each must be answered, in
order, on the same connection. Prints one JSON line: the statuses."""
import json
import socket
import ssl
import sys
import time

BODY = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}).encode()


def request(body=BODY):
    return (b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)) + body


class Reader:
    def __init__(self, s):
        self.s, self.buf = s, b""

    def response(self):
        """One response with a Content-Length body; its status."""
        while b"\r\n\r\n" not in self.buf:
            b = self.s.recv(65536)
            if not b:
                raise EOFError("closed before a response head")
            self.buf += b
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        n = 0
        for h in lines[1:]:
            k, _, v = h.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v)
        while len(rest) < n:
            b = self.s.recv(65536)
            if not b:
                raise EOFError("closed mid-body")
            rest += b
        self.buf = rest[n:]
        return int(lines[0].split()[1])


def main():
    ctx = ssl.create_default_context(cafile=sys.argv[1])
    s = ctx.wrap_socket(socket.create_connection(("api.openai.com", 443), timeout=10),
                        server_hostname="api.openai.com")
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    r = Reader(s)
    statuses = []
    # two requests in one write
    s.sendall(request() + request())
    statuses += [r.response(), r.response()]
    # the head, a pause, then the body; then the same after a longer pause
    for pause in (0.05, 0.3):
        req = request()
        cut = req.index(b"\r\n\r\n") + 4
        s.sendall(req[:cut])
        time.sleep(pause)
        s.sendall(req[cut:])
        statuses.append(r.response())
    # a head in pieces of 7 bytes, 10 ms apart
    req = request()
    for i in range(0, len(req), 7):
        s.sendall(req[i:i + 7])
        time.sleep(0.01)
    statuses.append(r.response())
    # idle a moment, then one more
    time.sleep(0.2)
    s.sendall(request())
    statuses.append(r.response())
    s.close()
    print(json.dumps({"statuses": statuses}))


if __name__ == "__main__":
    main()
