"""Mutation harness for ``goci changed``: break each package, run every test, count misses.

On a generated monorepo of several modules tied together by replace directives, each package's
``F()`` is made to return a wrong value in a commit; the full ``go test`` of every module says
which test packages now fail, and each of them must be in goci's ``test-packages``. Any miss
is a bug. Also prints how much smaller the selection is than running every test.

    .venv/bin/python bench/affected_safety.py            # 4 modules x 12 packages, all mutated
    .venv/bin/python bench/affected_safety.py --quick    # 2 x 5, a few chosen packages
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.affected_monorepo import (
    failing_tests,
    generate,
    init_git,
    interesting_targets,
    mutation_check,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small repo, a few mutations")
    parser.add_argument("--modules", type=int, default=4)
    parser.add_argument("--per-module", type=int, default=12)
    args = parser.parse_args()
    modules, per_module = (2, 5) if args.quick else (args.modules, args.per_module)
    go = shutil.which("go") or "go"
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "-modcacherw"}
    env.pop("GOWORK", None)
    scratch = Path(tempfile.mkdtemp(prefix="goci-safety-"))
    try:
        repo = generate(scratch / "mono", modules=modules, per_module=per_module, seed=11)
        init_git(repo.root, env)
        assert failing_tests(repo, go, env) == set(), "the generated repository must pass"
        targets = interesting_targets(repo) if args.quick else sorted(repo.packages)
        started = time.perf_counter()
        results = mutation_check(repo, go, env, targets)
        elapsed = time.perf_counter() - started
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    full = len(repo.packages)  # every generated package has tests; services have none
    misses = sum(len(r.misses) for r in results)
    for r in results:
        flag = "MISS " + ", ".join(sorted(r.misses)) if r.misses else "ok"
        print(f"{r.target:22} failing {len(r.failing):3}  selected {len(r.selected):3}  {flag}")
    failing = sum(len(r.failing) for r in results) / len(results)
    selected = sum(len(r.selected) for r in results) / len(results)
    print(
        f"\n{len(results)} mutations on {full} test packages in {modules} modules "
        f"({elapsed:.0f}s): misses {misses}; per mutation {failing:.1f} tests fail, "
        f"goci selects {selected:.1f} of {full} ({full / selected:.1f}x fewer than all, "
        f"{selected / failing:.2f}x the failing set)"
    )
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
