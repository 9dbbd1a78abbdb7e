"""What a test run is about and what it found: packages, options, tests, results.

Plain values, shared by the listing, the runner, the reruns, the JUnit writer and the report,
so that each of them reads a result the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from goci.gotest import shards as sharding


@dataclass(frozen=True)
class Package:
    """One unit of work: a package to test, and the module it belongs to."""

    import_path: str
    dir: Path
    module: str
    module_dir: Path
    test_count: int


# The --coverpkg option's help, for goci test and goci ci alike.
COVERPKG_HELP = (
    "-coverpkg patterns; 'module': the package's own module (<module>/...) "
    "(default: none, each package's own statements, as go test -cover)"
)


@dataclass(frozen=True)
class TestOptions:
    """What is passed through to ``go test``.

    ``coverpkg=()`` counts each package's own statements, as ``go test -cover`` does: the
    setting a team compares goci with, and the cheap one (with -coverpkg every test binary of a
    run links every matched package instrumented: ~40% more test time when a change reaches most
    of a module). ``("module",)`` is ``-coverpkg=<the package's module>/...``: a package tested
    only through another one counts as covered.
    """

    coverpkg: tuple[str, ...] = ()
    covermode: str = ""
    race: bool = False
    tags: tuple[str, ...] = ()
    timeout: str = ""
    run: str = ""
    count: int | None = None
    parallel: int = 0
    rerun_fails: int = 0

    @property
    def mode(self) -> str:
        return self.covermode or ("atomic" if self.race else "set")

    def coverpkg_for(self, module: str) -> tuple[str, ...]:
        """The -coverpkg patterns for the packages of ``module`` (one go test run shares them)."""
        if self.coverpkg == ("module",):
            return (f"{module}/...",)
        if self.coverpkg in ((), ("self",)):
            return ()
        return self.coverpkg

    def describe_coverpkg(self) -> str:
        if self.coverpkg == ("module",):
            return "each package's own module (-coverpkg=<module>/...)"
        if self.coverpkg in ((), ("self",)):
            return "each package's own statements, as go test -cover counts them (no -coverpkg)"
        return "-coverpkg=" + ",".join(self.coverpkg)


@dataclass(frozen=True)
class TestCase:
    package: str
    name: str
    outcome: str  # "pass" | "fail" | "skip"
    elapsed: float
    output: str
    file: str = ""  # as Go printed it, relative to the package folder
    line: int = 0
    message: str = ""
    flaky: bool = False
    attempts: int = 1

    @property
    def top(self) -> str:
        return self.name.split("/", 1)[0]


@dataclass(frozen=True)
class BuildError:
    path: Path
    line: int
    message: str


@dataclass(frozen=True)
class PackageResult:
    """What one package's part of a ``go test -json`` run said.

    ``coverage`` is go's own figure for the package's test binary and ``coverage_of`` what it
    is a share of: the statements of the -coverpkg packages built in that run (``"<module>/..."``),
    or the package's own statements (``""``). ``cached`` means go replayed a stored result;
    ``ran`` that a test binary ran or was replayed (a package without test files has none).
    ``reason`` says why a package fails when no failing test does (a rerun's verdict).
    ``finished`` is false when the test binary died before every selected test had run (a
    panic, a -timeout, an os.Exit): testing never printed its final PASS or FAIL.
    """

    package: Package
    outcome: str  # "pass" | "fail" | "build-fail" | "error"
    elapsed: float
    tests: tuple[TestCase, ...]
    coverage: str
    output: str = ""
    build_output: str = ""
    build_errors: tuple[BuildError, ...] = ()
    coverage_of: str = ""
    cached: bool = False
    ran: bool = False
    reason: str = ""
    finished: bool = True

    @property
    def failed_tests(self) -> tuple[TestCase, ...]:
        """Failing tests that have no failing subtest (the ones to annotate)."""
        failed = [t for t in self.tests if t.outcome == "fail"]
        names = {t.name for t in failed}
        return tuple(t for t in failed if not any(n.startswith(t.name + "/") for n in names))

    @property
    def flaky_tests(self) -> tuple[TestCase, ...]:
        return tuple(t for t in self.tests if t.flaky)

    @property
    def ok(self) -> bool:
        return self.outcome == "pass"


@dataclass(frozen=True)
class TestRun:
    """Everything one ``goci test`` did."""

    results: tuple[PackageResult, ...]
    shard: sharding.Shard
    shard_by: str
    all_packages: int
    profile_dir: Path
    options: TestOptions
    timings_used: bool = False
    profiles: tuple[Path, ...] = ()
    invocations: int = 0  # go test runs, reruns included
    errors: tuple[str, ...] = ()  # failures go reported for no package (its stderr)

    @property
    def passed(self) -> bool:
        return all(r.ok for r in self.results) and not self.errors

    @property
    def cached(self) -> tuple[PackageResult, ...]:
        return tuple(r for r in self.results if r.cached)

    @property
    def failed(self) -> tuple[TestCase, ...]:
        return tuple(t for r in self.results for t in r.failed_tests)

    @property
    def flaky(self) -> tuple[TestCase, ...]:
        return tuple(t for r in self.results for t in r.flaky_tests)

    @property
    def broken(self) -> tuple[PackageResult, ...]:
        """Packages that did not build or could not run at all."""
        return tuple(r for r in self.results if r.outcome in ("build-fail", "error"))

    @property
    def test_count(self) -> int:
        return sum(1 for r in self.results for t in r.tests if "/" not in t.name)
