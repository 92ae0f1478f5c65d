"""UDP to IP:PORT as an HTTP/3 client would start: a connected socket
(connect, then send) and an unconnected one (sendto). Prints one JSON line
with the errno of each (0 when it went out)."""
import json
import socket
import sys


def attempt(ip, port, connected):
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        if connected:
            s.connect((ip, port))
            s.send(b"\xc0quic-initial")
        else:
            s.sendto(b"\xc0quic-initial", (ip, port))
        return 0
    except OSError as e:
        return e.errno
    finally:
        s.close()


ip, port = sys.argv[1], int(sys.argv[2])
print(json.dumps({"connect_send": attempt(ip, port, True), "sendto": attempt(ip, port, False)}))
