"""Issue 10: DLP that acts. Real clients (curl) in a pinned cgroup, the real
daemon and BPF programs, real TLS to the fake provider, which records every
request it receives: a block reaches it not at all, a redaction reaches it as
valid JSON without the secret, a log passes the body unchanged, and a secret
the provider streams across two SSE events is found on the way back."""
import gzip
import json
import os
import random
import string
import time

from aigw_test import (PROVIDER_V4, CgroupTree, Daemon, FakeProvider, hosts_file, run, tmpdir,
                       trust_env, with_hosts)

HOSTS = {"api.openai.com": PROVIDER_V4}
CARD = "4111 1111 1111 1111"


def fake_key(prefix, n, seed):
    rnd = random.Random(seed)
    return prefix + "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(n))


OPENAI_KEY = fake_key("sk-proj-", 64, 10)


def setup(dlp):
    prov = FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    d = Daemon(tree, {"p": {"cgroups": [tree.relpath("A")], "dlp": dlp}}).start()
    return prov, a, d


def post(cgroup, d, body, headers=(), raw=None, stream=False):
    """POST to the chat endpoint; (exit code, status, headers dict, body text)."""
    out = tmpdir("aigw-e2e-dlp-")
    hdr_file, body_file = os.path.join(out, "h"), os.path.join(out, "b")
    data = ["--data-binary", "@" + raw] if raw else ["-d", json.dumps(body)]
    argv = ["curl", "-sS", "--max-time", "20", "-D", hdr_file, "-o", body_file,
            "https://api.openai.com/v1/chat/completions", "-H", "content-type: application/json"]
    for h in headers:
        argv += ["-H", h]
    if stream:
        argv.append("-N")
    r = run(with_hosts(argv + data, hosts_file(HOSTS)), cgroup=cgroup, env=trust_env(d))
    status, hdrs = 0, {}
    if os.path.exists(hdr_file):
        with open(hdr_file) as f:
            lines = f.read().splitlines()
        if lines and lines[0].startswith("HTTP/"):
            status = int(lines[0].split()[1])
        for line in lines[1:]:
            k, sep, v = line.partition(":")
            if sep:
                hdrs[k.strip().lower()] = v.strip()
    text = open(body_file).read() if os.path.exists(body_file) else ""
    return r.returncode, status, hdrs, text


def records(d, timeout=5):
    """The per-request audit records (written before the response's end)."""
    path = os.path.join(d.config["log_dir"], "audit.jsonl")
    deadline = time.monotonic() + timeout
    while True:
        recs = []
        if os.path.exists(path):
            with open(path) as f:
                recs = [json.loads(x) for x in f if '"event":"request"' in x]
        if recs or time.monotonic() > deadline:
            return recs
        time.sleep(0.05)


def chat(text, **extra):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "be brief"},
                                                 {"role": "user", "content": text}]}
    body.update(extra)
    return body


def test_block_nothing_reaches_the_provider():
    prov, a, d = setup({"action": "block", "detectors": ["credit_card", "openai_key"]})
    before = len(prov.requests())
    rc, status, hdrs, text = post(a, d, chat(f"card {CARD}, key {OPENAI_KEY}"))
    assert rc == 0 and status == 403, (rc, status, text)
    assert hdrs.get("x-aigw-error") == "1", hdrs
    err = json.loads(text)["error"]
    assert "credit_card" in err["message"] and "openai_key" in err["message"], err
    # Named, never shown.
    assert "4111" not in text and OPENAI_KEY not in text, text
    assert len(prov.requests()) == before, "a blocked request reached the provider"
    rec = records(d)[-1]
    assert rec["refusal"] == "dlp" and rec["status"] == 403, rec
    found = {f["detector"]: f for f in rec["dlp"]}
    assert found["credit_card"]["action"] == "block" and found["credit_card"]["where"] == "request"
    assert OPENAI_KEY not in json.dumps(rec)
    # A clean request under the same policy goes through.
    rc, status, _, _ = post(a, d, chat("nothing secret here"))
    assert status == 200 and len(prov.requests()) == before + 1


def test_block_sees_through_gzip_and_disguises():
    prov, a, d = setup({"action": "block", "detectors": ["openai_key", "credit_card"]})
    before = len(prov.requests())
    # The key percent-encoded inside a gzip body; the card with zero-width
    # spaces between its groups, written as JSON escapes.
    body = json.dumps(chat(OPENAI_KEY.replace("-", "%2D"))).encode()
    gz = os.path.join(tmpdir("aigw-e2e-dlp-"), "body.gz")
    with open(gz, "wb") as f:
        f.write(gzip.compress(body))
    rc, status, _, text = post(a, d, None, headers=["content-encoding: gzip"], raw=gz)
    assert status == 403 and "openai_key" in text, (status, text)
    zw = json.dumps(chat("pay with " + CARD.replace(" ", "\u200b")))
    assert "\\u200b" in zw
    raw = os.path.join(tmpdir("aigw-e2e-dlp-"), "zw.json")
    with open(raw, "w") as f:
        f.write(zw)
    rc, status, _, text = post(a, d, None, raw=raw)
    assert status == 403 and "credit_card" in text, (status, text)
    # A decompression bomb is refused before anything is forwarded.
    bomb = json.dumps(chat("a" * (20 << 20))).encode()
    with open(gz, "wb") as f:
        f.write(gzip.compress(bomb, 9))
    rc, status, _, text = post(a, d, None, headers=["content-encoding: gzip"], raw=gz)
    assert status == 413, (status, text)
    assert len(prov.requests()) == before


def test_redact_provider_receives_valid_json_without_the_secret():
    prov, a, d = setup({"action": "redact"})
    rc, status, _, text = post(a, d, chat(f"my card is {CARD} and my key {OPENAI_KEY}",
                                          user="alice@example.com"))
    assert status == 200, (status, text)
    got = prov.requests()[-1]
    sent = json.loads(got["body"])  # valid JSON, and Content-Length matched it
    assert int(got["headers"]["content-length"]) == len(got["body"].encode())
    assert sent["messages"][1]["content"] == \
        "my card is [REDACTED:credit_card] and my key [REDACTED:openai_key]", sent
    assert sent["user"] == "[REDACTED:email]"
    assert sent["messages"][0]["content"] == "be brief" and sent["model"] == "gpt-4o-mini"
    assert "4111" not in got["body"] and OPENAI_KEY not in got["body"]
    rec = records(d)[-1]
    acts = {f["detector"]: (f["action"], f["count"]) for f in rec["dlp"]}
    assert acts == {"credit_card": ("redact", 1), "openai_key": ("redact", 1),
                    "email": ("redact", 1)}, rec


def test_log_passes_the_body_unchanged_and_records_the_finding():
    prov, a, d = setup({"action": "log", "detectors": ["email", "us_ssn"]})
    body = json.dumps(chat("reach me at bob@corp.example.org, ssn 123-45-6789"), indent=1)
    raw = os.path.join(tmpdir("aigw-e2e-dlp-"), "b.json")
    with open(raw, "w") as f:
        f.write(body)
    rc, status, _, text = post(a, d, None, raw=raw)
    assert status == 200, (status, text)
    assert prov.requests()[-1]["body"] == body
    rec = records(d)[-1]
    assert rec["refusal"] == "none" and rec["status"] == 200
    found = sorted((f["detector"], f["action"], f["where"], f["count"]) for f in rec["dlp"])
    assert found == [("email", "log", "request", 1), ("us_ssn", "log", "request", 1)], rec


def sse_text(raw):
    """The assistant text of an OpenAI SSE stream."""
    out = ""
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data: ") and line[6:].strip() != "[DONE]":
                ev = json.loads(line[6:])
                for ch in ev.get("choices", []):
                    out += ch.get("delta", {}).get("content") or ""
    return out


def test_secret_split_across_sse_events_is_redacted():
    prov, a, d = setup({"action": "redact", "detectors": ["openai_key", "email"],
                        "scan_responses": True})
    answer = f"Here is the key you asked for: {OPENAI_KEY} and write to carol@example.com today."
    rc, status, _, text = post(a, d, chat("hi", stream=True), stream=True,
                               headers=[f"X-Fake-Text: {answer}", "X-Fake-Piece: 5",
                                        "X-Fake-Delay-Ms: 5"])
    assert rc == 0 and status == 200, (rc, status, text)
    got = sse_text(text)
    assert got == ("Here is the key you asked for: [REDACTED:openai_key] and write to "
                   "[REDACTED:email] today."), got
    assert OPENAI_KEY[8:20] not in text
    # The key really was cut across events on the way in.
    assert sum(1 for x in text.split("\n\n") if x.startswith("data: ")) > 10
    rec = records(d)[-1]
    found = {(f["detector"], f["where"]) for f in rec["dlp"]}
    assert ("openai_key", "response") in found and ("email", "response") in found, rec


def test_block_on_a_response_cuts_it():
    prov, a, d = setup({"action": "block", "detectors": ["openai_key"], "scan_responses": True})
    answer = f"The key is {OPENAI_KEY}, keep it."
    rc, status, _, text = post(a, d, chat("hi", stream=True), stream=True,
                               headers=[f"X-Fake-Text: {answer}", "X-Fake-Piece: 4",
                                        "X-Fake-Delay-Ms: 5"])
    # The head went out, the body is cut: a broken transfer, never a clean end.
    assert status == 200 and rc != 0, (rc, status, text)
    assert OPENAI_KEY[8:] not in text and "[DONE]" not in text
    rec = records(d)[-1]
    assert rec["refusal"] == "dlp", rec
    assert {"detector": "openai_key", "action": "block", "where": "response", "count": 1} in rec["dlp"]
    # A non-streamed JSON answer is scanned too.
    rc, status, _, text = post(a, d, chat("hi"), headers=[f"X-Fake-Text: {answer}"])
    assert rc != 0 and OPENAI_KEY not in text, (rc, status, text)
