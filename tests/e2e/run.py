"""Runs every tests/e2e/test_*.py: each module-level function named test_*
is one test. Prints one line per test and a final "N passed, N failed"
(", N skipped") line; writes the counts to $AIGW_COUNTS_DIR/e2e if set.

Usage: run.py [-k SUBSTRING] [MODULE...]
"""
import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))

import aigw_test  # noqa: E402


def main(argv):
    pattern = None
    if len(argv) >= 2 and argv[0] == "-k":
        pattern, argv = argv[1], argv[2:]
    mods = argv or sorted(f for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    skip_all = aigw_test.environment_problem()
    passed = failed = skipped = 0
    for name in mods:
        path = name if os.path.isabs(name) else os.path.join(HERE, os.path.basename(name))
        spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        tests = [(n, getattr(mod, n)) for n in sorted(vars(mod), key=lambda n: getattr(getattr(mod, n), "__code__", None) and getattr(mod, n).__code__.co_firstlineno or 0)
                 if n.startswith("test_") and callable(getattr(mod, n))]
        for tname, fn in tests:
            full = f"{mod.__name__}.{tname}"
            if pattern and pattern not in full:
                continue
            if skip_all:
                print(f"SKIP {full}: {skip_all}", flush=True)
                skipped += 1
                continue
            t0 = time.monotonic()
            try:
                fn()
            except aigw_test.Skip as e:
                print(f"SKIP {full}: {e}", flush=True)
                skipped += 1
            except Exception:
                print(f"FAIL {full} ({time.monotonic() - t0:.1f}s)", flush=True)
                traceback.print_exc()
                failed += 1
            else:
                print(f"ok   {full} ({time.monotonic() - t0:.1f}s)", flush=True)
                passed += 1
            finally:
                aigw_test.cleanup_all()
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(f"{os.environ.get('AIGW_E2E_SUITE', 'e2e')}: {line}")
    counts = os.environ.get("AIGW_COUNTS_DIR")
    if counts:
        with open(os.path.join(counts, os.environ.get("AIGW_E2E_SUITE", "e2e")), "w") as f:
            f.write(f"{passed} {failed} {skipped}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
