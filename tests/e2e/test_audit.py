"""Issue 10 (audit log): one durable record per request in log_dir/audit.jsonl,
refused requests included; nothing a client sends as a secret is written;
a SIGKILL right after a response loses no record; logrotate's rename +
SIGHUP loses none."""
import json
import os
import signal
import stat
import threading
import time

from aigw_test import (PROVIDER_V4, CgroupTree, Daemon, FakeProvider, hosts_file, run, trust_env,
                       with_hosts)

HOSTS = {"api.openai.com": PROVIDER_V4}
SECRET = "sk-proj-DoNotLogThisKey0123456789abcdef"


def gateway(extra_policy=None):
    tree = CgroupTree()
    a = tree.mk("A")
    pol = {"cgroups": [tree.relpath("A")], "models": {"allow": ["gpt-4o*"]}}
    pol.update(extra_policy or {})
    d = Daemon(tree, {"audited": pol}).start()
    return tree, a, d


def post(a, d, model, n=1, hosts=None, env=None):
    """n requests on one curl (keep-alive); returns the statuses."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]})
    argv = ["curl"]
    for i in range(n):
        if i:
            argv.append("--next")
        argv += ["-sS", "--max-time", "30", "-o", "/dev/null", "-w", "%{http_code}\\n",
                 "https://api.openai.com/v1/chat/completions", "-H", "content-type: application/json",
                 "-H", f"Authorization: Bearer {SECRET}", "-d", body]
    r = run(with_hosts(argv, hosts or hosts_file(HOSTS)), cgroup=a, env=env or trust_env(d), timeout=60)
    assert r.returncode == 0, r.stderr
    return [int(x) for x in r.stdout.split()]


def test_one_record_per_request_under_concurrency():
    FakeProvider()
    tree, a, d = gateway()
    hosts, env = hosts_file(HOSTS), trust_env(d)
    results, errors = [], []

    def client(i):
        model = "gpt-4o-mini" if i % 2 == 0 else "o3-refused"
        try:
            results.extend((model, s) for s in post(a, d, model, n=5, hosts=hosts, env=env))
        except AssertionError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 40, errors
    recs = d.audit_records("request")
    assert len(recs) == 40, (f"{len(recs)} records for 40 requests", sorted((r["status"], r["comm"], r["pid"]) for r in recs), d.log()[-3000:])
    by_status = {}
    for r in recs:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    assert by_status == {200: 20, 403: 20}, by_status
    assert len({r["id"] for r in recs}) == 40, "ids are unique"
    ok = next(r for r in recs if r["status"] == 200)
    for k, want in (("cgroup", "/" + tree.relpath("A")), ("policy", "audited"), ("provider", "openai"),
                    ("host", "api.openai.com"), ("method", "POST"), ("path", "/v1/chat/completions"),
                    ("model", "gpt-4o-mini"), ("refusal", "none"), ("comm", "curl")):
        assert ok[k] == want or (k == "cgroup" and ok[k] == want.lstrip("/")), (k, ok)
    assert ok["tokens_in"] == 11 and ok["tokens_out"] == 7 and ok["cost_microusd"] > 0, ok
    assert ok["exe"].endswith("curl") and ok["pid"] > 0 and ok["duration_ms"] >= ok["ttfb_ms"], ok
    assert ok["attempts"] and ok["attempts"][0]["status"] == 200, ok
    bad = next(r for r in recs if r["status"] == 403)
    assert bad["refusal"] == "model" and "o3-refused" in bad["reason"] and bad["tokens_in"] == 0, bad
    # No secret, no header value, ever.
    with open(os.path.join(d.config["log_dir"], "audit.jsonl")) as f:
        text = f.read()
    assert SECRET not in text and "Bearer" not in text
    assert stat.S_IMODE(os.stat(os.path.join(d.config["log_dir"], "audit.jsonl")).st_mode) == 0o600


def test_sigkill_right_after_a_response_loses_no_record():
    FakeProvider()
    tree, a, d = gateway()
    for i in range(5):
        assert post(a, d, "gpt-4o-mini") == [200]
        d.kill9()  # at once: the record was written before the response's last byte
        assert len(d.audit_records("request")) == i + 1
        d.start()


def test_rename_and_sighup_lose_nothing():
    FakeProvider()
    tree, a, d = gateway()
    log = os.path.join(d.config["log_dir"], "audit.jsonl")
    assert post(a, d, "gpt-4o-mini", n=3) == [200] * 3
    os.rename(log, log + ".1")
    assert post(a, d, "gpt-4o-mini", n=2) == [200] * 2  # still into the renamed file
    d.signal(signal.SIGHUP)
    d.wait_log(r"audit log reopened")
    assert post(a, d, "gpt-4o-mini", n=4) == [200] * 4
    old = d.audit_records("request", path=log + ".1")
    new = d.audit_records("request", path=log)
    assert len(old) == 5 and len(new) == 4, (len(old), len(new))
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    time.sleep(0.1)


CARD = "4111 1111 1111 1111"
EMAIL = "alice@corp.example"
# shaped like a real project key (the detector ignores placeholders)
BODY_KEY = "sk-proj-" + "".join("Qx7mT2vKp9LwZ4nR8sYb3HcF6jDg1UeA5oNi0tWq"[(i * 7) % 40] for i in range(64))


def curl_chat(a, d, body, *headers, gzip_body=False):
    import gzip
    import tempfile
    data = json.dumps(body).encode()
    argv = ["curl", "-sS", "--max-time", "30", "-N", "https://api.openai.com/v1/chat/completions",
            "-H", "content-type: application/json", "-H", f"Authorization: Bearer {SECRET}"]
    for h in headers:
        argv += ["-H", h]
    with tempfile.NamedTemporaryFile(suffix=".body", delete=False) as f:
        f.write(gzip.compress(data) if gzip_body else data)
    os.chmod(f.name, 0o644)
    if gzip_body:
        argv += ["-H", "content-encoding: gzip"]
    argv += ["--data-binary", "@" + f.name]
    try:
        r = run(with_hosts(argv, hosts_file(HOSTS)), cgroup=a, env=trust_env(d), timeout=60)
    finally:
        os.unlink(f.name)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_log_bodies_writes_both_bodies_redacted():
    """audit.log_bodies: the record carries the request body as forwarded and
    the response as the provider sent it, each scanned by every DLP
    detector first, whatever the policy's own DLP says (here: none, so the
    provider gets the body unchanged). Refused requests, gzip bodies, streams
    and oversized bodies too; never the secret."""
    prov = FakeProvider()
    tree, a, d = gateway({"audit": {"log_bodies": True}})
    text = f"Card {CARD} on file, mail {EMAIL}."
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"my key is {BODY_KEY} and mail {EMAIL}"}]}
    out = curl_chat(a, d, body, f"X-Fake-Text: {text}")
    assert CARD in out  # the client gets the answer as the provider sent it
    assert BODY_KEY in prov.requests()[-1]["body"]  # no dlp section: forwarded unchanged
    out = curl_chat(a, d, dict(body, stream=True), f"X-Fake-Text: {text}", "X-Fake-Piece: 7", gzip_body=True)
    assert "data: [DONE]" in out
    curl_chat(a, d, dict(body, model="o3-refused"))
    big = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 100000 + EMAIL}]}
    curl_chat(a, d, big)
    # bytes that are not UTF-8: refused by the policy's parse, never logged
    raw = os.path.join(d.dir, "binary.json")
    with open(raw, "wb") as f:
        f.write(b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "\xff\xfe"}]}')
    argv = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "https://api.openai.com/v1/chat/completions",
            "-H", "content-type: application/json", "--data-binary", "@" + raw]
    r = run(with_hosts(argv, hosts_file(HOSTS)), cgroup=a, env=trust_env(d), timeout=60)
    assert r.stdout.strip() == "400", r.stdout
    recs = d.audit_records("request")
    assert len(recs) == 5, recs
    binary = recs.pop()
    assert binary["request_body"] is None and binary["request_body_note"] == "not logged: not UTF-8 text", binary
    raw = open(os.path.join(d.config["log_dir"], "audit.jsonl")).read()
    for secret in (SECRET, BODY_KEY, EMAIL, CARD, BODY_KEY[8:24]):
        assert secret not in raw, (secret, [l for l in raw.splitlines() if secret in l])
    plain, streamed, refused, large = recs
    for r in (plain, streamed, refused):
        req = json.loads(r["request_body"])
        assert req["messages"][0]["content"] == "my key is [REDACTED:openai_key] and mail [REDACTED:email]", r
    assert json.loads(plain["response_body"])["choices"][0]["message"]["content"] == \
        "Card [REDACTED:credit_card] on file, mail [REDACTED:email].", plain
    # the stream as its events: the text cut in pieces of 7, so the card
    # is spread over events; what is logged holds no piece of it either
    assert streamed["response_body"].startswith("data: {"), streamed
    events = [json.loads(x[6:]) for x in streamed["response_body"].split("\n") if x.startswith("data: {")]
    said = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
    assert said == "Card [REDACTED:credit_card] on file, mail [REDACTED:email].", said
    assert len(events) > 8, events  # it did come in pieces
    assert refused["status"] == 403 and refused["response_body"] is None and \
        "response_body_note" not in refused, refused
    assert large.get("request_body_truncated") is True and len(large["request_body"]) <= 65536, \
        {k: v for k, v in large.items() if k != "request_body"}
    assert stat.S_IMODE(os.stat(os.path.join(d.config["log_dir"], "audit.jsonl")).st_mode) == 0o600
