"""Issue 3: the kernel interception path, end to end.

Real BPF programs in the real kernel, real processes in real cgroups, a real
TLS round trip to a fake provider on 127.10.0.1:443 / [::1]:443 whose
certificate the client verifies: the policies here are "observe", so the
daemon splices the bytes through unchanged and TLS stays end to end.
"""
import errno
import os
import re
import signal
import subprocess
import time

from aigw_test import (AIGWD, PROVIDER_V4, PROVIDER_V6, CgroupTree, Daemon, FakeProvider,
                       tls_client)


def setup(fail_mode="closed", extra_policies=None):
    tree = CgroupTree()
    a, b = tree.mk("A"), tree.mk("B")
    policies = {"pol-a": {"cgroups": [tree.relpath("A")], "fail_mode": fail_mode, "inspect": "observe"}}
    policies.update(extra_policies or {})
    d = Daemon(tree, policies).start()
    return tree, a, b, d


def conn_lines(d, pid):
    return re.findall(rf"conn cgroup=(\S+) pid={pid} comm=(\S+) .*dst=(\S+) policy=(\S+)", d.log())


def assert_intercepted(d, tree, cg_sub, res, dst):
    assert "error" not in res, res
    assert res["status"] == 200, res
    assert res["peer"][0] == dst.rsplit(":", 1)[0].strip("[]") and res["peer"][1] == 443, \
        f"getpeername shows {res['peer']}, want {dst}"
    lines = conn_lines(d, res["pid"])
    assert lines, f"daemon did not log pid {res['pid']}:\n{d.log()}"
    assert lines[0][0] == "/" + tree.relpath(cg_sub), lines
    assert lines[0][2] == dst, lines


def test_pinned_cgroup_is_intercepted_ipv4():
    FakeProvider()
    tree, a, b, d = setup()
    res = tls_client(a, PROVIDER_V4)
    assert_intercepted(d, tree, "A", res, f"{PROVIDER_V4}:443")
    assert d.stats_of(a)["redirected"] == 1


def test_unpinned_cgroup_goes_direct_ipv4():
    prov = FakeProvider()
    tree, a, b, d = setup()
    res = tls_client(b, PROVIDER_V4)
    assert res.get("status") == 200 and res["peer"] == [PROVIDER_V4, 443], res
    assert not conn_lines(d, res["pid"]), d.log()
    assert "conn cgroup=" not in d.log()
    assert len(prov.connections()) == 1


def test_pinned_cgroup_is_intercepted_ipv6():
    FakeProvider()
    tree, a, b, d = setup()
    res = tls_client(a, PROVIDER_V6)
    assert_intercepted(d, tree, "A", res, f"[{PROVIDER_V6}]:443")


def test_unpinned_cgroup_goes_direct_ipv6():
    FakeProvider()
    tree, a, b, d = setup()
    res = tls_client(b, PROVIDER_V6)
    assert res.get("status") == 200 and res["peer"][0] == PROVIDER_V6, res
    assert "conn cgroup=" not in d.log()


def test_v4_mapped_destination_on_dual_stack_socket():
    FakeProvider()
    tree, a, b, d = setup()
    res = tls_client(a, "::ffff:" + PROVIDER_V4)
    assert "error" not in res and res["status"] == 200, res
    assert res["peer"][0] == "::ffff:" + PROVIDER_V4 and res["peer"][1] == 443, res
    assert conn_lines(d, res["pid"]), d.log()


def test_nested_cgroup_inherits_policy():
    FakeProvider()
    tree, a, b, d = setup()
    child = tree.mk("A/child/grandchild")
    res = tls_client(child, PROVIDER_V4)
    assert_intercepted(d, tree, "A/child/grandchild", res, f"{PROVIDER_V4}:443")
    assert conn_lines(d, res["pid"])[0][3] == "pol-a"
    # Counted against the pinned ancestor, not the leaf.
    assert d.stats_of(a)["redirected"] == 1


def test_deepest_pin_wins():
    FakeProvider()
    tree = CgroupTree()
    tree.mk("A/inner")
    d = Daemon(tree, {"outer": {"cgroups": [tree.relpath("A")], "inspect": "observe"},
                      "inner": {"cgroups": [tree.relpath("A/inner")], "inspect": "observe"}}).start()
    res = tls_client(os.path.join(tree.abs, "A/inner"), PROVIDER_V4)
    assert conn_lines(d, res["pid"])[0][3] == "inner", d.log()
    res = tls_client(os.path.join(tree.abs, "A"), PROVIDER_V4)
    assert conn_lines(d, res["pid"])[0][3] == "outer", d.log()


def test_daemon_own_connections_not_redirected_with_root_pin():
    prov = FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    # Pinned at the daemon's cgroup_root itself: the daemon's own cgroup is
    # below it. Were its upstream connect redirected, it would loop to itself.
    d = Daemon(tree, {"everything": {"cgroups": [tree.rel], "fail_mode": "closed", "inspect": "observe"}}).start()
    res = tls_client(a, PROVIDER_V4)
    assert res.get("status") == 200, res
    assert len(re.findall(r" conn cgroup=", d.log())) == 1, d.log()
    conns = prov.connections()
    assert len(conns) == 1, conns


def test_sigkill_fail_closed_refuses_at_once():
    prov = FakeProvider()
    tree, a, b, d = setup(fail_mode="closed")
    assert tls_client(a, PROVIDER_V4).get("status") == 200
    before = d.stats_of(a)
    n_conns = len(prov.connections())
    d.kill9()
    res = tls_client(a, PROVIDER_V4)
    assert res.get("errno") == errno.EPERM, res
    assert res["error_ms"] < 1000, res
    assert len(prov.connections()) == n_conns, "a refused connect reached the provider"
    # The unpinned sibling is unaffected.
    assert tls_client(b, PROVIDER_V4).get("status") == 200
    # Restart: interception resumes, counters intact.
    d.start()
    res = tls_client(a, PROVIDER_V4)
    assert_intercepted(d, tree, "A", res, f"{PROVIDER_V4}:443")
    after = d.stats_of(a)
    assert after["redirected"] == before["redirected"] + 1, (before, after)
    assert after["denied_down"] == before["denied_down"] + 1, (before, after)


def test_sigkill_fail_open_goes_direct():
    prov = FakeProvider()
    tree, a, b, d = setup(fail_mode="open")
    d.kill9()
    log_len = d.log_size()
    res = tls_client(a, PROVIDER_V4)
    assert res.get("status") == 200 and res["peer"] == [PROVIDER_V4, 443], res
    assert len(prov.connections()) == 1
    assert d.stats_of(a)["direct_down"] == 1
    d.start()
    res = tls_client(a, PROVIDER_V4)
    assert res.get("status") == 200
    assert conn_lines(d, res["pid"]), d.log()[log_len:]
    assert d.stats_of(a)["redirected"] == 1


def test_clean_stop_applies_fail_mode_too():
    FakeProvider()
    tree, a, b, d = setup(fail_mode="closed")
    d.stop()
    assert tls_client(a, PROVIDER_V4).get("errno") == errno.EPERM


def test_non_provider_destination_untouched():
    tree, a, b, d = setup()
    # A listener of our own on a non-provider address: connect from A goes
    # straight to it and getpeername is the real peer.
    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    try:
        res = tls_client(a, "127.0.0.1", port=port, plain=True)
        assert res["peer"] == ["127.0.0.1", port], res
    finally:
        srv.close()
    assert "conn cgroup=" not in d.log()


def test_two_instances_side_by_side():
    FakeProvider()
    t1, t2 = CgroupTree(), CgroupTree()
    a1, a2 = t1.mk("A"), t2.mk("A")
    d1 = Daemon(t1, {"p1": {"cgroups": [t1.relpath("A")], "inspect": "observe"}}).start()
    d2 = Daemon(t2, {"p2": {"cgroups": [t2.relpath("A")], "inspect": "observe"}}).start()
    r1 = tls_client(a1, PROVIDER_V4)
    r2 = tls_client(a2, PROVIDER_V4)
    assert conn_lines(d1, r1["pid"]) and not conn_lines(d2, r1["pid"])
    assert conn_lines(d2, r2["pid"]) and not conn_lines(d1, r2["pid"])


def test_cleanup_removes_pins_links_and_cgroup():
    tree, a, b, d = setup()
    pin_dir = d.pin_dir
    # An older version's own cgroup, left behind: --cleanup removes it too.
    legacy_cg = tree.mk(f"aigwd-{d.port}")
    assert os.path.exists(os.path.join(pin_dir, "link_connect4"))
    d.stop()
    r = subprocess.run([AIGWD, "--config", d.dir, "--cleanup"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(pin_dir)
    assert not os.path.exists(legacy_cg), r.stdout
    links = subprocess.run(["bpftool", "link", "show", "-j"], capture_output=True, text=True).stdout
    assert f'"cgroup_id":{os.stat(tree.abs).st_ino}' not in links.replace(" ", "")


def test_bpftool_prints_named_fields():
    FakeProvider()
    tree, a, b, d = setup()
    tls_client(a, PROVIDER_V4)
    r = subprocess.run(["bpftool", "map", "dump", "pinned", os.path.join(d.pin_dir, "cgroup_stats")],
                       capture_output=True, text=True, check=True)
    assert '"redirected": 1' in r.stdout, r.stdout
    pol = d.map_dump("cgroup_policy")
    assert pol == [{"key": os.stat(a).st_ino,
                    "value": {"policy_id": 1, "flags": 0, "tls_ports": [0] * 8}}], pol


def test_policy_for_cgroup_created_later_is_picked_up():
    FakeProvider()
    tree = CgroupTree()
    d = Daemon(tree, {"late": {"cgroups": [tree.relpath("later")], "inspect": "observe"}}).start()
    later = tree.mk("later")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not d.map_dump("cgroup_policy"):
        time.sleep(0.1)
    res = tls_client(later, PROVIDER_V4)
    assert conn_lines(d, res["pid"]), d.log()


def test_config_errors_are_clear():
    tree = CgroupTree()
    d = Daemon(tree, {"bad": '{"cgroups": ["x"], "fail_mode": "sometimes"}'})
    r = subprocess.run([AIGWD, "--config", d.dir], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert "bad.json" in r.stderr and "$.fail_mode" in r.stderr, r.stderr
    d.write_config({"broken": '{"cgroups": [}'})
    r = subprocess.run([AIGWD, "--config", d.dir, "--check"], capture_output=True, text=True)
    assert r.returncode != 0 and "broken.json" in r.stderr, r.stderr
    d.write_config({"ok": {"cgroups": []}})
    r = subprocess.run([AIGWD, "--config", d.dir, "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([AIGWD, "--config", "/nonexistent-dir"], capture_output=True, text=True)
    assert r.returncode != 0 and "aigw.json" in r.stderr, r.stderr


def test_not_root_is_refused():
    tree = CgroupTree()
    d = Daemon(tree, {})
    os.chmod(d.dir, 0o755)
    for root, dirs, files in os.walk(d.dir):
        for n in dirs:
            os.chmod(os.path.join(root, n), 0o755)
        for n in files:
            os.chmod(os.path.join(root, n), 0o644)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", AIGWD,
                        "--config", d.dir], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and "root" in r.stderr, r.stderr
