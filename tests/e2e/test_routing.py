"""Issue 11 (routing): routes over fake providers on loopback addresses of
their own, failover while nothing reached the client, circuit breakers,
weighted and least-latency strategies, provider keys injected, and one API
served by a provider of the other (official OpenAI and Anthropic SDKs,
unmodified).

Every fake provider has the test CA's certificate for api.openai.com and
api.anthropic.com; aigw.json points route-only providers at them with
base_url (the name verified) and connect (the address, as curl
--connect-to does)."""
import json
import os
import subprocess
import time
import urllib.request

from aigw_test import (AIGWCTL, AIGWD, E2E, NODE_DIR, PROVIDER_V4, PYTHON, CgroupTree, Daemon,
                       FakeProvider, client_json, free_port, hosts_file, node_sdk_problem,
                       provider_catalog, run, tmpdir, trust_env, with_hosts, Skip)

HOSTS = {"api.openai.com": PROVIDER_V4, "api.anthropic.com": PROVIDER_V4}
URL = "https://api.openai.com/v1/chat/completions"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
# fake providers of these tests, each on an address of its own
ADDR = {"fa": "127.10.0.11", "fb": "127.10.0.12", "fant": "127.10.0.13", "foai": "127.10.0.14"}


def fake(name, mode="ok"):
    return FakeProvider(listen=(f"{ADDR[name]}:443",), mode=mode)


def catalog():
    """The e2e catalog plus the route-only fakes."""
    extra = {n: {"base_url": "https://api.openai.com", "connect": f"{ADDR[n]}:443"}
             for n in ("fa", "fb", "foai")}
    extra["fant"] = {"format": "anthropic", "base_url": "https://api.anthropic.com",
                     "connect": f"{ADDR['fant']}:443"}
    return provider_catalog(extra)


def key_file(d, name, key, mode=0o600):
    path = os.path.join(d.dir, f"{name}.key")
    with open(path, "w") as f:
        f.write(key + "\n")
    os.chmod(path, mode)
    return path


def daemon(tree, route, extra_policy=None, extra_config=None, start=True):
    pol = {"cgroups": [tree.relpath("A")], "routes": [route],
           # a budget writes each response's usage to the map at once
           "quota": {"token_budget": 10 ** 9, "window": "month"}}
    pol.update(extra_policy or {})
    d = Daemon(tree, {"r": pol}, providers=catalog(), extra_config=extra_config)
    return d.start() if start else d


def post_many(cgroup, d, n, body=CHAT, url=URL, *args):
    return client_json([PYTHON, os.path.join(E2E, "clients", "post_many.py"), url, str(n),
                        json.dumps(body), *args], cgroup, hosts_file(HOSTS), trust_env(d), timeout=180)


def records(d):
    """The request records of the audit log."""
    path = os.path.join(d.config["log_dir"], "audit.jsonl")
    with open(path) as f:
        return [r for r in map(json.loads, f) if r.get("event") == "request"]


def usage_of(d, cgroup_abs):
    rows = {e["key"]: e["value"] for e in d.map_dump("cgroup_usage")}
    return rows.get(os.stat(cgroup_abs).st_ino, {})


def status_targets(d):
    r = run([AIGWCTL, "--config", d.dir, "status", "--json"], check=True)
    return {t["target"]: t for t in json.loads(r.stdout)["targets"]}


# --- failover: the first target fails before its head, the second answers ---

def failover_case(mode, timeout_ms=3000):
    fa, fb = fake("fa", mode), fake("fb")
    tree = CgroupTree()
    a = tree.mk("A")
    d = daemon(tree, {"match": {"provider": "openai"}, "targets": [{"provider": "fa"}, {"provider": "fb"}],
                      "timeout_ms": timeout_ms})
    t0 = time.monotonic()
    res = post_many(a, d, 1)
    took = time.monotonic() - t0
    assert res["ok"] and res["statuses"] == [200], res
    # one clean response, the second target's
    body = json.loads(res["bodies"][0])
    assert body["choices"][0]["message"]["content"] == "Hello from the fake provider.", body
    assert len(fa.requests()) == 1 and len(fb.requests()) == 1, (fa.requests(), fb.requests())
    rec = records(d)[-1]
    assert [a["target"] for a in rec["attempts"]] == ["fa", "fb"], rec
    assert rec["attempts"][1]["status"] == 200 and rec["status"] == 200, rec
    return fa, fb, d, a, rec, took


def test_failover_on_503():
    _, _, _, _, rec, _ = failover_case("status:503")
    assert rec["attempts"][0]["status"] == 503, rec


def test_failover_on_429_and_retry_after_skips_the_target():
    fa, fb, d, a, rec, _ = failover_case("status:429:30")
    assert rec["attempts"][0]["status"] == 429, rec
    # Retry-After: 30 leaves fa alone: the next request goes to fb at once
    res = post_many(a, d, 2)
    assert res["statuses"] == [200, 200], res
    assert len(fa.requests()) == 1 and len(fb.requests()) == 3
    assert [a["target"] for a in records(d)[-1]["attempts"]] == ["fb"]
    assert status_targets(d)["fa"]["retry_after_s"] > 20


def test_failover_on_hang_before_the_head():
    _, _, _, _, rec, took = failover_case("hang", timeout_ms=1000)
    assert "did not answer in time" in rec["attempts"][0]["error"], rec
    assert 1.0 <= took < 6, took


def test_failover_on_reset_in_the_middle_of_the_head():
    _, _, _, _, rec, _ = failover_case("reset-head")
    assert rec["attempts"][0]["status"] == 0 and rec["attempts"][0]["error"], rec


def test_failover_on_connect_refused_and_all_failing_is_one_502():
    fb = fake("fb", "status:503")  # fa is not even listening
    tree = CgroupTree()
    a = tree.mk("A")
    d = daemon(tree, {"match": {"provider": "openai"}, "targets": [{"provider": "fa"}, {"provider": "fb"}]})
    res = post_many(a, d, 1)
    # the last attempt's answer reaches the client as the provider sent it
    assert res["statuses"] == [503], res
    rec = records(d)[-1]
    assert "refused" in rec["attempts"][0]["error"] and rec["attempts"][1]["status"] == 503, rec
    assert len(fb.requests()) == 1


# --- circuit breaker -------------------------------------------------------------------

def test_breaker_opens_after_5_failures_probes_and_closes():
    fa, fb = fake("fa", "status:503"), fake("fb")
    tree = CgroupTree()
    a = tree.mk("A")
    mport = free_port()
    d = daemon(tree, {"match": {"provider": "openai"}, "targets": [{"provider": "fa"}, {"provider": "fb"}]},
               extra_config={"routing": {"breaker_failures": 5, "breaker_open_ms": 3000},
                             "metrics_listen": f"127.0.0.1:{mport}"})
    res = post_many(a, d, 5)
    assert res["statuses"] == [200] * 5, res
    assert len(fa.requests()) == 5
    st = status_targets(d)["fa"]
    assert st["breaker"] == "open" and st["opened"] == 1 and st["failures"] == 5, st
    # open: the failing target sees no traffic at all
    res = post_many(a, d, 5)
    assert res["statuses"] == [200] * 5 and len(fa.requests()) == 5, res
    assert [x["target"] for x in records(d)[-1]["attempts"]] == ["fb"]
    with open(os.path.join(d.config["state_dir"], "metrics.token")) as f:
        token = f.read().strip()
    req = urllib.request.Request(f"http://127.0.0.1:{mport}/metrics",
                                 headers={"Authorization": f"Bearer {token}"})
    metrics = urllib.request.urlopen(req, timeout=5).read().decode()
    assert 'aigw_route_target_breaker_state{target="fa"} 1' in metrics, metrics
    assert 'aigw_route_target_breaker_opened_total{target="fa"} 1' in metrics, metrics
    assert 'aigw_route_target_attempts_total{target="fb"} 10' in metrics, metrics
    # it recovers; after open_ms one request probes it, and the success closes it
    fa.set_mode("ok")
    time.sleep(3.2)
    res = post_many(a, d, 1)
    assert res["statuses"] == [200] and len(fa.requests()) == 6, res
    assert status_targets(d)["fa"]["breaker"] == "closed"
    res = post_many(a, d, 3)
    assert len(fa.requests()) == 9 and len(fb.requests()) == 10
    out = run([AIGWCTL, "--config", d.dir, "status"], check=True).stdout
    assert "route target" in out and "closed" in out, out


def test_breaker_probe_that_fails_opens_it_again():
    fa, fb = fake("fa", "status:500"), fake("fb")
    tree = CgroupTree()
    a = tree.mk("A")
    d = daemon(tree, {"match": {"provider": "openai"}, "targets": [{"provider": "fa"}, {"provider": "fb"}]},
               extra_config={"routing": {"breaker_failures": 2, "breaker_open_ms": 1500}})
    post_many(a, d, 2)
    assert status_targets(d)["fa"]["breaker"] == "open"
    time.sleep(1.7)
    post_many(a, d, 1)  # the probe fails
    assert len(fa.requests()) == 3
    st = status_targets(d)["fa"]
    assert st["breaker"] == "open" and st["opened"] == 2, st
    post_many(a, d, 2)
    assert len(fa.requests()) == 3


# --- strategies ------------------------------------------------------------------------

def test_weighted_routing_over_200_requests():
    """Weights 3:1 over 200 requests: fa gets 150 +- 25 (a binomial(200, 3/4)
    has a standard deviation of 6.1: 25 is about 4 of them)."""
    fa, fb = fake("fa"), fake("fb")
    tree = CgroupTree()
    a = tree.mk("A")
    d = daemon(tree, {"match": {"provider": "openai"}, "strategy": "weighted",
                      "targets": [{"provider": "fa", "weight": 3}, {"provider": "fb", "weight": 1}]})
    res = post_many(a, d, 200)
    assert res["statuses"] == [200] * 200, res
    na, nb = len(fa.requests()), len(fb.requests())
    assert na + nb == 200 and 125 <= na <= 175, (na, nb)


def test_least_latency_prefers_the_faster_target():
    fa, fb = fake("fa", "delay:300"), fake("fb", "delay:10")
    tree = CgroupTree()
    a = tree.mk("A")
    d = daemon(tree, {"match": {"provider": "openai"}, "strategy": "least_latency",
                      "targets": [{"provider": "fa"}, {"provider": "fb"}]})
    res = post_many(a, d, 60)
    assert res["statuses"] == [200] * 60, res
    na, nb = len(fa.requests()), len(fb.requests())
    # each target is measured once, then the faster one takes all but the
    # exploring 1 in 20
    assert nb >= 48 and na >= 1, (na, nb)
    st = status_targets(d)
    assert st["fa"]["latency_ms"] > st["fb"]["latency_ms"] * 3, st


# --- keys ------------------------------------------------------------------------------

def test_key_injected_dummy_never_forwarded_and_reread_on_reload():
    prov = FakeProvider()
    fant = fake("fant")
    tree = CgroupTree()
    a = tree.mk("A")
    d = daemon(tree, {"match": {"provider": "openai", "model": "claude-*"},
                      "targets": [{"provider": "fant"}]}, start=False)
    pol = json.loads(open(os.path.join(d.dir, "policies", "r.json")).read())
    pol["auth"] = {"inject": {"openai": {"key_file": key_file(d, "openai", "sk-real-openai-1")},
                              "fant": {"key_file": key_file(d, "fant", "sk-ant-real-2")}}}
    d.write_config({"r": pol})
    d.start()
    res = post_many(a, d, 1)
    assert res["statuses"] == [200], res
    h = prov.requests()[-1]["headers"]
    assert h["authorization"] == "Bearer sk-real-openai-1", h
    # to another provider (here of another API): its own key, in its header
    res = post_many(a, d, 1, dict(CHAT, model="claude-x"))
    assert res["statuses"] == [200], res
    h = fant.requests()[-1]["headers"]
    assert h["x-api-key"] == "sk-ant-real-2" and "authorization" not in h, h
    # the dummy reached no provider, in no header
    for p in (prov, fant):
        for r in p.requests():
            assert "sk-dummy" not in json.dumps(r["headers"]), r
    # keys are re-read on reload
    key_file(d, "openai", "sk-real-openai-3")
    run([AIGWCTL, "--config", d.dir, "reload"], check=True)
    post_many(a, d, 1)
    assert prov.requests()[-1]["headers"]["authorization"] == "Bearer sk-real-openai-3"
    # no key of any kind reaches a log or the audit record
    logs = d.log() + open(os.path.join(d.config["log_dir"], "audit.jsonl")).read()
    assert "sk-real" not in logs and "sk-ant-real" not in logs and "sk-dummy" not in logs


def test_strip_client_key_and_bad_key_files_refused():
    prov = FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    d = Daemon(tree, {"s": {"cgroups": [tree.relpath("A")], "auth": {"strip_client_key": True}}}).start()
    post_many(a, d, 1)
    assert "authorization" not in prov.requests()[-1]["headers"], prov.requests()[-1]
    # a key file others may read refuses the policy, at load, saying why
    bad = key_file(d, "bad", "sk-real-never-shown", 0o644)
    pol = {"cgroups": [tree.relpath("A")], "auth": {"inject": {"openai": {"key_file": bad}}}}
    r = run([AIGWCTL, "--config", d.dir, "policy", "check", _write(d, "bad", pol)])
    assert r.returncode == 1 and "$.auth.inject.openai.key_file" in r.stderr, r.stderr
    assert "mode 0644" in r.stderr and "chmod 600" in r.stderr and "sk-real" not in r.stderr, r.stderr
    # and the daemon refuses to start with it (the policies are put back
    # after, so the test's cleanup can load the config)
    good = json.load(open(os.path.join(d.dir, "policies", "s.json")))
    d.stop()
    d.write_config({"bad": pol})
    try:
        r = subprocess.run([AIGWD, "--config", d.dir, "--check"], capture_output=True, text=True)
    finally:
        d.write_config({"s": good})
    assert r.returncode != 0 and "mode 0644" in r.stderr and "sk-real" not in r.stderr, r.stderr


def _write(d, name, pol):
    path = os.path.join(tmpdir(), f"{name}.json")
    with open(path, "w") as f:
        json.dump(pol, f)
    return path


# --- a stream that dies after it started ----------------------------------------------------

def test_stream_dying_after_first_event_is_not_retried_and_not_ended_cleanly():
    fa, fb = fake("fa", "die-after-first-event"), fake("fb")
    tree = CgroupTree()
    a = tree.mk("A")
    d = daemon(tree, {"match": {"provider": "openai"}, "targets": [{"provider": "fa"}, {"provider": "fb"}]})
    r = run(with_hosts(["curl", "-sS", "-N", "--max-time", "20", URL, "-H", "content-type: application/json",
                        "-d", json.dumps(dict(CHAT, stream=True))], hosts_file(HOSTS)), cgroup=a,
            env=trust_env(d))
    assert r.returncode != 0, (r.returncode, r.stdout, r.stderr)  # a broken transfer, not an end
    assert '"Hel"' in r.stdout and "[DONE]" not in r.stdout, r.stdout
    assert len(fa.requests()) == 1 and len(fb.requests()) == 0
    rec = records(d)[-1]
    assert rec["refusal"] == "cut" and [x["target"] for x in rec["attempts"]] == ["fa"], rec


# --- one API, any provider ------------------------------------------------------------------

def sdk(mode, cgroup, d):
    if node_sdk_problem():
        raise Skip(node_sdk_problem())
    return client_json(["node", os.path.join(NODE_DIR, "xlate_node.mjs"), mode], cgroup, hosts_file(HOSTS),
                       trust_env(d), cwd=NODE_DIR)


def test_openai_sdk_served_by_anthropic_json_and_stream_with_tool_calls():
    fant = fake("fant")
    tree = CgroupTree()
    a = tree.mk("A")
    d = daemon(tree, {"match": {"provider": "openai", "model": "gpt-4o"},
                      "targets": [{"provider": "fant", "model": "claude-sonnet-4-5"}]}, start=False)
    pol = json.loads(open(os.path.join(d.dir, "policies", "r.json")).read())
    pol["auth"] = {"inject": {"fant": {"key_file": key_file(d, "fant", "sk-ant-real-x")}}}
    d.write_config({"r": pol})
    d.start()
    res = sdk("openai-json", a, d)
    assert res["ok"], res
    assert res["object"] == "chat.completion" and res["finish"] == "tool_calls", res
    call = res["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather" and call["id"] == "toolu_fake1", res
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris", "unit": "celsius"}, res
    assert res["message"]["content"] == "Hi", res
    # usage as the target reported it: 25 in + 5 cache read + 3 cache write, 9 out
    assert res["usage"]["prompt_tokens"] == 33 and res["usage"]["completion_tokens"] == 9, res
    req = fant.requests()[-1]
    assert req["path"] == "/v1/messages", req
    body = json.loads(req["body"])
    assert body["model"] == "claude-sonnet-4-5" and body["system"] == "Be brief.", body
    assert body["tools"][0]["input_schema"]["required"] == ["city"] and body["max_tokens"] > 0, body
    assert req["headers"]["x-api-key"] == "sk-ant-real-x" and "authorization" not in req["headers"], req
    assert req["headers"]["anthropic-version"] == "2023-06-01", req
    res = sdk("openai-stream", a, d)
    assert res["ok"] and res["finish"] == "tool_calls" and res["content"] == "Hi", res
    assert res["calls"][0]["name"] == "get_weather", res
    assert json.loads(res["calls"][0]["arguments"]) == {"city": "Paris", "unit": "celsius"}, res
    assert res["usage"]["prompt_tokens"] == 33 and res["usage"]["completion_tokens"] == 9, res
    assert json.loads(fant.requests()[-1]["body"])["stream"] is True
    # counted exactly, from the target's own report
    u = usage_of(d, a)
    assert (u["tokens_in"], u["tokens_out"], u["requests"]) == (50, 18, 2), u
    assert [r["attempts"][0]["target"] for r in records(d)] == ["fant/claude-sonnet-4-5"] * 2


def test_anthropic_sdk_served_by_openai_json_and_stream_with_tool_calls():
    foai = fake("foai")
    tree = CgroupTree()
    a = tree.mk("A")
    d = daemon(tree, {"match": {"provider": "anthropic"},
                      "targets": [{"provider": "foai", "model": "gpt-4o-mini"}]}, start=False)
    pol = json.loads(open(os.path.join(d.dir, "policies", "r.json")).read())
    pol["auth"] = {"inject": {"foai": {"key_file": key_file(d, "foai", "sk-real-oai-y")}}}
    d.write_config({"r": pol})
    d.start()
    for mode in ("anthropic-json", "anthropic-stream"):
        res = sdk(mode, a, d)
        assert res["ok"] and res["type"] == "message" and res["stop"] == "tool_use", res
        tool = [c for c in res["content"] if c["type"] == "tool_use"][0]
        assert tool["name"] == "get_weather" and tool["input"] == {"city": "Paris", "unit": "celsius"}, res
        assert res["usage"]["input_tokens"] == 11 and res["usage"]["output_tokens"] == 7, res
        req = foai.requests()[-1]
        assert req["path"] == "/v1/chat/completions", req
        body = json.loads(req["body"])
        assert body["model"] == "gpt-4o-mini", body
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}, body
        assert body["tools"][0]["function"]["name"] == "get_weather", body
        assert req["headers"]["authorization"] == "Bearer sk-real-oai-y", req
        assert "x-api-key" not in req["headers"] and "anthropic-version" not in req["headers"], req
    assert json.loads(foai.requests()[-1]["body"])["stream_options"] == {"include_usage": True}
    u = usage_of(d, a)
    assert (u["tokens_in"], u["tokens_out"], u["requests"]) == (22, 14, 2), u


def test_untranslatable_request_is_a_400_naming_the_field():
    fant = fake("fant")
    tree = CgroupTree()
    a = tree.mk("A")
    d = daemon(tree, {"match": {"provider": "openai"}, "targets": [{"provider": "fant", "model": "claude-x"}]})
    res = post_many(a, d, 1, dict(CHAT, n=3))
    assert res["statuses"] == [400], res
    msg = json.loads(res["bodies"][0])["error"]["message"]
    assert "n: Anthropic answers with one choice only" in msg, msg
    assert fant.requests() == []


# --- catalog keys for intercepted traffic, and a plain-HTTP server ------------------------------

def test_connect_and_base_url_act_for_intercepted_traffic():
    prov = FakeProvider()  # where the client's connection was going
    fa = fake("fa")
    tree = CgroupTree()
    a = tree.mk("A")
    cat = catalog()
    cat["openai"]["connect"] = f"{ADDR['fa']}:443"  # curl --connect-to, for every request
    d = Daemon(tree, {"p": {"cgroups": [tree.relpath("A")]}}, providers=cat).start()
    res = post_many(a, d, 1)
    assert res["statuses"] == [200], res
    assert len(fa.requests()) == 1 and prov.requests() == [], (fa.requests(), prov.requests())
    assert fa.requests()[0]["headers"]["host"] == "api.openai.com"
    # base_url of its own: the prefix, the Host and the TLS name follow it
    d.stop()
    cat["openai"]["base_url"] = "https://api.anthropic.com/proxy"
    d.config["providers"] = cat
    d.write_config({"p": {"cgroups": [tree.relpath("A")]}})
    d.start()
    post_many(a, d, 1)
    req = fa.requests()[-1]
    assert req["path"] == "/proxy/v1/chat/completions" and req["headers"]["host"] == "api.anthropic.com", req


def test_route_to_a_self_hosted_server_over_plain_http():
    vllm = FakeProvider(listen=("127.10.0.15:8000",), plain=True)
    tree = CgroupTree()
    a = tree.mk("A")
    cat = catalog()
    cat["vllm"] = {"base_url": "http://127.10.0.15:8000"}
    pol = {"cgroups": [tree.relpath("A")],
           "routes": [{"match": {"model": "llama*"}, "targets": [{"provider": "vllm", "model": "meta/llama-3"}]}]}
    d = Daemon(tree, {"r": pol}, providers=cat).start()
    res = post_many(a, d, 2, dict(CHAT, model="llama-3-8b"))
    assert res["statuses"] == [200, 200], res
    req = vllm.requests()[-1]
    assert req["path"] == "/v1/chat/completions" and req["headers"]["host"] == "127.10.0.15:8000", req
    assert json.loads(req["body"])["model"] == "meta/llama-3", req
    # the client's key was for OpenAI: it never reaches another provider
    assert "authorization" not in req["headers"], req
    # (a public server would need https: checked at load)
    cfg_dir = tmpdir()
    with open(os.path.join(cfg_dir, "aigw.json"), "w") as f:
        json.dump(dict(d.config, providers=dict(cat, pub={"base_url": "http://api.example.com"})), f)
    r = subprocess.run([AIGWD, "--config", cfg_dir, "--check"], capture_output=True, text=True)
    assert r.returncode != 0 and "$.providers.pub.base_url" in r.stderr and "use https://" in r.stderr, r.stderr


def test_dlp_redacts_both_ways_through_a_translated_route():
    """DLP runs before the route stage: the Anthropic target gets the OpenAI
    client's request redacted, and its answer, scanned as it streams (six
    characters an event), reaches the client in OpenAI's shape, redacted."""
    fant = fake("fant")
    tree = CgroupTree()
    a = tree.mk("A")
    d = daemon(tree, {"match": {"provider": "openai"},
                      "targets": [{"provider": "fant", "model": "claude-sonnet-4-5"}]},
               extra_policy={"dlp": {"action": "redact", "detectors": ["email"],
                                     "scan_responses": True}})
    answer = "Sure, write to carol@example.com today."
    for stream in (False, True):
        body = {"model": "gpt-4o", "stream": stream,
                "messages": [{"role": "user", "content": "mail alice@corp.example please"}]}
        argv = ["curl", "-sS", "--max-time", "20", "-N", URL, "-H", "content-type: application/json",
                "-H", f"X-Fake-Text: {answer}", "-d", json.dumps(body)]
        r = run(with_hosts(argv, hosts_file(HOSTS)), cgroup=a, env=trust_env(d))
        assert r.returncode == 0, r.stderr
        sent = json.loads(fant.requests()[-1]["body"])
        assert "alice@corp.example" not in json.dumps(sent), sent
        assert sent["messages"][0]["content"] in ("mail [REDACTED:email] please",
                                                  [{"type": "text", "text": "mail [REDACTED:email] please"}]), sent
        if stream:
            chunks = [json.loads(x[6:]) for x in r.stdout.split("\n") if x.startswith("data: {")]
            assert all(c["object"] == "chat.completion.chunk" for c in chunks), r.stdout
            text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
            assert "data: [DONE]" in r.stdout, r.stdout
        else:
            res = json.loads(r.stdout)
            assert res["object"] == "chat.completion", res
            text = res["choices"][0]["message"]["content"]
        assert text == "Sure, write to [REDACTED:email] today.", (stream, text, r.stdout)
        assert "carol@example.com" not in r.stdout
    found = [{(f["detector"], f["where"]) for f in rec["dlp"]} for rec in records(d)[-2:]]
    assert all(f == {("email", "request"), ("email", "response")} for f in found), records(d)[-2:]
