"""What patch coverage adds to the report job: ``goci coverage merge`` with and without ``--base``.

The bench monorepo of bench/pipeline.py (300 packages in 6 modules with a go.work, a service
per module) gets one commit that adds a function to 12 packages; every package is then tested
with coverage (``goci test``, as the test jobs do) and the report job's command is timed, in
the same run, as separate processes the way the job starts them:

* plain: ``goci coverage merge`` of the profiles (the report job before this feature),
* patch: the same with ``--base`` (git diff, changed blocks, uncovered ranges, summary table),
* review: also ``--baseline`` and ``--summary-json`` (the change against a baseline).

Prints the median of each and the ratios over plain; the aim for patch is below 1.10.

    .venv/bin/python bench/patch_coverage.py               # 300 packages
    .venv/bin/python bench/patch_coverage.py --per-module 20 --runs 3   # a quicker look
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.affected_monorepo import commit_all, generate, init_git

GOCI = [sys.executable, "-m", "goci"]
CHANGED = 12


def goci(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run([*GOCI, *argv], cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed: goci {' '.join(argv)}\n{proc.stderr[-3000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=6)
    parser.add_argument("--per-module", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each (median)")
    args = parser.parse_args()
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "-modcacherw"}
    for name in ("GOWORK", "GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        env.pop(name, None)
    scratch = Path(tempfile.mkdtemp(prefix="goci-bench-patch-"))
    try:
        repo = generate(
            scratch / "mono", modules=args.modules, per_module=args.per_module, seed=3,
            workspace=True,
        )  # fmt: skip
        (repo.root / ".gitignore").write_text(".goci/\n")
        base = init_git(repo.root, env)
        for n, target in enumerate(sorted(repo.packages)[:: len(repo.packages) // CHANGED]):
            path = repo.root / repo.file_of(target)
            path.write_text(
                path.read_text()
                + f"\n// Extra{n} is new.\nfunc Extra{n}(x int) int {{\n\tif x > {n} {{\n"
                f"\t\treturn x\n\t}}\n\treturn {n}\n}}\n"
            )
        commit_all(repo.root, env, "extra functions")
        print(f"{len(repo.packages)} packages in {args.modules} modules; testing all ...")
        started = time.perf_counter()
        goci(["test", "--out", ".goci/cov"], repo.root, env)
        print(f"  goci test: {time.perf_counter() - started:.1f}s", flush=True)
        plain = ["coverage", "merge", ".goci/cov", "--out", ".goci/merged.out"]
        patch = [*plain, "--base", base]
        review = [*patch, "--baseline", ".goci/base.json", "--summary-json", ".goci/base.json"]
        goci(review, repo.root, env)  # warm: the page cache, and a baseline to compare with
        times: dict[str, list[float]] = {"plain": [], "patch": [], "review": []}
        for _ in range(args.runs):  # interleaved, so a busy moment hits all three alike
            for label, argv in (("plain", plain), ("patch", patch), ("review", review)):
                times[label].append(goci(argv, repo.root, env))
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(scratch)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    medians = {label: statistics.median(values) for label, values in times.items()}
    for label, seconds in medians.items():
        print(
            f"coverage merge {label:7} {seconds:6.3f}s  ratio {seconds / medians['plain']:.3f}x"
            + ("  (aim < 1.10x)" if label == "patch" else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
