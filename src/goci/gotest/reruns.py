"""Reruns of failed tests, to tell a flaky test from a broken one.

Only the failed top-level tests run again, without coverage (the first run's profile stands);
a test that passes on a rerun is reported as flaky and no longer fails its package.
"""

from __future__ import annotations

import re
from dataclasses import replace

from goci.gotest.results import PackageResult, TestOptions
from goci.gotest.unit import run_unit
from goci.tools.gotool import Go


def rerun_failed(
    go: Go, result: PackageResult, options: TestOptions, attempts: int
) -> PackageResult:
    """Rerun only the failed top-level tests, up to ``attempts`` times, without coverage.

    The first run's coverage stands; a test that passes on a rerun is flaky: reported
    separately, and no longer failing the package when every failure was like that.
    """
    if result.outcome != "fail" or attempts <= 0:
        return result
    failing = sorted({t.top for t in result.tests if t.outcome == "fail"})
    if not failing:
        return result
    recovered: dict[str, int] = {}
    remaining = list(failing)
    rerun_options = replace(options, count=1)
    for attempt in range(1, attempts + 1):
        if not remaining:
            break
        pattern = "^(" + "|".join(re.escape(name) for name in remaining) + ")$"
        again = run_unit(go, result.package, replace(rerun_options, run=pattern), None)
        outcomes = {t.name: t.outcome for t in again.tests}
        for name in list(remaining):
            if outcomes.get(name) == "pass":
                recovered[name] = attempt + 1
                remaining.remove(name)
    if not recovered:
        return result
    tests = tuple(
        replace(t, outcome="pass", flaky=True, attempts=recovered[t.top])
        if t.outcome == "fail" and t.top in recovered
        else t
        for t in result.tests
    )
    outcome = "pass" if not remaining else "fail"
    return replace(result, tests=tests, outcome=outcome)
