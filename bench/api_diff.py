"""Speed of ``goci api-diff`` against the ``go list -export`` it needs, on 50 changed packages.

The bench monorepo of bench/pipeline.py (300 packages in 6 modules with a go.work) gets one
commit that changes the exported API of 50 packages (a new function and a new type each).
api-diff needs the export data of those packages and all they import in both trees: a
``go list -e -export -deps`` of the 50 at head and in the merge-base tree. The baseline runs
exactly those two (sequentially; the base tree freshly extracted each time, as api-diff
extracts it, untimed); goci runs ``goci api-diff --base`` as a separate process (git diff,
extraction, both lists, the type-checking helper, the report). Both warm (build cache and
helper built once), timed in the same run, interleaved; prints the medians and the ratio,
whose aim is below 2x.

    .venv/bin/python bench/api_diff.py                       # 300 packages, 50 changed
    .venv/bin/python bench/api_diff.py --per-module 20 --runs 3   # a quicker look
"""

from __future__ import annotations

import argparse
import json
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
CHANGED = 50


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{proc.stderr[-3000:]}")
    return elapsed, proc.stdout


def extract(root: Path, commit: str, env: dict[str, str], into: Path) -> Path:
    """The files of ``commit`` in a fresh folder, the way api-diff extracts the base tree."""
    shutil.rmtree(into, ignore_errors=True)
    into.parent.mkdir(parents=True, exist_ok=True)
    index = {**env, "GIT_INDEX_FILE": str(into.parent / "bench-index")}
    subprocess.run(["git", "read-tree", commit], cwd=root, env=index, check=True)
    subprocess.run(
        ["git", "checkout-index", "--all", "--force", f"--prefix={into}/"],
        cwd=root, env=index, check=True,
    )  # fmt: skip
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=6)
    parser.add_argument("--per-module", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each (median)")
    args = parser.parse_args()
    go = shutil.which("go") or "go"
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "-modcacherw"}
    for name in ("GOWORK", "GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        env.pop(name, None)
    scratch = Path(tempfile.mkdtemp(prefix="goci-bench-apidiff-"))
    try:
        repo = generate(
            scratch / "mono", modules=args.modules, per_module=args.per_module, seed=3,
            workspace=True,
        )  # fmt: skip
        base = init_git(repo.root, env)
        changed = sorted(repo.packages)[:: max(1, len(repo.packages) // CHANGED)][:CHANGED]
        for n, target in enumerate(changed):
            path = repo.root / repo.file_of(target)
            path.write_text(
                path.read_text() + f"\n// Extra{n} is new.\nfunc Extra{n}() int {{ return {n} }}\n"
                f"\n// T{n} is new.\ntype T{n} struct{{ A, B int }}\n"
            )
        commit_all(repo.root, env, "new API in 50 packages")
        patterns = ["./" + repo.packages[p].folder for p in changed]
        fields = "-json=ImportPath,Name,Dir,Export,Module,Error,DepOnly"  # what api-diff asks
        bare = [go, "list", fields, "-e", "-export", "-deps", "-trimpath", *patterns]
        api_diff = [*GOCI, "api-diff", "--base", base, "--json"]

        def baseline() -> float:
            tree = extract(repo.root, base, env, scratch / "base" / "tree")
            head_time, _ = timed(bare, repo.root, env)
            base_time, _ = timed(bare, tree, env)
            return head_time + base_time

        _, out = timed(api_diff, repo.root, env)  # warm: the helper, the build cache
        found = json.loads(out)
        assert found["summary"] == {"compatible": 2 * len(changed), "breaking": 0, "blocking": 0}
        baseline()
        bare_times, goci_times = [], []
        for _ in range(args.runs):
            bare_times.append(baseline())
            goci_times.append(timed(api_diff, repo.root, env)[0])
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(scratch)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    bare_s, goci_s = statistics.median(bare_times), statistics.median(goci_times)
    print(f"{len(repo.packages)} packages, {len(changed)} with a changed API")
    print(f"go list -export -deps, head + base tree:  {bare_s:6.3f}s")
    print(f"goci api-diff --base:                     {goci_s:6.3f}s")
    print(f"ratio {goci_s / bare_s:.2f}x (aim < 2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
