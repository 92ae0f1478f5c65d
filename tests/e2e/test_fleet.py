"""Issue 14: fleet-wide budgets and limits on Redis.

A real redis-server (Debian's) on loopback, started by the test, and two
aigwd instances side by side (their own ports, pin dirs, cgroup roots and
host_ids), each pinning the same fleet policy ("team") to a cgroup of its
own. Real clients (curl) in real cgroups make real TLS requests through
each gateway to the fake provider."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

from aigw_test import (AIGWCTL, PROVIDER_V4, CgroupTree, Daemon, FakeProvider, Skip, defer, free_port,
                       hosts_file, tls_client, tmpdir, trust_env, with_hosts, _end_process)

HOSTS = {"api.openai.com": PROVIDER_V4}
SYNC_MS = 200


class Redis:
    """redis-server on 127.0.0.1:port, empty, no persistence; restartable
    on the same port (as after a crash that lost everything)."""

    def __init__(self):
        if not shutil.which("redis-server"):
            raise Skip("redis-server is not installed (make deps installs Debian's redis-server)")
        self.dir = tmpdir("aigw-e2e-redis-")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.proc = None
        self.start()
        defer(self.stop)

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--daemonize", "no",
             "--logfile", os.path.join(self.dir, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc:
            _end_process(self.proc)


def fleet_daemons(redis, make_policy, n=2, metrics=False):
    """n daemons, host ids h0.., each with its own tree and cgroup "A" pinned
    to the policy make_policy(tree) returns, under the name "team"."""
    out = []
    for i in range(n):
        tree = CgroupTree()
        cg = tree.mk("A")
        extra = {"fleet": {"redis": redis.url, "host_id": f"h{i}", "sync_ms": SYNC_MS}}
        if metrics:
            extra["metrics_listen"] = f"127.0.0.1:{free_port()}"
            extra["metrics_auth"] = "none"  # the per-policy families too
        d = Daemon(tree, {"team": make_policy(tree)}, extra_config=extra).start()
        out.append((d, cg))
    return out


def request(d, cg, tokens=(11, 7), timeout=20):
    """One chat completion through d from cgroup cg: (status, message),
    status 0 when the connect itself was refused (EPERM)."""
    r = subprocess.run(with_hosts(["curl", "-sS", "-w", "\n%{http_code}", "--max-time", str(timeout),
                                   "https://api.openai.com/v1/chat/completions",
                                   "-H", "content-type: application/json",
                                   "-H", f"X-Fake-Usage: {tokens[0]},{tokens[1]}",
                                   "-d", '{"model":"gpt-4o-mini","messages":[]}'], hosts_file(HOSTS)),
                       capture_output=True, text=True, env=trust_env(d),
                       preexec_fn=lambda: open(os.path.join(cg, "cgroup.procs"), "w").write(str(os.getpid())))
    body, _, code = r.stdout.rpartition("\n")
    if code == "000":
        return 0, r.stderr
    msg = ""
    try:
        msg = json.loads(body).get("error", {}).get("message", "")
    except ValueError:
        pass
    return int(code), msg


def tokens_of(d, cg):
    rows = {e["key"]: e["value"] for e in d.map_dump("cgroup_usage")}
    u = rows.get(os.stat(cg).st_ino, {})
    return u.get("tokens_in", 0) + u.get("tokens_out", 0), u.get("requests", 0)


def fleet_usage(d):
    r = subprocess.run([AIGWCTL, "--config", d.dir, "usage", "--fleet", "--json"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def fleet_counter(d, kind):
    for c in fleet_usage(d):
        if c["policy"] == "team" and c["kind"] == kind:
            return c
    return None


def host_spent(c):
    return {h["host"]: h["spent"] for h in c["hosts"]} if c else {}


def wait_for(cond, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout}s")


def metrics(d):
    with urllib.request.urlopen(f"http://{d.config['metrics_listen']}/metrics", timeout=5) as r:
        return r.read().decode()


def test_fleet_budget_adds_up_and_is_refused_on_every_host():
    FakeProvider()
    redis = Redis()
    budget = 600  # 100 tokens a request: six requests for the whole fleet
    (a, ca), (b, cb) = fleet_daemons(redis, lambda t: {
        "cgroups": [t.relpath("A")],
        "quota": {"token_budget": budget, "window": "day", "scope": "fleet"}})
    ok = {0: 0, 1: 0}
    fleet_spent = {0: False, 1: False}
    deadline = time.monotonic() + 30
    while not all(fleet_spent.values()) and time.monotonic() < deadline:
        for i, (d, cg) in enumerate(((a, ca), (b, cb))):
            status, msg = request(d, cg, tokens=(60, 40))
            if status == 200:
                ok[i] += 1
            elif status == 0 or "fleet token budget" in msg and "is spent" in msg:
                fleet_spent[i] = True
            else:
                assert status == 429 and "until its next lease" in msg, (status, msg)
        time.sleep(0.05)
    assert all(fleet_spent.values()), (ok, fleet_spent)
    assert ok[0] > 0 and ok[1] > 0, ok
    # Usage from both adds up, in Redis as in each host's own maps.
    ta, tb = tokens_of(a, ca)[0], tokens_of(b, cb)[0]
    c = wait_for(lambda: (lambda c: c if host_spent(c) == {"h0": ta, "h1": tb} else None)(
        fleet_counter(a, "token_budget")), what="Redis holding both hosts' spend")
    assert c["spent"] == ta + tb == 100 * (ok[0] + ok[1]), (c, ok)
    # Spent, give or take the last request each host let through.
    assert budget <= c["spent"] <= budget + 2 * 100, c
    assert c["limit"] == budget and c["window"] == "day"
    # Both kernels refuse new connects (EPERM), within a sync.
    time.sleep(2 * SYNC_MS / 1000)
    for d, cg in ((a, ca), (b, cb)):
        res = tls_client(cg, PROVIDER_V4, plain=True)
        assert res.get("errno") == 1, res
        assert d.stats_of(cg)["denied_quota"] >= 1
    # The table view names both hosts and the fleet's total.
    r = subprocess.run([AIGWCTL, "--config", b.dir, "usage", "--fleet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "h0" in r.stdout and "h1" in r.stdout and "(fleet)" in r.stdout, r.stdout


def test_fleet_requests_per_minute_holds_across_hosts():
    FakeProvider()
    redis = Redis()
    if time.time() % 60 > 35:  # fixed calendar minutes: stay inside one
        time.sleep(61 - time.time() % 60)
    (a, ca), (b, cb) = fleet_daemons(redis, lambda t: {
        "cgroups": [t.relpath("A")], "quota": {"requests_per_minute": 6, "scope": "fleet"}})
    ok = {0: 0, 1: 0}
    refused_fleet = 0
    deadline = time.monotonic() + 15
    while sum(ok.values()) < 6 and time.monotonic() < deadline:
        for i, (d, cg) in enumerate(((a, ca), (b, cb))):
            status, msg = request(d, cg)
            assert status in (200, 429), (status, msg)
            ok[i] += status == 200
    assert sum(ok.values()) == 6, ok
    assert ok[0] > 0 and ok[1] > 0, ok
    # The minute is spent for the fleet: both refuse, and say so.
    time.sleep(2 * SYNC_MS / 1000)
    for d, cg in ((a, ca), (b, cb)):
        status, msg = request(d, cg)
        assert status == 429, (status, msg)
        refused_fleet += "requests_per_minute" in msg
    assert refused_fleet == 2
    c = fleet_counter(a, "requests_per_minute")
    assert c["limit"] == 6 and sum(host_spent(c).values()) == 6, c


def test_fleet_redis_killed_then_back_empty_reconciles_exactly():
    FakeProvider()
    redis = Redis()
    (a, ca), (b, cb) = fleet_daemons(redis, lambda t: {
        "cgroups": [t.relpath("A")],
        "quota": {"token_budget": 1000, "window": "day", "scope": "fleet", "fleet_local_share": 0.5}},
        metrics=True)
    for d, cg in ((a, ca), (b, cb)):
        assert request(d, cg, tokens=(30, 20))[0] == 200
    wait_for(lambda: host_spent(fleet_counter(a, "token_budget")) == {"h0": 50, "h1": 50},
             what="both hosts reported")
    assert "aigw_fleet_redis_up 1" in metrics(a)

    redis.kill9()
    wait_for(lambda: "aigw_fleet_redis_up 0" in metrics(a), what="daemon a noticing Redis is gone")
    # Requests go on within the local share: half the budget for each host.
    statuses = [request(a, ca, tokens=(30, 20))[0] for _ in range(12)]
    assert statuses[:9] == [200] * 9, statuses  # 50 + 9 x 50 = 500: its share
    # Then refused: 429 by the gateway, or EPERM (0) by the kernel, whose
    # row follows the share while Redis is away.
    assert all(s in (0, 429) for s in statuses[9:]), statuses
    assert request(b, cb, tokens=(30, 20))[0] == 200
    m = metrics(a)
    assert 'aigw_fleet_local_share{policy="team",limit="token_budget"} 1' in m, m
    promtool = shutil.which("promtool")
    if promtool:  # the fleet's families keep /metrics clean
        r = subprocess.run([promtool, "check", "metrics"], input=m, capture_output=True, text=True)
        assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), r.stdout + r.stderr
    spent_a, spent_b = tokens_of(a, ca)[0], tokens_of(b, cb)[0]
    assert 500 <= spent_a <= 550 and spent_b == 100, (spent_a, spent_b)

    redis.start()  # back, empty
    c = wait_for(lambda: (lambda c: c if host_spent(c) == {"h0": spent_a, "h1": spent_b} else None)(
        fleet_counter(b, "token_budget")), what="Redis rebuilt from the hosts' reports")
    assert c["spent"] == spent_a + spent_b, c
    # Nothing counted twice, however many syncs go by.
    time.sleep(4 * SYNC_MS / 1000)
    c = fleet_counter(a, "token_budget")
    assert host_spent(c) == {"h0": spent_a, "h1": spent_b}, c
    assert "aigw_fleet_redis_up 1" in metrics(a)
    # Reconciled: the fleet has 1000 - 650 left, so b may spend again.
    assert request(b, cb, tokens=(30, 20))[0] == 200
