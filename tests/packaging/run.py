"""Packaging tests (issue 13): make install's layout, the systemd unit
(systemd-analyze verify), logrotate, bash completion, man pages, and the
.deb: built offline with dpkg-buildpackage from this tree, installed into
this machine with dpkg, its daemon started the way the unit's ExecStart
does (in a network namespace of its own, told to notify a test socket),
then purged.

This machine has no systemd as PID 1, so `systemctl start` itself, the
watchdog, and the unit's sandboxing options are not exercised here; the
sd_notify sequence the unit relies on is (tests/e2e/test_service.py).

Prints one line per test and "N passed, N failed[, N skipped]"; writes the
counts to $AIGW_COUNTS_DIR/packaging. Usage: run.py [-k SUBSTRING]."""
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import traceback

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UNIT_KEYS = ["Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=", "NoNewPrivileges=yes",
             "ProtectSystem=strict", "CapabilityBoundingSet=CAP_BPF"]


class Skip(Exception):
    pass


_cleanups = []


def defer(fn, *args):
    _cleanups.append((fn, args))


def tmpdir():
    d = tempfile.mkdtemp(prefix="aigw-pkg-")
    defer(shutil.rmtree, d, True)
    return d


def sh(argv, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{argv} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def need(tool, pkg):
    if not shutil.which(tool):
        raise Skip(f"{tool} is not installed (Debian package {pkg}; make deps)")


def install(dest, *extra):
    return sh(["make", "--no-print-directory", "-C", REPO, "install", f"DESTDIR={dest}", *extra])


# --- make install ----------------------------------------------------------------

EXPECTED_USR = {
    "usr/sbin/aigwd": 0o755, "usr/bin/aigwctl": 0o755,
    "etc/aigw/aigw.json": 0o644, "etc/aigw/prices.json": 0o644,
    "etc/aigw/policies/default.json": 0o644, "etc/aigw/policies/strict.json": 0o644,
    "lib/systemd/system/aigwd.service": 0o644, "usr/lib/tmpfiles.d/aigw.conf": 0o644,
    "etc/logrotate.d/aigw": 0o644, "usr/share/bash-completion/completions/aigwctl": 0o644,
    "usr/share/man/man8/aigwd.8": 0o644, "usr/share/man/man8/aigwctl.8": 0o644,
    "usr/share/man/man5/aigw.json.5": 0o644, "usr/share/man/man5/aigw-policy.5": 0o644,
}


def test_install_layout_prefix_usr():
    dest = tmpdir()
    install(dest, "PREFIX=/usr")
    for rel, mode in EXPECTED_USR.items():
        st = os.stat(os.path.join(dest, rel))
        assert stat.S_IMODE(st.st_mode) == mode, (rel, oct(st.st_mode))
    unit = open(os.path.join(dest, "lib/systemd/system/aigwd.service")).read()
    assert "ExecStart=/usr/sbin/aigwd --config /etc/aigw\n" in unit, unit
    assert not re.search(r"@[A-Z]+@", unit), "unfilled placeholder in the unit"
    r = sh([os.path.join(dest, "usr/sbin/aigwd"), "--config", os.path.join(dest, "etc/aigw"), "--check"])
    assert "config and 3 policies are valid" in r.stdout, r.stdout
    assert sh([os.path.join(dest, "usr/bin/aigwctl"), "--version"]).stdout.startswith("aigwctl ")


def test_install_layout_prefix_usr_local_keeps_config():
    dest = tmpdir()
    install(dest)  # PREFIX defaults to /usr/local
    assert os.access(os.path.join(dest, "usr/local/sbin/aigwd"), os.X_OK)
    assert os.access(os.path.join(dest, "usr/local/bin/aigwctl"), os.X_OK)
    assert os.path.exists(os.path.join(dest, "usr/local/share/man/man8/aigwd.8"))
    unit = open(os.path.join(dest, "lib/systemd/system/aigwd.service")).read()
    assert "ExecStart=/usr/local/sbin/aigwd --config /etc/aigw\n" in unit
    # A second install never overwrites an edited config.
    cfg = os.path.join(dest, "etc/aigw/aigw.json")
    with open(cfg, "w") as f:
        f.write('{"listen_port": 16000}\n')
    install(dest)
    assert open(cfg).read() == '{"listen_port": 16000}\n'
    sh(["make", "--no-print-directory", "-C", REPO, "uninstall", f"DESTDIR={dest}"])
    assert not os.path.exists(os.path.join(dest, "usr/local/sbin/aigwd"))
    assert os.path.exists(cfg), "uninstall must leave the config"


# --- the unit, logrotate, completion, man pages ------------------------------------

def test_systemd_analyze_verify():
    need("systemd-analyze", "systemd")
    dest = tmpdir()
    install(dest, "PREFIX=/usr")
    unit = open(os.path.join(dest, "lib/systemd/system/aigwd.service")).read()
    for key in UNIT_KEYS:
        assert key in unit, key
    # Verified where its binary is: the same unit, pointed into DESTDIR.
    vdir = tmpdir()
    with open(os.path.join(vdir, "aigwd.service"), "w") as f:
        f.write(unit.replace("/usr/sbin/aigwd", os.path.join(dest, "usr/sbin/aigwd")))
    r = sh(["systemd-analyze", "verify", os.path.join(vdir, "aigwd.service")], check=False,
           env=dict(os.environ, MANPATH=os.path.join(dest, "usr/share/man")))
    assert r.returncode == 0 and not r.stderr.strip(), r.stdout + r.stderr
    # And it does find a mistake.
    with open(os.path.join(vdir, "aigwd.service"), "a") as f:
        f.write("\n[Service]\nType=notifyy\n")
    r = sh(["systemd-analyze", "verify", os.path.join(vdir, "aigwd.service")], check=False,
           env=dict(os.environ, MANPATH=os.path.join(dest, "usr/share/man")))
    assert "notifyy" in r.stderr, r.stderr


def test_logrotate_snippet():
    need("logrotate", "logrotate")
    text = open(os.path.join(REPO, "dist/aigw.logrotate")).read()
    assert "/var/log/aigw/audit.jsonl" in text and "systemctl reload aigwd.service" in text
    d = tmpdir()
    log = os.path.join(d, "audit.jsonl")
    with open(log, "w") as f:
        f.write('{"event":"connection"}\n')
    marker = os.path.join(d, "hup")
    conf = os.path.join(d, "aigw")
    with open(conf, "w") as f:
        f.write(text.replace("/var/log/aigw/audit.jsonl", log)
                .replace("systemctl reload aigwd.service", f"touch {marker}"))
    r = sh(["logrotate", "--force", "--state", os.path.join(d, "state"), conf])
    assert os.path.exists(log + ".1") and not os.path.exists(log), os.listdir(d)
    assert os.path.exists(marker), "postrotate did not run" + r.stderr


def complete(line):
    """COMPREPLY of the completion function for a command line as typed."""
    words = line.split() + ([""] if line.endswith(" ") else [])
    script = ("source /usr/share/bash-completion/bash_completion 2>/dev/null\n"
              "source \"$1\"\nshift\n"
              "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMP_LINE=\"$*\"; COMP_POINT=${#COMP_LINE}\n"
              "_aigwctl aigwctl\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    r = sh(["bash", "-c", script, "bash", os.path.join(REPO, "dist/aigwctl.bash-completion"), *words],
           env=dict(os.environ, AIGW_CONFIG=f"{REPO}/policies"))
    return sorted(r.stdout.split())


def test_bash_completion():
    if not os.path.exists("/usr/share/bash-completion/bash_completion"):
        raise Skip("bash-completion is not installed (make deps)")
    sh(["bash", "-n", os.path.join(REPO, "dist/aigwctl.bash-completion")])
    assert complete("aigwctl ") == sorted(
        "status usage top events pin unpin exec reload conns policy ca help".split())
    assert complete("aigwctl us") == ["usage"]
    assert complete("aigwctl events --") == ["--config", "--follow", "--help", "--json", "--last"]
    assert complete("aigwctl conns --") == ["--config", "--help", "--json", "--reset"]
    assert complete("aigwctl exec --policy ") == ["default", "strict", "team-example"]
    assert complete("aigwctl ca ") == ["export", "install", "path"]
    assert "requests/s" in complete("aigwctl top --columns ")


def test_man_pages():
    need("groff", "groff-base")
    for page in ("aigwd.8", "aigwctl.8", "aigw.json.5", "aigw-policy.5"):
        r = sh(["groff", "-man", "-ww", "-z", os.path.join(REPO, "man", page)], check=False,
               env=dict(os.environ, LC_ALL="C.UTF-8"))
        assert r.returncode == 0 and not r.stderr.strip(), (page, r.stderr)
        text = sh(["man", "-l", "-P", "cat", os.path.join(REPO, "man", page)],
                  env=dict(os.environ, MANWIDTH="80")).stdout
        assert "NAME" in text and "SEE ALSO" in text, page
    # Every aigwctl command is in its man page.
    text = open(os.path.join(REPO, "man/aigwctl.8")).read()
    for cmd in ("status", "usage", "top", "events", "pin", "unpin", "exec", "reload", "policy check", "ca path"):
        assert cmd in text, cmd


# --- contrib/: alert rules and the Grafana dashboard ---------------------------------

def dashboard_exprs():
    """Every query of contrib/grafana/aigw-dashboard.json, Grafana's
    variables replaced by what they stand for."""
    import json
    with open(os.path.join(REPO, "contrib/grafana/aigw-dashboard.json")) as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    exprs += [v["query"] for v in dash["templating"]["list"] if v["type"] == "query"]
    subst = {"$__rate_interval": "5m", "$__range": "1h", "$job": "aigw", "$cgroup": ".*"}
    out = []
    for e in exprs:
        for k, v in subst.items():
            e = e.replace(k, v)
        out.append(e)
    return out


def test_alert_rules_check_and_unit_tests():
    need("promtool", "prometheus")
    d = os.path.join(REPO, "contrib/prometheus")
    r = sh(["promtool", "check", "rules", "aigw-alerts.yml"], cwd=d)
    assert "SUCCESS: 8 rules found" in r.stdout, r.stdout
    r = sh(["promtool", "test", "rules", "aigw-alerts.test.yml"], check=False, cwd=d)
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr
    # Every alert has a unit test.
    rules = open(os.path.join(d, "aigw-alerts.yml")).read()
    tests = open(os.path.join(d, "aigw-alerts.test.yml")).read()
    alerts = re.findall(r"^\s*- alert: (\w+)", rules, re.M)
    assert sorted(alerts) == sorted({"AigwBudget80", "AigwBudget95", "AigwDown", "AigwDenialSpike",
                                     "AigwFailOpenConnects", "AigwCertMintFailures"}), alerts
    for a in alerts:
        assert re.search(rf"alertname: {a}\n\s*exp_alerts:\n\s*- exp_labels", tests), f"{a}: no firing test"
        assert re.search(rf"alertname: {a}\n\s*exp_alerts: \[\]", tests), f"{a}: no quiet test"


def test_dashboard_queries_parse():
    """Grafana's queries, as recording rules, through promtool's parser."""
    need("promtool", "prometheus")
    import json
    exprs = [e for e in dashboard_exprs() if not e.startswith("label_values(")]
    assert len(exprs) > 20
    d = tmpdir()
    with open(os.path.join(d, "dash.yml"), "w") as f:
        json.dump({"groups": [{"name": "dashboard", "rules": [{"record": f"dash:q{i}", "expr": e}
                                                              for i, e in enumerate(exprs)]}]}, f)
    r = sh(["promtool", "check", "rules", os.path.join(d, "dash.yml")], check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(REPO, "contrib/grafana/aigw-dashboard.json")) as f:
        dash = json.load(f)
    titles = " | ".join(p["title"] for p in dash["panels"])
    for want in ("Tokens", "Cost", "Budget left", "refusals by reason", "percentiles", "Fail-open"):
        assert want.lower() in titles.lower(), (want, titles)


# --- the .deb --------------------------------------------------------------------------

_deb = None


def build_deb():
    """dpkg-buildpackage -b -uc -us on a copy of this tree (its files as git
    sees them, committed or not); once per run."""
    global _deb
    if _deb:
        return _deb
    need("dpkg-buildpackage", "dpkg-dev")
    need("dh", "debhelper")
    out = tempfile.mkdtemp(prefix="aigw-pkg-deb-")
    import atexit
    atexit.register(shutil.rmtree, out, True)
    src = os.path.join(out, "aigw")
    os.makedirs(src)
    files = sh(["git", "-C", REPO, "ls-files", "-co", "--exclude-standard", "-z"]).stdout.split("\0")
    files = [f for f in files if f and os.path.exists(os.path.join(REPO, f))
             and not f.startswith("tests/e2e/node/node_modules")]
    listing = os.path.join(out, "files")
    with open(listing, "w") as f:
        f.write("\0".join(files))
    sh(["sh", "-c", 'tar -C "$0" --null -T "$1" -cf - | tar -C "$2" -xf -', REPO, listing, src])
    r = sh(["dpkg-buildpackage", "-b", "-uc", "-us"], check=False, cwd=src,
           env=dict(os.environ, DEB_BUILD_OPTIONS="parallel=%d" % os.cpu_count()))
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    debs = [f for f in os.listdir(out) if re.match(r"aigw_.*_amd64\.deb$|aigw_.*\.deb$", f)]
    assert len(debs) == 1, os.listdir(out)
    _deb = os.path.join(out, debs[0])
    return _deb


def test_deb_builds_offline():
    deb = build_deb()
    names = sh(["dpkg-deb", "-c", deb]).stdout
    for rel in EXPECTED_USR:
        want = rel if not rel.startswith("usr/share/man") else rel + ".gz"
        assert f"./{want}\n" in names, want
    conffiles = sh(["dpkg-deb", "-I", deb, "conffiles"]).stdout.split()
    assert "/etc/aigw/aigw.json" in conffiles and "/etc/logrotate.d/aigw" in conffiles, conffiles
    info = sh(["dpkg-deb", "-I", deb]).stdout
    assert re.search(r"Depends:.*libbpf1.*libssl3", info), info


def test_deb_installs_and_its_daemon_starts_as_the_unit_would():
    if os.geteuid() != 0:
        raise Skip("needs root (dpkg -i into this machine)")
    if sh(["dpkg-query", "-W", "-f=${Status}", "aigw"], check=False).stdout.startswith("install ok"):
        raise Skip("an aigw package is already installed on this machine; not touching it")
    if os.path.exists("/etc/aigw") or os.path.exists("/sys/fs/bpf/aigw"):
        raise Skip("/etc/aigw or /sys/fs/bpf/aigw exists (another install); not touching it")
    deb = build_deb()
    defer(lambda: sh(["dpkg", "--purge", "aigw"], check=False))
    sh(["dpkg", "-i", deb])
    for path in ("/usr/sbin/aigwd", "/usr/bin/aigwctl", "/etc/aigw/aigw.json", "/lib/systemd/system/aigwd.service"):
        assert os.path.exists(path), path
    r = sh(["systemd-analyze", "verify", "/lib/systemd/system/aigwd.service"], check=False)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    assert sh(["/usr/sbin/aigwd", "--version"]).stdout.startswith("aigwd ")
    assert sh(["man", "-w", "aigwd"]).stdout.strip().endswith("aigwd.8.gz")
    sh(["systemd-tmpfiles", "--create", "aigw.conf"])  # what boot (or postinst) does
    assert os.path.isdir("/run/aigw")
    # ExecStartPre, then ExecStart as systemd would run them, in a network
    # namespace of their own so the default config touches no one else.
    unit = open("/lib/systemd/system/aigwd.service").read()
    pre = re.search(r"^ExecStartPre=(.*)$", unit, re.M).group(1).split()
    start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1).split()
    sh(pre)
    d = tmpdir()
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(os.path.join(d, "notify"))
    ns.settimeout(20)
    log = open(os.path.join(d, "aigwd.log"), "w")
    p = subprocess.Popen(["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *start],
                         stdout=log, stderr=log, env=dict(os.environ, NOTIFY_SOCKET=os.path.join(d, "notify")))

    def stop():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if os.path.exists("/usr/sbin/aigwd"):
            sh(["/usr/sbin/aigwd", "--cleanup"], check=False)
    defer(stop)
    try:
        msg = ns.recv(4096).decode()
    except socket.timeout:
        raise AssertionError("no READY=1: " + open(os.path.join(d, "aigwd.log")).read())
    assert "READY=1" in msg.split("\n"), msg
    st = sh(["/usr/bin/aigwctl", "status", "--json"])
    assert '"pid"' in st.stdout and os.path.exists("/run/aigw/ctl.sock"), st.stdout
    os.kill(p.pid, signal.SIGHUP)  # ExecReload
    assert "RELOADING=1" in ns.recv(4096).decode()
    assert "READY=1" in ns.recv(4096).decode()
    p.send_signal(signal.SIGTERM)
    assert "STOPPING=1" in ns.recv(4096).decode()
    assert p.wait(15) == 0
    stop()
    sh(["dpkg", "--purge", "aigw"])
    assert not os.path.exists("/usr/sbin/aigwd") and not os.path.exists("/etc/aigw/aigw.json")


def main(argv):
    pattern = argv[1] if len(argv) >= 2 and argv[0] == "-k" else None
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
    passed = failed = skipped = 0
    for name, fn in tests:
        if pattern and pattern not in name:
            continue
        t0 = time.monotonic()
        try:
            fn()
        except Skip as e:
            print(f"SKIP packaging.{name}: {e}", flush=True)
            skipped += 1
        except Exception:
            print(f"FAIL packaging.{name} ({time.monotonic() - t0:.1f}s)", flush=True)
            traceback.print_exc()
            failed += 1
        else:
            print(f"ok   packaging.{name} ({time.monotonic() - t0:.1f}s)", flush=True)
            passed += 1
        finally:
            while _cleanups:
                fn_, args = _cleanups.pop()
                try:
                    fn_(*args)
                except Exception as e:
                    print(f"  cleanup: {e}")
    line = f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")
    print(f"packaging: {line}")
    if os.environ.get("AIGW_COUNTS_DIR"):
        with open(os.path.join(os.environ["AIGW_COUNTS_DIR"], "packaging"), "w") as f:
            f.write(f"{passed} {failed} {skipped}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
