"""A low-level HTTPS client for the request-path tests: it speaks to
https://api.openai.com:443 (a private /etc/hosts and the aigw CA given in
--ca) and does what well-behaved clients do not: sends raw bytes, trickles a
body, stops reading, or watches how a stream ends. Prints one JSON line.

  probe.py --ca CA raw HEX                  send bytes; status, time, closed
  probe.py --ca CA trickle LEN EVERY_MS     a body of LEN bytes, a byte at a time
  probe.py --ca CA upload LEN HOLD_S        head + half the body, then hold
  probe.py --ca CA noread BODY HOLD_S       ask for a stream, never read it
  probe.py --ca CA streamend BODY [HDR...]  read a stream to its end: how it ended
  probe.py --ca CA hold HOLD_S              connect, handshake, then hold
"""
import json
import socket
import ssl
import sys
import time

HOST = "api.openai.com"


def connect(ca, timeout=30):
    ctx = ssl.create_default_context(cafile=ca)
    raw = socket.create_connection((HOST, 443), timeout=timeout)
    # no ragged EOFs: a FIN without close_notify must not pass for an end
    return ctx.wrap_socket(raw, server_hostname=HOST, suppress_ragged_eofs=False)


def read_response(s):
    """Read until close or a whole head + Content-Length body."""
    got = b""
    closed = False
    reset = False
    try:
        while True:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            got += b
            head, sep, body = got.partition(b"\r\n\r\n")
            if sep:
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length" and len(body) >= int(v):
                        if b"\r\nconnection: close" not in head.lower():
                            return got, closed, reset
                        # the server said it closes: see that it does
                        s.settimeout(5)
    except ConnectionResetError:
        reset = True
    except ssl.SSLError as e:
        reset = "RESET" in str(e).upper() or "EOF" in str(e).upper()
    except socket.timeout:
        pass
    return got, closed, reset


def tcp_end(s):
    """How the peer ended the connection, from the kernel's TCP state (TLS
    libraries report a reset and a bare FIN alike): "reset" or "fin"."""
    try:
        state = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
    except OSError:
        return "?"
    return {7: "reset", 8: "fin"}.get(state, f"state{state}")


def status_of(got):
    return int(got.split(b" ", 2)[1]) if got.startswith(b"HTTP/1.1 ") else None


def post_head(length, extra=""):
    return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"{extra}Content-Length: {length}\r\n\r\n").encode()


def main():
    args = sys.argv[1:]
    ca = args[1]
    cmd, rest = args[2], args[3:]
    t0 = time.monotonic()
    out = {}
    if cmd == "raw":
        s = connect(ca)
        s.sendall(bytes.fromhex(rest[0]))
        got, closed, reset = read_response(s)
        out = {"status": status_of(got), "closed": closed or reset, "head": got[:300].decode("latin-1")}
    elif cmd == "trickle":
        n, every = int(rest[0]), int(rest[1]) / 1000
        s = connect(ca)
        s.sendall(post_head(n))
        sent = 0
        try:
            while sent < n:
                s.sendall(b"x")
                sent += 1
                time.sleep(every)
        except OSError:
            pass
        got, closed, reset = read_response(s)
        out = {"status": status_of(got), "sent": sent, "closed": closed or reset,
               "head": got[:300].decode("latin-1")}
    elif cmd == "upload":
        n, hold = int(rest[0]), float(rest[1])
        s = connect(ca)
        s.sendall(post_head(n))
        try:
            s.sendall(b"x" * (n // 2))
        except OSError:
            pass
        s.settimeout(hold)
        got, closed, reset = read_response(s)
        out = {"status": status_of(got), "closed": closed or reset,
               "retry_after": next((line.split(b":", 1)[1].strip().decode() for line in got.split(b"\r\n")
                                    if line.lower().startswith(b"retry-after:")), None)}
    elif cmd == "noread":
        body, hold = rest[0].encode(), float(rest[1])
        s = connect(ca)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(post_head(len(body), "X-Fake-Stream-Bytes: 200000000\r\n") + body)
        print(json.dumps({"sent": True}), flush=True)
        time.sleep(hold)
        out = {"held": hold}
    elif cmd == "streamend":
        body = rest[0].encode()
        extra = "".join(h + "\r\n" for h in rest[1:])
        s = connect(ca, timeout=20)
        s.sendall(post_head(len(body), extra) + body)
        got = b""
        how = "timeout"
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    how = "close_notify"  # a clean TLS end
                    break
                got += b
                if len(got) < 4096:
                    print(json.dumps({"first": got[:120].decode("latin-1")}), flush=True)
        except (ConnectionResetError, ssl.SSLError):
            how = tcp_end(s)
        except socket.timeout:
            how = "timeout"
        out = {"how": how, "bytes": len(got), "status": status_of(got),
               "tail": got[-120:].decode("latin-1")}
    elif cmd == "hold":
        s = connect(ca)
        print(json.dumps({"connected": True}), flush=True)
        time.sleep(float(rest[0]))
        out = {"held": True}
    out["ms"] = int((time.monotonic() - t0) * 1000)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
