"""Issue 4: TLS interception with the local CA and the HTTP/1.1 proxy.

Unmodified clients (curl, Debian's python3-requests, the official openai
Node SDK) call https://api.openai.com, which a private /etc/hosts points at
the fake provider on 127.10.0.1:443. They trust only the system store and the
aigw CA; the daemon trusts the fake provider's own CA (upstream_ca_file).
"""
import json
import os
import subprocess

from aigw_test import (E2E, NODE_DIR, PROVIDER_V4, PYTHON, CgroupTree, Daemon, FakeProvider, Skip,
                       client_json, hosts_file, node_sdk_problem, run, provider_pki, trust_env, with_hosts)

HOSTS = {"api.openai.com": PROVIDER_V4}
CHAT = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})


def gateway(policy=None, **kw):
    tree = CgroupTree()
    a, b = tree.mk("A"), tree.mk("B")
    pol = {"cgroups": [tree.relpath("A")]}
    pol.update(policy or {})
    d = Daemon(tree, {"term": pol}, **kw).start()
    return tree, a, b, d


def curl(cgroup, d, *args, hosts=None):
    argv = ["curl", "-sS", "--max-time", "20", "-D", "-", *args]
    return run(with_hosts(argv, hosts or hosts_file(HOSTS)), cgroup=cgroup, env=trust_env(d))


def split_response(text):
    head, _, body = text.partition("\r\n\r\n")
    return int(head.split()[1]), head, body


def test_curl_through_gateway_matches_direct_call():
    prov = FakeProvider()
    tree, a, b, d = gateway()
    r = curl(a, d, "https://api.openai.com/v1/chat/completions", "-H", "content-type: application/json",
             "-d", CHAT)
    assert r.returncode == 0, r.stderr
    status, head, body = split_response(r.stdout)
    assert status == 200, r.stdout
    # The same call straight to the provider, from the unpinned cgroup.
    direct = run(with_hosts(["curl", "-sS", "--cacert", provider_pki()["ca"],
                             "https://api.openai.com/v1/chat/completions",
                             "-H", "content-type: application/json", "-d", CHAT], hosts_file(HOSTS)), cgroup=b)
    assert direct.returncode == 0, direct.stderr
    assert body == direct.stdout, (body, direct.stdout)
    assert "mode=terminate" in d.wait_log(r"close .*mode=terminate").group(0)
    reqs = prov.requests()
    assert len(reqs) == 2 and all(q["path"] == "/v1/chat/completions" for q in reqs), reqs


def test_client_sees_aigw_certificate_for_the_provider_name():
    FakeProvider()
    tree, a, b, d = gateway()
    r = run(with_hosts(["openssl", "s_client", "-connect", "api.openai.com:443", "-servername",
                        "api.openai.com", "-CAfile", os.path.join(d.config["state_dir"], "ca.crt"),
                        "-verify_return_error", "-verify_hostname", "api.openai.com", "-alpn", "h2,http/1.1"],
                       hosts_file(HOSTS)), cgroup=a, stdin=subprocess.DEVNULL, timeout=20)
    out = r.stdout + r.stderr
    assert "Verify return code: 0 (ok)" in out, out
    assert "ALPN protocol: http/1.1" in out, out
    assert "aigw" in out, out  # issuer is the local CA


def test_python_requests_json_stream_and_keepalive():
    prov = FakeProvider()
    tree, a, b, d = gateway()
    env = trust_env(d)
    hosts = hosts_file(HOSTS)
    script = os.path.join(E2E, "clients", "requests_client.py")
    res = client_json([PYTHON, script, "json"], a, hosts, env)
    assert res["ok"] and res["status"] == 200, res
    assert json.loads(res["body"])["usage"]["total_tokens"] == 18
    res = client_json([PYTHON, script, "stream"], a, hosts, env)
    assert res["ok"] and res["status"] == 200, res
    lines = [e["line"] for e in res["events"]]
    assert lines[-1] == "data: [DONE]" and len(lines) == 7, lines
    times = [e["t"] for e in res["events"]]
    # The provider spaces events 100 ms apart: each must arrive on its own.
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps[:5]) > 30 and times[5] - times[0] > 400, gaps
    n_before = len(prov.requests())
    res = client_json([PYTHON, script, "keepalive", "20"], a, hosts, env)
    assert res["ok"] and len(res["bodies"]) == 20 and res["status"] == 200, res
    assert len(set(res["bodies"])) == 1
    # One client connection carried them all (one conn line for its pid) ...
    import re
    assert len(re.findall(r" conn cgroup=\S+ pid=(\d+) comm=python3", d.log())) == 3, d.log()
    # ... and one pooled upstream connection, already open from before.
    reqs = prov.requests()[n_before:]
    assert len(reqs) == 20 and len({q["conn"] for q in reqs}) == 1, reqs


def test_openai_node_sdk_json_and_stream():
    why = node_sdk_problem()
    if why:
        raise Skip(why)
    FakeProvider()
    tree, a, b, d = gateway()
    env = trust_env(d)
    hosts = hosts_file(HOSTS)
    script = os.path.join(NODE_DIR, "openai_node.mjs")
    res = client_json(["node", script, "json", "3"], a, hosts, env, cwd=NODE_DIR)
    assert res["ok"], res
    assert [r["content"] for r in res["results"]] == ["Hello from the fake provider."] * 3
    assert res["results"][0]["usage"]["total_tokens"] == 18
    res = client_json(["node", script, "stream", "1"], a, hosts, env, cwd=NODE_DIR)
    assert res["ok"], res
    chunks = res["results"][0]["chunks"]
    assert "".join(c["content"] for c in chunks) == "Hello from the fake provider.", chunks
    times = [c["t"] for c in chunks]
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    # Sent 100 ms apart: held back, they would arrive together. (The median
    # gap, not the smallest: one event late on a busy machine makes the next
    # gap short without anything being buffered.)
    assert len(times) == 6 and gaps[len(gaps) // 2] > 50 and times[-1] - times[0] > 350, times


def test_wrong_upstream_certificate_gives_502_and_sends_nothing():
    pki = provider_pki()
    prov = FakeProvider(cert=pki["wrong_cert"], key=pki["wrong_key"])
    tree, a, b, d = gateway()
    r = curl(a, d, "https://api.openai.com/v1/chat/completions", "-H", "content-type: application/json",
             "-d", CHAT)
    status, head, body = split_response(r.stdout)
    assert status == 502, r.stdout
    err = json.loads(body)["error"]
    assert "api.openai.com" in err["message"] and "aigw" in err["message"], err
    assert prov.requests() == [], prov.requests()


def test_provider_down_gives_502():
    tree, a, b, d = gateway()
    # No fake provider listening on 127.10.0.1:443.
    r = curl(a, d, "https://api.openai.com/v1/models")
    status, head, body = split_response(r.stdout)
    assert status == 502, r.stdout
    assert "error" in json.loads(body)


def test_non_provider_sni_to_a_provider_address_is_refused():
    prov = FakeProvider()
    tree, a, b, d = gateway()
    # No SNI (an IP literal sends none) to a provider address under terminate:
    # refused, nothing reaches the provider (test_coverage.py has the rest).
    res = client_json([PYTHON, os.path.join(E2E, "clients", "tls_client.py"), "--ip", PROVIDER_V4,
                       "--host", "127.10.0.1", "--cafile", provider_pki()["ca"]], a, hosts_file({}), os.environ)
    assert "error" in res, res
    assert "non-provider TLS" in d.log() and "refused: no SNI, to a provider address" in d.log(), d.log()
    assert prov.connections() == [], prov.connections()


def test_observe_mode_client_sees_provider_certificate():
    FakeProvider()
    tree, a, b, d = gateway({"inspect": "observe"})
    res = client_json([PYTHON, os.path.join(E2E, "clients", "tls_client.py"), "--ip", PROVIDER_V4,
                       "--host", "api.openai.com", "--cafile", provider_pki()["ca"]], a, hosts_file({}),
                      os.environ)
    assert res.get("status") == 200, res
    m = d.wait_log(r"close cgroup=\S+ pid=(\d+) comm=(\S+) dst=\S+ sni=(\S+) mode=splice")
    assert m.group(1) == str(res["pid"]) and m.group(3) == "api.openai.com", m.group(0)


def test_malformed_and_smuggling_requests_rejected():
    corpus = os.path.join(E2E, "corpus", "h1_reject")
    if not os.path.exists(os.path.join(corpus, "EXPECTED")):
        raise AssertionError("corpus missing: tests/e2e/corpus/h1_reject/EXPECTED")
    prov = FakeProvider()
    tree, a, b, d = gateway()
    script = os.path.join(E2E, "clients", "raw_tls_sender.py")
    res = client_json([PYTHON, script, corpus, os.path.join(d.config["state_dir"], "ca.crt")], a,
                      hosts_file(HOSTS), os.environ, timeout=120)
    bad = {k: v for k, v in res["results"].items() if not v["ok"]}
    assert not bad, json.dumps(bad, indent=1)
    assert len(res["results"]) >= 30, len(res["results"])
    assert prov.requests() == [], [q["path"] for q in prov.requests()]


def test_requests_in_awkward_pieces_are_all_answered_in_order():
    """The gateway skips a read it knows would find nothing until the socket's
    next readiness event: pipelined requests, heads and bodies in separate
    writes with pauses, and a head dribbled 7 bytes at a time must all still
    be read and answered on the one connection."""
    FakeProvider()
    tree, a, b, d = gateway()
    ca = os.path.join(d.config["state_dir"], "ca.crt")
    res = client_json([PYTHON, os.path.join(E2E, "clients", "split_writes.py"), ca], a,
                      hosts_file(HOSTS), trust_env(d), timeout=60)
    assert res["statuses"] == [200] * 6, res
    assert len(d.audit_records("request")) == 6


def test_upstream_dying_mid_stream_is_an_error_for_the_client():
    FakeProvider()
    tree, a, b, d = gateway()
    body = json.dumps({"model": "gpt-4o-mini", "stream": True, "messages": []})
    r = curl(a, d, "https://api.openai.com/v1/chat/completions", "-H", "content-type: application/json",
             "-H", "X-Fake-Die-Mid-Stream: 1", "-d", body)
    # The first event got through, then the client sees a broken transfer,
    # never a clean end of the stream.
    assert "Hel" in r.stdout, r.stdout
    assert r.returncode != 0, (r.returncode, r.stdout, r.stderr)
    d.wait_log(r"died mid-response; resetting the client")
    # The gateway stays up for the next request.
    r = curl(a, d, "https://api.openai.com/v1/models")
    assert r.returncode == 0 and " 200 " in r.stdout.splitlines()[0], r.stdout
