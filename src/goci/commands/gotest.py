"""``goci test``: this shard's packages, one ``go test -json`` per module or go.work, coverage."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from goci.command import Command, Context, Result
from goci.errors import bad_input
from goci.gotest.results import COVERPKG_HELP, Package, PackageResult, TestOptions, TestRun
from goci.gotest.run import run_tests
from goci.gotest.shards import parse_shard
from goci.options import Options, label_of, option
from goci.runtime import counted, markdown_table
from goci.tools.paths import ignore_goci_folders

_GO_DURATION = re.compile(r"^(?:0|(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$")


def go_duration(text: str, name: str) -> str:
    """A duration as Go's flag package reads it (``10m``, ``1h30m``, ``90s``)."""
    if not _GO_DURATION.match(text.strip()):
        raise bad_input(name, text, "accepted: a Go duration such as 90s, 10m or 1h30m")
    return text


class GoTestOptions(Options):
    packages: tuple[str, ...] | None = option(
        kind="list",
        help="packages to test: import paths or ./folders, or changed-packages' test-packages "
        "JSON array (an empty list tests nothing); default: ./... of every module in use",
        metavar="PKGS",
    )
    shard: str = option(
        default="1/1", help="this job's shard, I/N (1-based)", metavar="I/N", check=parse_shard
    )
    out: str = option(
        default=".goci/coverage",
        help="folder for this run's coverage profiles (each named uniquely, with a .json sidecar)",
        metavar="DIR",
    )
    junit: str = option(default="", help="write JUnit XML to this file", metavar="FILE")
    parallel: int = option(
        kind="int",
        default=0,
        minimum=0,
        help="packages tested at once (go test -p; default 0: CPUs)",
    )
    coverpkg: tuple[str, ...] | None = option(
        kind="list",
        help=COVERPKG_HELP,
    )
    covermode: str = option(
        default="",
        choices=("", "set", "count", "atomic"),
        help="-covermode (default: set, atomic with --race)",
    )
    timings: str = option(
        default="",
        help="JSON file of package -> seconds: read to balance shards, updated after the run",
        metavar="FILE",
    )
    race: bool = option(kind="bool", default=False, help="go test -race")
    tags: tuple[str, ...] | None = option(kind="list", help="build tags (go test -tags)")
    timeout: str = option(default="", help="go test -timeout (e.g. 10m)", check=go_duration)
    run: str = option(default="", help="go test -run REGEX")
    count: int | None = option(
        kind="int", default=None, minimum=1, help="go test -count (1 disables the cache)"
    )
    rerun_fails: int = option(
        kind="int",
        default=0,
        minimum=0,
        help="rerun failed tests up to N times; those that pass are reported as flaky",
    )
    cover: bool = option(kind="bool", default=True, help="collect coverage (--no-cover: off)")


OUTPUTS = (
    "passed",
    "failed",
    "flaky",
    "failed-tests",
    "tests",
    "packages",
    "profile-dir",
    "junit",
    "shard",
)


def annotation_root(ctx: Context) -> Path:
    """Annotations name files relative to the repository root (GitHub's view of paths)."""
    return ctx.git.toplevel_or_none() or ctx.cwd


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _annotate_builds(run: TestRun, ctx: Context, root: Path) -> None:
    """Each compiler error once, at its file and line, naming its package first.

    One go test run reports a package that does not build for every package that depends on
    it too; the error is annotated once, by the package whose folder holds the file.
    """
    errors: dict[tuple[Path, int, str], list[Package]] = {}
    for result in run.broken:
        package = result.package
        for error in result.build_errors:
            errors.setdefault((error.path, error.line, error.message), []).append(package)
        if not result.build_errors:
            first = (result.build_output.strip().splitlines() or ["(no output)"])[-1]
            ctx.runtime.error(f"{package.import_path}: go test failed to run: {first}")
        with ctx.runtime.group(f"{package.import_path}: compiler output"):
            ctx.runtime.log(result.build_output.rstrip() or result.output.rstrip())
    for (path, line, message), packages in errors.items():
        owner = next((p for p in packages if path.parent == p.dir), packages[0])
        others = len(packages) - 1
        also = (
            f" ({others} more package{'s fail' if others != 1 else ' fails'} with it)"
            if others
            else ""
        )
        ctx.runtime.error(
            f"{owner.import_path} does not build: {message}{also}",
            file=_rel(path, root),
            line=line,
        )


def _annotate(run: TestRun, ctx: Context) -> None:
    root = annotation_root(ctx)
    for result in run.results:
        package = result.package
        for test in result.failed_tests:
            where: dict[str, Any] = {"title": f"{test.name} failed"}
            if test.file:
                where.update(file=_rel(package.dir / test.file, root), line=test.line)
            detail = test.message or f"{test.name} failed in {package.import_path}"
            ctx.runtime.error(f"{package.import_path}.{test.name}: {detail}", **where)
        if result.outcome == "fail" and not result.failed_tests:
            why = result.reason or result.output.strip()[-300:]
            ctx.runtime.error(f"{package.import_path} failed: {why}")
    _annotate_builds(run, ctx, root)
    for problem in run.errors:
        ctx.runtime.error(f"go test failed: {problem.strip()[-300:]}")
    for test in run.flaky:
        ctx.runtime.warning(
            f"{test.package}.{test.name} is flaky: failed, then passed on attempt {test.attempts}"
        )


_WORD = {"pass": "✅ pass", "fail": "❌ fail", "build-fail": "💥 build failed", "error": "💥 error"}

# Why, with -coverpkg, the test section's figure per package is not the coverage section's.
COVERAGE_NOTE = (
    "coverage per package is go test's own figure: the share of the -coverpkg packages' "
    "statements that the package's own tests ran. goci coverage merge counts each package's "
    "own statements, covered by any package's tests, as go tool cover -func does, so its "
    "figures differ."
)


def coverage_words(result: PackageResult) -> str:
    """Go's coverage figure for one package, saying what it is a share of."""
    if not result.coverage:
        return ""
    if result.coverage == "[no statements]":
        return "no statements"
    scope = result.coverage_of or "its own statements"
    if not result.ran:
        return f"no tests: {result.coverage} of {scope}"
    return f"its tests cover {result.coverage} of {scope}"


def _took(result: PackageResult) -> str:
    return "cached" if result.cached else f"{result.elapsed:.1f}s"


def _headline(run: TestRun) -> str:
    what = (
        f"{len(run.results)} of {run.all_packages} packages (split by {run.shard_by})"
        if run.shard.total > 1
        else f"{len(run.results)} packages"
    )
    cached = f" ({len(run.cached)} cached: unchanged, replayed by go)" if run.cached else ""
    runs = f"{run.invocations} go test run{'s' if run.invocations != 1 else ''}"
    return (
        f"{what}{cached} in {runs}, {run.test_count} tests: {len(run.failed)} failed, "
        f"{len(run.flaky)} flaky, {len(run.broken)} packages did not build."
    )


def _summary(run: TestRun, ctx: Context) -> str:
    failed, flaky = run.failed, run.flaky
    lines = [
        f"### Go tests: shard {run.shard.label}" if run.shard.total > 1 else "### Go tests",
        "",
        _headline(run),
        "",
        f"Coverage: {run.options.describe_coverpkg()}; mode {run.options.mode}. Packages "
        "without tests are run too, so their statements count as uncovered (Go 1.22+).",
        "",
    ]
    if not run.results:
        lines.append("Nothing to test in this shard.")
        return "\n".join(lines)
    rows = [
        [
            f"`{r.package.import_path}`",
            str(sum(1 for t in r.tests if "/" not in t.name)),
            _WORD.get(r.outcome, r.outcome) + (" (cached)" if r.cached else ""),
            _took(r),
            coverage_words(r) or "–",
        ]
        for r in run.results
    ]
    lines.append(markdown_table(["package", "tests", "result", "time", "coverage"], rows))
    if any(r.coverage_of for r in run.results):  # -coverpkg: the two figures differ
        lines += ["", f"<sub>{COVERAGE_NOTE[0].upper()}{COVERAGE_NOTE[1:]}</sub>"]
    if run.errors:
        lines += ["", "#### go test failed outside any package", ""]
        lines += ["```", *(e.strip() for e in run.errors), "```"]
    if failed:
        lines += ["", "#### Failed tests", ""]
        lines += [f"- `{t.package}` **{t.name}**: {t.message or 'failed'}" for t in failed]
    if flaky:
        lines += ["", "#### Flaky tests (failed, then passed on a rerun)", ""]
        lines += [f"- `{t.package}` **{t.name}** (attempt {t.attempts})" for t in flaky]
    for result in run.broken:
        lines += [
            "",
            f"<details><summary>💥 {result.package.import_path}: build output</summary>",
            "",
            "```",
            (result.build_output or result.output).strip(),
            "```",
            "</details>",
        ]
    return "\n".join(lines)


def _report(run: TestRun) -> str:
    lines = [
        f"{r.outcome:10} {r.package.import_path}  {_took(r)}  {coverage_words(r)}".rstrip()
        for r in run.results
    ]
    for result in run.broken:
        lines.append(f"--- {result.package.import_path} build output:")
        lines.append((result.build_output or result.output).rstrip())
    for error in run.errors:
        lines.append("--- go test failed outside any package:")
        lines.append(error.rstrip())
    for test in run.failed:
        lines.append(f"--- FAIL {test.package} {test.name}")
        lines.append(test.output.rstrip())
    for result in run.results:
        if result.reason and not result.failed_tests:
            lines.append(f"--- FAIL {result.package.import_path}: {result.reason}")
    for test in run.flaky:
        lines.append(f"flaky: {test.package} {test.name} (passed on attempt {test.attempts})")
    if any(r.coverage_of for r in run.results):
        lines.append(f"({COVERAGE_NOTE})")
    verdict = "PASS" if run.passed else "FAIL"
    cached = f" ({len(run.cached)} cached)" if run.cached else ""
    lines.append(
        f"goci test: {verdict}: {counted(len(run.results), 'package')}{cached}, "
        f"{counted(run.test_count, 'test')}, "
        f"{len(run.failed)} failing, {len(run.flaky)} flaky"
    )
    return "\n".join(lines)


def run(opts: GoTestOptions, ctx: Context) -> Result:
    shard = parse_shard(opts.shard)
    out = ctx.workspace_path(label_of(opts, "out"), opts.out)
    junit_path = ctx.workspace_path(label_of(opts, "junit"), opts.junit) if opts.junit else None
    timings = ctx.workspace_path(label_of(opts, "timings"), opts.timings) if opts.timings else None
    for written in (out, junit_path, timings):
        if written is not None:
            ignore_goci_folders(written)
    options = TestOptions(
        coverpkg=opts.coverpkg or (),
        covermode=opts.covermode,
        race=opts.race,
        tags=opts.tags or (),
        timeout=opts.timeout,
        run=opts.run,
        count=opts.count,
        parallel=opts.parallel or (os.cpu_count() or 1),
        rerun_fails=opts.rerun_fails,
    )
    result = run_tests(
        ctx.cwd,
        ctx.go,
        packages=opts.packages,
        shard=shard,
        out=out,
        options=options,
        timings=timings,
        coverage=opts.cover,
        log=ctx.runtime.log,
    )
    if junit_path is not None:
        from goci.gotest import junit  # ~11 ms (xml.etree, its character check) only when asked

        junit.write(result, junit_path)
    _annotate(result, ctx)
    outputs = {
        "passed": result.passed,
        "failed": len(result.failed),
        "flaky": len(result.flaky),
        "failed-tests": [f"{t.package}.{t.name}" for t in result.failed],
        "tests": result.test_count,
        "packages": len(result.results),
        "profile-dir": str(out),
        "junit": str(junit_path) if junit_path else "",
        "shard": shard.label,
    }
    return Result(
        outputs=outputs,
        report=_report(result),
        summary=_summary(result, ctx),
        exit_code=0 if result.passed else 1,
    )


COMMAND = Command(
    path=("test",),
    help="run Go tests with coverage, one go test per module or go.work, for one shard",
    settings=GoTestOptions,
    outputs=OUTPUTS,
    run=run,
)
