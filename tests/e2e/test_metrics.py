"""Issue 13 (metrics): /metrics and /api/status on metrics_listen, rendered
from memory and the pinned maps; every family in one block; bounded labels;
per-cgroup data only for a bearer of the metrics token."""
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

from aigw_test import (E2E, PYTHON, CgroupTree, Daemon, FakeProvider, Skip, free_port, hosts_file,
                       trust_env, with_hosts)
from test_usage import HOSTS, budget_policy, call, post


def token_of(d):
    with open(os.path.join(d.config["state_dir"], "metrics.token")) as f:
        return f.read().strip()


def get(d, path, token=None, auth=True):
    req = urllib.request.Request(f"http://{d.config['metrics_listen']}{path}")
    if auth:
        req.add_header("Authorization", f"Bearer {token or token_of(d)}")
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read().decode()


def metrics_daemon(tree, policies, **extra):
    return Daemon(tree, policies,
                  extra_config={"metrics_listen": f"127.0.0.1:{free_port()}", **extra}).start()


def families(text):
    """{name: (type, [sample lines])}; asserts one block per family with
    HELP and TYPE before its samples."""
    fams, order, cur = {}, [], None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split()[2]
            assert name not in fams, f"family {name} appears twice"
            fams[name] = [None, []]
            order.append(name)
            cur = name
        elif line.startswith("# TYPE "):
            _, _, name, typ = line.split()
            assert name == cur, f"TYPE {name} not right after its HELP"
            fams[name][0] = typ
        elif line.strip():
            sample = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
            base = cur
            assert sample == base or (fams[base][0] == "histogram" and sample in
                                      (base + "_bucket", base + "_sum", base + "_count")), \
                f"sample {sample} inside the block of {base}"
            fams[base][1].append(line)
    return fams


def test_prometheus_metrics_match_the_maps():
    FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    d = metrics_daemon(tree, budget_policy(tree))
    post(a, d, {"model": "gpt-4o-mini", "messages": []})
    text = get(d, "/metrics")
    families(text)
    labels = f'{{cgroup="/{tree.relpath("A")}",policy="u"}}'
    values = {}
    for line in text.splitlines():
        if line.startswith("aigw_") and labels in line:
            name, val = line.split(labels)
            values[name] = float(val)
    assert values["aigw_tokens_in"] == 11 and values["aigw_tokens_out"] == 7, text
    assert values["aigw_requests"] == 1 and values["aigw_connects_redirected_total"] == 1, text
    assert values["aigw_token_budget"] == 10 ** 9 and values["aigw_token_budget_left"] == 10 ** 9 - 18, text
    # gpt-4o-mini: 11 in at $0.15/M, 7 out at $0.60/M.
    assert abs(values["aigw_cost_usd"] - (11 * 0.15 + 7 * 0.60) / 1e6) < 1e-6, text
    assert "# TYPE aigw_connects_denied_quota_total counter" in text and "aigw_up 1" in text
    req = f'{{cgroup="/{tree.relpath("A")}",provider="openai",model="gpt-4o-mini",status="200"}}'
    assert f"aigw_http_requests_total{req} 1" in text, text
    assert f'aigw_http_tokens_total{req[:-1]},direction="in"}} 11' in text, text
    assert f'aigw_http_request_duration_seconds_bucket{req[:-1]},le="+Inf"}} 1' in text, text
    assert f"aigw_http_request_duration_seconds_count{req} 1" in text, text
    assert f"aigw_http_cost_usd_total{req} 0.000006" in text, text
    # Another status is another series. A path no API documents cannot be
    # counted, so under a token budget the gateway refuses it (403).
    body = call(a, d, "https://api.openai.com/v1/nothing-here", {"model": "gpt-4o-mini"})
    assert "allow_uncounted" in json.loads(body)["error"]["message"], body
    text = get(d, "/metrics")
    assert f"aigw_http_requests_total{req} 1" in text, text
    assert 'provider="openai",model="",status="403"} 1' in text, text
    # Host-wide families.
    assert re.search(r'^aigw_build_info\{version="[^"]+",commit="[^"]+"\} 1$', text, re.M), text
    assert re.search(r"^aigw_connections_accepted_total [1-9]", text, re.M), text
    # Two terminated connections: each took its leaf from a worker's cache or
    # had one minted (which worker took it is the kernel's choice).
    mints = int(re.search(r"^aigw_leaf_cert_mints_total (\d+)", text, re.M).group(1))
    hits = int(re.search(r"^aigw_leaf_cert_cache_hits_total (\d+)", text, re.M).group(1))
    assert mints >= 1 and mints + hits == 2, (mints, hits)
    assert re.search(r"^aigw_upstream_pool_idle_connections \d", text, re.M), text
    assert 'aigw_reloads_total{result="success"} 0' in text
    try:
        get(d, "/other")
        raise AssertionError("expected 404")
    except urllib.error.HTTPError as e:
        assert e.code == 404


def test_promtool_check_metrics_is_clean():
    promtool = shutil.which("promtool")
    if not promtool:
        raise Skip("promtool is not installed (Debian package prometheus; make deps)")
    FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    d = metrics_daemon(tree, budget_policy(tree))
    post(a, d, {"model": "gpt-4o-mini", "messages": []})
    post(a, d, {"model": "claude-or-junk", "messages": []})
    d.signal(__import__("signal").SIGHUP)
    d.wait_log(r"reloaded \d+ policies")
    text = get(d, "/metrics")
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), \
        f"promtool check metrics:\n{r.stdout}{r.stderr}\n---\n{text}"
    assert 'aigw_reloads_total{result="success"} 1' in text


def test_without_the_token_only_host_wide_metrics():
    FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    d = metrics_daemon(tree, budget_policy(tree))
    post(a, d, {"model": "gpt-4o-mini", "messages": []})
    tok = os.path.join(d.config["state_dir"], "metrics.token")
    assert oct(os.stat(tok).st_mode & 0o777) == "0o600"
    for text in (get(d, "/metrics", auth=False), get(d, "/metrics", token="wrong" * 5)):
        assert "aigw_up 1" in text and "aigw_build_info{" in text, text
        assert "cgroup=" not in text and "model=" not in text, text
    st = json.loads(get(d, "/api/status", auth=False))
    assert st["authorized"] is False and "cgroups" not in st and "recent_refusals" not in st, st
    st = json.loads(get(d, "/api/status"))
    assert st["authorized"] is True
    row = [c for c in st["cgroups"] if c["cgroup"] == tree.relpath("A")][0]
    assert row["tokens_in"] == 11 and row["token_budget"] == 10 ** 9, row
    # The port speaks HTTP/1.1 as the gateway does: malformed heads, other
    # methods and unknown paths get their status, and a silent client is
    # closed at its deadline.
    host, port = d.config["metrics_listen"].rsplit(":", 1)
    for raw, status in ((b"GET /metrics HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", b" 400 "),
                        (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", b" 405 "),
                        (b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", b" 404 "),
                        (b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 9000 + b"\r\n\r\n",
                         b" 431 ")):
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(raw)
            answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1") and status in answer.split(b"\r\n")[0], (raw[:40], answer)
        assert b"X-Content-Type-Options: nosniff" in answer, answer
    with socket.create_connection((host, int(port)), timeout=10) as s:
        t0 = time.monotonic()
        s.sendall(b"GET /metr")
        assert s.recv(100) == b""
        assert 4.5 < time.monotonic() - t0 < 8, time.monotonic() - t0
    # metrics_auth "none": everything to whoever reaches the loopback port.
    tree2 = CgroupTree()
    tree2.mk("A")
    d2 = metrics_daemon(tree2, budget_policy(tree2), metrics_auth="none")
    assert "aigw_connects_redirected_total{cgroup=" in get(d2, "/metrics", auth=False)
    assert not os.path.exists(os.path.join(d2.config["state_dir"], "metrics.token"))


def test_junk_models_fold_into_other_and_never_borrow_labels():
    """Made-up model names (600 made 11,000 series once): they go under
    model="other", counted as folded; the series stay few; a real request
    keeps its own labels. The per-worker series cap is unit-tested."""
    FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    d = metrics_daemon(tree, budget_policy(tree))
    n = 150
    junk = "\n".join(f"junk-model-{i}" for i in range(n))
    p = subprocess.run(with_hosts([PYTHON, os.path.join(E2E, "clients", "many_models.py")], hosts_file(HOSTS)),
                       input=junk, capture_output=True, text=True, timeout=120, env=trust_env(d),
                       preexec_fn=lambda: open(os.path.join(a, "cgroup.procs"), "w").write(str(os.getpid())))
    assert p.returncode == 0 and json.loads(p.stdout)["statuses"] == {"200": n}, p.stdout + p.stderr
    post(a, d, {"model": "gpt-4o-mini-2024-07-18", "messages": []})
    text = get(d, "/metrics")
    fams = families(text)
    series = fams["aigw_http_requests_total"][1]
    assert len(series) <= 3, series
    cg = f'cgroup="/{tree.relpath("A")}",provider="openai"'
    assert f'aigw_http_requests_total{{{cg},model="other",status="200"}} {n}' in text, series
    assert f'aigw_http_requests_total{{{cg},model="gpt-4o-mini",status="200"}} 1' in text, series
    assert f'aigw_metrics_folded_samples_total{{label="model"}} {n}' in text, text
