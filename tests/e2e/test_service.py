"""Issue 13: aigwd as a systemd service, tested without systemd as PID 1.

The sd_notify sequence is read from a test socket standing in for systemd's
NOTIFY_SOCKET: READY=1 only once the listener answers and the programs are
attached, RELOADING=1 then READY=1 around a reload, WATCHDOG=1 pings when
WATCHDOG_USEC asks for them, STOPPING=1 on SIGTERM. The audit log is reopened
on SIGHUP (logrotate renames it, then signals)."""
import os
import signal
import socket
import time

from aigw_test import CgroupTree, Daemon


def observe_policy(tree):
    return {"watch": {"cgroups": [tree.relpath("A")], "inspect": "observe"}}


class NotifySocket:
    def __init__(self, d):
        self.path = os.path.join(d.dir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def next(self, timeout=10):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(4096).decode()
        except socket.timeout:
            raise AssertionError(f"no sd_notify message within {timeout}s")

    def until(self, key, timeout=10, seen=None):
        deadline = time.monotonic() + timeout
        while True:
            msg = self.next(max(0.1, deadline - time.monotonic()))
            if seen is not None:
                seen.append(msg)
            if key in msg.split("\n"):
                return msg


def wait_nonempty(path, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (os.path.exists(path) and os.path.getsize(path)):
        time.sleep(0.05)
    return os.path.exists(path) and os.path.getsize(path) > 0


def test_sd_notify_sequence():
    tree = CgroupTree()
    tree.mk("A")
    d = Daemon(tree, observe_policy(tree))
    ns = NotifySocket(d)
    env = dict(os.environ, NOTIFY_SOCKET=ns.path, WATCHDOG_USEC="2000000")
    d.start(env=env)
    first = ns.next()
    assert "READY=1" in first.split("\n"), first
    assert "STATUS=serving 127.0.0.1:%d" % d.port in first, first
    # Ready means serving: the listener accepts and the links are pinned.
    with socket.create_connection(("127.0.0.1", d.port), timeout=2):
        pass
    assert os.path.exists(os.path.join(d.pin_dir, "link_connect4")), os.listdir(d.pin_dir)

    # WATCHDOG_USEC=2s: a ping at least every second.
    t0 = time.monotonic()
    ns.until("WATCHDOG=1", timeout=3)
    ns.until("WATCHDOG=1", timeout=3)
    assert time.monotonic() - t0 < 4

    d.signal(signal.SIGHUP)
    seen = []
    ns.until("RELOADING=1", seen=seen)
    reloading = seen[-1]
    assert any(line.startswith("MONOTONIC_USEC=") for line in reloading.split("\n")), reloading
    ns.until("READY=1", seen=seen)

    # A refused reload still ends in READY=1: the old set stays in force.
    with open(os.path.join(d.dir, "policies", "broken.json"), "w") as f:
        f.write("{")
    d.signal(signal.SIGHUP)
    ns.until("RELOADING=1")
    ns.until("READY=1")
    d.wait_log(r"reload refused")
    os.unlink(os.path.join(d.dir, "policies", "broken.json"))

    d.signal(signal.SIGTERM)
    ns.until("STOPPING=1")
    d.proc.wait(10)
    assert d.proc.returncode == 0


def test_no_notify_socket_no_messages():
    """Without NOTIFY_SOCKET the daemon starts as before (nothing to send)."""
    tree = CgroupTree()
    tree.mk("A")
    d = Daemon(tree, observe_policy(tree))
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    d.start(env=env)
    with socket.create_connection(("127.0.0.1", d.port), timeout=2):
        pass


def test_sighup_reopens_the_audit_log():
    """logrotate's way: rename audit.jsonl, send SIGHUP; new records go to a
    new audit.jsonl (0600), none are lost into the renamed one after it."""
    from aigw_test import PROVIDER_V4, FakeProvider, tls_client
    tree = CgroupTree()
    a = tree.mk("A")
    FakeProvider()
    d = Daemon(tree, observe_policy(tree)).start()
    audit = os.path.join(d.config["log_dir"], "audit.jsonl")
    tls_client(a, PROVIDER_V4)
    assert wait_nonempty(audit)
    os.rename(audit, audit + ".1")
    since = d.log_size()
    d.signal(signal.SIGHUP)
    d.wait_log(r"reloaded \d+ policies", since=since)
    assert os.path.exists(audit)
    assert oct(os.stat(audit).st_mode & 0o777) == "0o600"
    old_size = os.path.getsize(audit + ".1")
    tls_client(a, PROVIDER_V4)
    assert wait_nonempty(audit), "no record in the reopened audit.jsonl"
    assert os.path.getsize(audit + ".1") == old_size


def test_logrotate_snippet_rotates_and_the_daemon_reopens():
    """The shipped logrotate snippet, pointed at this daemon's audit log and
    with its postrotate sending SIGHUP to this daemon (the unit's reload)."""
    import shutil
    import subprocess
    from aigw_test import PROVIDER_V4, REPO, FakeProvider, Skip, tls_client
    if not shutil.which("logrotate"):
        raise Skip("logrotate is not installed (make deps)")
    tree = CgroupTree()
    a = tree.mk("A")
    FakeProvider()
    d = Daemon(tree, observe_policy(tree)).start()
    audit = os.path.join(d.config["log_dir"], "audit.jsonl")
    tls_client(a, PROVIDER_V4)
    assert wait_nonempty(audit)
    with open(os.path.join(REPO, "dist", "aigw.logrotate")) as f:
        snippet = f.read()
    conf = os.path.join(d.dir, "logrotate.conf")
    with open(conf, "w") as f:
        f.write(snippet.replace("/var/log/aigw/audit.jsonl", audit)
                .replace("systemctl reload aigwd.service", f"kill -HUP {d.proc.pid}"))
    since = d.log_size()
    r = subprocess.run(["logrotate", "--force", "--state", os.path.join(d.dir, "lr.state"), conf],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    d.wait_log(r"reloaded \d+ policies", since=since)
    assert os.path.exists(audit + ".1") and os.path.getsize(audit + ".1") > 0
    tls_client(a, PROVIDER_V4)
    assert wait_nonempty(audit) and oct(os.stat(audit).st_mode & 0o777) == "0o600"
