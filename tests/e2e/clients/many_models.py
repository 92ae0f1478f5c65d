"""One keep-alive session (Debian's python3-requests), one chat completion
per model name given on stdin (one per line). Prints one JSON line: the
statuses seen."""
import json
import sys

import requests

s = requests.Session()
statuses = {}
for model in sys.stdin.read().split():
    r = s.post("https://api.openai.com/v1/chat/completions",
               json={"model": model, "messages": [{"role": "user", "content": "hi"}]}, timeout=30)
    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
print(json.dumps({"statuses": statuses}))
