"""``goci test``: this shard's packages, one ``go test -json`` each, in parallel, with coverage."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goci.command import Command, Context, Result
from goci.errors import bad_input
from goci.gotest import junit
from goci.gotest.results import TestOptions, TestRun
from goci.gotest.run import run_tests
from goci.gotest.shards import parse_shard
from goci.options import option
from goci.runtime import markdown_table


@dataclass(frozen=True)
class GoTestOptions:
    packages: tuple[str, ...] | None = option(
        kind="list",
        help="packages to test: import paths or ./folders, or changed-packages' test-packages "
        "JSON array (an empty list tests nothing); default: ./... of every module in use",
        metavar="PKGS",
    )
    shard: str = option(default="1/1", help="this job's shard, I/N (1-based)", metavar="I/N")
    out: str = option(
        default="coverage",
        help="folder for this run's coverage profiles (each named uniquely, with a .json sidecar)",
        metavar="DIR",
    )
    junit: str = option(default="", help="write JUnit XML to this file", metavar="FILE")
    parallel: int = option(kind="int", default=0, help="packages tested at once (default: CPUs)")
    coverpkg: tuple[str, ...] | None = option(
        kind="list",
        help="-coverpkg patterns (default: the package's own module; 'self': no -coverpkg)",
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
    timeout: str = option(default="", help="go test -timeout (e.g. 10m)")
    run: str = option(default="", help="go test -run REGEX")
    count: int | None = option(
        kind="int", default=None, help="go test -count (1 disables the cache)"
    )
    rerun_fails: int = option(
        kind="int",
        default=0,
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
        if result.outcome in ("build-fail", "error"):
            shown = False
            for error in result.build_errors:
                ctx.runtime.error(
                    f"{package.import_path} does not build: {error.message}",
                    file=_rel(error.path, root),
                    line=error.line,
                )
                shown = True
            if not shown:
                first = (result.build_output.strip().splitlines() or ["(no output)"])[-1]
                ctx.runtime.error(f"{package.import_path}: go test failed to run: {first}")
            with ctx.runtime.group(f"{package.import_path}: compiler output"):
                ctx.runtime.log(result.build_output.rstrip() or result.output.rstrip())
        elif result.outcome == "fail" and not result.failed_tests:
            ctx.runtime.error(f"{package.import_path} failed: {result.output.strip()[-300:]}")
    for test in run.flaky:
        ctx.runtime.warning(
            f"{test.package}.{test.name} is flaky: failed, then passed on attempt {test.attempts}"
        )


_WORD = {"pass": "✅ pass", "fail": "❌ fail", "build-fail": "💥 build failed", "error": "💥 error"}


def _summary(run: TestRun, ctx: Context) -> str:
    failed, flaky = run.failed, run.flaky
    lines = [
        f"### Go tests: shard {run.shard.label}" if run.shard.total > 1 else "### Go tests",
        "",
        f"{len(run.results)} of {run.all_packages} packages (split by {run.shard_by}), "
        f"{run.test_count} tests: {len(failed)} failed, {len(flaky)} flaky, "
        f"{len(run.broken)} packages did not build.",
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
            _WORD.get(r.outcome, r.outcome),
            f"{r.elapsed:.1f}s",
            r.coverage or "–",
        ]
        for r in run.results
    ]
    lines.append(markdown_table(["package", "tests", "result", "time", "coverage"], rows))
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
        f"{r.outcome:10} {r.package.import_path}  {r.elapsed:.1f}s  {r.coverage}".rstrip()
        for r in run.results
    ]
    for result in run.broken:
        lines.append(f"--- {result.package.import_path} build output:")
        lines.append((result.build_output or result.output).rstrip())
    for test in run.failed:
        lines.append(f"--- FAIL {test.package} {test.name}")
        lines.append(test.output.rstrip())
    for test in run.flaky:
        lines.append(f"flaky: {test.package} {test.name} (passed on attempt {test.attempts})")
    verdict = "PASS" if run.passed else "FAIL"
    lines.append(
        f"goci test: {verdict}: {len(run.results)} packages, {run.test_count} tests, "
        f"{len(run.failed)} failing, {len(run.flaky)} flaky"
    )
    return "\n".join(lines)


def run(opts: GoTestOptions, ctx: Context) -> Result:
    shard = parse_shard(opts.shard)
    if opts.parallel < 0:
        raise bad_input("--parallel", opts.parallel, "a number of packages >= 0 (0: CPUs)")
    if opts.rerun_fails < 0:
        raise bad_input("--rerun-fails", opts.rerun_fails, "a number of reruns >= 0")
    out = ctx.workspace_path("out", opts.out)
    junit_path = ctx.workspace_path("junit", opts.junit) if opts.junit else None
    timings = ctx.workspace_path("timings", opts.timings) if opts.timings else None
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
    help="run Go tests per package in parallel, with coverage, for one shard",
    settings=GoTestOptions,
    outputs=OUTPUTS,
    run=run,
)
