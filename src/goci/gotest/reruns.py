"""Reruns of failed tests, to tell a flaky test from a broken one.

Only the failed top-level tests of the failed packages run again, without coverage (the first
run's profile stands), and packages that failed the same tests share one ``go test`` (``-run``
applies to every package of a run, so a package only joins a run whose pattern is exactly its
own failures). A test that passes on a rerun is reported as flaky and no longer fails its
package.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from goci.gotest.batch import Batch, run_batch
from goci.gotest.results import PackageResult, TestOptions
from goci.tools.gotool import Go
from goci.tools.workspace import Module


@dataclass(frozen=True)
class Reruns:
    results: tuple[PackageResult, ...]
    invocations: int


def run_pattern(names: Sequence[str]) -> str:
    return "^(" + "|".join(re.escape(name) for name in sorted(names)) + ")$"


def _failing(result: PackageResult) -> tuple[str, ...]:
    if result.outcome != "fail":
        return ()
    return tuple(sorted({t.top for t in result.tests if t.outcome == "fail"}))


def _settle(result: PackageResult, recovered: dict[str, int], remaining: set[str]) -> PackageResult:
    if not recovered:
        return result
    tests = tuple(
        replace(t, outcome="pass", flaky=True, attempts=recovered[t.top])
        if t.outcome == "fail" and t.top in recovered
        else t
        for t in result.tests
    )
    return replace(result, tests=tests, outcome="fail" if remaining else "pass")


def rerun_failed(
    go: Go, results: Sequence[PackageResult], options: TestOptions, attempts: int
) -> Reruns:
    """Rerun the failed top-level tests, up to ``attempts`` times, without coverage."""
    remaining = {r.package.import_path: set(_failing(r)) for r in results if _failing(r)}
    recovered: dict[str, dict[str, int]] = {name: {} for name in remaining}
    by_name = {r.package.import_path: r for r in results}
    rerun_options = replace(options, count=1, run="")
    invocations = 0
    for attempt in range(1, max(0, attempts) + 1):
        groups: dict[tuple[Path, tuple[str, ...]], list[str]] = {}
        for name, tests in remaining.items():
            if tests:
                key = (by_name[name].package.module_dir, tuple(sorted(tests)))
                groups.setdefault(key, []).append(name)
        if not groups:
            break
        for (folder, failed), names in groups.items():
            first = by_name[names[0]].package
            batch = Batch(
                (Module(first.module, folder),),
                tuple(names),
                tuple(by_name[n].package for n in names),
            )
            again = run_batch(go, batch, replace(rerun_options, run=run_pattern(failed)), None)
            invocations += again.runs
            for result in again.results:
                passed = {t.name for t in result.tests if t.outcome == "pass"}
                name = result.package.import_path
                for test in sorted(remaining[name] & passed):
                    recovered[name][test] = attempt + 1
                    remaining[name].discard(test)
    settled = tuple(
        _settle(
            r, recovered.get(r.package.import_path, {}), remaining.get(r.package.import_path, set())
        )
        for r in results
    )
    return Reruns(settled, invocations)
