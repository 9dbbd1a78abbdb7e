"""Run this shard's tests: as few ``go test -json`` as can be, every package's result read back.

Packages of one module share their -coverpkg, so they share one ``go test``: go loads the
package graph once, builds and runs the test binaries ``-p`` at a time, replays unchanged
packages from its test cache, and writes one profile for the batch. Without -coverpkg, every
module of a go.work shares one ``go test`` (see :func:`~goci.gotest.batch.one_workspace_batch`);
nested modules without a go.work get one each, as go can only test a module from inside it.
By default each package counts its own statements, as ``go test -cover`` does (``--coverpkg
module`` counts code exercised from another package of the module too), and packages without
tests are run too (Go 1.22+ then reports their statements as uncovered), which is what makes
the merged total equal the total of one unsharded ``go test`` run with the same options.

A single shard needs no package list before it starts: each module's patterns go straight to
go (``go list`` runs only when go reports a pattern it cannot resolve, to name it). Several
shards list the packages first, to split them the same way on every runner.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from goci.coverage.sidecars import Sidecar, write_shard_marker, write_sidecar
from goci.errors import InputError
from goci.gotest import shards as sharding
from goci.gotest.batch import (
    Batch,
    BatchResult,
    module_batches,
    one_workspace_batch,
    run_batch,
    split_batch,
)
from goci.gotest.listing import list_packages, module_patterns
from goci.gotest.reruns import go_runner, rerun_failed
from goci.gotest.results import PackageResult, TestOptions, TestRun
from goci.tools.gittool import Git
from goci.tools.gotool import Go
from goci.tools.workspace import Workspace, discover

Log = Callable[[str], None]
# Modules tested at once (each ``go test`` runs -p packages at once): two overlap one run's
# loading and linking with another's tests without crowding the machine.
BATCHES_AT_ONCE = 2


def _slug(import_path: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", import_path).strip("_") or "package"


def _sidecar_base(go: Go, root: Path, options: TestOptions, shard: sharding.Shard) -> Sidecar:
    values = go.env_values(["GOVERSION", "GOOS", "GOARCH"], cwd=root)
    commit = ""
    git = Git(root, go.environment())
    probe = git.run("rev-parse", "--verify", "--quiet", "HEAD", check=False)
    if probe.ok:
        commit = probe.stdout.strip()
    return Sidecar(
        commit=commit,
        go_version=values["GOVERSION"],
        goos=values["GOOS"],
        goarch=values["GOARCH"],
        mode=options.mode,
        tags=options.tags,
        shard=shard.label,
    )


@dataclass(frozen=True)
class _Plan:
    batches: list[Batch]
    all_packages: int  # in every shard (-1: not listed, the run tells)
    by: str
    timings_used: bool


def _plan(
    root: Path,
    go: Go,
    workspace: Workspace,
    packages: Sequence[str] | None,
    shard: sharding.Shard,
    options: TestOptions,
    known: dict[str, float],
) -> _Plan:
    if shard.total == 1:
        batches = [
            Batch((module,), tuple(args))
            for module, args in module_patterns(root, workspace, packages)
        ]
        return _Plan(one_workspace_batch(batches, workspace, options), -1, "one shard", False)
    found = list_packages(root, go, packages, tags=options.tags, workspace=workspace)
    by_name = {p.import_path: p for p in found}
    plan = sharding.assign(
        list(by_name),
        shard.total,
        timings=known,
        test_counts={p.import_path: p.test_count for p in found},
    )
    mean = (sum(known.values()) / len(known)) if known else 0.0
    mine = sorted(
        (by_name[name] for name in plan.packages(shard)),
        key=lambda p: (-known.get(p.import_path, mean), -p.test_count, p.import_path),
    )  # longest first: go starts the test binaries in the order given
    batches = one_workspace_batch(module_batches(mine, workspace.modules), workspace, options)
    return _Plan(batches, len(found), plan.by, bool(known))


def _check_patterns(
    root: Path, go: Go, workspace: Workspace, packages: Sequence[str] | None,
    done: Sequence[BatchResult], options: TestOptions,
) -> None:  # fmt: skip
    """go reported a name that is no package, or failed for none: let ``go list`` name it."""
    if any(b.strays or (b.error and not b.results) for b in done):
        list_packages(root, go, packages, tags=options.tags, workspace=workspace)


def run_tests(
    root: Path,
    go: Go,
    *,
    packages: Sequence[str] | None = None,
    shard: sharding.Shard | None = None,
    out: Path,
    options: TestOptions | None = None,
    timings: Path | None = None,
    coverage: bool = True,
    log: Log | None = None,
) -> TestRun:
    """Test this shard's packages, one ``go test`` per batch, coverage profiles under ``out``.

    ``packages=None`` means every package of every module in use; an empty list means nothing
    to test (a valid, passing run).
    """
    options = options or TestOptions()
    shard = shard or sharding.Shard(1, 1)
    say = log or (lambda _msg: None)
    token = f"{shard.index}of{shard.total}-{uuid.uuid4().hex[:8]}"
    known = sharding.read_timings(timings)
    # The sidecar's facts (go env, git) come from a thread of their own: a worker shared with
    # the batches would be free again in milliseconds, and a third go test would take it.
    with ThreadPoolExecutor(max_workers=1) as aside, ThreadPoolExecutor(BATCHES_AT_ONCE) as pool:
        base: Future[Sidecar] | None = (
            aside.submit(_sidecar_base, go, root, options, shard) if coverage else None
        )
        workspace = discover(root, go)
        plan = (
            _Plan([], 0, "test count", False)
            if packages is not None and not packages
            else _plan(root, go, workspace, packages, shard, options, known)
        )
        parts = [part for batch in plan.batches for part in split_batch(batch)]
        created = not out.exists()
        out.mkdir(parents=True, exist_ok=True)
        say(_starting(plan, len(parts), shard, options))

        def one(index: int, batch: Batch) -> BatchResult:
            profile = None
            if coverage:
                profile = out / f"{_slug(batch.name)}.{token}-{index}.cover"
            done = run_batch(go, batch, options, profile)
            for result in done.results:
                say(_line(result))
            return done

        done = list(pool.map(one, range(len(parts)), parts))
        try:
            _check_patterns(root, go, workspace, packages, done, options)
        except InputError:
            _discard(out, token, created)  # bad input leaves nothing behind
            raise
        sidecar = base.result() if base is not None else None
    results = [r for b in done for r in b.results]
    invocations = sum(b.runs for b in done)
    if options.rerun_fails:
        reruns = rerun_failed(go_runner(go), results, options, options.rerun_fails)
        results, invocations = list(reruns.results), invocations + reruns.invocations
    results.sort(key=lambda r: r.package.import_path)
    profiles = tuple(b.profile for b in done if b.profile is not None)
    if sidecar is not None:
        _write_sidecars(out, parts, done, sidecar, options, f"{shard.index}of{shard.total}.{token}")
    if timings is not None:
        _write_timings(timings, results)
    return TestRun(
        results=tuple(results),
        shard=shard,
        shard_by=plan.by,
        all_packages=plan.all_packages if plan.all_packages >= 0 else len(results),
        profile_dir=out,
        options=options,
        timings_used=plan.timings_used,
        profiles=profiles,
        invocations=invocations,
        errors=tuple(_errors(done, parts)),
    )


def _write_sidecars(
    out: Path,
    parts: Sequence[Batch],
    done: Sequence[BatchResult],
    sidecar: Sidecar,
    options: TestOptions,
    marker: str,
) -> None:
    """Each profile's sidecar (the packages its run tested), then the shard's marker."""
    for batch, part in zip(parts, done, strict=True):
        if part.profile is not None:
            write_sidecar(
                part.profile,
                replace(
                    sidecar,
                    packages=tuple(r.package.import_path for r in part.results),
                    coverpkg=batch.coverpkg(options),
                ),
            )
    names = sorted(r.package.import_path for part in done for r in part.results)
    write_shard_marker(out, marker, sidecar, names)


def _write_timings(timings: Path, results: Sequence[PackageResult]) -> None:
    """Times measured now; a result replayed from go's cache, or no result, keeps its old one."""
    measured = {
        r.package.import_path: r.elapsed
        for r in results
        if not r.cached and r.outcome in ("pass", "fail")
    }
    if measured:
        sharding.write_timings(timings, measured)


def _errors(done: Sequence[BatchResult], parts: Sequence[Batch]) -> list[str]:
    errors = [b.error for b in done if b.error]
    for batch, part in zip(parts, done, strict=True):
        errors += [
            f"go test reported on {name!r}, which is no package of "
            + ", ".join(m.path for m in batch.modules)
            for name in part.strays
        ]
    return errors


def _discard(out: Path, token: str, created: bool) -> None:
    for written in out.glob(f"*{token}*"):
        written.unlink(missing_ok=True)
    if created and not any(out.iterdir()):
        out.rmdir()


def _starting(plan: _Plan, runs: int, shard: sharding.Shard, options: TestOptions) -> str:
    sharded = f" (shard {shard.label}, by {plan.by})" if shard.total > 1 else ""
    return (
        f"testing {_count(plan)}{sharded} in "
        f"{runs} go test run{'s' if runs != 1 else ''}, "
        f"{options.parallel or 'GOMAXPROCS'} packages at a time"
    )


def _count(plan: _Plan) -> str:
    if plan.all_packages < 0:
        return "every package the patterns name"
    listed = sum(len(b.packages) for b in plan.batches)
    return f"{listed} of {plan.all_packages} packages"


def _line(result: PackageResult) -> str:
    took = "cached" if result.cached else f"{result.elapsed:.1f}s"
    return f"{result.outcome:10} {result.package.import_path} ({took})"
