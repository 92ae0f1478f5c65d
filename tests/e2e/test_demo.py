"""Issue 13: `make demo` from a fresh clone: it builds, shows an unmodified
curl intercepted through `aigwctl exec`, the usage in aigwctl usage and in
bpftool's dump, a refusal by the gateway and one by the kernel, and leaves
nothing behind."""
import glob
import os
import re
import subprocess

from aigw_test import CG2, REPO, Skip, tmpdir


def test_make_demo_from_a_fresh_clone():
    if subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True).returncode:
        raise Skip("the repository is not a git checkout: nothing to clone")
    clone = os.path.join(tmpdir("aigw-e2e-clone-"), "aigw")
    subprocess.run(["git", "clone", "--quiet", REPO, clone], check=True, capture_output=True)
    before = set(glob.glob("/sys/fs/bpf/aigw-demo-*")) | set(glob.glob(os.path.join(CG2, "aigw-demo-*")))
    r = subprocess.run(["make", "-C", clone, "-j2", "demo"], capture_output=True, text=True, timeout=900)
    out = re.sub(r"\033\[[0-9;]*m", "", r.stdout)
    assert r.returncode == 0, out[-4000:] + r.stderr[-4000:]
    # The intercepted request and its answer from the (fake) provider.
    assert '"content": "Hello from the fake provider."' in out, out
    assert re.search(r"conn cgroup=/aigw-demo-\d+/aigw-exec-\d+ pid=\d+ comm=curl .*policy=demo", out), out
    # The usage, in aigwctl usage and in bpftool's dump of the pinned map.
    assert re.search(r"^/aigw-demo-\d+/aigw-exec-\d+\s+demo\s+3\s+0\s+0\s+1\s+2\s+22\s+14\s", out, re.M), out
    assert '"tokens_in": 22' in out and '"denied_quota": 1' in out, out
    # Refusals: the model (gateway, 403) and the spent budget (kernel, at connect).
    assert 'aigw: model \\"gpt-5\\" is not allowed by policy \\"demo\\"' in out, out
    assert re.search(r"REFUSED .*model=gpt-5\s+403 .*model: ", out), out
    assert re.search(r"REFUSED .*kernel refused 1 connect", out), out
    assert "demo: cleaned up" in out
    after = set(glob.glob("/sys/fs/bpf/aigw-demo-*")) | set(glob.glob(os.path.join(CG2, "aigw-demo-*")))
    assert after <= before, f"left behind: {after - before}"
