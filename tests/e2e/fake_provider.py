"""A fake LLM provider for the end-to-end tests: plays the outside world.

HTTPS (its own test CA) on the addresses given with --listen, or plain HTTP
with --plain (a self-hosted server), HTTP/1.1 with keep-alive. Every TCP connection and every request is appended to --log as a
JSON line, so a test can assert what reached "the provider" (and what did not).

Endpoints (OpenAI-shaped unless said):
  GET  /v1/models                    a model list
  POST /v1/chat/completions          JSON completion with usage (X-Fake-Usage:
                                     IN,OUT sets it); X-Fake-Stall-After-Head:
                                     a close-delimited body that stops after
                                     a few bytes; X-Fake-Stream-Bytes: N with
                                     "stream": an SSE stream of N bytes, fast;
                                     with
                                     "stream": true, SSE chunks spaced by
                                     X-Fake-Delay-Ms (default 50) ms;
                                     X-Fake-Text: the answer's text (JSON and
                                     stream), cut into X-Fake-Piece (default 5)
                                     character deltas when streamed
  anything else                      404 in OpenAI's error shape
Prints "ready" on stdout once listening.
"""
import argparse
import json
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
LOG = None
MODE_FILE = None
CONN_IDS = iter(range(1, 1 << 62))
STREAM_DELAY_MS = 100


def record(event):
    event["t"] = time.time()
    with LOCK:
        LOG.write(json.dumps(event) + "\n")
        LOG.flush()


TOOL_ARGS = {"city": "Paris", "unit": "celsius"}

COMPLETION = {
    "id": "chatcmpl-fake1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the fake provider."},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-provider/1"

    def log_message(self, fmt, *args):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _record(self, body):
        record({"event": "request", "conn": self.conn_id, "method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace")})

    def _send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def setup(self):
        super().setup()
        self.conn_id = self.server.conn_id_of.pop(id(self.request), 0)

    def do_GET(self):
        self._record(b"")
        if self.path == "/v1/models":
            return self._send_json(200, {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})
        self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error", "code": None}})

    def _mode(self):
        if not MODE_FILE:
            return "ok"
        try:
            with open(MODE_FILE) as f:
                return f.readline().strip() or "ok"
        except OSError:
            return "ok"

    def _fault(self, mode):
        """Play the fault; True when the request is answered (or never will be)."""
        if mode.startswith("status:"):
            parts = mode.split(":")
            code = int(parts[1])
            anth = self.path == "/v1/messages"
            body = ({"type": "error", "error": {"type": "overloaded_error" if code >= 500 else "rate_limit_error",
                                                "message": f"fake {code}"}} if anth else
                    {"error": {"message": f"fake {code}", "type": "server_error", "code": None}})
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            if len(parts) > 2:
                self.send_header("Retry-After", parts[2])
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return True
        if mode == "hang":
            self.connection.settimeout(30)
            try:
                while self.connection.recv(4096):
                    pass
            except OSError:
                pass
            self.close_connection = True
            return True
        if mode == "reset-head":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Ty")
            self.wfile.flush()
            # linger 0: the close is a TCP reset (no TLS close_notify first)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return True
        if mode.startswith("delay:"):
            time.sleep(int(mode.split(":")[1]) / 1000.0)
        return False

    def _die_after_first(self, first):
        """Send the stream's head and first event, then just end."""
        self._sse_start()
        self._chunk(first)
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def do_POST(self):
        body = self._body()
        self._record(body)
        self.mode = self._mode()
        if self._fault(self.mode):
            return
        if self.path == "/v1/messages":
            return self._anthropic(body)
        if self.path.startswith("/v1beta/models/"):
            return self._gemini(body)
        if self.path != "/v1/chat/completions":
            return self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error",
                                                   "code": None}})
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return self._send_json(400, {"error": {"message": "bad json", "type": "invalid_request_error",
                                                   "code": None}})
        if not isinstance(req, dict):
            req = {}
        if self.headers.get("X-Fake-Stall-After-Head"):
            return self._stall_after_head()
        if req.get("stream") and self.headers.get("X-Fake-Stream-Bytes"):
            return self._big_stream(req, int(self.headers["X-Fake-Stream-Bytes"]))
        tool = (req.get("tools") or [{}])[0].get("function", {}).get("name")
        if not req.get("stream") and tool:
            msg = {"role": "assistant", "content": None,
                   "tool_calls": [{"id": "call_fake1", "type": "function",
                                   "function": {"name": tool, "arguments": json.dumps(TOOL_ARGS)}}]}
            out = dict(COMPLETION, model=req.get("model", COMPLETION["model"]),
                       choices=[{"index": 0, "message": msg, "finish_reason": "tool_calls"}])
            return self._send_json(200, out)
        text = self.headers.get("X-Fake-Text")
        if not req.get("stream"):
            out = dict(COMPLETION, model=req.get("model", COMPLETION["model"]))
            if text is not None:
                out["choices"] = [{"index": 0, "message": {"role": "assistant", "content": text},
                                   "finish_reason": "stop"}]
            if self.headers.get("X-Fake-Usage"):
                # "IN,OUT": a response that reports this many tokens
                tin, tout = (int(x) for x in self.headers["X-Fake-Usage"].split(","))
                out["usage"] = {"prompt_tokens": tin, "completion_tokens": tout,
                                "total_tokens": tin + tout}
            return self._send_json(200, out)
        delay = int(self.headers.get("X-Fake-Delay-Ms") or STREAM_DELAY_MS) / 1000.0
        if self.mode == "die-after-first-event":
            return self._die_after_first(
                b'data: {"id":"chatcmpl-fake1","object":"chat.completion.chunk","created":1700000000,'
                b'"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},'
                b'"finish_reason":null}]}\n\n')
        if tool:
            return self._openai_tool_stream(req, tool)
        if self.headers.get("X-Fake-Die-Mid-Stream"):
            # Headers and one event, then the connection just ends.
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._chunk(b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n')
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        words = ["Hello", " from", " the", " fake", " provider", "."]
        if text is not None:
            piece = int(self.headers.get("X-Fake-Piece") or 5)
            words = [text[i:i + piece] for i in range(0, len(text), piece)]
        for i, w in enumerate(words):
            chunk = {"id": "chatcmpl-fake1", "object": "chat.completion.chunk", "created": 1700000000,
                     "model": req.get("model", "gpt-4o-mini"),
                     "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]}
            self._chunk(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            time.sleep(delay)
        if (req.get("stream_options") or {}).get("include_usage"):
            usage = {"id": "chatcmpl-fake1", "object": "chat.completion.chunk", "created": 1700000000,
                     "model": req.get("model", "gpt-4o-mini"), "choices": [], "usage": COMPLETION["usage"]}
            self._chunk(b"data: " + json.dumps(usage).encode() + b"\n\n")
        self._chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _openai_tool_stream(self, req, tool):
        self._sse_start()
        base = {"id": "chatcmpl-fake1", "object": "chat.completion.chunk", "created": 1700000000,
                "model": req.get("model", "gpt-4o-mini")}
        args = json.dumps(TOOL_ARGS)
        deltas = [{"role": "assistant", "content": None,
                   "tool_calls": [{"index": 0, "id": "call_fake1", "type": "function",
                                   "function": {"name": tool, "arguments": ""}}]},
                  {"tool_calls": [{"index": 0, "function": {"arguments": args[:7]}}]},
                  {"tool_calls": [{"index": 0, "function": {"arguments": args[7:]}}]}]
        for d in deltas:
            ev = dict(base, choices=[{"index": 0, "delta": d, "finish_reason": None}])
            self._chunk(b"data: " + json.dumps(ev).encode() + b"\n\n")
        ev = dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "tool_calls"}])
        self._chunk(b"data: " + json.dumps(ev).encode() + b"\n\n")
        if (req.get("stream_options") or {}).get("include_usage"):
            ev = dict(base, choices=[], usage=COMPLETION["usage"])
            self._chunk(b"data: " + json.dumps(ev).encode() + b"\n\n")
        self._chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _sse_start(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _anthropic(self, body):
        req = json.loads(body or b"{}")
        usage_start = {"input_tokens": 25, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 5,
                       "output_tokens": 1}
        tool = (req.get("tools") or [{}])[0].get("name")
        text = self.headers.get("X-Fake-Text", "Hi")
        if not req.get("stream"):
            content = [{"type": "text", "text": text}]
            if tool:
                content.append({"type": "tool_use", "id": "toolu_fake1", "name": tool, "input": TOOL_ARGS})
            return self._send_json(200, {"id": "msg_fake", "type": "message", "role": "assistant",
                                         "model": req.get("model"), "content": content,
                                         "stop_reason": "tool_use" if tool else "end_turn",
                                         "usage": dict(usage_start, output_tokens=9)})
        start = ("message_start", {"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": req.get("model"),
            "content": [], "usage": usage_start}})
        if self.mode == "die-after-first-event":
            return self._die_after_first(f"event: {start[0]}\ndata: {json.dumps(start[1])}\n\n".encode())
        self._sse_start()
        events = [start,
                  ("content_block_start", {"type": "content_block_start", "index": 0,
                                           "content_block": {"type": "text", "text": ""}}),
                  *(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                             "delta": {"type": "text_delta", "text": text[i:i + 6]}})
                    for i in range(0, len(text), 6)),
                  ("content_block_stop", {"type": "content_block_stop", "index": 0})]
        if tool:
            args = json.dumps(TOOL_ARGS)
            events += [("content_block_start", {"type": "content_block_start", "index": 1,
                                                "content_block": {"type": "tool_use", "id": "toolu_fake1",
                                                                  "name": tool, "input": {}}}),
                       ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                                "delta": {"type": "input_json_delta", "partial_json": args[:5]}}),
                       ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                                "delta": {"type": "input_json_delta", "partial_json": args[5:]}}),
                       ("content_block_stop", {"type": "content_block_stop", "index": 1})]
        events += [("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": "tool_use" if tool else "end_turn"},
                                      "usage": {"output_tokens": 9}}),
                   ("message_stop", {"type": "message_stop"})]
        for name, ev in events:
            self._chunk(f"event: {name}\ndata: {json.dumps(ev)}\n\n".encode())
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _gemini(self, body):
        usage = {"promptTokenCount": 13, "candidatesTokenCount": 4, "totalTokenCount": 17}
        cand = {"content": {"parts": [{"text": "Hi"}], "role": "model"}, "finishReason": "STOP"}
        if ":streamGenerateContent" not in self.path:
            return self._send_json(200, {"candidates": [cand], "usageMetadata": usage,
                                         "modelVersion": "gemini-2.0-flash"})
        self._sse_start()
        first = {"candidates": [cand], "usageMetadata": {"promptTokenCount": 13, "totalTokenCount": 13},
                 "modelVersion": "gemini-2.0-flash"}
        for ev in (first, {"candidates": [cand], "usageMetadata": usage, "modelVersion": "gemini-2.0-flash"}):
            self._chunk(b"data: " + json.dumps(ev).encode() + b"\r\n\r\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _stall_after_head(self):
        # A close-delimited body (no Content-Length, not chunked) that stops
        # after its first bytes: only a reset can tell the client it is cut.
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b'{"id": "chatcmpl-stall", "choices": [')
        self.wfile.flush()
        time.sleep(30)
        self.close_connection = True

    def _big_stream(self, req, total):
        # As many bytes of SSE as asked, as fast as the client takes them.
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = {"id": "chatcmpl-big", "object": "chat.completion.chunk", "created": 1700000000,
                 "model": req.get("model", "gpt-4o-mini"),
                 "choices": [{"index": 0, "delta": {"content": "x" * 900}, "finish_reason": None}]}
        ev = b"data: " + json.dumps(chunk).encode() + b"\n\n"
        batch = ev * 64
        sent = 0
        try:
            while sent < total:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(batch), batch))
                sent += len(batch)
            if (req.get("stream_options") or {}).get("include_usage"):
                usage = {"id": "chatcmpl-big", "object": "chat.completion.chunk", "created": 1700000000,
                         "model": req.get("model", "gpt-4o-mini"), "choices": [],
                         "usage": COMPLETION["usage"]}
                self._chunk(b"data: " + json.dumps(usage).encode() + b"\n\n")
            self._chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, family, ctx):
        self.address_family = family
        self.ctx = ctx
        self.conn_id_of = {}
        super().__init__(addr, Handler)

    def process_request_thread(self, request, client_address):
        cid = next(CONN_IDS)
        record({"event": "connect", "conn": cid, "peer": list(client_address[:2]),
                "local": list(request.getsockname()[:2])})
        # No Nagle, as a provider's SSE server: each event leaves when written,
        # not when the peer's delayed ACK of the last one comes back (which
        # made the first event of a stream late by up to ~100 ms).
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if self.ctx:
                request = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            record({"event": "tls_error", "conn": cid, "error": str(e)})
            self.shutdown_request(request)
            return
        self.conn_id_of[id(request)] = cid
        super().process_request_thread(request, client_address)


def parse_listen(s):
    if s.startswith("["):
        host, port = s[1:].split("]:")
        return (host, int(port)), socket.AF_INET6
    host, port = s.rsplit(":", 1)
    return (host, int(port)), socket.AF_INET


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", action="append", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--stream-delay-ms", type=int, default=100)
    ap.add_argument("--mode-file")
    ap.add_argument("--plain", action="store_true", help="plain HTTP, no TLS (a self-hosted server)")
    a = ap.parse_args()
    global MODE_FILE
    MODE_FILE = a.mode_file
    global STREAM_DELAY_MS
    STREAM_DELAY_MS = a.stream_delay_ms
    LOG = open(a.log, "a")
    ctx = None
    if not a.plain:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        ctx.set_alpn_protocols(["http/1.1"])
    servers = []
    for spec in a.listen:
        addr, fam = parse_listen(spec)
        srv = TLSServer(addr, fam, ctx)
        servers.append(srv)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("ready", flush=True)
    try:
        threading.Event().wait()  # until the test ends us with SIGTERM
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
