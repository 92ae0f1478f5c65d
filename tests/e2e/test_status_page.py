"""Issue 13 (status page): the read-only page at / on metrics_listen, in a
real browser (Debian's chromium, headless, driven by playwright-core),
against a running daemon after real requests: cgroups with their policy,
usage, cost and budget left, top models, recent refusals, refreshing by
itself; per-cgroup data only with the metrics token; no secrets shown."""
import json
import os
import shutil
import subprocess

from aigw_test import NODE_DIR, CgroupTree, Daemon, FakeProvider, Skip, free_port, tmpdir
from test_cli import curl
from test_metrics import token_of


def browser_problem():
    if not os.access("/usr/bin/chromium", os.X_OK):
        return "Debian's chromium is not installed (make deps)"
    if not shutil.which("node"):
        return "node is not installed"
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "playwright-core")):
        return "playwright-core is not installed (make e2e-deps)"
    return None


def open_page(url, signal=None, shot=None):
    argv = ["node", os.path.join(NODE_DIR, "status_page.mjs"), url, signal or "", shot or ""]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=NODE_DIR)


def next_view(p, timeout=60):
    import select
    r, _, _ = select.select([p.stdout], [], [], timeout)
    line = p.stdout.readline() if r else ""
    if not line:
        p.kill()
        raise AssertionError(f"the page gave no view: {p.stderr.read()[-3000:]}")
    return json.loads(line)


def test_status_page_in_a_real_browser():
    why = browser_problem()
    if why:
        raise Skip(why)
    FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    pol = {"team": {"cgroups": [tree.relpath("A")], "models": {"deny": ["gpt-5*"]},
                    "quota": {"token_budget": 100000, "window": "day"}}}
    d = Daemon(tree, pol, extra_config={"metrics_listen": f"127.0.0.1:{free_port()}"}).start()
    curl(a, d, "gpt-4o-mini")
    curl(a, d, "gpt-5")
    token = token_of(d)
    work = tmpdir("aigw-e2e-page-")
    signal = os.path.join(work, "go")
    shot = os.environ.get("AIGW_PAGE_SHOT") or os.path.join(work, "page.png")
    p = open_page(f"http://{d.config['metrics_listen']}/#token={token}", signal, shot)
    try:
        v = next_view(p)
        # The token left the address bar and is never shown.
        assert "#token" not in v["url"] and token not in v["text"], v["url"]
        assert not v["authVisible"]
        assert v["meta"].startswith("aigwd ") and "policies: team" in v["meta"], v["meta"]
        row = [r for r in v["cgroups"] if r[0] == "/" + tree.relpath("A")]
        assert row, v["cgroups"]
        cg, policy, requests, tin, tout, cost, budget, left, denials = row[0]
        assert (policy, requests, tin, tout) == ("team", "1", "11", "7"), row
        assert float(cost) > 0 and (budget, left) == ("100000", str(100000 - 18)), row
        assert v["models"][0][0] == "gpt-4o-mini" and v["models"][0][1] == "1", v["models"]
        assert ["model", "1"] in v["reasons"], v["reasons"]
        ref = v["refusals"][0]
        assert ref[1] == "/" + tree.relpath("A") and ref[2].startswith("curl[") and ref[3] == "gpt-5", ref
        assert ref[4] == "403" and ref[5] == "model", ref
        # A new refusal shows up by itself (the page polls; no reload).
        curl(a, d, "gpt-5-mini")
        open(signal, "w").close()
        v2 = next_view(p)
        assert v2["refusals"][0][3] == "gpt-5-mini", v2["refusals"]
        assert ["model", "2"] in v2["reasons"], v2["reasons"]
        assert p.wait(30) == 0, p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert os.path.getsize(shot) > 1000
    # Without the token: host-wide figures only, and the page asks for it.
    p = open_page(f"http://{d.config['metrics_listen']}/")
    try:
        v = next_view(p)
        assert v["authVisible"] and v["cgroups"] == [["none"]] and v["refusals"] == [["none"]], v
        assert ["model", "2"] in v["reasons"], v["reasons"]
        assert p.wait(30) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
