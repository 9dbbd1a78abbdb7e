"""``go test -json`` of many packages: its event stream sorted back into one record per package.

One ``go test -json`` runs a whole batch of packages and interleaves their events; every event
names its package (``Package``, or ``ImportPath`` for build output), so each test, each line
of output, each build error and each verdict is put back where it belongs. Test output is
written by the code under test, so the stream may hold anything: lines that are not events,
fields of unexpected types, a package that printed nothing at all. None of it can break the
report. Go before 1.24 writes build errors to stderr under ``# package`` headers and a plain
``FAIL\tpkg [build failed]`` line to stdout instead of events; both are read too. Everything
here is pure, so recorded streams test it without running go.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from goci.gotest.results import TestCase

_FAIL_LOCATION = re.compile(r"^\s+([\w./\\-]+\.go):(\d+): ?(.*)$")
_FAILED = re.compile(r"^\s*--- FAIL: ")
_COVERAGE = re.compile(
    r"coverage: ([\d.]+%|\[no statements\])(?: of statements(?: in (\S+(?:, \S+)*))?)?"
)
# "ok  \tpkg\t0.01s ..." / "ok  \tpkg\t(cached) ..." / "FAIL\tpkg\t0.01s": a test binary ran.
_SUMMARY = re.compile(r"^(?:ok  |FAIL)\t(\S+)\t(\(cached\)|[\d.]+s)")
# "FAIL\tpkg [build failed]": go could not build (or even set up) the package's test.
_NOT_BUILT = re.compile(r"^FAIL\t(\S+) \[(?:build|setup) failed\]\s*$")


@dataclass
class _TestState:
    outcome: str = ""
    elapsed: float = 0.0
    output: list[str] = field(default_factory=list)


@dataclass
class _PackageState:
    tests: dict[str, _TestState] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)
    outcome: str = ""
    elapsed: float = 0.0
    failed_build: str = ""  # the build that failed it, as go names it ("" when none)
    not_built: bool = False  # go's own plain line said so (go before 1.24)
    # an output event said so: go's own line, unless the test binary printed it (then it ran)
    said_not_built: bool = False


@dataclass(frozen=True)
class Parsed:
    """What one ``go test -json`` said about one package."""

    outcome: str  # the package's last verdict event: "pass" | "fail" | "skip" | "" (none)
    tests: tuple[TestCase, ...]
    coverage: str
    output: str
    build_output: str
    build_failed: bool
    coverage_of: str = ""
    elapsed: float = 0.0
    cached: bool = False
    ran: bool = False
    own_build_failed: bool = False  # a build of the package itself failed, not a dependency's
    finished: bool = False  # m.Run returned: testing printed its PASS or FAIL, every test ran


@dataclass(frozen=True)
class _Event:
    """One test2json event, each field of the type test2json writes ('' / 0 when not)."""

    action: str
    package: str
    import_path: str
    test: str
    output: str
    elapsed: float
    failed_build: str

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> _Event:
        def text(name: str) -> str:
            value = data.get(name)
            return value if isinstance(value, str) else ""

        elapsed = data.get("Elapsed")
        seconds = (
            float(elapsed)
            if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool)
            else 0.0
        )
        return cls(
            action=text("Action"),
            package=text("Package"),
            import_path=text("ImportPath"),
            test=text("Test"),
            output=text("Output"),
            elapsed=seconds if math.isfinite(seconds) and seconds >= 0 else 0.0,
            failed_build=text("FailedBuild"),
        )


def _lines(text: str) -> Iterable[tuple[_Event | None, str]]:
    """test2json writes one JSON object per line (``\\n``; other separators are text)."""
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("{"):
            try:
                data = json.loads(stripped)
            except (ValueError, RecursionError):
                data = None
            if isinstance(data, dict):
                yield _Event.of(data), ""
                continue
        yield None, stripped


def base_package(build_id: str) -> str:
    """``example.com/m/p [example.com/m/p.test]`` -> ``example.com/m/p`` (go's build ids)."""
    return build_id.split(" [", 1)[0].strip()


class _Stream:
    """The events of one run, binned by package as they are read."""

    def __init__(self) -> None:
        self.packages: dict[str, _PackageState] = {}
        self.build_output: dict[str, list[str]] = {}  # by build id, as go names it
        self.failed_builds: set[str] = set()

    def state(self, name: str) -> _PackageState:
        return self.packages.setdefault(name, _PackageState())

    def read(self, text: str) -> None:
        for event, plain in _lines(text):
            if event is None:
                match = _NOT_BUILT.match(plain)
                if match:
                    self.state(match.group(1)).not_built = True
                continue
            self.add(event)

    def add(self, event: _Event) -> None:
        action = event.action
        if action in ("build-output", "build-fail"):
            if event.import_path:
                lines = self.build_output.setdefault(event.import_path, [])
                if action == "build-output":
                    lines.append(event.output)
                else:
                    self.failed_builds.add(event.import_path)
            return
        if not event.package:
            return
        state = self.state(event.package)
        if event.test:
            test = state.tests.setdefault(event.test, _TestState())
            if action == "output":
                test.output.append(event.output)
            elif action in ("pass", "fail", "skip") and test.outcome != "fail":
                # with -count=N a test runs N times: one failure fails it, whatever came after
                test.outcome, test.elapsed = action, event.elapsed
            return
        if action == "output":
            state.output.append(event.output)
            if _NOT_BUILT.match(event.output.strip()):
                state.said_not_built = True
        elif action in ("pass", "fail", "skip"):
            state.outcome, state.elapsed = action, event.elapsed
            if event.failed_build:
                state.failed_build = event.failed_build

    def build_text(self, package: str, state: _PackageState) -> str:
        """The package's own build output, then that of the build that failed it."""
        own = [i for i in self.build_output if base_package(i) == package]
        culprit = state.failed_build
        ids = own + ([culprit] if culprit and culprit not in own else [])
        return "".join("".join(self.build_output.get(i, ())) for i in ids)

    def parsed(self, package: str) -> Parsed:
        state = self.packages.get(package) or _PackageState()
        cases = []
        for name, test in state.tests.items():
            output = "".join(test.output)
            where = _failure_location(output) if test.outcome == "fail" else ("", 0, "")
            cases.append(
                TestCase(package, name, test.outcome or "fail", test.elapsed, output, *where)
            )
        joined = "".join(state.output)
        coverage = _COVERAGE.search(joined)
        summary = [m for m in map(_SUMMARY.match, joined.splitlines()) if m]
        ran = any(m.group(1) == package for m in summary)
        return Parsed(
            outcome=state.outcome,
            tests=tuple(cases),
            coverage=coverage.group(1) if coverage else "",
            coverage_of=(coverage.group(2) or "") if coverage else "",
            output=joined,
            build_output=self.build_text(package, state),
            build_failed=bool(state.failed_build)
            or state.not_built
            or (state.said_not_built and not ran and state.outcome != "pass"),
            elapsed=state.elapsed,
            cached=any(m.group(1) == package and m.group(2) == "(cached)" for m in summary),
            ran=ran,
            own_build_failed=any(base_package(i) == package for i in self.failed_builds),
            finished=any(line.strip() in ("PASS", "FAIL") for line in joined.splitlines()),
        )

    def names(self) -> set[str]:
        """Every package the run reported on (build output alone may be a dependency's)."""
        return set(self.packages)


def parse_stream(text: str) -> dict[str, Parsed]:
    """Every package a ``go test -json`` stream reports on, each read into a :class:`Parsed`."""
    stream = _Stream()
    stream.read(text)
    return {name: stream.parsed(name) for name in sorted(stream.names())}


def parse_events(text: str, import_path: str) -> Parsed:
    """What the stream says about ``import_path`` (an empty record when it says nothing)."""
    stream = _Stream()
    stream.read(text)
    return stream.parsed(import_path)


def stderr_build_output(stderr: str) -> dict[str, str]:
    """Go before 1.24 prints build errors on stderr, each build under a ``# id`` header.

    Keyed by go's build id: ``example.com/m/p`` (the package itself) or
    ``example.com/m/p [example.com/m/p.test]`` (its test files, which break nothing else).
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stderr.splitlines(keepends=True):
        if line.startswith("# ") and not line.startswith("# ["):
            current = sections.setdefault(line[2:].strip(), [])
        if current is not None:
            current.append(line)
    return {name: "".join(lines) for name, lines in sections.items()}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _failure_location(output: str) -> tuple[str, int, str]:
    """Where the test failed, and what it said: its ``file.go:N:`` lines before its ``--- FAIL``.

    t.Log and t.Error print alike, and a test's failure ends what it printed: the location is
    the last such line before the (first) ``--- FAIL``, and the message keeps every one of
    them, each with its further lines (indented deeper), in case the failure was an earlier one.
    """
    said: list[tuple[str, int, list[str], int]] = []  # file, line, text, indent
    for line in output.splitlines():
        if _FAILED.match(line):
            break
        match = _FAIL_LOCATION.match(line)
        if match:
            said.append(
                (match.group(1), int(match.group(2)), [match.group(3).strip()], _indent(line))
            )
        elif said and line.strip() and _indent(line) > said[-1][3]:
            said[-1][2].append(line.strip())
    if not said:
        return "", 0, ""
    if len(said) == 1:
        message = "\n".join(said[0][2])
    else:
        message = "\n".join(
            f"{name}:{number}: " + "\n".join(text) for name, number, text, _ in said
        )
    return said[-1][0], said[-1][1], message.strip()
