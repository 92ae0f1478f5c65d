"""Issue 13 (the command line): every aigwctl command has its own --help,
options go before or after the command, AIGW_CONFIG names the config dir,
--json on every command that prints data (null where there is no budget),
top fits 100 columns and takes --columns, `aigwctl events` shows requests
and refusals with their reasons, and no process can forge a log line."""
import ctypes
import json
import os
import re
import signal
import subprocess
import time

import aigw_test
from aigw_test import (PROVIDER_V4, PYTHON, CgroupTree, Daemon, FakeProvider, hosts_file, run,
                       trust_env, with_hosts)
from test_usage import HOSTS

AIGWCTL = os.environ.get("AIGWCTL", aigw_test.AIGWCTL)
COMMANDS = ["status", "usage", "top", "events", "pin", "unpin", "exec", "reload", "conns", "policy", "ca",
            "help"]


def ctl(*args, env=None, timeout=30):
    return run([AIGWCTL, *args], env=env, timeout=timeout)


def curl(cgroup, d, model, check=True):
    r = run(with_hosts(["curl", "-sS", "--max-time", "20", "https://api.openai.com/v1/chat/completions",
                        "-H", "content-type: application/json",
                        "-d", json.dumps({"model": model, "messages": []})], hosts_file(HOSTS)),
            cgroup=cgroup, env=trust_env(d))
    if check:
        assert r.returncode == 0, r.stderr
    return r


def test_every_command_has_its_own_help():
    for name in COMMANDS:
        for args in ([name, "--help"], ["--help", name], ["help", name]):
            r = ctl(*args)
            assert r.returncode == 0, (args, r.stderr)
            assert r.stdout.startswith(f"usage: aigwctl [--config DIR] {name} "), (args, r.stdout)
            assert all(len(line) <= 100 for line in r.stdout.splitlines()), r.stdout
    r = ctl("--help")
    assert r.returncode == 0 and all(f"  {c} " in r.stdout for c in COMMANDS), r.stdout
    assert all(len(line) <= 100 for line in r.stdout.splitlines()), r.stdout
    r = ctl("--version")
    assert r.returncode == 0 and re.match(r"aigwctl \d+\.\d+\.\d+ \(commit \w+\)$", r.stdout.strip())
    r = run([aigw_test.AIGWD, "--version"])
    assert r.returncode == 0 and r.stdout.startswith("aigwd "), r.stdout
    # A bad option names the command and prints that command's usage.
    r = ctl("usage", "--yaml")
    assert r.returncode == 2 and "usage: aigwctl [--config DIR] usage [--json]" in r.stderr, r.stderr


def test_options_anywhere_and_aigw_config():
    tree = CgroupTree()
    tree.mk("A")
    d = Daemon(tree, {"p": {"cgroups": [tree.relpath("A")], "inspect": "observe"}}).start()
    outs = []
    for args, env in ((["--config", d.dir, "usage", "--json"], None),
                      (["usage", "--json", "--config", d.dir], None),
                      (["--json", "usage", f"--config={d.dir}"], None),
                      (["usage", "--json"], dict(os.environ, AIGW_CONFIG=d.dir))):
        r = ctl(*args, env=env)
        assert r.returncode == 0, (args, r.stderr)
        outs.append(json.loads(r.stdout))
    assert all(o == outs[0] for o in outs), outs
    row = [x for x in outs[0] if x["cgroup"] == tree.relpath("A")][0]
    # No budget: null, not 0.
    assert row["token_budget"] is None and row["budget_left"] is None, row
    # --config wins over AIGW_CONFIG.
    r = ctl("status", "--config", d.dir, env=dict(os.environ, AIGW_CONFIG="/nonexistent"))
    assert r.returncode == 0, r.stderr
    r = ctl("status", env=dict(os.environ, AIGW_CONFIG="/nonexistent"))
    assert r.returncode == 1 and "/nonexistent/aigw.json" in r.stderr, r.stderr


def test_json_on_every_command_that_prints_data():
    FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    tree.mk("B")
    pol = {"p": {"cgroups": [tree.relpath("A")], "quota": {"token_budget": 1000, "window": "day"}}}
    d = Daemon(tree, pol).start()
    curl(a, d, "gpt-4o-mini")
    c = ["--config", d.dir]
    assert json.loads(ctl(*c, "status", "--json").stdout)["pid"] == d.proc.pid
    rows = json.loads(ctl(*c, "usage", "--json").stdout)
    row = [x for x in rows if x["cgroup"] == tree.relpath("A")][0]
    assert row["token_budget"] == 1000 and row["budget_left"] == 1000 - 18, row
    top = json.loads(ctl(*c, "top", "--json", "--columns", "requests,tokens,budget_left,requests/s").stdout)
    trow = [x for x in top if x["cgroup"] == tree.relpath("A")][0]
    assert trow["requests"] == 1 and trow["tokens"] == 18 and trow["budget_left"] == 982, trow
    assert "requests/s" in trow and set(trow) == {"cgroup", "policy", "requests", "tokens", "budget_left",
                                                  "requests/s"}, trow
    assert json.loads(ctl(*c, "pin", "--json", tree.relpath("B"), "p").stdout)["ok"] is True
    brow = [x for x in json.loads(ctl(*c, "top", "--json").stdout) if x["cgroup"] == tree.relpath("B")][0]
    assert brow["budget_left"] == 1000, brow  # pinned to p: its own budget
    assert json.loads(ctl(*c, "unpin", "--json", tree.relpath("B")).stdout)["cgroup"] == tree.relpath("B")
    assert json.loads(ctl(*c, "reload", "--json").stdout)["policies"] == 1
    pfile = os.path.join(d.dir, "policies", "p.json")
    checks = json.loads(ctl(*c, "policy", "check", "--json", pfile).stdout)
    assert checks == [{"file": pfile, "ok": True, "error": None}], checks
    assert json.loads(ctl(*c, "ca", "path", "--json").stdout)["path"].endswith("/ca.crt")
    ev = [json.loads(line) for line in ctl(*c, "events", "--json").stdout.splitlines()]
    assert ev and ev[-1]["model"] == "gpt-4o-mini", ev


def test_top_fits_100_columns_and_lets_one_choose():
    tree = CgroupTree()
    deep = "a-rather-long-service-name-for-a-cgroup.service/and-a-long-child-below-it"
    tree.mk(deep)
    d = Daemon(tree, {"p": {"cgroups": [tree.relpath(deep)], "inspect": "observe",
                            "quota": {"token_budget": 10 ** 12, "window": "month"}}}).start()
    r = ctl("--config", d.dir, "top", "--once")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert all(len(line) <= 100 for line in lines), "\n".join(f"{len(x)}: {x}" for x in lines)
    hdr = next(line for line in lines if line.startswith("CGROUP"))
    assert hdr.split() == ["CGROUP", "POLICY", "REQ/S", "REQ", "TOK/S", "TOK", "COST-USD", "LEFT",
                           "DENY-Q"], hdr
    row = next(line for line in lines if line.startswith("..."))
    assert row.split()[0].endswith("service/and-a-long-child-below-it") and "1.0T" in row, row
    assert len(row) == 100, row  # the path takes what the numbers leave
    r = ctl("--config", d.dir, "top", "--once", "--columns", "denied_quota,redirected/s")
    hdr = next(line for line in r.stdout.splitlines() if line.startswith("CGROUP"))
    assert hdr.split() == ["CGROUP", "POLICY", "DENY-Q", "REDIR/S"], r.stdout
    r = ctl("--config", d.dir, "top", "--columns", "bogus")
    assert r.returncode == 2 and 'unknown column "bogus"' in r.stderr, r.stderr


def test_events_show_requests_refusals_and_kernel_denials():
    FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    pol = {"p": {"cgroups": [tree.relpath("A")], "models": {"deny": ["gpt-5*"]},
                 "quota": {"token_budget": 30, "window": "day"}}}
    d = Daemon(tree, pol).start()
    follow = aigw_test.spawn([AIGWCTL, "--config", d.dir, "events", "--follow", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    curl(a, d, "gpt-4o-mini")          # 18 tokens
    r = curl(a, d, "gpt-5")            # refused: model
    assert "aigw:" in r.stdout, r.stdout
    curl(a, d, "gpt-4o-mini")          # 36 tokens: over the budget of 30
    r = curl(a, d, "gpt-4o-mini", check=False)  # refused by the kernel at connect
    assert r.returncode != 0, r.stdout
    deadline = time.monotonic() + 5
    ev = []
    while time.monotonic() < deadline:
        ev = [json.loads(x) for x in ctl("--config", d.dir, "events", "--json").stdout.splitlines()]
        if any(e["kind"] == "kernel" for e in ev):
            break
        time.sleep(0.2)
    cg = tree.relpath("A")
    ok = [e for e in ev if e["verdict"] == "forwarded"]
    assert len(ok) == 2 and all(e["cgroup"] == cg and e["model"] == "gpt-4o-mini" and e["status"] == 200
                                for e in ok), ev
    assert ok[0]["tokens_in"] == 11 and ok[0]["tokens_out"] == 7 and ok[0]["comm"] == "curl", ok[0]
    assert ok[0]["path"] == "/v1/chat/completions" and ok[0]["provider"] == "openai", ok[0]
    refused = [e for e in ev if e["reason"] == "model"]
    assert len(refused) == 1 and refused[0]["status"] == 403 and refused[0]["model"] == "gpt-5", ev
    kern = [e for e in ev if e["kind"] == "kernel"]
    assert kern and kern[0]["reason"] == "kernel_quota" and kern[0]["denied_quota"] >= 1, ev
    assert [e["seq"] for e in ev] == sorted(e["seq"] for e in ev)
    # The text form, one line each, with the reason.
    text = ctl("--config", d.dir, "events").stdout
    assert re.search(r"REFUSED .*model=gpt-5\s+403 .*model: ", text), text
    assert re.search(r"REFUSED .*kernel refused \d+ connect", text), text
    # --follow saw them live.
    time.sleep(0.6)
    follow.send_signal(signal.SIGINT)
    out, err = follow.communicate(timeout=5)
    assert follow.returncode == 0, err
    live = [json.loads(x) for x in out.decode().splitlines()]
    assert [e["seq"] for e in live] == [e["seq"] for e in ev], (live, ev)
    # The events hub's refusal counters reach the metrics too.
    assert d.log()  # (the daemon is still up)


def test_a_process_cannot_forge_a_log_line():
    FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    d = Daemon(tree, {"p": {"cgroups": [tree.relpath("A")], "inspect": "observe"}}).start()
    name = "x\naigwd error:"
    script = ("import ctypes, socket\n"
              f"ctypes.CDLL(None).prctl(15, {name.encode()!r}, 0, 0, 0)\n"
              f"s = socket.create_connection(('{PROVIDER_V4}', 443), timeout=5)\n"
              "s.close()\n")
    r = run([PYTHON, "-c", script], cgroup=a)
    assert r.returncode == 0, r.stderr
    d.wait_log(r"comm=x\\x0aaigwd error:")
    assert not re.search(r"^aigwd error:", d.log(), re.M), d.log()[-2000:]
    assert ctypes  # (prctl through ctypes in the child)


FAKE_BUSCTL = r"""#!/bin/sh
# Stands in for systemd's D-Bus API: StartTransientUnit NAME fail 3 PIDs au 1 PID ...
# makes the scope's cgroup under $AIGW_FAKE_SLICE and moves PID into it.
[ "$6" = StartTransientUnit ] && [ "${11}" = PIDs ] || exit 1
dir="$AIGW_FAKE_SLICE/$8"
mkdir -p "$dir" && echo "${14}" > "$dir/cgroup.procs" && echo "$8" >> "$AIGW_FAKE_LOG"
"""


def test_exec_uses_a_transient_scope_when_systemd_runs_the_host():
    """With /run/systemd/system present (systemd is PID 1), exec asks systemd
    for a transient scope (busctl StartTransientUnit, PIDs = CMD's process)
    and pins the scope's cgroup before CMD runs. systemd is not PID 1 here,
    so a private /run/systemd and a stand-in busctl play it."""
    FakeProvider()
    tree = CgroupTree()
    slice_abs = tree.mk("system.slice")
    d = Daemon(tree, {"pol": {"cgroups": [], "inspect": "observe"}},
               extra_config={"cgroup_root": ""}).start()
    fakebin = os.path.join(d.dir, "fakebin")
    os.makedirs(fakebin)
    with open(os.path.join(fakebin, "busctl"), "w") as f:
        f.write(FAKE_BUSCTL)
    os.chmod(os.path.join(fakebin, "busctl"), 0o755)
    calls = os.path.join(d.dir, "busctl.log")
    env = dict(os.environ, PATH=f"{fakebin}:{os.environ['PATH']}", AIGW_FAKE_SLICE=slice_abs,
               AIGW_FAKE_LOG=calls)
    probe = ("import json, socket\n"
             "cg = open('/proc/self/cgroup').read().strip().split('::', 1)[1]\n"
             f"s = socket.create_connection(('{PROVIDER_V4}', 443), timeout=5); s.close()\n"
             "print(json.dumps({'cgroup': cg}))\n")
    inner = ('mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system && exec "$@"')
    p = aigw_test.spawn(["unshare", "--mount", "--propagation", "private", "sh", "-c", inner, "sh",
                         AIGWCTL, "--config", d.dir, "exec", "--policy", "pol", "--", PYTHON, "-c", probe],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, (out, err)
    unit = open(calls).read().split()
    assert len(unit) == 1 and re.fullmatch(r"aigw-exec-\d+\.scope", unit[0]), unit
    scope_rel = f"{tree.relpath('system.slice')}/{unit[0]}"
    tree.dirs.append(os.path.join(slice_abs, unit[0]))
    res = json.loads(out.decode().strip().splitlines()[-1])
    assert res["cgroup"] == "/" + scope_rel, res
    # Its connect was managed under the pin of the scope.
    d.wait_log(rf"conn cgroup=/{re.escape(scope_rel)} .*policy=pol")
    # Afterwards the pin is gone (systemd removes an empty scope itself).
    st = json.loads(ctl("--config", d.dir, "status", "--json").stdout)
    assert not [x for x in st["pins"] if "aigw-exec-" in x["cgroup"]], st
