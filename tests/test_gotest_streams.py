"""``goci test`` on recorded ``go test -json`` streams: every outcome without running go.

The streams in tests/data/gotest/ were recorded from real ``go test -json -covermode=set``
runs (go1.26) of small packages: one passing with a subtest skipped, one with a failing test
that also prints a workflow command, one that does not compile, one whose TestMain exits 3
after every test passed, and one whose test panics. The same behaviours are covered with a
real go run in test_gotest.py; these pin the classification and the reports down exactly,
fast enough to run on every change.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from goci.commands.gotest import _report
from goci.gotest import junit
from goci.gotest import results as gotest_results
from goci.gotest.events import unit_result
from goci.gotest.results import Package, PackageResult
from goci.gotest.shards import Shard
from goci.runtime import GUARD, guard
from support.runner_commands import commands

DATA = Path(__file__).parent / "data" / "gotest"
MODULE = Path("/repo")


def recorded(name: str, returncode: int, stderr: str = "") -> PackageResult:
    package = Package(f"example.com/rec/{name}", MODULE / name, "example.com/rec", MODULE, 1)
    stream = (DATA / f"{name}.jsonl").read_text(encoding="utf-8")
    return unit_result(package, stream, stderr, returncode, 0.5)


def outcomes(result: PackageResult) -> set[tuple[str, str]]:
    return {(t.name, t.outcome) for t in result.tests}


def run_of(*results: PackageResult) -> gotest_results.TestRun:
    options = gotest_results.TestOptions()
    return gotest_results.TestRun(
        results, Shard(1, 1), "test count", len(results), Path("c"), options
    )


def test_a_pass_with_subtests_and_a_skip() -> None:
    result = recorded("ok", 0)
    assert result.outcome == "pass" and result.ok
    assert outcomes(result) == {
        ("TestAdd", "pass"),
        ("TestAdd/small", "pass"),
        ("TestAdd/skipped", "skip"),
    }
    assert result.coverage == "100.0%"
    assert result.failed_tests == () and result.build_errors == ()


def test_a_failing_test_names_its_file_line_and_message() -> None:
    result = recorded("fail", 1)
    assert result.outcome == "fail"
    assert outcomes(result) == {("TestHalf", "fail"), ("TestFine", "pass")}
    (failed,) = result.failed_tests
    assert (failed.name, failed.file, failed.line) == ("TestHalf", "fail_test.go", 11)
    assert failed.message == "Half(4) = 1, want 2"
    assert "::add-mask::leaked\n" in failed.output  # kept as the test printed it


def test_a_package_that_does_not_compile_is_a_build_failure_with_its_errors() -> None:
    result = recorded("broken", 1)
    assert result.outcome == "build-fail" and result.tests == ()
    assert [(e.path, e.line) for e in result.build_errors] == [(MODULE / "broken/broken.go", 3)]
    assert 'cannot use "x" (untyped string constant) as int value' in result.build_output


def test_a_testmain_that_exits_non_zero_fails_the_package_with_every_test_passing() -> None:
    result = recorded("exit", 1)
    assert result.outcome == "fail"
    assert outcomes(result) == {("TestOK", "pass")}
    assert result.failed_tests == ()
    assert result.coverage == "[no statements]"
    suite = ET.fromstring(junit.render(run_of(result))).find("testsuite")  # noqa: S314
    assert suite is not None
    assert [c.get("name") for c in suite.findall("testcase")] == ["TestOK", "[package]"]
    assert suite.get("failures") == "1"


def test_a_panicking_test_fails_without_a_location() -> None:
    result = recorded("panicky", 1)
    assert result.outcome == "fail"
    (failed,) = result.failed_tests
    assert failed.name == "TestBoom" and failed.file == "" and failed.line == 0
    assert "panic: assignment to entry in nil map" in failed.output


@pytest.mark.parametrize(
    ("stdout", "returncode", "outcome"),
    [("", 1, "error"), ("not json\n", 2, "error"), ("", 0, "error")],
)
def test_no_result_from_go_is_an_error_that_shows_stderr(
    stdout: str, returncode: int, outcome: str
) -> None:
    package = Package("example.com/rec/x", MODULE / "x", "example.com/rec", MODULE, 0)
    stderr = "go: cannot find main module\n"
    result = unit_result(package, stdout, stderr, returncode, 0.1)
    assert result.outcome == outcome and result.build_output == stderr


def test_the_report_echoes_test_output_but_no_line_of_it_runs_a_command() -> None:
    run = run_of(recorded("ok", 0), recorded("fail", 1), recorded("broken", 1))
    text = guard(_report(run))
    assert commands(text) == [] and commands(text, culture=True) == []
    assert f"{GUARD}::add-mask::leaked" in text.splitlines()
    assert text.splitlines()[-1] == ("goci test: FAIL: 3 packages, 3 tests, 1 failing, 0 flaky")
    assert "--- FAIL example.com/rec/fail TestHalf" in text
    assert "--- example.com/rec/broken build output:" in text
