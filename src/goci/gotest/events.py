"""``go test -json``: what its event stream says about one package, whatever else it holds.

Test output is written by the code under test, so the stream may hold anything: lines that are
not events, fields of unexpected types, a package that printed nothing at all. None of it can
break the report; every outcome (pass, fail, build failure, error) is read from the events and
the exit code, purely, so that recorded streams test it without running go.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goci.gotest.results import BuildError, Package, PackageResult, TestCase

_FAIL_LOCATION = re.compile(r"^\s+([\w./\\-]+\.go):(\d+): ?(.*)$")
_BUILD_LOCATION = re.compile(r"^([^\s:][^:]*\.go):(\d+)(?::\d+)?: (.*)$")
_COVERAGE = re.compile(r"coverage: ([\d.]+%|\[no statements\])")


@dataclass
class _TestState:
    outcome: str = ""
    elapsed: float = 0.0
    output: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Parsed:
    """What one ``go test -json`` said about one package."""

    outcome: str
    tests: tuple[TestCase, ...]
    coverage: str
    output: str
    build_output: str
    build_failed: bool


def parse_events(text: str, import_path: str) -> Parsed:
    """Read test2json events (tests, package result, build output) for ``import_path``.

    Lines that are not events (go's own messages, a truncated line) are skipped, and a field
    of an unexpected type reads as absent: a test's output can never break the report.
    """
    tests: dict[str, _TestState] = {}
    package_output: list[str] = []
    build_output: list[str] = []
    outcome = ""
    build_failed = False
    for event in _events(text):
        action = event.action
        if action == "build-output":
            build_output.append(event.output)
            continue
        if action == "build-fail":
            build_failed = True
            continue
        if event.package not in ("", import_path):
            continue
        if event.test:
            state = tests.setdefault(event.test, _TestState())
            if action == "output":
                state.output.append(event.output)
            elif action in ("pass", "fail", "skip"):
                state.outcome = action
                state.elapsed = event.elapsed
            continue
        if action == "output":
            package_output.append(event.output)
        elif action in ("pass", "fail", "skip"):
            outcome = action
            if event.failed_build:
                build_failed = True
    cases = []
    for name, state in tests.items():
        output = "".join(state.output)
        where = _failure_location(output) if state.outcome == "fail" else ("", 0, "")
        cases.append(
            TestCase(import_path, name, state.outcome or "fail", state.elapsed, output, *where)
        )
    joined = "".join(package_output)
    match = _COVERAGE.search(joined)
    return Parsed(
        outcome=outcome,
        tests=tuple(cases),
        coverage=match.group(1) if match else "",
        output=joined,
        build_output="".join(build_output),
        build_failed=build_failed,
    )


@dataclass(frozen=True)
class _Event:
    """One test2json event, each field of the type test2json writes ('' / 0 when not)."""

    action: str
    package: str
    test: str
    output: str
    elapsed: float
    failed_build: bool

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
            test=text("Test"),
            output=text("Output"),
            elapsed=seconds if math.isfinite(seconds) and seconds >= 0 else 0.0,
            failed_build=bool(text("FailedBuild")),
        )


def _events(text: str) -> Iterable[_Event]:
    """test2json writes one JSON object per line (``\n``; other separators are text)."""
    for line in text.split("\n"):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(data, dict):
            yield _Event.of(data)


def _failure_location(output: str) -> tuple[str, int, str]:
    for line in output.splitlines():
        match = _FAIL_LOCATION.match(line)
        if match:
            return match.group(1), int(match.group(2)), match.group(3).strip()
    return "", 0, ""


def _build_errors(text: str, cwd: Path) -> tuple[BuildError, ...]:
    errors = []
    for line in text.splitlines():
        match = _BUILD_LOCATION.match(line.strip())
        if match:
            path = Path(match.group(1))
            errors.append(
                BuildError(
                    path if path.is_absolute() else cwd / path, int(match.group(2)), match.group(3)
                )
            )
    return tuple(errors)


def unit_result(
    package: Package, stdout: str, stderr: str, returncode: int, elapsed: float
) -> PackageResult:
    """What one ``go test -json`` run of ``package`` said, from its streams and exit code.

    Pure, so that recorded streams cover every outcome without running go: a build failure,
    a pass (a skip counts as one), a failure (also with every test passing, as a TestMain
    that exits non-zero does), or an error when go printed no result at all.
    """
    parsed = parse_events(stdout, package.import_path)
    if parsed.build_failed:
        outcome = "build-fail"
    elif parsed.outcome in ("pass", "skip"):
        outcome = "pass" if returncode == 0 or parsed.outcome == "skip" else "fail"
    elif parsed.outcome == "fail":
        outcome = "fail"
    else:
        outcome = "error"
    build_output = parsed.build_output
    if outcome == "error" and not build_output:
        build_output = stderr
    return PackageResult(
        package=package,
        outcome=outcome,
        elapsed=elapsed,
        tests=parsed.tests,
        coverage=parsed.coverage,
        profile=None,
        output=parsed.output if parsed.output or returncode == 0 else stderr,
        build_output=build_output,
        build_errors=_build_errors(build_output, package.module_dir),
    )
