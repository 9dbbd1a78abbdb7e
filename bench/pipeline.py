"""goci against what a Go team runs instead (actions/setup-go's cache), and a naive pipeline.

A generated monorepo (300 packages in 6 modules with a go.work, a service per module, and a few
"third-party" modules served by a file GOPROXY) gets a series of ordinary commits. For each
commit this script times three pipelines:

* naive: ``go mod download``, ``go build ./...``, ``go test -cover ./...`` on a cold module
  cache and a cold build cache (a pipeline without caches);
* setup-go: what actions/setup-go with ``cache: true`` does. One cache holds GOMODCACHE and
  GOCACHE, keyed by the go.sum hash; it is saved once, after the first run on main, and since
  ordinary commits do not touch go.sum the key never changes, so every later job restores that
  same frozen content (copied back from a folder, the way actions/cache extracts it; timed),
  then ``go build ./...`` and ``go test -cover ./...`` over every module, Go's own test cache
  skipping the packages unchanged since the frozen run;
* goci, as go-ci.yml runs it: the plan job's ``goci changed`` on a runner without caches;
  when a Go-relevant file changed (else go-ci.yml's test job does not run), restoring the two
  caches a previous run saved (timed the same way), ``goci cache mark``, then ``goci ci --base
  <previous commit>`` (affected packages only, tests with coverage over their module, stripped
  build of the changed services, pack, upload to a file store) and ``goci cache trim``; saving
  the caches again is not timed (only pushes to main save).

Every commit's edit changes code that runs (see ``touch``); ``--change-kind dead`` replays the
earlier series, whose edits only added functions nobody calls.

It prints each commit's times and the totals with both ratios (goci / setup-go, goci / naive),
then the worst case on its own: one more commit touching the package most others depend on
(everything above it affected), where goci must not be slower than setup-go. Last it breaks a
few packages in commits and checks that goci's test selection contains every test that really
fails (the safety harness of changed-packages): a faster pipeline that misses failures is
worthless.

    .venv/bin/python bench/pipeline.py                    # 20 commits, 300 packages
    .venv/bin/python bench/pipeline.py --commits 5 --per-module 30   # a quicker look
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.affected_monorepo import (
    Monorepo,
    commit_all,
    generate,
    init_git,
    interesting_targets,
    mutation_check,
)
from support.goproxy import GoProxy

GOCI = [sys.executable, "-m", "goci"]
THIRD_PARTY = 4


def sh(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def add_third_party(repo: Monorepo, proxy: GoProxy, env: dict[str, str], go: str) -> None:
    """Publish a few modules on the file proxy and make package 0 of every module use one."""
    for i in range(THIRD_PARTY):
        files = {
            f"lib/f{k}.go": f"package lib\n\n// V{k} is part of a dependency.\n"
            f"func V{k}() int {{ return {k} }}\n"
            for k in range(40)
        }
        proxy.add(f"thirdparty.example/lib{i}", "v1.0.0", files)
    for m in range(repo.modules):
        lib = f"thirdparty.example/lib{m % THIRD_PARTY}/lib"
        first = next(p for p in repo.packages.values() if p.module == m and p.index == 0)
        folder = repo.root / first.folder
        (folder / "dep.go").write_text(
            f'package {first.name}\n\nimport dep "{lib}"\n\nvar _ = dep.V0\n'
        )
        sh([go, "mod", "tidy"], repo.root / "mods" / f"m{m}", {**env, "GOWORK": "off"})


def change(repo: Monorepo, rng: random.Random, n: int, kind: str) -> str:
    """One ordinary commit: mostly a new function in some package, now and then docs only."""
    if n % 10 == 9:
        (repo.root / "README.md").write_text(f"# generated monorepo\n\nrevision {n}\n")
        return "docs"
    target = rng.choice(sorted(repo.packages))
    touch(repo, target, n, kind)
    return target


def naive(repo: Monorepo, env: dict[str, str], scratch: Path, go: str) -> float:
    cold = scratch / "naive"
    shutil.rmtree(cold, ignore_errors=True)
    run_env = {**env, "GOCACHE": str(cold / "gocache"), "GOMODCACHE": str(cold / "mod")}
    started = time.perf_counter()
    every = repo.go_patterns()  # ./... of every module of the workspace
    for argv in ([go, "mod", "download"], [go, "build", *every], [go, "test", "-cover", *every]):
        sh(argv, repo.root, run_env)
    elapsed = time.perf_counter() - started
    subprocess.run(["chmod", "-R", "u+w", str(cold)], check=False)
    shutil.rmtree(cold, ignore_errors=True)
    return elapsed


def restore(saved: Path, live: Path) -> None:
    """A cache restore: the saved folder copied back in place of whatever was there."""
    if live.exists():
        subprocess.run(["chmod", "-R", "u+w", str(live)], check=False)
        shutil.rmtree(live)
    if saved.exists():
        shutil.copytree(saved, live, symlinks=True)


def setup_go(repo: Monorepo, env: dict[str, str], scratch: Path, go: str) -> tuple[float, float]:
    """One job with actions/setup-go's cache: restore the frozen cache, build, test -cover.

    Returns the job's time and the part of it the restore took.
    """
    saved, live = scratch / "setup-go-saved", scratch / "setup-go-live"
    run_env = {**env, "GOCACHE": str(live / "gocache"), "GOMODCACHE": str(live / "mod")}
    started = time.perf_counter()
    restore(saved, live)
    restored = time.perf_counter()
    every = repo.go_patterns()
    for argv in ([go, "build", *every], [go, "test", "-cover", *every]):
        sh(argv, repo.root, run_env)
    elapsed = time.perf_counter() - started
    if not saved.exists():  # the key (go.sum's hash) is new only once: saved once, frozen
        shutil.copytree(live, saved, symlinks=True)
    return elapsed, restored - started


def lowest_package(repo: Monorepo) -> str:
    """The package the most others depend on, directly or not (tests included)."""
    users: dict[str, set[str]] = {path: set() for path in repo.packages}
    for pkg in repo.packages.values():
        for dep in [*pkg.imports, *pkg.test_imports]:
            users[dep].add(pkg.path)

    def above(path: str, seen: set[str]) -> set[str]:
        for user in users[path] - seen:
            seen.add(user)
            above(user, seen)
        return seen

    return max(sorted(repo.packages), key=lambda path: len(above(path, set())))


def touch(repo: Monorepo, target: str, n: int, kind: str) -> None:
    """An ordinary edit: F now calls a new helper that adds nothing to its value.

    Every test still passes, and F's compiled code changes, as a real edit's does, so every
    binary that links F changes too. (With ``kind="dead"`` the edit only adds a
    function nobody calls: the linker drops it, the test binaries of every importer come out
    byte-identical, and Go's test cache replays their results, so setup-go's frozen cache pays
    only the recompiles. Real commits seldom change nothing that runs.)
    """
    path = repo.root / repo.file_of(target)
    text = path.read_text()
    if kind == "dead":
        path.write_text(text + f"\n// Extra{n} is new.\nfunc Extra{n}() int {{ return {n} }}\n")
        return
    text = text.replace("func F() int { return ", f"func F() int {{ return extra{n}() + ", 1)
    helper = f"\n// extra{n} is new.\n//\n//go:noinline\nfunc extra{n}() int {{ return 0 }}\n"
    path.write_text(text + helper)


def goci_json(argv: list[str], cwd: Path, env: dict[str, str]) -> dict[str, object]:
    proc = subprocess.run(
        [*GOCI, *argv, "--json"], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"failed: goci {' '.join(argv)}\n{proc.stderr[-3000:]}")
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def plan_job(root: Path, env: dict[str, str], scratch: Path, base: str) -> bool:
    """go-ci.yml's plan job: ``goci changed`` on a runner with no Go caches. Whether to test."""
    fresh = scratch / "plan"
    plan_env = {**env, "GOCACHE": str(fresh / "gocache"), "GOMODCACHE": str(fresh / "mod")}
    try:
        return bool(goci_json(["changed", "--base", base], root, plan_env)["any"])
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(fresh)], check=False)
        shutil.rmtree(fresh, ignore_errors=True)


def goci_run(
    root: Path, env: dict[str, str], scratch: Path, base: str | None
) -> tuple[float, float]:
    """One CI run the way go-ci.yml runs it: the plan job's ``goci changed`` (no caches: the
    plan job restores none), then, only when a Go-relevant file changed (go-ci.yml's test job
    runs only then), restore, mark, the pipeline, trim (then save). The pipeline runs
    ``goci changed`` again: a second of work the workflow does not do, counted against goci.

    Returns the run's time and the part of it the restore took.
    """
    saved, live = scratch / "saved", scratch / "live"
    run_env = {**env, "GOCACHE": str(live / "gocache"), "GOMODCACHE": str(live / "mod")}
    started = time.perf_counter()
    if base and not plan_job(root, env, scratch, base):
        return time.perf_counter() - started, 0.0
    if saved.exists():  # the cache restore a CI job pays for
        restore(saved, live)
    (live / "gocache").mkdir(parents=True, exist_ok=True)
    restored = time.perf_counter()
    mark = goci_json(["cache", "mark"], root, run_env)["mark"]
    argv = [*GOCI, "ci", str(root), "--platforms", "linux/amd64", "--go-versions", "local"]
    if base:
        argv += ["--base", base]
    sh(argv, root, run_env)
    trim = [
        "cache",
        "trim",
        "--unused-since",
        str(mark),
        "--keep-within",
        "7d",
        "--max-size",
        "1GiB",
    ]
    goci_json(trim, root, run_env)
    elapsed = time.perf_counter() - started
    if saved.exists():  # the save (only pushes to main do it): not timed
        subprocess.run(["chmod", "-R", "u+w", str(saved)], check=False)
        shutil.rmtree(saved)
    shutil.copytree(live, saved, symlinks=True)
    return elapsed, restored - started


@dataclass
class Times:
    naive: float = 0.0
    setup_go: float = 0.0
    goci: float = 0.0
    setup_go_restore: float = 0.0  # the cache restores, inside setup_go and goci
    goci_restore: float = 0.0

    def add(self, other: Times) -> None:
        self.naive += other.naive
        self.setup_go += other.setup_go
        self.goci += other.goci
        self.setup_go_restore += other.setup_go_restore
        self.goci_restore += other.goci_restore

    def line(self) -> str:
        return (
            f"naive {self.naive:6.1f}s  setup-go {self.setup_go:6.1f}s "
            f"(restore {self.setup_go_restore:5.1f}s)  goci {self.goci:6.1f}s "
            f"(restore {self.goci_restore:5.1f}s)  goci/setup-go "
            f"{self.goci / self.setup_go:.2f}, goci/naive {self.goci / self.naive:.2f}"
        )


def one_commit(repo: Monorepo, env: dict[str, str], scratch: Path, go: str, base: str) -> Times:
    naive_time = naive(repo, env, scratch, go)
    setup_go_time, setup_go_restore = setup_go(repo, env, scratch, go)
    goci_time, goci_restore = goci_run(repo.root, env, scratch, base)
    return Times(naive_time, setup_go_time, goci_time, setup_go_restore, goci_restore)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=20)
    parser.add_argument("--modules", type=int, default=6)
    parser.add_argument("--per-module", type=int, default=50)
    parser.add_argument("--mutations", type=int, default=3, help="safety checks at the end")
    parser.add_argument(
        "--change-kind",
        choices=("called", "dead"),
        default="called",
        help="what each commit's edit adds: a helper F calls (default) or a function nobody calls",
    )
    args = parser.parse_args()
    go = shutil.which("go") or "go"
    scratch = Path(tempfile.mkdtemp(prefix="goci-pipeline-"))
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOSUMDB": "off", "GOFLAGS": "-modcacherw"}
    env.pop("GOWORK", None)
    for name in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_EVENT_PATH"):
        env.pop(name, None)
    try:
        proxy = GoProxy(scratch / "proxy")
        env["GOPROXY"] = proxy.url
        env["GOMODCACHE"] = str(scratch / "setup-mod")
        repo = generate(
            scratch / "mono",
            modules=args.modules,
            per_module=args.per_module,
            seed=3,
            workspace=True,
        )
        add_third_party(repo, proxy, env, go)
        (repo.root / ".gitignore").write_text(".goci/\n")
        previous = init_git(repo.root, env)
        print(
            f"{len(repo.packages)} packages in {args.modules} modules, "
            f"{THIRD_PARTY} third-party modules; {args.commits} commits, then the worst case "
            f"({os.cpu_count()} CPUs; on a shared machine the figures are noisy)",
            flush=True,
        )
        goci_run(repo.root, env, scratch, None)  # the earlier run on main that saved caches
        setup_go(repo, env, scratch, go)  # ... and setup-go's first run, which froze its cache
        rng = random.Random(5)  # a reproducible series of changes
        total = Times()
        for n in range(args.commits):
            what = change(repo, rng, n, args.change_kind)
            head = commit_all(repo.root, env, f"change {n}: {what}")
            times = one_commit(repo, env, scratch, go, previous)
            total.add(times)
            print(f"commit {n + 1:2} {what:18} {times.line()}", flush=True)
            previous = head
        low = lowest_package(repo)
        touch(repo, low, args.commits, args.change_kind)
        commit_all(repo.root, env, f"worst case: {low}")
        worst = one_commit(repo, env, scratch, go, previous)
        targets = interesting_targets(repo)[: args.mutations]
        results = mutation_check(
            repo, go, {**env, "GOMODCACHE": str(scratch / "setup-mod")}, targets
        )
        misses = sum(len(r.misses) for r in results)
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(scratch)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\ntotal over {args.commits} commits: {total.line()}")
    print(
        f"goci / setup-go: {total.goci / total.setup_go:.2f} (target <= 0.25); "
        f"goci / naive: {total.goci / total.naive:.2f} (target <= 0.15)"
    )
    print(
        f"worst case, {low} touched (everything that depends on it affected): {worst.line()}; "
        f"goci / setup-go {worst.goci / worst.setup_go:.2f} (target <= 1.0)"
    )
    print(f"missed test failures in {len(results)} mutations: {misses}")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
