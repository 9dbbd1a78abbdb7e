"""Speed of ``goci changed`` against its physical limit: one bare ``go list -e -deps -test -json``.

Generates a go.work workspace of 2,000 packages in 20 modules and times, in the same run, the
whole analysis (git, graph loading, ownership, propagation, reasons) for two changes: a typical
one (3 files modified in 2 packages: only the head graph is needed) and one that deletes a
package (the merge-base graph is loaded too, from a temporary worktree). Prints each ratio over
the bare ``go list`` of the head tree; the aims are 1.3x and 2.5x.

    .venv/bin/python bench/affected.py            # 2,000 packages / 20 modules
    .venv/bin/python bench/affected.py --quick    # 400 packages / 8 modules
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from goci.changed.affected import analyse
from goci.tools.gittool import Git
from goci.tools.gotool import Go
from support.affected_monorepo import commit_all, generate, git, init_git

T = TypeVar("T")


def best_of(runs: int, action: Callable[[], T]) -> tuple[float, T]:
    times = []
    for _ in range(max(runs, 1)):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 packages in 8 modules")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (median)")
    args = parser.parse_args()
    modules, per_module = (8, 50) if args.quick else (20, 100)
    go_exe = shutil.which("go") or "go"
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "-modcacherw"}
    env.pop("GOWORK", None)
    scratch = Path(tempfile.mkdtemp(prefix="goci-bench-affected-"))
    try:
        repo = generate(
            scratch / "mono", modules=modules, per_module=per_module, seed=5, workspace=True
        )
        base = init_git(repo.root, env)
        go, door = Go(env, exe=go_exe), Git(repo.root, env)
        bare = [go_exe, "list", "-e", "-deps", "-test", "-json", *repo.go_patterns()]

        def go_list() -> int:
            out = subprocess.run(
                bare, cwd=repo.root, env=env, capture_output=True, check=True
            ).stdout
            return len(out)

        go_list()  # warm the caches both sides use
        # A typical change: 3 files modified in 2 packages.
        first, second = sorted(repo.packages)[per_module // 2], sorted(repo.packages)[-10]
        repo.mutate(first)
        test_file = repo.root / repo.packages[first].folder / f"{repo.packages[first].name}_test.go"
        test_file.write_text(test_file.read_text() + "\n// touched\n")
        repo.mutate(second)
        typical = commit_all(repo.root, env, "typical change")
        git(repo.root, env, "checkout", "-q", "-b", "deletion", base)
        victim = repo.packages[sorted(repo.packages)[len(repo.packages) // 3]]
        shutil.rmtree(repo.root / victim.folder)
        deletion = commit_all(repo.root, env, "delete a package")

        results = []
        for label, head, aim in (("typical", typical, 1.3), ("deletion", deletion, 2.5)):
            git(repo.root, env, "checkout", "-q", head)
            bare_time, size = best_of(args.runs, go_list)
            goci_time, answer = best_of(
                args.runs, functools.partial(analyse, repo.root, go, door, base=base, head=head)
            )
            assert not answer.all, answer.all_reasons
            results.append((label, bare_time, goci_time, aim, size, answer))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"workspace: {len(repo.packages)} packages + {modules} services in {modules} modules")
    for label, bare_time, goci_time, aim, size, answer in results:
        print(
            f"{label:9} bare go list {bare_time:5.2f}s ({size / 1e6:.0f} MB JSON)  "
            f"goci changed {goci_time:5.2f}s  ratio {goci_time / bare_time:.2f}x "
            f"(aim {aim}x)  -> {len(answer.packages)} packages, "
            f"{len(answer.test_packages)} test packages"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
