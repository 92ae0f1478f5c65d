"""Debian's python3-requests, unmodified: posts a chat completion to
https://api.openai.com (which the test's private /etc/hosts points at the
fake provider). Prints one JSON line. Modes: json, stream, keepalive N."""
import json
import sys
import time

import requests

URL = "https://api.openai.com/v1/chat/completions"
HDRS = {"Authorization": "Bearer sk-test-not-a-real-key"}


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "json"
    t0 = time.monotonic()
    out = {"ok": True}
    try:
        if mode == "stream":
            r = requests.post(URL, headers=HDRS, json={"model": "gpt-4o-mini", "stream": True,
                                                       "messages": [{"role": "user", "content": "hi"}]},
                              stream=True, timeout=30)
            out["status"] = r.status_code
            out["events"] = []
            for line in r.iter_lines():
                if line:
                    out["events"].append({"t": (time.monotonic() - t0) * 1000, "line": line.decode()})
        elif mode == "keepalive":
            n = int(sys.argv[2])
            s = requests.Session()
            out["bodies"] = []
            for _ in range(n):
                r = s.post(URL, headers=HDRS, json={"model": "gpt-4o-mini",
                                                    "messages": [{"role": "user", "content": "hi"}]}, timeout=30)
                out["bodies"].append(r.text)
                out["status"] = r.status_code
        else:
            r = requests.post(URL, headers=HDRS, json={"model": sys.argv[2] if len(sys.argv) > 2 else "gpt-4o-mini",
                                                       "messages": [{"role": "user", "content": "hi"}]}, timeout=30)
            out["status"] = r.status_code
            out["body"] = r.text
            out["headers"] = dict(r.headers)
    except Exception as e:  # report, the test asserts
        out = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
