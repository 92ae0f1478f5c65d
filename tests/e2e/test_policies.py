"""Issue 6: different policies on different cgroups, in one run, and reloads
that fail no request while 16 connections keep sending."""
import json
import os
import signal
import subprocess
import threading
import time

from aigw_test import (E2E, PROVIDER_V4, PYTHON, CgroupTree, Daemon, FakeProvider, client_json,
                       hosts_file, run, trust_env, with_hosts)

HOSTS = {"api.openai.com": PROVIDER_V4}


def ask(cgroup, d, model, extra=None):
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    body.update(extra or {})
    r = run(with_hosts(["curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}",
                        "https://api.openai.com/v1/chat/completions", "-H", "content-type: application/json",
                        "-d", json.dumps(body)], hosts_file(HOSTS)), cgroup=cgroup, env=trust_env(d))
    assert r.returncode == 0, r.stderr
    text, _, code = r.stdout.rpartition("\n")
    return int(code), json.loads(text)


def test_two_cgroups_two_policies_model_rules():
    prov = FakeProvider()
    tree = CgroupTree()
    a, b, sib = tree.mk("A"), tree.mk("B"), tree.mk("sibling")
    nested = tree.mk("B/worker")
    d = Daemon(tree, {
        "open": {"cgroups": [tree.relpath("A")], "models": {"allow": ["gpt-4o*"]}},
        "locked": {"cgroups": [tree.relpath("B")], "models": {"allow": ["gpt-4.1*"], "deny": ["gpt-4o*"]},
                   "limits": {"max_tokens": 100, "max_tokens_action": "reject"}},
    }).start()
    status, body = ask(a, d, "gpt-4o-mini")
    assert status == 200 and body["model"] == "gpt-4o-mini", body
    n = len(prov.requests())
    status, body = ask(b, d, "gpt-4o-mini")
    assert status == 403, body
    assert "not allowed" in body["error"]["message"] and "locked" in body["error"]["message"]
    assert body["error"]["type"] == "permission_error"
    # The nested cgroup inherits B's policy; the refusal never reached the provider.
    status, body = ask(nested, d, "gpt-4o")
    assert status == 403, body
    assert len(prov.requests()) == n
    status, body = ask(b, d, "gpt-4.1-mini")
    assert status == 200, body
    status, body = ask(b, d, "gpt-4.1-mini", {"max_tokens": 5000})
    assert status == 400 and "cap" in body["error"]["message"], body
    # The unpinned sibling is untouched: straight to the provider, which the
    # aigw CA cannot vouch for, so curl with only that trust fails TLS.
    r = run(with_hosts(["curl", "-sS", "https://api.openai.com/v1/models"], hosts_file(HOSTS)),
            cgroup=sib, env=trust_env(d))
    assert r.returncode != 0 and "certificate" in r.stderr.lower(), r.stderr
    assert "cgroup=/" + tree.relpath("sibling") not in d.log()


def test_max_tokens_clamped():
    prov = FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    d = Daemon(tree, {"c": {"cgroups": [tree.relpath("A")],
                            "limits": {"max_tokens": 64, "max_tokens_action": "clamp"}}}).start()
    status, body = ask(a, d, "gpt-4o-mini", {"max_tokens": 5000})
    assert status == 200, body
    sent = json.loads(prov.requests()[-1]["body"])
    assert sent["max_tokens"] == 64 and sent["model"] == "gpt-4o-mini", sent


def test_reload_under_load_fails_no_request():
    prov = FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    pol = {"cgroups": [tree.relpath("A")], "models": {"allow": ["gpt-*"]}}
    d = Daemon(tree, {"p": pol}).start()
    env = trust_env(d)
    hosts = hosts_file(HOSTS)
    script = os.path.join(E2E, "clients", "requests_client.py")
    procs = [subprocess.Popen(with_hosts([PYTHON, script, "keepalive", "25"], hosts),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                              preexec_fn=lambda: open(os.path.join(a, "cgroup.procs"), "w").write(str(os.getpid())))
             for _ in range(16)]
    try:
        for i in range(6):
            time.sleep(0.15)
            pol["audit"] = {"enabled": i % 2 == 0}
            d.write_config({"p": pol})
            d.signal(signal.SIGHUP)
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for out, err in outs:
        res = json.loads(out.decode().strip().splitlines()[-1])
        assert res["ok"] and len(res["bodies"]) == 25 and res["status"] == 200, (res, err)
    assert d.log().count("reloaded 1 policies") == 6, d.log()
    assert len(prov.requests()) == 16 * 25


def test_exec_runs_unmodified_client_that_trusts_the_aigw_ca():
    from aigw_test import AIGWCTL
    prov = FakeProvider()
    tree = CgroupTree()
    d = Daemon(tree, {"term": {"cgroups": [], "models": {"allow": ["gpt-4o*"]}}}).start()
    env = dict(os.environ)
    for k in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "SSL_CERT_DIR"):
        env.pop(k, None)  # only what `aigwctl exec` sets may make the client trust the gateway
    r = run(with_hosts([AIGWCTL, "--config", d.dir, "exec", "--policy", "term", "--",
                        "curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}",
                        "https://api.openai.com/v1/chat/completions", "-H", "content-type: application/json",
                        "-d", json.dumps({"model": "gpt-4o-mini", "messages": []})], hosts_file(HOSTS)),
            env=env, timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    text, _, code = r.stdout.rpartition("\n")
    assert code == "200" and json.loads(text)["usage"]["total_tokens"] == 18, r.stdout
    m = d.wait_log(r"close cgroup=/(\S+) pid=\d+ comm=curl .* mode=terminate")
    assert "aigw-exec-" in m.group(1), m.group(0)
    assert len(prov.requests()) == 1
    assert not [n for n in os.listdir(tree.abs) if n.startswith("aigw-exec-")]
