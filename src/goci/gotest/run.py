"""Run Go tests one package per unit, several units at once, each with its own coverage.

One ``go test -json`` per package gives every package its own profile file (named uniquely, so
a rerun or a second invocation never overwrites another's), its own timing for the next
sharding, and a failure that names its package. ``-coverpkg`` defaults to the packages of the
package's own module, so code exercised from another package counts, and packages without
tests are run too (Go 1.22+ then reports their statements as uncovered), which is what makes
the merged total equal the total of one unsharded ``go test -coverpkg`` run.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from goci.coverage.sidecars import Sidecar, write_shard_marker, write_sidecar
from goci.gotest import shards as sharding
from goci.gotest.listing import list_packages
from goci.gotest.reruns import rerun_failed
from goci.gotest.results import Package, PackageResult, TestOptions, TestRun
from goci.gotest.unit import run_unit
from goci.tools.gittool import Git
from goci.tools.gotool import Go

Log = Callable[[str], None]


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
    """Test this shard's packages, in parallel, each with its own coverage profile under ``out``.

    ``packages=None`` means every package of every module in use; an empty list means nothing
    to test (a valid, passing run).
    """
    options = options or TestOptions()
    shard = shard or sharding.Shard(1, 1)
    say = log or (lambda _msg: None)
    found = (
        []
        if packages is not None and not packages
        else list_packages(root, go, packages, tags=options.tags)
    )
    known = sharding.read_timings(timings)
    by_name = {p.import_path: p for p in found}
    plan = sharding.assign(
        list(by_name),
        shard.total,
        timings=known,
        test_counts={p.import_path: p.test_count for p in found},
    )
    mine = [by_name[name] for name in plan.packages(shard)]
    out.mkdir(parents=True, exist_ok=True)
    token = f"{shard.index}of{shard.total}-{uuid.uuid4().hex[:8]}"
    base = _sidecar_base(go, root, options, shard) if coverage else None
    mean = (sum(known.values()) / len(known)) if known else 0.0
    order = sorted(
        mine, key=lambda p: (-known.get(p.import_path, mean), -p.test_count, p.import_path)
    )
    workers = max(1, options.parallel or os.cpu_count() or 1)
    say(
        f"testing {len(mine)} of {len(found)} packages (shard {shard.label}, by {plan.by}), "
        f"{workers} at a time"
    )

    def one(package: Package) -> PackageResult:
        profile = out / f"{_slug(package.import_path)}.{token}.cover" if coverage else None
        result = run_unit(go, package, options, profile)
        if options.rerun_fails:
            result = rerun_failed(go, result, options, options.rerun_fails)
        if result.profile is not None and base is not None:
            write_sidecar(
                result.profile,
                replace(base, package=package.import_path, coverpkg=options.coverpkg_for(package)),
            )
        say(f"{result.outcome:10} {package.import_path} ({result.elapsed:.1f}s)")
        return result

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, order))
    results.sort(key=lambda r: r.package.import_path)
    if base is not None:
        write_shard_marker(
            out, f"{shard.index}of{shard.total}.{token}", base, [p.import_path for p in mine]
        )
    if timings is not None and results:
        sharding.write_timings(timings, {r.package.import_path: r.elapsed for r in results})
    return TestRun(
        results=tuple(results),
        shard=shard,
        shard_by=plan.by,
        all_packages=len(found),
        profile_dir=out,
        options=options,
        timings_used=bool(known),
    )
