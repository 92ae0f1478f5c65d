"""Debian's python3-requests, unmodified: posts the same JSON body N times to
URL over one keep-alive session (or a new connection each time with
--fresh), and prints one JSON line: every status and response body.

    post_many.py URL N BODY_JSON [--header 'Name: value']... [--fresh]"""
import json
import sys

import requests


def main():
    url, n, body = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    headers, fresh = {"Authorization": "Bearer sk-dummy-client-key"}, False
    args = sys.argv[4:]
    while args:
        a = args.pop(0)
        if a == "--header":
            k, v = args.pop(0).split(":", 1)
            headers[k.strip()] = v.strip()
        elif a == "--fresh":
            fresh = True
    out = {"ok": True, "statuses": [], "bodies": []}
    s = requests.Session()
    try:
        for _ in range(n):
            r = (requests if fresh else s).post(url, headers=headers, json=body, timeout=30)
            out["statuses"].append(r.status_code)
            out["bodies"].append(r.text)
    except Exception as e:  # noqa: BLE001 - the test reads what went wrong
        out.update(ok=False, error=f"{type(e).__name__}: {e}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
