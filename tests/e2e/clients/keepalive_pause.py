"""One keep-alive connection, two requests: the second waits until the file
given as argv[1] exists. Prints one JSON line per response."""
import json
import os
import sys
import time

import requests

URL = "https://api.openai.com/v1/chat/completions"
s = requests.Session()
body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
r = s.post(URL, json=body, timeout=30)
print(json.dumps({"status": r.status_code}), flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
r = s.post(URL, json=body, timeout=30)
print(json.dumps({"status": r.status_code, "retry_after": r.headers.get("Retry-After"),
                  "body": r.text}), flush=True)
