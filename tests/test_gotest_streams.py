"""``goci test`` on recorded ``go test -json`` streams: every outcome without running go.

The streams in tests/data/gotest/ were recorded from real ``go test -json -covermode=set``
runs (go1.26) of small packages: one passing with a subtest skipped, one with a failing test
that also prints a workflow command, one that does not compile, one whose TestMain exits 3
after every test passed, and one whose test panics. The ``batch-*`` streams are one go test
of a whole module (``-p=2 -coverpkg=example.com/batch/...``: packages ok, fail, notests,
nobuild that does not compile and uses that imports it), from go 1.26, 1.23 and 1.21, whose
build failures read differently. The same behaviours are covered with a real go run in
test_gotest.py; these pin the classification and the reports down exactly, fast enough to run
on every change. The reruns are fed recorded first runs and reruns of the packages of
``example.com/rec`` (go1.26, ``-count=1``, timestamps dropped), each test naming its package's
code.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from goci.commands.gotest import _report
from goci.gotest import junit
from goci.gotest import results as gotest_results
from goci.gotest.batch import Batch, BatchResult, batch_results
from goci.gotest.reruns import rerun_failed
from goci.gotest.results import Package, PackageResult
from goci.gotest.selection import rerun_pattern, split_run
from goci.gotest.shards import Shard
from goci.runtime import GUARD, guard
from goci.tools.workspace import Module
from support.runner_commands import commands

DATA = Path(__file__).parent / "data" / "gotest"
MODULE = Path("/repo")


def one_package(package: Package, stdout: str, stderr: str, returncode: int) -> PackageResult:
    batch = Batch((Module(package.module, package.module_dir),), (package.import_path,), (package,))
    (result,) = batch_results(batch, stdout, stderr, returncode).results
    return result


def recorded(name: str, returncode: int, stderr: str = "") -> PackageResult:
    package = Package(f"example.com/rec/{name}", MODULE / name, "example.com/rec", MODULE, 1)
    stream = (DATA / f"{name}.jsonl").read_text(encoding="utf-8")
    return one_package(package, stream, stderr, returncode)


BATCH = Module("example.com/batch", MODULE)


def recorded_batch(name: str, returncode: int) -> BatchResult:
    """A recorded run of the whole module, its packages read from the stream (``./...``)."""
    stream = (DATA / f"batch-{name}.jsonl").read_text(encoding="utf-8")
    stderr_file = DATA / f"batch-{name}.stderr"
    stderr = stderr_file.read_text(encoding="utf-8") if stderr_file.exists() else ""
    return batch_results(Batch((BATCH,), ("./...",)), stream, stderr, returncode)


def by_package(batch: BatchResult) -> dict[str, PackageResult]:
    return {r.package.import_path.removeprefix("example.com/batch/"): r for r in batch.results}


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
    result = one_package(package, stdout, stderr, returncode)
    assert result.outcome == outcome and result.build_output == stderr


def test_the_report_echoes_test_output_but_no_line_of_it_runs_a_command() -> None:
    run = run_of(recorded("ok", 0), recorded("fail", 1), recorded("broken", 1))
    text = guard(_report(run))
    assert commands(text) == [] and commands(text, culture=True) == []
    assert f"{GUARD}::add-mask::leaked" in text.splitlines()
    assert text.splitlines()[-1] == ("goci test: FAIL: 3 packages, 3 tests, 1 failing, 0 flaky")
    assert "--- FAIL example.com/rec/fail TestHalf" in text
    assert "--- example.com/rec/broken build output:" in text
    # go's per-package figure says what it is a share of; without -coverpkg it is the figure
    # goci coverage merge gives too, so no note says they differ
    assert (
        "pass       example.com/rec/ok  0.0s  its tests cover 100.0% of its own statements" in text
    )
    assert "goci coverage merge counts each package's own statements" not in text


def test_one_run_of_a_module_is_sorted_back_into_each_package() -> None:
    run = recorded_batch("go1.26", 1)
    found = by_package(run)
    assert {name: r.outcome for name, r in found.items()} == {
        "fail": "fail",
        "notests": "pass",
        "ok": "pass",
    }
    assert outcomes(found["fail"]) == {("TestHalf", "fail"), ("TestFine", "pass")}
    assert outcomes(found["ok"]) == {
        ("TestAdd", "pass"),
        ("TestAdd/small", "pass"),
        ("TestAdd/skipped", "skip"),
    }
    (failed,) = found["fail"].failed_tests
    assert (failed.file, failed.line, failed.message) == ("fail_test.go", 9, "Half(4) = 1, want 2")
    assert found["fail"].package.dir == MODULE / "fail"
    # go's own figure, and what it is a share of: the module for tested packages (-coverpkg),
    # the package's own statements for one without tests
    assert (found["ok"].coverage, found["ok"].coverage_of) == ("25.0%", "example.com/batch/...")
    assert (found["notests"].coverage, found["notests"].coverage_of) == ("0.0%", "")
    assert (found["ok"].ran, found["notests"].ran) == (True, False)
    assert {n: r.elapsed for n, r in found.items()} == {
        "fail": 0.017,
        "ok": 0.019,
        "notests": 1.407,
    }
    assert not any(r.cached for r in run.results)
    assert (run.error, run.strays, run.broken_alone) == ("", (), ())


def test_results_replayed_from_the_test_cache_are_marked_cached() -> None:
    found = by_package(recorded_batch("go1.26-cached", 1))
    assert {n for n, r in found.items() if r.cached} == {"ok"}  # failures are never cached
    assert found["ok"].outcome == "pass" and found["ok"].coverage == "25.0%"
    assert outcomes(found["ok"]) == {
        ("TestAdd", "pass"),
        ("TestAdd/small", "pass"),
        ("TestAdd/skipped", "skip"),
    }
    assert found["fail"].outcome == "fail" and not found["fail"].cached


@pytest.mark.parametrize("go", ["go1.26", "go1.23"])
def test_a_package_that_does_not_compile_fails_every_build_of_a_coverpkg_run_and_is_named(
    go: str,
) -> None:
    """go 1.24+ says so in events (FailedBuild); go 1.22-1.23 on stderr and in plain lines."""
    run = recorded_batch(f"{go}-broken", 1)
    found = by_package(run)
    assert set(found) == {"fail", "nobuild", "notests", "ok", "uses"}
    assert {r.outcome for r in found.values()} == {"build-fail"}
    assert run.broken_alone == ("example.com/batch/nobuild",)  # the one to test apart
    for result in found.values():
        assert [(e.path, e.line, e.message) for e in result.build_errors] == [
            (MODULE / "nobuild/nobuild.go", 4, "undefined: undefinedName")
        ]
    assert run.error == ""  # every failure belongs to a package


def test_go_1_21_fails_only_the_package_that_does_not_compile_and_its_importers() -> None:
    run = recorded_batch("go1.21-broken", 1)
    found = by_package(run)
    assert {name: r.outcome for name, r in found.items()} == {
        "fail": "fail",
        "nobuild": "build-fail",
        "notests": "pass",  # [no test files]: go 1.21 reports a skip
        "ok": "pass",
        "uses": "build-fail",
    }
    assert run.broken_alone == ("example.com/batch/nobuild",)
    assert "undefined: undefinedName" in found["uses"].build_output  # its dependency's error


def test_names_outside_the_module_and_failures_of_no_package_are_kept() -> None:
    stream = (DATA / "batch-go1.26.jsonl").read_text(encoding="utf-8")
    other = stream.replace("example.com/batch/ok", "example.org/elsewhere")
    run = batch_results(Batch((BATCH,), ("./...",)), other, "", 1)
    assert run.strays == ("example.org/elsewhere",)
    assert sorted(by_package(run)) == ["fail", "notests"]
    passing = stream.replace('"Action":"fail"', '"Action":"pass"')
    quiet = batch_results(
        Batch((BATCH,), ("./...",)), passing, "go: writing profile: disk full\n", 1
    )
    assert all(r.ok for r in quiet.results)
    assert quiet.error == "go: writing profile: disk full"


def test_a_batch_too_long_for_one_command_line_is_cut_in_parts_in_order() -> None:
    from goci.gotest.batch import go_test_args, split_batch
    from goci.gotest.results import TestOptions

    packages = tuple(
        Package(f"example.com/batch/p{i:02d}", MODULE / f"p{i:02d}", BATCH.path, MODULE, 1)
        for i in range(10)
    )
    batch = Batch((BATCH,), tuple(p.import_path for p in packages), packages)
    assert split_batch(batch) == [batch]  # the usual case: one go test
    parts = split_batch(batch, limit=3 * (len(packages[0].import_path) + 1))
    assert [len(p.args) for p in parts] == [3, 3, 3, 1]
    assert [a for p in parts for a in p.args] == list(batch.args)
    assert all(tuple(q.import_path for q in p.packages) == p.args for p in parts)
    args = go_test_args(parts[0], TestOptions(parallel=2), Path("/out/p.cover"))
    # by default each package counts its own statements, as go test -cover: no -coverpkg
    assert args == [
        "test",
        "-json",
        "-p=2",
        "-covermode=set",
        "-coverprofile=/out/p.cover",
        *parts[0].args,
    ]
    module_wide = TestOptions(coverpkg=("module",), parallel=2)
    args = go_test_args(parts[0], module_wide, Path("/out/p.cover"))
    assert args[-len(parts[0].args) - 1] == "-coverpkg=example.com/batch/..."
    assert "-coverpkg=" not in " ".join(args[: -len(parts[0].args) - 1])


def test_one_workspace_batch_rebases_patterns_and_places_packages_in_the_innermost_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from goci.gotest.batch import one_workspace_batch, package_of
    from goci.gotest.results import TestOptions
    from goci.tools.workspace import Workspace

    outer = Module("example.com/outer", MODULE / "outer")
    inner = Module("example.com/outer/inner", MODULE / "outer" / "inner")
    other = Module("example.com/other", MODULE.parent / "other")  # a go.work may use ../x
    modules = (outer, inner, other)
    workspace = Workspace(MODULE, MODULE / "go.work", modules)
    batches = [
        Batch((outer,), ("./...",)),
        Batch((inner,), ("./q", ".", "example.com/outer/inner/r")),
        Batch((other,), ("./...",)),
    ]
    (one,) = one_workspace_batch(batches, workspace, TestOptions())
    assert one.cwd == MODULE and one.name == "workspace" and one.modules == modules
    assert one.args == (
        "./outer/...",
        "./outer/inner/q",
        "./outer/inner",
        "example.com/outer/inner/r",
        "./../other/...",
    )

    # a module on another drive (Windows, where relpath cannot reach it): its folder as it is
    def other_drive(path: str, start: str) -> str:
        raise ValueError("path is on mount 'D:', start on mount 'C:'")

    monkeypatch.setattr("os.path.relpath", other_drive)
    (apart,) = one_workspace_batch(batches[2:] + batches[:1], workspace, TestOptions())
    assert apart.args == (str(MODULE.parent / "other") + "/...", str(MODULE / "outer") + "/...")
    monkeypatch.undo()
    # each module keeps its own go test where its -coverpkg is its own, or without a go.work
    module_wide = TestOptions(coverpkg=("module",))
    assert one_workspace_batch(batches, workspace, module_wide) == batches
    nested = Workspace(MODULE, None, modules)
    assert one_workspace_batch(batches, nested, TestOptions()) == batches
    placed = package_of("example.com/outer/inner/q", modules)
    assert placed is not None
    assert (placed.module, placed.module_dir, placed.dir) == (
        inner.path,
        inner.dir,
        inner.dir / "q",
    )
    assert package_of("example.com/outer", modules) == Package(
        "example.com/outer", outer.dir, outer.path, outer.dir, 0
    )
    assert package_of("example.com/outerx/p", modules) is None


# ---- reruns, on recorded first runs and reruns ---------------------------------------------
# Recorded with go1.26 from example.com/rec (see the docstring of each test for the package).

REC = "example.com/rec"
OPTIONS = gotest_results.TestOptions()


def rec_package(name: str) -> Package:
    return Package(f"{REC}/{name}", MODULE / name, REC, MODULE, 1)


def stream(name: str) -> str:
    return (DATA / f"{name}.jsonl").read_text(encoding="utf-8")


class Replay:
    """A fake ``go test`` for the reruns: each call replays the next recorded stream."""

    def __init__(self, *streams: tuple[str, int]) -> None:
        self.streams = list(streams)
        self.calls: list[tuple[tuple[str, ...], str]] = []  # (packages, -run) of each call

    def __call__(self, batch: Batch, options: gotest_results.TestOptions) -> BatchResult:
        self.calls.append((batch.args, options.run))
        text, returncode = self.streams.pop(0)
        return batch_results(batch, text, "", returncode)


def suite_of(result: PackageResult) -> ET.Element:
    suite = ET.fromstring(junit.render(run_of(result))).find("testsuite")  # noqa: S314
    assert suite is not None
    return suite


def test_a_rerun_whose_package_fails_with_every_test_passing_leaves_it_failing() -> None:
    """flakymain: TestMain exits 3 whenever m.Run passed (a leak check); TestFlaky fails while a
    marker file is missing; TestSteady passes. Its first run, then ``-run=^(TestFlaky)$``."""
    package = rec_package("flakymain")
    first = one_package(package, stream("flakymain-first"), "", 1)
    assert (first.outcome, [t.name for t in first.failed_tests]) == ("fail", ["TestFlaky"])
    replay = Replay((stream("flakymain-rerun"), 1), (stream("flakymain-rerun"), 1))
    (after,) = rerun_failed(replay, [first], OPTIONS, 2).results
    # one rerun of the failed test; then no test is left to name, so no second one
    assert replay.calls == [((package.import_path,), "^TestFlaky$")]
    assert after.outcome == "fail" and not run_of(after).passed
    assert outcomes(after) == {("TestFlaky", "pass"), ("TestSteady", "pass")}
    assert [(t.name, t.attempts) for t in after.flaky_tests] == [("TestFlaky", 2)]
    assert after.failed_tests == ()
    assert after.reason == (
        "every failed test passed on attempt 2, but the package failed: "
        "leak check: goroutine leaked"
    )
    suite = suite_of(after)
    assert [c.get("name") for c in suite.findall("testcase")] == [
        "TestFlaky",
        "TestSteady",
        "[package]",
    ]
    assert suite.get("failures") == "1"
    flaky = suite.find("testcase[@name='TestFlaky']")
    assert flaky is not None and flaky.find("failure") is None
    assert flaky.find("flakyFailure") is not None
    failure = suite.find("testcase[@name='[package]']/failure")
    assert failure is not None
    assert failure.get("message") == f"{package.import_path} failed: {after.reason}"
    assert "=== goci: attempt 2: go test -run=^TestFlaky$\n" in (failure.text or "")
    report = _report(run_of(after))
    assert f"--- FAIL {package.import_path}: {after.reason}" in report.splitlines()
    assert report.splitlines()[-1].startswith("goci test: FAIL: 1 package, 2 tests, 0 failing")


def test_a_rerun_without_a_verdict_leaves_the_package_failing_and_a_passing_one_passes() -> None:
    package = rec_package("flakymain")
    first = one_package(package, stream("flakymain-first"), "", 1)
    rerun = stream("flakymain-rerun").splitlines(keepends=True)
    # the test passed, then go said nothing of the package (killed before its verdict)
    silent = "".join(line for line in rerun if "Test" in line)
    replay = Replay((silent, 1), (silent, 1))
    (after,) = rerun_failed(replay, [first], OPTIONS, 2).results
    assert len(replay.calls) == 1
    assert after.outcome == "fail" and after.failed_tests == ()
    assert after.reason.startswith("every failed test passed on attempt 2, but the package gave")
    # the same rerun with the package's own verdict a pass: the package passes, TestFlaky flaky
    passing = "".join(line for line in rerun if "leak check" not in line)
    passing = passing.replace("FAIL\\texample", "ok  \\texample").replace('"fail"', '"pass"')
    (healed,) = rerun_failed(Replay((passing, 0)), [first], OPTIONS, 1).results
    assert (healed.outcome, healed.reason) == ("pass", "")
    assert [t.name for t in healed.flaky_tests] == ["TestFlaky"]


@pytest.mark.parametrize(
    ("name", "finished"),
    [
        ("panicky-first", False),  # TestA panicked: TestB never ran
        ("timeout", False),  # -timeout=1s killed TestBlock: TestAfter never ran
        ("exiting", False),  # TestExit called os.Exit(1): TestAfter never ran
        ("flakymain-first", True),  # m.Run returned: testing printed its FAIL
        ("panicky-rerun", True),
    ],
)
def test_a_test_binary_that_died_did_not_finish(name: str, finished: bool) -> None:
    package = rec_package(name.split("-")[0])
    result = one_package(package, stream(name), "", 1)
    assert (result.outcome, result.finished) == ("fail", finished)


def test_a_package_whose_test_binary_died_runs_again_whole_within_the_users_run() -> None:
    """panicky: TestA panics while a marker file is missing, TestB always fails. The first
    run's panic killed the binary before TestB; the rerun (of every test) ran both."""
    package = rec_package("panicky")
    first = one_package(package, stream("panicky-first"), "", 1)
    assert outcomes(first) == {("TestA", "fail")}  # TestB has no event at all
    options = gotest_results.TestOptions(run="^Test")
    replay = Replay((stream("panicky-rerun"), 1), (stream("panicky-rerun"), 1))
    (after,) = rerun_failed(replay, [first], options, 2).results
    # the whole package, with the user's -run, on every attempt: no rerun ever passed it
    assert replay.calls == [((package.import_path,), "^Test")] * 2
    assert after.outcome == "fail" and not run_of(after).passed
    assert outcomes(after) == {("TestA", "pass"), ("TestB", "fail")}
    assert [(t.name, t.attempts) for t in after.flaky_tests] == [("TestA", 2)]
    (failed,) = after.failed_tests
    assert (failed.name, failed.file, failed.line, failed.message) == (
        "TestB",
        "p_test.go",
        15,
        "always broken",
    )
    assert after.reason == ""  # TestB names the failure
    assert [c.get("name") for c in suite_of(after).findall("testcase")] == ["TestA", "TestB"]
    # the rerun died too: the package fails, and says why, with no test left failing
    died = one_package(package, stream("panicky-first"), "", 1)
    again = Replay((stream("panicky-first").replace('"TestA"', '"TestC"'), 1))
    (dead,) = rerun_failed(again, [died], OPTIONS, 1).results
    assert again.calls == [((package.import_path,), "")]
    assert dead.outcome == "fail"
    assert outcomes(dead) == {("TestA", "fail"), ("TestC", "fail")}
    assert dead.reason == (
        "its test binary died on attempt 2 before every test had run (a panic, a -timeout "
        "or os.Exit)"
    )


def test_run_patterns_are_cut_as_go_cuts_them_and_reruns_stay_within_them() -> None:
    # go's splitRegexp: | and / outside brackets and parentheses; an escaped one is text
    assert split_run("TestA/fast|TestB/(x|y/z)/[/|]w\\|v") == [
        ["TestA", "fast"],
        ["TestB", "(x|y/z)", "[/|]w\\|v"],
    ]
    assert split_run("") == [[""]]
    assert rerun_pattern(["TestA"]) == "^TestA$"
    # a failed subtest by its full name, a level each: its unselected siblings do not run
    assert rerun_pattern(["TestA/fast"], "TestA/fast") == "^TestA$/^fast$"
    # a test failing on its own keeps the user's expressions for the levels below it
    assert rerun_pattern(["TestA"], "TestA/fast") == "^TestA$/fast"
    assert rerun_pattern(["TestA/fast", "TestB"], "TestA/fast|TestB/slow/deep|TestC") == (
        "^TestA$/^fast$|^TestB$/slow/deep"
    )
    # the user's alternatives that select the test: both, so both sets of its subtests
    assert rerun_pattern(["TestA"], "A/x|Test/y|B/z") == "^TestA$/x|^TestA$/y"
    assert rerun_pattern(["TestA/case_#01"], "") == "^TestA$/^case_\\#01$"
    # an expression Python cannot read is taken to select (go ran the test)
    assert rerun_pattern(["TestA"], "\\pL/sub") == "^TestA$/sub"


def test_a_rerun_of_a_failed_subtest_runs_it_alone_within_the_users_run() -> None:
    """subtests: TestA/fast fails while a marker file is missing, TestA/excluded always fails;
    the first run had ``-run=TestA/fast``."""
    package = rec_package("subtests")
    first = one_package(package, stream("subtests-first"), "", 1)
    assert outcomes(first) == {("TestA", "fail"), ("TestA/fast", "fail")}
    options = gotest_results.TestOptions(run="TestA/fast")
    rerun = stream("subtests-first").replace('"fail"', '"pass"').replace("FAIL", "PASS")
    replay = Replay((rerun, 0))
    (after,) = rerun_failed(replay, [first], options, 2).results
    assert replay.calls == [((package.import_path,), "^TestA$/^fast$")]
    assert after.outcome == "pass"
    assert {t.name for t in after.flaky_tests} == {"TestA", "TestA/fast"}


def test_a_test_that_failed_in_one_iteration_of_count_fails() -> None:
    """twice, with ``-count=2``: TestOnce fails on the first iteration only."""
    result = one_package(rec_package("twice"), stream("twice"), "", 1)
    assert result.outcome == "fail"
    assert outcomes(result) == {("TestOnce", "fail")}
    (failed,) = result.failed_tests
    assert (failed.name, failed.file, failed.line, failed.message) == (
        "TestOnce",
        "t_test.go",
        11,
        "fails on the first iteration only",
    )
    assert "--- PASS: TestOnce" in failed.output  # both iterations' output is kept
    suite = suite_of(result)
    assert [c.get("name") for c in suite.findall("testcase")] == ["TestOnce"]  # no [package]
    case = suite.find("testcase[@name='TestOnce']/failure")
    assert case is not None and case.get("message") == "fails on the first iteration only"
    assert _report(run_of(result)).splitlines()[-1] == (
        "goci test: FAIL: 1 package, 1 test, 1 failing, 0 flaky"
    )


def test_a_failure_is_located_at_its_last_line_before_fail_and_keeps_every_line() -> None:
    """logged: TestLogged calls t.Log("setting up") on line 6, then t.Errorf("got %d,\\nwant 2")
    on line 8; both print as ``l_test.go:N: ...``."""
    result = one_package(rec_package("logged"), stream("logged"), "", 1)
    (failed,) = result.failed_tests
    assert (failed.file, failed.line) == ("l_test.go", 8)  # the t.Errorf, not the t.Log
    assert failed.message == "l_test.go:6: setting up\nl_test.go:8: got 1,\nwant 2"
    case = suite_of(result).find("testcase[@name='TestLogged']")
    assert case is not None and (case.get("file"), case.get("line")) == ("l_test.go", "8")
    failure = case.find("failure")
    assert failure is not None and failure.get("message") == failed.message


def test_a_not_built_line_printed_by_a_test_binary_that_passed_is_no_build_failure() -> None:
    """printer: its TestMain prints ``FAIL\\texample.com/rec/printer [setup failed]``, then runs
    TestPrint, which passes: go says ``ok``."""
    package = rec_package("printer")
    result = one_package(package, stream("printer"), "", 0)
    assert (result.outcome, result.ran, result.build_output) == ("pass", True, "")
    assert outcomes(result) == {("TestPrint", "pass")}
    run = run_of(result)
    assert run.passed and run.broken == ()
    assert [c.get("name") for c in suite_of(result).findall("testcase")] == ["TestPrint"]
    # the same line from go itself (no test binary ran, the package failed) is a failed setup
    lines = stream("printer").splitlines(keepends=True)
    unbuilt = lines[0] + lines[1] + lines[-1].replace('"pass"', '"fail"')
    assert one_package(package, unbuilt, "", 1).outcome == "build-fail"
