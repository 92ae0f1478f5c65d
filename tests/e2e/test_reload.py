"""Issue 6: policies reload on SIGHUP, validated whole; a broken set changes
nothing. (The control-socket form, `aigwctl reload`, is in test_aigwctl.)"""
import re
import signal
import time

from aigw_test import PROVIDER_V4, CgroupTree, Daemon, FakeProvider, tls_client


def intercepted(d, res):
    return bool(re.search(rf"conn cgroup=\S+ pid={res['pid']} ", d.log()))


def wait_for(pred, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_sighup_reload_moves_pin_and_broken_set_changes_nothing():
    FakeProvider()
    tree = CgroupTree()
    a, b = tree.mk("A"), tree.mk("B")
    d = Daemon(tree, {"p": {"cgroups": [tree.relpath("A")], "inspect": "observe"}}).start()
    assert intercepted(d, tls_client(a, PROVIDER_V4))
    assert not intercepted(d, tls_client(b, PROVIDER_V4))

    # A broken set: the old policy stays in force, the error names file, path, reason.
    d.write_config({"p": {"cgroups": [tree.relpath("B")], "inspect": "observe"},
                    "q": '{"fail_mode": "sideways"}'})
    since = d.log_size()
    d.signal(signal.SIGHUP)
    m = d.wait_log(r"reload refused.*", since=since)
    assert "q.json" in m.group(0) and "$.fail_mode" in m.group(0), m.group(0)
    assert intercepted(d, tls_client(a, PROVIDER_V4))
    assert not intercepted(d, tls_client(b, PROVIDER_V4))

    # A good set takes effect: B is managed now, A no longer.
    d.write_config({"p": {"cgroups": [tree.relpath("B")], "inspect": "observe"}})
    since = d.log_size()
    d.signal(signal.SIGHUP)
    d.wait_log(r"reloaded 1 policies", since=since)
    cg_b = __import__("os").stat(b).st_ino
    assert wait_for(lambda: [e["key"] for e in d.map_dump("cgroup_policy")] == [cg_b])
    assert intercepted(d, tls_client(b, PROVIDER_V4))
    assert not intercepted(d, tls_client(a, PROVIDER_V4))
