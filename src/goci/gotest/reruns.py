"""Reruns of failed tests, to tell a flaky test from a broken one.

Only the failed tests of the failed packages run again, without coverage (the first run's
profile stands), named level by level within the user's ``--run`` (see
:mod:`goci.gotest.selection`: a subtest the user left out never runs), and packages that failed
the same tests share one ``go test`` (``-run`` applies to every package of a run, so a package
only joins a run whose pattern is exactly its own failures). A test that passes on a rerun is
reported as flaky. The package passes only when a rerun's own verdict is a pass with none of
its failed tests failing still: its test binary can fail with every test passing (a TestMain's
leak check that exits non-zero), and a rerun that says so, or says nothing, leaves the package
failing, with the reason.

A test binary that died (a panic, a -timeout, an os.Exit) took the tests it had not reached
with it: they have no events, so naming the failed tests would leave them out and pass a
package of which they never ran. Such a package runs again whole (within the user's ``-run``)
and passes only if such a run passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from goci.gotest.batch import Batch, BatchResult, run_batch
from goci.gotest.results import PackageResult, TestCase, TestOptions
from goci.gotest.selection import rerun_pattern
from goci.tools.gotool import Go
from goci.tools.workspace import Module

# One go test of a batch (run_batch without coverage; recorded streams in the tests).
Runner = Callable[[Batch, TestOptions], BatchResult]
# go's own lines in a package's output: its verdict and summary, not what the tests printed
_GO_LINES = re.compile(r"^(?:PASS|FAIL|ok  \t.*|FAIL\t.*|coverage: .*|exit status \d+)$")


@dataclass(frozen=True)
class Reruns:
    results: tuple[PackageResult, ...]
    invocations: int


@dataclass
class _Rerun:
    """One failed package on its way through the reruns: its tests as they stand now."""

    first: PackageResult
    tests: dict[str, TestCase]
    whole: bool  # the first run died before every test ran: every rerun runs all of them
    outcome: str = "fail"
    reason: str = ""
    output: list[str] = field(default_factory=list)
    done: bool = False

    def failing(self) -> tuple[str, ...]:
        """The tests to run again: those failing still that have no failing subtest."""
        failed = sorted(name for name, t in self.tests.items() if t.outcome == "fail")
        return tuple(n for n in failed if not any(f.startswith(n + "/") for f in failed))

    def absorb(self, again: PackageResult, attempt: int, pattern: str) -> None:
        """What a rerun said: failed tests that passed are flaky; its verdict is the package's."""
        for test in again.tests:
            now = self.tests.get(test.name)
            if now is None:
                self.tests[test.name] = replace(test, attempts=attempt)
            elif now.outcome == "fail" and test.outcome == "pass":
                self.tests[test.name] = replace(now, outcome="pass", flaky=True, attempts=attempt)
        what = f"go test -run={pattern}" if pattern else "go test of every test"
        self.output.append(f"=== goci: attempt {attempt}: {what}\n{again.output}")
        still = self.failing()
        if again.outcome == "pass" and not still:
            self.outcome, self.reason, self.done = "pass", "", True
        elif not still or self.whole:
            # what no failing test names: the package's own failure (TestMain, exit, a death)
            self.reason = _reason(again, attempt) if not (still and again.finished) else ""
            self.done = not self.whole

    def result(self) -> PackageResult:
        return replace(
            self.first,
            tests=tuple(self.tests.values()),
            outcome=self.outcome,
            output=self.first.output + "".join(self.output),
            reason=self.reason if self.outcome != "pass" else "",
        )


def _reason(again: PackageResult, attempt: int) -> str:
    if again.outcome == "fail" and not again.finished:
        return (
            f"its test binary died on attempt {attempt} before every test had run "
            "(a panic, a -timeout or os.Exit)"
        )
    verdict = {"fail": "failed", "build-fail": "did not build"}.get(
        again.outcome, "gave no verdict"
    )
    said = [line for line in again.output.splitlines() if not _GO_LINES.match(line.strip())]
    tail = "\n".join(said[-5:]).strip()
    return f"every failed test passed on attempt {attempt}, but the package {verdict}" + (
        f": {tail}" if tail else " (its test binary exited non-zero after its tests)"
    )


def go_runner(go: Go) -> Runner:
    """Reruns run without coverage: the first run's profile stands."""
    return lambda batch, options: run_batch(go, batch, options, None)


def rerun_failed(
    runner: Runner, results: Sequence[PackageResult], options: TestOptions, attempts: int
) -> Reruns:
    """Rerun the failed tests (the whole package where the test binary died), up to
    ``attempts`` times, each rerun by ``runner``."""
    pending = {
        r.package.import_path: _Rerun(r, {t.name: t for t in r.tests}, not r.finished)
        for r in results
        if r.outcome == "fail" and (r.failed_tests or not r.finished)
    }
    rerun_options = replace(options, count=1, run="")
    invocations = 0
    for attempt in range(2, max(0, attempts) + 2):
        groups: dict[tuple[Path, str], list[_Rerun]] = {}
        for state in pending.values():
            if not state.done:
                pattern = (
                    options.run if state.whole else rerun_pattern(state.failing(), options.run)
                )
                key = (state.first.package.module_dir, pattern)
                groups.setdefault(key, []).append(state)
        if not groups:
            break
        for (folder, pattern), states in groups.items():
            packages = tuple(s.first.package for s in states)
            batch = Batch(
                (Module(packages[0].module, folder),),
                tuple(p.import_path for p in packages),
                packages,
            )
            again = runner(batch, replace(rerun_options, run=pattern))
            invocations += again.runs
            for result in again.results:
                pending[result.package.import_path].absorb(result, attempt, pattern)
    settled = tuple(
        pending[r.package.import_path].result() if r.package.import_path in pending else r
        for r in results
    )
    return Reruns(settled, invocations)
