"""Issue 13 (contrib/): every metric the Grafana dashboard and the alert
rules query is exported by a running daemon's /metrics, after real
requests (a forwarded one, a refused one, a kernel denial), so no panel or
alert watches a name that does not exist."""
import importlib.util
import os
import re

from aigw_test import REPO, CgroupTree, Daemon, FakeProvider, free_port
from test_cli import curl
from test_metrics import families, get

_spec = importlib.util.spec_from_file_location("aigw_packaging_tests",
                                               os.path.join(REPO, "tests", "packaging", "run.py"))
_pkg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_pkg)
dashboard_exprs = _pkg.dashboard_exprs

# Not ours: Prometheus' own target health.
FOREIGN = {"up"}


def referenced_metrics():
    with open(os.path.join(REPO, "contrib/prometheus/aigw-alerts.yml")) as f:
        rules = f.read()
    text = "\n".join(dashboard_exprs()) + "\n" + "\n".join(
        line for line in rules.splitlines() if "expr:" in line or line.startswith("          "))
    names = set(re.findall(r"\b(aigw_[a-z0-9_]+)\b", text)) | ({"up"} & set(re.findall(r"\bup\b", text)))
    return names - FOREIGN


def test_every_metric_the_dashboard_and_alerts_query_is_exported():
    FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    pol = {"p": {"cgroups": [tree.relpath("A")], "models": {"deny": ["gpt-5*"]},
                 "quota": {"token_budget": 30, "window": "day"}}}
    d = Daemon(tree, pol, extra_config={"metrics_listen": f"127.0.0.1:{free_port()}"}).start()
    curl(a, d, "gpt-4o-mini")
    curl(a, d, "gpt-5")
    curl(a, d, "gpt-4o-mini")
    curl(a, d, "gpt-4o-mini", check=False)  # over the budget: refused at connect
    fams = families(get(d, "/metrics"))
    exported = set()
    for name, (typ, samples) in fams.items():
        exported.add(name)
        if typ == "histogram":
            exported |= {name + "_bucket", name + "_sum", name + "_count"}
    wanted = referenced_metrics()
    assert len(wanted) >= 15, wanted
    missing = sorted(wanted - exported)
    assert not missing, f"queried but not exported: {missing}"
    # And they carry samples, not just a header.
    empty = sorted(n for n in wanted if n in fams and not fams[n][1])
    assert not empty, f"exported without a sample: {empty}"
