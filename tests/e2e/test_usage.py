"""Issue 5 (usage): the daemon reads the provider's usage from the response
as it streams by and adds it to the pinned cgroup's row of cgroup_usage."""
import json
import os
import threading

from aigw_test import (E2E, PROVIDER_V4, PYTHON, CgroupTree, Daemon, FakeProvider, client_json,
                       hosts_file, run, trust_env, with_hosts)

HOSTS = {"api.openai.com": PROVIDER_V4, "api.anthropic.com": PROVIDER_V4,
         "generativelanguage.googleapis.com": PROVIDER_V4}


def call(cgroup, d, url, body):
    r = run(with_hosts(["curl", "-sS", "--max-time", "20", url, "-H", "content-type: application/json",
                        "-d", json.dumps(body)], hosts_file(HOSTS)), cgroup=cgroup, env=trust_env(d))
    assert r.returncode == 0, r.stderr
    return r.stdout


def usage_of(d, cgroup_abs):
    rows = {e["key"]: e["value"] for e in d.map_dump("cgroup_usage")}
    return rows.get(os.stat(cgroup_abs).st_ino, {})


def post(cgroup, d, body):
    r = run(with_hosts(["curl", "-sS", "--max-time", "20", "https://api.openai.com/v1/chat/completions",
                        "-H", "content-type: application/json", "-d", json.dumps(body)], hosts_file(HOSTS)),
            cgroup=cgroup, env=trust_env(d))
    assert r.returncode == 0, r.stderr
    return r.stdout


def budget_policy(tree):
    # A budget makes the daemon write each response at once.
    return {"u": {"cgroups": [tree.relpath("A")], "quota": {"token_budget": 10 ** 9, "window": "month"}}}


def test_openai_json_and_sse_usage_counted_exactly():
    prov = FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    d = Daemon(tree, budget_policy(tree)).start()
    out = post(a, d, {"model": "gpt-4o-mini", "messages": []})
    assert json.loads(out)["usage"]["total_tokens"] == 18
    u = usage_of(d, a)
    assert (u["tokens_in"], u["tokens_out"], u["requests"]) == (11, 7, 1), u
    out = post(a, d, {"model": "gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True},
                      "messages": []})
    assert out.rstrip().endswith("data: [DONE]"), out
    u = usage_of(d, a)
    assert (u["tokens_in"], u["tokens_out"], u["requests"]) == (22, 14, 2), u
    # A stream that did not ask for usage: the gateway asks for it upstream,
    # counts it, and the client sees exactly the stream it asked for.
    out = post(a, d, {"model": "gpt-4o-mini", "stream": True, "messages": []})
    events = [e for e in out.split("\n\n") if e.strip()]
    assert len(events) == 7 and events[-1] == "data: [DONE]", out
    assert '"usage"' not in out, out
    u = usage_of(d, a)
    assert (u["tokens_in"], u["tokens_out"], u["requests"]) == (33, 21, 3), u
    sent = json.loads(prov.requests()[-1]["body"])
    assert sent["stream_options"] == {"include_usage": True}, sent


def test_concurrent_clients_totals_exact():
    FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    d = Daemon(tree, budget_policy(tree)).start()
    env, hosts = trust_env(d), hosts_file(HOSTS)
    script = os.path.join(E2E, "clients", "requests_client.py")
    results = []

    def one():
        results.append(client_json([PYTHON, script, "keepalive", "10"], a, hosts, env))
    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r["ok"] and r["status"] == 200 for r in results), results
    u = usage_of(d, a)
    assert (u["tokens_in"], u["tokens_out"], u["requests"]) == (80 * 11, 80 * 7, 80), u


def test_anthropic_and_gemini_usage_json_and_sse():
    FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    d = Daemon(tree, budget_policy(tree)).start()
    msgs = {"model": "claude-sonnet-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    assert json.loads(call(a, d, "https://api.anthropic.com/v1/messages", msgs))["usage"]["output_tokens"] == 9
    u = usage_of(d, a)
    # Anthropic reports cache reads and writes apart from input_tokens; the
    # cost prices them as Anthropic does (policies/prices.json, claude-sonnet-4:
    # 3 in, 15 out, 0.30 cache read, 3.75 cache write USD per million).
    assert (u["tokens_in"], u["tokens_out"]) == (25, 9), u
    assert abs(u["cost_microusd"] - (25 * 3 + 9 * 15 + 5 * 0.30 + 3 * 3.75)) <= 1, u
    out = call(a, d, "https://api.anthropic.com/v1/messages", dict(msgs, stream=True))
    assert "event: message_stop" in out
    u = usage_of(d, a)
    assert (u["tokens_in"], u["tokens_out"], u["requests"]) == (50, 18, 2), u
    gem = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash"
    body = {"contents": [{"parts": [{"text": "hi"}]}]}
    assert json.loads(call(a, d, gem + ":generateContent", body))["usageMetadata"]["totalTokenCount"] == 17
    call(a, d, gem + ":streamGenerateContent?alt=sse", body)
    u = usage_of(d, a)
    assert (u["tokens_in"], u["tokens_out"], u["requests"]) == (50 + 26, 18 + 8, 4), u
