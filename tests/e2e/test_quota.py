"""Issue 5 (kernel side): the pinned cgroup's budget and connect rate are
enforced in the connect hook; kept-alive connections get 429 in userspace.

The daemon writes cgroup_usage after each response; here the test writes the
row itself with bpftool, as the daemon would, to spend the budget at once."""
import json
import os
import struct
import subprocess
import time

from aigw_test import (AIGWCTL, run, E2E, PROVIDER_V4, PYTHON, CgroupTree, Daemon, FakeProvider, hosts_file,
                       spawn, tls_client, trust_env, with_hosts)

HOSTS = {"api.openai.com": PROVIDER_V4}


def day_start():
    now = int(time.time())
    return now - now % 86400


def set_usage(d, cgroup_abs, tokens_in, tokens_out, window_start):
    key = struct.pack("<Q", os.stat(cgroup_abs).st_ino)
    val = struct.pack("<QQQQQ", tokens_in, tokens_out, 1, 0, window_start)
    hexs = lambda b: [f"0x{x:02x}" for x in b]  # noqa: E731
    subprocess.run(["bpftool", "map", "update", "pinned", os.path.join(d.pin_dir, "cgroup_usage"),
                    "key", *hexs(key), "value", *hexs(val)], check=True, capture_output=True)


def test_budget_spent_refuses_connect_and_keepalive_requests():
    FakeProvider()
    tree = CgroupTree()
    a, b = tree.mk("A"), tree.mk("B")
    pol = {"cgroups": [tree.relpath("A"), tree.relpath("B")],
           "quota": {"token_budget": 1000, "window": "day"}}
    d = Daemon(tree, {"budget": pol}).start()
    # The policy's quota reached the kernel with the current window.
    q = {e["key"]: e["value"] for e in d.map_dump("cgroup_quota")}
    assert q[os.stat(a).st_ino]["token_budget"] == 1000
    assert q[os.stat(a).st_ino]["window_start_unix"] == day_start()

    trigger = os.path.join(d.dir, "go")
    p = spawn(with_hosts([PYTHON, os.path.join(E2E, "clients", "keepalive_pause.py"), trigger],
                         hosts_file(HOSTS)), cgroup=a, env=trust_env(d), stdout=subprocess.PIPE,
              stderr=subprocess.PIPE)
    first = json.loads(p.stdout.readline())
    assert first["status"] == 200, first
    # The daemon counted that request.
    usage = {e["key"]: e["value"] for e in d.map_dump("cgroup_usage")}
    assert usage[os.stat(a).st_ino]["requests"] == 1, usage

    # A real response spends the rest of the budget (18 + 982 = 1000 tokens);
    # the daemon writes it through to the kernel at once.
    r = run(with_hosts(["curl", "-sS", "https://api.openai.com/v1/chat/completions", "-H",
                        "content-type: application/json", "-H", "X-Fake-Usage: 600,382", "-d",
                        json.dumps({"model": "gpt-4o-mini", "messages": []})], hosts_file(HOSTS)),
            cgroup=a, env=trust_env(d))
    assert r.returncode == 0 and "chatcmpl" in r.stdout, (r.stdout, r.stderr)
    usage = {e["key"]: e["value"] for e in d.map_dump("cgroup_usage")}
    row = usage[os.stat(a).st_ino]
    assert row["tokens_in"] + row["tokens_out"] == 1000 and row["requests"] == 2, row
    res = tls_client(a, PROVIDER_V4, plain=True)
    assert res.get("errno") == 1 and "Operation not permitted" in res["error"], res  # EPERM
    assert d.stats_of(a)["denied_quota"] == 1
    # The kept-alive connection opened before gets 429 with Retry-After.
    open(trigger, "w").close()
    second = json.loads(p.stdout.readline())
    assert second["status"] == 429, second
    assert 0 < int(second["retry_after"]) <= 86400, second
    assert "budget" in json.loads(second["body"])["error"]["message"]
    # Another cgroup under the same policy has its own budget.
    assert tls_client(b, PROVIDER_V4, plain=True).get("peer") == [PROVIDER_V4, 443]
    # A usage row of an older window does not count.
    set_usage(d, a, 600, 400, day_start() - 86400)
    assert tls_client(a, PROVIDER_V4, plain=True).get("peer") == [PROVIDER_V4, 443]
    # Spent again, then the budget raised (reload): through again.
    set_usage(d, a, 600, 400, day_start())
    assert tls_client(a, PROVIDER_V4, plain=True).get("errno") == 1
    pol["quota"]["token_budget"] = 5000
    d.write_config({"budget": pol})
    r = subprocess.run([AIGWCTL, "--config", d.dir, "reload"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert tls_client(a, PROVIDER_V4, plain=True).get("peer") == [PROVIDER_V4, 443]


def test_budget_holds_while_daemon_is_down_and_after_restart():
    FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    d = Daemon(tree, {"b": {"cgroups": [tree.relpath("A")], "fail_mode": "open",
                            "quota": {"token_budget": 10, "window": "day"}}}).start()
    set_usage(d, a, 5, 5, day_start())
    d.kill9()
    # Fail-open would let it go direct, but the budget is spent: refused.
    assert tls_client(a, PROVIDER_V4, plain=True).get("errno") == 1
    d.start()
    assert tls_client(a, PROVIDER_V4, plain=True).get("errno") == 1
    usage = {e["key"]: e["value"] for e in d.map_dump("cgroup_usage")}
    assert usage[os.stat(a).st_ino]["tokens_in"] == 5


def test_connect_rate_token_bucket():
    FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    Daemon(tree, {"r": {"cgroups": [tree.relpath("A")], "inspect": "observe",
                        "quota": {"connects_per_second": 0.5, "burst": 2}}}).start()
    results = [tls_client(a, PROVIDER_V4, plain=True) for _ in range(3)]
    assert [r.get("errno") for r in results] == [None, None, 1], results
    time.sleep(2.2)  # one token back at 0.5/s
    assert tls_client(a, PROVIDER_V4, plain=True).get("errno") is None


def _fresh_minute():
    # Fixed calendar minutes: keep the test inside one.
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


def test_requests_and_tokens_per_minute_get_429_with_retry_after():
    FakeProvider()
    tree = CgroupTree()
    a, b = tree.mk("A"), tree.mk("B")
    d = Daemon(tree, {"rpm": {"cgroups": [tree.relpath("A")], "quota": {"requests_per_minute": 3}},
                      "tpm": {"cgroups": [tree.relpath("B")], "quota": {"tokens_per_minute": 20}}}).start()
    _fresh_minute()

    def status(cg):
        r = subprocess.run(with_hosts(["curl", "-sS", "-o", "/dev/null", "-D", "-", "--max-time", "20",
                                       "https://api.openai.com/v1/chat/completions", "-H",
                                       "content-type: application/json", "-d",
                                       '{"model":"gpt-4o-mini","messages":[]}'], hosts_file(HOSTS)),
                           capture_output=True, text=True, env=trust_env(d),
                           preexec_fn=lambda: open(os.path.join(cg, "cgroup.procs"), "w").write(str(os.getpid())))
        head = r.stdout.lower()
        retry = [line.split(":", 1)[1].strip() for line in head.splitlines() if line.startswith("retry-after:")]
        return int(head.split()[1]), retry
    assert [status(a)[0] for _ in range(3)] == [200, 200, 200]
    code, retry = status(a)
    assert code == 429 and retry and 0 < int(retry[0]) <= 60, (code, retry)
    # 18 tokens per response: the third request sees 36 >= 20.
    assert [status(b)[0] for _ in range(2)] == [200, 200]
    code, retry = status(b)
    assert code == 429 and retry, (code, retry)


def test_max_tokens_above_budget_left_refused_up_front():
    prov = FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    d = Daemon(tree, {"q": {"cgroups": [tree.relpath("A")],
                            "quota": {"token_budget": 1000, "window": "day",
                                      "reject_over_budget_max_tokens": True}}}).start()
    set_usage(d, a, 500, 300, day_start())  # 200 left

    def ask(max_tokens):
        r = subprocess.run(with_hosts(["curl", "-sS", "-w", "\n%{http_code}", "--max-time", "20",
                                       "https://api.openai.com/v1/chat/completions", "-H",
                                       "content-type: application/json", "-d",
                                       json.dumps({"model": "gpt-4o-mini", "max_tokens": max_tokens,
                                                   "messages": []})], hosts_file(HOSTS)),
                           capture_output=True, text=True, env=trust_env(d),
                           preexec_fn=lambda: open(os.path.join(a, "cgroup.procs"), "w").write(str(os.getpid())))
        body, _, code = r.stdout.rpartition("\n")
        return int(code), body
    n = len(prov.requests())
    code, body = ask(500)
    assert code == 429 and "200 tokens left" in body, body
    assert len(prov.requests()) == n
    code, body = ask(150)
    assert code == 200, body
