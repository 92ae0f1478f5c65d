"""What the raw-socket clients share: read a `Connection: close` HTTP/1.1
answer to its end and split it into status and body."""


def read_answer(sock):
    """(status, body text) of the whole answer on sock, read until close."""
    data = b""
    while True:
        b = sock.recv(65536)
        if not b:
            break
        data += b
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body.decode("utf-8", "replace")
