"""Helpers for aigw's end-to-end tests.

Everything a test creates (cgroups, daemons and their pins, fake providers,
client processes, temp dirs) registers its own cleanup with defer(); the
runner calls cleanup_all() after every test, pass or fail. Processes are
ended only by the PIDs we started.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.path.join(REPO, "build")
# `make e2e-asan` runs the daemon's ASan + UBSan build through the same tests.
AIGWD = os.environ.get("AIGW_E2E_AIGWD") or os.path.join(BUILD, "aigwd")
UNDER_ASAN = bool(os.environ.get("AIGW_E2E_AIGWD"))
AIGWCTL = os.path.join(BUILD, "aigwctl")
E2E = os.path.join(REPO, "tests", "e2e")
PYTHON = "/usr/bin/python3"  # Debian's, which sees python3-requests

PROVIDER_V4 = "127.10.0.1"
PROVIDER_V6 = "::1"
PROVIDER_PORT = 443


class Skip(Exception):
    pass


_cleanups = []


def defer(fn, *args):
    _cleanups.append((fn, args))


def cleanup_all():
    while _cleanups:
        fn, args = _cleanups.pop()
        try:
            fn(*args)
        except Exception as e:  # keep cleaning; report
            print(f"  cleanup {getattr(fn, '__name__', fn)}: {e}")


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            if post.split()[0] == "cgroup2":
                return pre.split()[4]
    return None


def environment_problem():
    """Why the e2e tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (BPF programs, cgroups)"
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        return "kernel has no BTF (/sys/kernel/btf/vmlinux)"
    if not cgroup2_mount():
        return "no cgroup2 mount"
    if not os.access(AIGWD, os.X_OK):
        return f"{AIGWD} is not built (run make)"
    return None


CG2 = cgroup2_mount()
RUN_ID = f"{os.getpid()}"


def tmpdir(prefix="aigw-e2e-"):
    d = tempfile.mkdtemp(prefix=prefix)
    defer(shutil.rmtree, d, True)
    return d


def free_port():
    for _ in range(100):
        s4 = socket.socket(socket.AF_INET)
        s4.bind(("127.0.0.1", 0))
        port = s4.getsockname()[1]
        s6 = socket.socket(socket.AF_INET6)
        try:
            s6.bind(("::1", port))
            return port
        except OSError:
            continue
        finally:
            s4.close()
            s6.close()
    raise RuntimeError("no free port")


# --- processes --------------------------------------------------------------

def _end_process(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def spawn(argv, cgroup=None, **kw):
    """Start argv, inside cgroup (an absolute cgroup dir) if given. The child
    moves itself in before exec, so its first connect is already managed."""
    def enter():
        if cgroup:
            with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
    p = subprocess.Popen(argv, preexec_fn=enter, **kw)
    defer(_end_process, p)
    return p


def run(argv, cgroup=None, timeout=30, check=False, **kw):
    p = spawn(argv, cgroup=cgroup, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"{argv[0]} timed out after {timeout}s: {err.decode()[-2000:]}")
    r = subprocess.CompletedProcess(argv, p.returncode, out.decode(), err.decode())
    if check and r.returncode != 0:
        raise AssertionError(f"{argv} exited {r.returncode}: {r.stderr[-2000:]}")
    return r


# --- cgroups ----------------------------------------------------------------

class CgroupTree:
    """A private subtree under the cgroup2 mount: aigw-e2e-<pid>-<n>."""
    _n = 0

    def __init__(self):
        CgroupTree._n += 1
        self.rel = f"aigw-e2e-{RUN_ID}-{CgroupTree._n}"
        self.abs = os.path.join(CG2, self.rel)
        os.makedirs(self.abs)
        self.dirs = [self.abs]
        defer(self.remove)

    def mk(self, sub):
        path = os.path.join(self.abs, sub)
        os.makedirs(path, exist_ok=True)
        parts = sub.split("/")
        for i in range(1, len(parts) + 1):
            d = os.path.join(self.abs, *parts[:i])
            if d not in self.dirs:
                self.dirs.append(d)
        return path

    def relpath(self, sub=""):
        return f"{self.rel}/{sub}" if sub else self.rel

    def remove(self):
        # Deepest first. Our processes were ended by their own cleanups
        # (registered later, so run earlier); a leftover is a test bug.
        for d in sorted(self.dirs, key=len, reverse=True):
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                raise RuntimeError(f"cannot remove cgroup {d}: "
                                   f"{open(os.path.join(d, 'cgroup.procs')).read().split()}")


# --- PKI ---------------------------------------------------------------------

_pki = None


def provider_pki():
    """The fake providers' own CA and server certificates (made once per run).
    Returns a dict: ca, cert, key (valid for the provider names), wrong_cert,
    wrong_key (valid for another name only)."""
    global _pki
    if _pki:
        return _pki
    d = tempfile.mkdtemp(prefix="aigw-e2e-pki-")
    import atexit
    atexit.register(shutil.rmtree, d, True)

    def ossl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt", "-days", "2", "-subj", "/CN=aigw e2e provider CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(name, sans):
        ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr", "-subj", f"/CN={name}")
        with open(f"{d}/{name}.ext", "w") as f:
            f.write(f"subjectAltName={sans}\nextendedKeyUsage=serverAuth\n")
        ossl("x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.crt", "-CAkey", f"{d}/ca.key",
             "-CAcreateserial", "-out", f"{d}/{name}.crt", "-days", "2", "-extfile", f"{d}/{name}.ext")
    leaf("provider", "DNS:api.openai.com,DNS:api.anthropic.com,DNS:generativelanguage.googleapis.com,"
                     "IP:127.10.0.1,IP:::1")
    leaf("wrong", "DNS:wrong.example.net")
    _pki = {"dir": d, "ca": f"{d}/ca.crt", "cert": f"{d}/provider.crt", "key": f"{d}/provider.key",
            "wrong_cert": f"{d}/wrong.crt", "wrong_key": f"{d}/wrong.key"}
    return _pki


# --- fake provider -------------------------------------------------------------

class FakeProvider:
    """A fake provider process. mode: its first answer mode (see
    fake_provider.py, "Faults"); set_mode() changes it between requests."""

    def __init__(self, listen=(f"{PROVIDER_V4}:{PROVIDER_PORT}", f"[{PROVIDER_V6}]:{PROVIDER_PORT}"),
                 cert=None, key=None, mode=None, plain=False):
        pki = provider_pki()
        self.dir = tmpdir("aigw-e2e-provider-")
        self.log = os.path.join(self.dir, "provider.jsonl")
        self.mode_file = os.path.join(self.dir, "mode")
        self.set_mode(mode or "ok")
        argv = [PYTHON, os.path.join(E2E, "fake_provider.py"), "--cert", cert or pki["cert"],
                "--key", key or pki["key"], "--log", self.log, "--mode-file", self.mode_file]
        for spec in listen:
            argv += ["--listen", spec]
        if plain:
            argv.append("--plain")
        self.proc = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        if line.strip() != "ready":
            _end_process(self.proc)
            raise AssertionError(f"fake provider did not start: {line} {self.proc.stderr.read().decode()}")

    def events(self, kind=None):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            ev = [json.loads(line) for line in f if line.strip()]
        return [e for e in ev if kind is None or e["event"] == kind]

    def set_mode(self, mode):
        with open(self.mode_file + ".tmp", "w") as f:
            f.write(mode + "\n")
        os.rename(self.mode_file + ".tmp", self.mode_file)

    def requests(self):
        return self.events("request")

    def connections(self):
        return self.events("connect")


# --- the daemon -----------------------------------------------------------------

def provider_catalog(extra=None):
    cat = {"openai": {"hosts": ["api.openai.com"],
                      "addresses": [{"cidr": f"{PROVIDER_V4}/32", "port": PROVIDER_PORT},
                                    {"cidr": f"{PROVIDER_V6}/128", "port": PROVIDER_PORT}]},
           "anthropic": {"hosts": ["api.anthropic.com"]},
           "gemini": {"hosts": ["generativelanguage.googleapis.com"]}}
    if extra:
        cat.update(extra)
    return cat


class Daemon:
    """An aigwd instance of its own: its own port, pin dir, cgroup root (a
    CgroupTree), state and log dirs, so it runs beside anything else."""

    def __init__(self, tree, policies, port=None, providers=None, extra_config=None):
        self.tree = tree
        self.dir = tmpdir("aigw-e2e-daemon-")
        self.port = port or free_port()
        self.pin_dir = f"/sys/fs/bpf/aigw-e2e-{RUN_ID}-{self.port}"
        self.config = {
            "listen_port": self.port,
            "cgroup_root": tree.rel,
            "bpf_pin_dir": self.pin_dir,
            "state_dir": os.path.join(self.dir, "state"),
            "log_dir": os.path.join(self.dir, "log"),
            "control_socket": os.path.join(self.dir, "ctl.sock"),
            "upstream_ca_file": provider_pki()["ca"],
            "metrics_listen": "",
            "providers": providers or provider_catalog(),
        }
        if extra_config:
            self.config.update(extra_config)
        os.makedirs(os.path.join(self.dir, "policies"))
        shutil.copy(os.path.join(REPO, "policies", "prices.json"), self.dir)
        self.write_config(policies)
        self.proc = None
        self.wrap = []  # e.g. ["prlimit", "--nofile=64:64", "--"]
        self.logfile = os.path.join(self.dir, "aigwd.log")
        self._log_offset = 0
        defer(self.cleanup)

    def write_config(self, policies):
        with open(os.path.join(self.dir, "aigw.json"), "w") as f:
            json.dump(self.config, f, indent=1)
        pdir = os.path.join(self.dir, "policies")
        for name in os.listdir(pdir):
            os.unlink(os.path.join(pdir, name))
        for name, body in policies.items():
            with open(os.path.join(pdir, f"{name}.json"), "w") as f:
                f.write(body if isinstance(body, str) else json.dumps(body, indent=1))

    def start(self, timeout=15, env=None, cgroup=None):
        """Start aigwd (in `cgroup`, an absolute cgroup dir, if given: it
        stays wherever it is started)."""
        start_at = self.log_size()
        out = open(self.logfile, "ab")

        def enter():
            if cgroup:
                with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))
        self.proc = subprocess.Popen([*self.wrap, AIGWD, "--config", self.dir], stdout=out, stderr=out,
                                     env=env, preexec_fn=enter)
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready pid=" in self.log()[start_at:]:
                return self
            if self.proc.poll() is not None:
                raise AssertionError(f"aigwd exited {self.proc.returncode}:\n{self.log()[start_at:]}")
            time.sleep(0.05)
        raise AssertionError(f"aigwd not ready after {timeout}s:\n{self.log()[start_at:]}")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("aigwd did not stop on SIGTERM within 10s")

    def cleanup(self):
        try:
            self.stop()
        finally:
            r = subprocess.run([AIGWD, "--config", self.dir, "--cleanup"], capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"aigwd --cleanup: {r.stderr}")

    def log_size(self):
        return len(self.log())

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=5, since=0):
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.log()[since:])
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line matching {pattern!r} within {timeout}s:\n"
                                     f"{self.log()[since:][-3000:]}")
            time.sleep(0.05)

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def audit_records(self, event=None, path=None):
        path = path or os.path.join(self.config["log_dir"], "audit.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            recs = [json.loads(line) for line in f if line.strip()]
        return [r for r in recs if event is None or r.get("event") == event]

    def map_dump(self, name):
        """`bpftool map dump pinned` as a list of formatted {key, value}."""
        r = subprocess.run(["bpftool", "map", "dump", "pinned", os.path.join(self.pin_dir, name), "-j"],
                           capture_output=True, text=True, check=True)
        return [e["formatted"] for e in json.loads(r.stdout or "[]")]

    def stats_of(self, cgroup_abs):
        cgid = os.stat(cgroup_abs).st_ino
        for e in self.map_dump("cgroup_stats"):
            if e["key"] == cgid:
                return e["value"]
        return {k: 0 for k in ("redirected", "denied_down", "direct_down", "denied_quota",
                               "redirected_tls", "redirected_netns", "denied_udp", "no_room")}

    def host_stats(self):
        """host_stats summed over the CPUs: {reason: count}."""
        total = {}
        for e in self.map_dump("host_stats"):
            for per_cpu in e["values"]:
                for k, v in per_cpu["value"].items():
                    total[k] = total.get(k, 0) + v
        return total


def tls_client(cgroup, ip, port=PROVIDER_PORT, host="api.openai.com", cafile=None, path="/v1/models",
               plain=False):
    """Run the plain TLS client in cgroup; returns its JSON result. plain:
    connect and report getpeername only."""
    r = run([PYTHON, os.path.join(E2E, "clients", "tls_client.py"), "--ip", ip, "--port", str(port),
             "--host", host, "--cafile", cafile or provider_pki()["ca"], "--path", path]
            + (["--plain"] if plain else []), cgroup=cgroup)
    if r.returncode != 0 or not r.stdout.strip():
        raise AssertionError(f"tls_client failed ({r.returncode}): {r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# --- clients as a user would run them --------------------------------------------

NODE_DIR = os.path.join(E2E, "node")


def node_sdk_problem():
    if not shutil.which("node"):
        return "node is not installed"
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "openai")):
        return "the openai npm package is not installed (make e2e-deps)"
    return None


def hosts_file(entries):
    """A private /etc/hosts: {"api.openai.com": "127.10.0.1"}."""
    d = tmpdir("aigw-e2e-hosts-")
    path = os.path.join(d, "hosts")
    with open(path, "w") as f:
        f.write("127.0.0.1 localhost\n::1 localhost\n")
        for name, ip in entries.items():
            f.write(f"{ip} {name}\n")
    return path


def with_hosts(argv, hosts):
    """Run argv in a new mount namespace whose /etc/hosts is `hosts`, so an
    unmodified client resolves api.openai.com to the fake provider."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /etc/hosts && exec "$@"', hosts, *argv]


def trust_env(daemon):
    """The environment `aigwctl exec` gives a client: the system store plus
    the aigw CA, and nothing else (not the fake provider's CA)."""
    ca = os.path.join(daemon.config["state_dir"], "ca.crt")
    bundle = os.path.join(daemon.dir, "bundle.pem")
    with open(bundle, "w") as out:
        with open("/etc/ssl/certs/ca-certificates.crt") as f:
            out.write(f.read())
        with open(ca) as f:
            out.write(f.read())
    env = dict(os.environ)
    env.update({"SSL_CERT_FILE": bundle, "REQUESTS_CA_BUNDLE": bundle, "CURL_CA_BUNDLE": bundle,
                "NODE_EXTRA_CA_CERTS": ca})
    return env


def client_json(argv, cgroup, hosts, env, timeout=60, cwd=None):
    r = run(with_hosts(argv, hosts), cgroup=cgroup, env=env, timeout=timeout, cwd=cwd)
    lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise AssertionError(f"{argv} printed no result (exit {r.returncode}):\n{r.stdout}\n{r.stderr}")
    return json.loads(lines[-1])
