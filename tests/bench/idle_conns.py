"""Opens N keep-alive TLS connections to https://api.openai.com, sends one
request on each (so each holds a pooled upstream connection in the gateway
too), prints "ready" and holds them until stdin closes. For make bench's
memory-per-idle-connection figure."""
import socket
import ssl
import sys

n, ca = int(sys.argv[1]), sys.argv[2]
body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Type: application/json\r\n"
       b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
ctx = ssl.create_default_context(cafile=ca)
conns = []
for _ in range(n):
    s = ctx.wrap_socket(socket.create_connection(("api.openai.com", 443)), server_hostname="api.openai.com")
    s.sendall(req)
    got = b""
    while b"\r\n\r\n" not in got:
        got += s.recv(65536)
    conns.append(s)
print("ready", flush=True)
sys.stdin.read()
