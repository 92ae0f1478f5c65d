"""The fuzzers' seed corpora, replayed over real sockets: every request seed
of the HTTP/1.1 parser and the pipeline goes through a real TLS connection
to the real daemon (also run against the ASan build by `make e2e-asan`).
Each gets an answer or a close within the idle limit, and the daemon lives
on to serve the next client."""
import json
import os

from aigw_test import (E2E, PROVIDER_V4, PYTHON, REPO, CgroupTree, Daemon, FakeProvider, client_json,
                       hosts_file, run, trust_env, with_hosts)

HOSTS = {"api.openai.com": PROVIDER_V4}


def test_fuzz_seeds_replayed_over_real_sockets():
    FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    pol = {"cgroups": [tree.relpath("A")], "models": {"allow": ["gpt-4o*"]},
           "limits": {"max_tokens": 4096, "max_tokens_action": "clamp"},
           "quota": {"token_budget": 10 ** 9, "window": "day", "requests_per_minute": 100000}}
    d = Daemon(tree, {"p": pol}, extra_config={"http": {"idle_timeout_ms": 2000}}).start()
    ca = os.path.join(d.config["state_dir"], "ca.crt")
    corpus = os.path.join(REPO, "tests", "fuzz", "corpus", "http1_request")
    res = client_json([PYTHON, os.path.join(E2E, "clients", "replay.py"), corpus, ca], a,
                      hosts_file(HOSTS), trust_env(d), timeout=300)["results"]
    assert len(res) >= 20, res
    bad = {k: v for k, v in res.items() if not (v.isdigit() or v == "closed")}
    assert not bad, bad
    # Alive and well: a normal request after all of that.
    r = run(with_hosts(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                        "https://api.openai.com/v1/models"], hosts_file(HOSTS)), cgroup=a, env=trust_env(d))
    assert r.stdout == "200", (r.stdout, r.stderr)
    assert d.proc.poll() is None
