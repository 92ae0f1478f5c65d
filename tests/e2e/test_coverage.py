"""Issue 12: no way around the gateway.

A pinned cgroup reaches a provider only through aigw: a cgroup made after its
pin is covered from its first connect; UDP (QUIC) to a provider is refused;
under intercept all_tls a provider at an address in no catalog is caught by
its name; a process in a network namespace of its own (a container) is
intercepted; connections from before are listed and ended; to a provider
address only a provider's name goes on, through the policy; and the local
CA's key can make nothing but server certificates for catalog hosts.
"""
import errno
import json
import os
import re
import subprocess
import time
import urllib.request

from aigw_test import (AIGWCTL, E2E, PROVIDER_V4, PYTHON, CgroupTree, Daemon, FakeProvider,
                       Skip, defer, free_port, provider_catalog, provider_pki, run, spawn, tls_client,
                       tmpdir)

SNI_CLIENT = os.path.join(E2E, "clients", "sni_client.py")
UDP_CLIENT = os.path.join(E2E, "clients", "udp_client.py")
OTHER_PROVIDER_ADDR = "127.10.0.2"  # the fake provider, at an address in no catalog
OTHER_SITE_ADDR = "127.10.0.3"      # a TLS site that is no provider
DENIED = json.dumps({"model": "gpt-3.5-turbo", "max_tokens": 999999,
                     "messages": [{"role": "user", "content": "hi"}]})


def conn_lines(d, pid):
    return re.findall(rf"conn cgroup=(\S+) pid={pid} comm=\S+ .*dst=(\S+) policy=(\S+)", d.log())


def sni_client(cgroup, ip, sni, cafile, *extra, timeout=30):
    r = run([PYTHON, SNI_CLIENT, "--ip", ip, "--sni", sni, "--cafile", cafile, *extra],
            cgroup=cgroup, timeout=timeout)
    assert r.stdout.strip(), f"sni_client printed nothing ({r.returncode}): {r.stderr}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def aigw_ca(d):
    return os.path.join(d.config["state_dir"], "ca.crt")


def metrics_text(d):
    with open(os.path.join(d.config["state_dir"], "metrics.token")) as f:
        token = f.read().strip()
    req = urllib.request.Request(f"http://{d.config['metrics_listen']}/metrics",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read().decode()


def ctl(d, *args):
    return subprocess.run([AIGWCTL, "--config", d.dir, *args], capture_output=True, text=True,
                          timeout=30)


# --- new cgroups -------------------------------------------------------------------

def test_cgroup_made_after_its_pin_is_covered_from_its_first_connect():
    FakeProvider()
    tree = CgroupTree()
    d = Daemon(tree, {"svc": {"cgroups": [tree.relpath("svc")], "fail_mode": "closed",
                              "inspect": "observe"}}).start()
    path = os.path.join(tree.abs, "svc")
    before = d.host_stats().get("pinned_at_mkdir", 0)
    # As a unit starts (mkdir, move in, exec, connect at once), 20 times;
    # each round removes the cgroup and makes it again, with a new id. The
    # daemon's own sync runs once a second: only the kernel can be in time.
    for i in range(20):
        os.mkdir(path)
        try:
            res = tls_client(path, PROVIDER_V4)
            assert res.get("status") == 200, (i, res)
            assert res["peer"] == [PROVIDER_V4, 443], (i, res)
            lines = conn_lines(d, res["pid"])
            assert lines and lines[0][0] == "/" + tree.relpath("svc"), (i, d.log()[-2000:])
        finally:
            for _ in range(50):
                try:
                    os.rmdir(path)
                    break
                except OSError:
                    time.sleep(0.05)
    assert d.host_stats()["pinned_at_mkdir"] - before == 20, d.host_stats()


# --- QUIC --------------------------------------------------------------------------

def test_udp_to_a_provider_is_refused_and_counted():
    tree = CgroupTree()
    a, b = tree.mk("A"), tree.mk("B")
    d = Daemon(tree, {"p": {"cgroups": [tree.relpath("A")]}},
               extra_config={"metrics_listen": f"127.0.0.1:{free_port()}"}).start()
    r = run([PYTHON, UDP_CLIENT, PROVIDER_V4, "443"], cgroup=a, check=True)
    assert json.loads(r.stdout) == {"connect_send": errno.EPERM, "sendto": errno.EPERM}, r.stdout
    assert d.stats_of(a)["denied_udp"] == 2, d.stats_of(a)
    assert d.host_stats()["denied_udp"] == 2
    # The same counts where an operator reads them: aigwctl usage (a column
    # of its own once a row has one), its JSON, and /metrics.
    out = ctl(d, "usage").stdout
    head, row = out.splitlines()[0].split(), next(l for l in out.splitlines() if tree.relpath("A") in l)
    assert "DENIED_UDP" in head and row.split()[head.index("DENIED_UDP")] == "2", out
    rows = json.loads(ctl(d, "usage", "--json").stdout)
    assert next(x for x in rows if x["cgroup"] == tree.relpath("A"))["denied_udp"] == 2, rows
    text = metrics_text(d)
    assert f'aigw_udp_denied_total{{cgroup="/{tree.relpath("A")}",policy="p"}} 2' in text, text
    assert 'aigw_kernel_decisions_total{reason="denied_udp"} 2' in text, text
    # Not a provider address, or not a managed cgroup: UDP goes out.
    r = run([PYTHON, UDP_CLIENT, "127.0.0.1", "443"], cgroup=a, check=True)
    assert json.loads(r.stdout) == {"connect_send": 0, "sendto": 0}, r.stdout
    r = run([PYTHON, UDP_CLIENT, PROVIDER_V4, "443"], cgroup=b, check=True)
    assert json.loads(r.stdout) == {"connect_send": 0, "sendto": 0}, r.stdout


# --- all_tls ---------------------------------------------------------------------------

def all_tls_daemon(tree, **extra):
    pol = {"cgroups": [tree.relpath("A")], "intercept": "all_tls",
           "models": {"allow": ["gpt-4o*"]}}
    pol.update(extra)
    return Daemon(tree, {"tls": pol}).start()


def test_all_tls_catches_a_provider_at_an_address_in_no_catalog():
    prov = FakeProvider(listen=(f"{PROVIDER_V4}:443", f"{OTHER_PROVIDER_ADDR}:443"))
    tree = CgroupTree()
    a = tree.mk("A")
    d = all_tls_daemon(tree)
    # The client trusts only the aigw CA: a 200 means the gateway
    # terminated it, under the policy.
    res = sni_client(a, OTHER_PROVIDER_ADDR, "api.openai.com", aigw_ca(d))
    assert res.get("status") == 200, res
    assert res["issuer"].startswith("aigw local CA"), res
    assert res["peer"] == [OTHER_PROVIDER_ADDR, 443], res
    assert conn_lines(d, res["pid"])[0][1] == f"{OTHER_PROVIDER_ADDR}:443", d.log()
    # The policy reads the request: a denied model never reaches the provider.
    n = len(prov.requests())
    res = sni_client(a, OTHER_PROVIDER_ADDR, "api.openai.com", aigw_ca(d), "--path",
                     "/v1/chat/completions", "--body", DENIED)
    assert res.get("status") == 403, res
    assert len(prov.requests()) == n, prov.requests()
    assert d.stats_of(a)["redirected_tls"] == 2, d.stats_of(a)
    # QUIC to that address is refused too: under all_tls every UDP to 443 is.
    r = run([PYTHON, UDP_CLIENT, OTHER_PROVIDER_ADDR, "443"], cgroup=a, check=True)
    assert json.loads(r.stdout)["sendto"] == errno.EPERM, r.stdout


def test_all_tls_splices_other_sites_with_their_own_certificate():
    pki = provider_pki()
    FakeProvider(listen=(f"{OTHER_SITE_ADDR}:443",), cert=pki["wrong_cert"], key=pki["wrong_key"])
    tree = CgroupTree()
    a = tree.mk("A")
    d = all_tls_daemon(tree)
    res = sni_client(a, OTHER_SITE_ADDR, "wrong.example.net", pki["ca"])
    assert res.get("status") == 200, res
    assert res["subject"] == "wrong", res              # the site's own certificate
    assert res["issuer"] == "aigw e2e provider CA", res   # the site's own, end to end
    assert res["peer"] == [OTHER_SITE_ADDR, 443], res
    m = d.wait_log(rf"close cgroup=\S+ pid={res['pid']} comm=\S+ dst=\S+ sni=(\S+) mode=(\S+) "
                   r"up=(\d+) down=(\d+)")
    assert m.group(1) == "wrong.example.net" and m.group(2) == "splice", m.group(0)
    assert int(m.group(3)) > 0 and int(m.group(4)) > 0, m.group(0)  # bytes counted
    assert d.stats_of(a)["redirected_tls"] == 1


# --- names to a provider address -----------------------------------------------------

def test_no_sni_foreign_sni_and_trailing_dot_to_a_provider_address():
    prov = FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    d = Daemon(tree, {"strict": {"cgroups": [tree.relpath("A")],
                                 "models": {"allow": ["gpt-4o*"]}}}).start()
    pki = provider_pki()
    # No SNI, and a name that is no provider's: refused, nothing reaches it.
    for sni in ("", "wrong.example.net"):
        res = sni_client(a, PROVIDER_V4, sni, pki["ca"], "--path", "/v1/chat/completions",
                         "--body", DENIED)
        assert "error" in res, (sni, res)
    assert prov.connections() == [], prov.connections()
    assert "refused: no SNI, to a provider address" in d.log(), d.log()
    assert "refused: SNI of no provider, to a provider address" in d.log(), d.log()
    # A trailing dot is the same name: handled by the policy.
    res = sni_client(a, PROVIDER_V4, "api.openai.com.", aigw_ca(d), "--no-name-check",
                     "--host-header", "api.openai.com", "--path", "/v1/chat/completions",
                     "--body", DENIED)
    assert res.get("status") == 403, res
    assert res["issuer"].startswith("aigw local CA") and res["subject"] == "api.openai.com", res
    assert prov.requests() == [], prov.requests()


# --- containers --------------------------------------------------------------------------

def netns_pair(tag):
    """A network namespace of its own, joined to ours by a veth pair as
    Docker's bridge does: ours 10.231.N.1, its 10.231.N.2, its default route
    through us. Returns (netns name, host address)."""
    n = (os.getpid() + ord(tag)) % 200 + 20   # one /24 per pair of this run
    ns, host_if = f"aigw-e2e-{os.getpid()}-{tag}", f"aigw{os.getpid() % 100000}{tag}"
    host, peer = f"10.231.{n}.1", f"10.231.{n}.2"

    def ip(*args):
        subprocess.run(["ip", *args], check=True, capture_output=True, text=True)
    try:
        ip("netns", "add", ns)
    except (FileNotFoundError, subprocess.CalledProcessError) as e:
        raise Skip(f"cannot make a network namespace with ip netns: {e}")
    defer(lambda: subprocess.run(["ip", "netns", "del", ns], capture_output=True))
    ip("link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("addr", "add", f"{host}/24", "dev", host_if)
    ip("link", "set", host_if, "up")
    ip("-n", ns, "link", "set", "lo", "up")
    ip("-n", ns, "addr", "add", f"{peer}/24", "dev", "eth0")
    ip("-n", ns, "link", "set", "eth0", "up")
    ip("-n", ns, "route", "add", "default", "via", host)
    return ns, host


def test_container_reaching_a_provider_beyond_the_host_is_intercepted():
    """The README's recipe for a container host: the provider is beyond the
    host (a netns of its own plays the internet, routed through us), and one
    rule delivers the containers' SYNs for the gateway's port locally."""
    ns, host = netns_pair("r")
    inet, inet_host = netns_pair("i")
    far = "198.51.100.10"  # TEST-NET-2, only inside the namespaces made here

    def ip(*args):
        subprocess.run(["ip", *args], check=True, capture_output=True, text=True)
    ip("-n", inet, "addr", "add", f"{far}/32", "dev", "lo")
    ip("route", "add", f"{far}/32", "via", inet_host.rsplit(".", 1)[0] + ".2")
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        forward = f.read().strip()
    with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
        f.write("1")
    defer(lambda: open("/proc/sys/net/ipv4/ip_forward", "w").write(forward))
    pki = provider_pki()
    prov = spawn(["ip", "netns", "exec", inet, PYTHON, os.path.join(E2E, "fake_provider.py"),
                  "--cert", pki["cert"], "--key", pki["key"], "--listen", f"{far}:443",
                  "--log", os.path.join(tmpdir(), "far.jsonl")], stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE)
    assert prov.stdout.readline().decode().strip() == "ready"
    tree = CgroupTree()
    a = tree.mk("A")
    cat = provider_catalog()
    cat["openai"]["addresses"].append({"cidr": f"{far}/32", "port": 443})
    d = Daemon(tree, {"p": {"cgroups": [tree.relpath("A")], "inspect": "observe"}},
               providers=cat).start()
    veth = f"aigw{os.getpid() % 100000}r"
    ip("rule", "add", "iif", veth, "ipproto", "tcp", "dport", str(d.port), "lookup", "6678")
    defer(lambda: subprocess.run(["ip", "rule", "del", "iif", veth, "ipproto", "tcp", "dport",
                                  str(d.port), "lookup", "6678"], capture_output=True))
    ip("route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "6678")
    defer(lambda: subprocess.run(["ip", "route", "del", "local", "0.0.0.0/0", "dev", "lo",
                                  "table", "6678"], capture_output=True))
    r = run(["ip", "netns", "exec", ns, PYTHON, os.path.join(E2E, "clients", "tls_client.py"),
             "--ip", far, "--cafile", pki["ca"]], cgroup=a)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res.get("status") == 200, (res, r.stderr, d.log()[-2000:])
    assert res["peer"] == [far, 443], res
    assert conn_lines(d, res["pid"]), d.log()[-2000:]
    assert d.stats_of(a)["redirected_netns"] == 1, d.stats_of(a)


def test_process_in_a_netns_of_its_own_is_intercepted():
    ns, host = netns_pair("c")
    prov = FakeProvider(listen=(f"{host}:443",))
    tree = CgroupTree()
    a = tree.mk("A")
    cat = provider_catalog()
    cat["openai"]["addresses"].append({"cidr": f"{host}/32", "port": 443})
    d = Daemon(tree, {"p": {"cgroups": [tree.relpath("A")], "inspect": "observe"}},
               providers=cat).start()
    r = run(["ip", "netns", "exec", ns, PYTHON, os.path.join(E2E, "clients", "tls_client.py"),
             "--ip", host, "--cafile", provider_pki()["ca"]], cgroup=a)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res.get("status") == 200, (res, r.stderr, d.log()[-2000:])
    # What the container sees is what it dialled.
    assert res["peer"] == [host, 443], res
    lines = conn_lines(d, res["pid"])
    assert lines and lines[0][0] == "/" + tree.relpath("A") and lines[0][1] == f"{host}:443", \
        d.log()[-2000:]
    assert d.stats_of(a)["redirected_netns"] == 1, d.stats_of(a)
    assert d.host_stats()["steered_netns"] == 1, d.host_stats()
    # The provider saw one connection, the gateway's (from the host side),
    # never the container's own.
    peers = [c["peer"][0] for c in prov.connections()]
    assert peers == [host], peers


# --- connections from before -----------------------------------------------------------

def hold_connection(cgroup):
    """A TLS connection to the provider, made now and held open."""
    p = spawn([PYTHON, SNI_CLIENT, "--ip", PROVIDER_V4, "--cafile", provider_pki()["ca"], "--hold"],
              cgroup=cgroup, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = json.loads(p.stdout.readline())
    assert line.get("ready"), line
    return p, line


def release(p):
    out, _ = p.communicate(b"\n", timeout=30)
    return json.loads(out.decode().strip().splitlines()[-1])


def test_connection_from_before_the_daemon_is_listed_and_reset():
    FakeProvider()
    tree = CgroupTree()
    a = tree.mk("A")
    p, line = hold_connection(a)      # no aigw yet: straight to the provider
    d = Daemon(tree, {"p": {"cgroups": [tree.relpath("A")]}}).start()
    r = ctl(d, "conns", "--json")
    assert r.returncode == 0, r.stderr
    conns = json.loads(r.stdout)
    assert len(conns) == 1, conns
    c = conns[0]
    assert c["cgroup"] == tree.relpath("A") and c["pid"] == line["pid"], c
    assert c["comm"].startswith("python3") and c["destination"] == f"{PROVIDER_V4}:443", c
    assert c["policy"] == "p" and c["state"] == "established", c
    r = ctl(d, "conns")
    assert r.returncode == 0 and f"{PROVIDER_V4}:443" in r.stdout and str(line["pid"]) in r.stdout, \
        r.stdout
    r = ctl(d, "conns", "--reset", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["reset"] == 1, r.stdout
    res = release(p)
    assert "error" in res, res                 # its owner sees the connection end
    assert json.loads(ctl(d, "conns", "--json").stdout) == []
    # Reconnecting, it goes through the gateway.
    res = tls_client(a, PROVIDER_V4)
    assert conn_lines(d, res["pid"]), d.log()


def test_existing_connections_reset_at_start():
    FakeProvider()
    tree = CgroupTree()
    a, b = tree.mk("A"), tree.mk("B")
    pa, _ = hold_connection(a)
    pb, _ = hold_connection(b)
    Daemon(tree, {"reset": {"cgroups": [tree.relpath("A")], "existing_connections": "reset"},
                  "keep": {"cgroups": [tree.relpath("B")]}}).start()
    assert "error" in release(pa)               # ended when the daemon started
    assert release(pb).get("status") == 200     # "keep" (the default): left alone


# --- the daemon's own connections ---------------------------------------------------

def test_daemon_stays_in_its_cgroup_and_only_its_connects_are_exempt():
    prov = FakeProvider()
    tree = CgroupTree()
    home = tree.mk("home")
    # Everything under the tree is pinned, the daemon's own cgroup too: it
    # is not moved anywhere, and a shell in its cgroup is still intercepted.
    d = Daemon(tree, {"all": {"cgroups": [tree.rel], "fail_mode": "closed",
                              "inspect": "observe"}})
    d.start(cgroup=home)
    with open(f"/proc/{d.proc.pid}/cgroup") as f:
        assert f.read().strip().endswith("/" + tree.relpath("home")), "aigwd moved itself"
    assert not [n for n in os.listdir(tree.abs) if n.startswith("aigwd-")]
    res = tls_client(home, PROVIDER_V4)        # the "shell that ran make run"
    assert res.get("status") == 200, res
    assert conn_lines(d, res["pid"]), d.log()  # intercepted
    # The daemon's upstream connect went out (else it would loop to itself).
    assert len(prov.connections()) == 1, prov.connections()
    assert d.host_stats()["daemon_own"] >= 1, d.host_stats()


# --- the local CA ---------------------------------------------------------------------------

def openssl(*args, check=True):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=check)


def test_ca_key_signs_nothing_but_server_certificates_for_catalog_hosts():
    tree = CgroupTree()
    d = Daemon(tree, {}).start()
    ca_crt, ca_key = aigw_ca(d), os.path.join(d.config["state_dir"], "ca.key")
    w = tmpdir("aigw-e2e-ca-")
    # (name, subject, extensions, purposes it must fail, or None: must verify)
    kinds = [
        ("server-catalog", "/CN=api.openai.com",
         "subjectAltName=DNS:api.openai.com\nextendedKeyUsage=serverAuth", None),
        ("server-other-dns", "/CN=www.example.com",
         "subjectAltName=DNS:www.example.com\nextendedKeyUsage=serverAuth", ["sslserver"]),
        ("server-ip", "/CN=api.openai.com",
         "subjectAltName=DNS:api.openai.com,IP:127.10.0.1\nextendedKeyUsage=serverAuth",
         ["sslserver"]),
        ("server-uri", "/CN=api.openai.com",
         "subjectAltName=DNS:api.openai.com,URI:https://api.openai.com/\n"
         "extendedKeyUsage=serverAuth", ["sslserver"]),
        ("email", "/CN=Alice/emailAddress=alice@example.com",
         "subjectAltName=email:alice@example.com\nextendedKeyUsage=emailProtection",
         ["smimesign", "smimeencrypt", "any"]),
        ("email-catalog-domain", "/CN=Bob",
         "subjectAltName=email:bob@api.openai.com\nextendedKeyUsage=emailProtection",
         ["smimesign", "smimeencrypt", "any"]),
        ("client-auth", "/CN=api.openai.com",
         "subjectAltName=DNS:api.openai.com\nextendedKeyUsage=clientAuth", ["sslclient"]),
        # OpenSSL 3.0 has no code-signing purpose: a verifier that checks
        # codeSigning finds serverAuth alone on the CA (asserted below); as a
        # server or client certificate it fails here.
        ("code-signing", "/CN=api.openai.com",
         "subjectAltName=DNS:api.openai.com\nextendedKeyUsage=codeSigning",
         ["sslserver", "sslclient"]),
        # A CA certificate is only as good as what verifies below it: see
        # the leaf under it below (pathlen 0).
        ("sub-ca", "/CN=aigw sub CA",
         "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign", []),
    ]
    for name, subj, ext, bad in kinds:
        key, csr, crt, extf = (os.path.join(w, f"{name}.{x}") for x in ("key", "csr", "crt", "ext"))
        with open(extf, "w") as f:
            f.write(ext + "\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", csr, "-subj", subj)
        openssl("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
                "-out", crt, "-days", "1", "-extfile", extf)
        if bad is None:
            r = openssl("verify", "-CAfile", ca_crt, "-purpose", "sslserver", crt, check=False)
            assert r.returncode == 0, (name, r.stdout, r.stderr)
            continue
        for purpose in bad:
            r = openssl("verify", "-CAfile", ca_crt, "-purpose", purpose, crt, check=False)
            assert r.returncode != 0, f"{name} verified for {purpose}: {r.stdout}"
    # A leaf under the would-be sub-CA: pathlen 0 refuses the chain.
    sub_key, sub_crt = os.path.join(w, "sub-ca.key"), os.path.join(w, "sub-ca.crt")
    leaf = os.path.join(w, "under-sub")
    with open(leaf + ".ext", "w") as f:
        f.write("subjectAltName=DNS:api.openai.com\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            leaf + ".key", "-out", leaf + ".csr", "-subj", "/CN=api.openai.com")
    openssl("x509", "-req", "-in", leaf + ".csr", "-CA", sub_crt, "-CAkey", sub_key,
            "-CAcreateserial", "-out", leaf + ".crt", "-days", "1", "-extfile", leaf + ".ext")
    r = openssl("verify", "-CAfile", ca_crt, "-untrusted", sub_crt, "-purpose", "sslserver",
                leaf + ".crt", check=False)
    assert r.returncode != 0, r.stdout
    # The CA's own limits, as any verifier reads them.
    text = openssl("x509", "-in", ca_crt, "-noout", "-ext",
                   "extendedKeyUsage,nameConstraints,basicConstraints").stdout
    assert re.search(r"Extended Key Usage:\s*\n\s*TLS Web Server Authentication\s*\n", text), text
    assert "Code Signing" not in text and "E-mail Protection" not in text, text
    assert "email:.invalid" in text and "URI:.invalid" in text, text
    assert "pathlen:0" in text, text
