"""``goci coverage merge``: one profile, one total and one verdict from every shard and job."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from goci.command import Command, Context, Result
from goci.commands import _review
from goci.coverage import baseline, formats, thresholds
from goci.coverage import report as coverage
from goci.coverage.merge import MergeResult, merge
from goci.coverage.sources import SourceFileError
from goci.errors import InputError, bad_input
from goci.options import label_of, option
from goci.runtime import counted, markdown_table
from goci.tools.atomic import atomic_target
from goci.tools.paths import ignore_goci_folders


class CoverageOptions(_review.ReviewOptions):
    profiles: tuple[str, ...] | None = option(
        kind="list",
        positional=True,
        help="coverprofiles and folders holding them or GOCOVERDIR data (searched recursively)",
        metavar="DIR_OR_FILE",
    )
    out: str = option(default=".goci/coverage.out", help="the merged profile", metavar="FILE")
    min_total: float | None = option(
        kind="float", minimum=0, maximum=100, help="fail below this total percent"
    )
    min_package: float | None = option(
        kind="float", minimum=0, maximum=100, help="fail when a package is below this"
    )
    threshold: tuple[str, ...] | None = option(
        kind="list",
        help="per-path minimums GLOB=PERCENT, matched on package import paths and files",
        metavar="GLOB=P",
        check=thresholds.parse_threshold,
    )
    exclude: tuple[str, ...] | None = option(
        kind="list", help="globs of files or packages left out of the numbers"
    )
    expect_shards: int = option(
        kind="int", default=0, minimum=0, help="fail unless shards 1..N are all present (0: off)"
    )
    allow_mixed: bool = option(
        kind="bool",
        default=False,
        help="merge profiles of different commits or Go versions",
    )
    cobertura: str = option(default="", help="write Cobertura XML here", metavar="FILE")
    lcov: str = option(default="", help="write an LCOV tracefile here", metavar="FILE")
    html: str = option(default="", help="write go tool cover's HTML here", metavar="FILE")


OUTPUTS = (
    "total",
    "profile",
    "statements",
    "covered",
    "inputs",
    "shards",
    "passed",
    "cobertura",
    "lcov",
    "html",
    *_review.REVIEW_OUTPUTS,
)


def _table(what: str, items: list[tuple[str, int, int, float]], *, missed: bool = False) -> str:
    """Statements and coverage per package or file; ``missed`` counts the uncovered ones."""
    third = "uncovered" if missed else "covered"
    return markdown_table(
        [what, "statements", third, "coverage"],
        [
            [f"`{name}`", str(total), str(total - hit if missed else hit), f"{coverage.fmt(pc)}%"]
            for name, total, hit, pc in items
        ],
    )


def _summary(
    cov: coverage.CoverageReport,
    merged: MergeResult,
    short: tuple[thresholds.Shortfall, ...],
    review: _review.Review,
    headline: str,
    per_package: str,
) -> str:
    lines = [
        f"**{headline}**",
        "",
        f"### Coverage: {cov.total}%",
        "",
        f"{cov.covered} of {cov.statements} statements in functions, as `go tool cover -func` "
        f"counts them; {counted(merged.profiles, 'input')} merged ({merged.blocks} blocks, mode "
        f"{merged.mode})" + (f", shards {', '.join(merged.shards)}" if merged.shards else "") + ".",
    ]
    if cov.excluded:
        lines.append(f"Excluded by glob: {len(cov.excluded)} files.")
    if short or review.failures:
        lines += ["", "#### Thresholds missed", ""]
        lines += [f"- ❌ {s.message}" for s in short]
        lines += [f"- ❌ {failure}" for failure in review.failures]
    lines += _review.markdown(review)
    lines += [
        "",
        "#### Packages",
        "",
        f"Each package's figure: {per_package}.",
        "",
    ]
    lines.append(
        _table("package", [(p.package, p.statements, p.covered, p.percent) for p in cov.packages])
    )
    least = cov.least_covered(10)
    if least:
        lines += ["", "#### Least covered files", ""]
        lines.append(
            _table(
                "file", [(f.file, f.statements, f.covered, f.percent) for f in least], missed=True
            )
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class _Request:
    """What the options ask for, checked: inputs, where the outputs go, the thresholds."""

    inputs: tuple[Path, ...]
    out: Path
    reports: dict[str, Path]
    min_total: float | None
    min_package: float | None
    overrides: tuple[thresholds.Threshold, ...]


def _checked(opts: CoverageOptions, ctx: Context) -> _Request:
    raw_paths = opts.profiles or ()
    if not raw_paths:
        raise InputError(
            "coverage merge: no inputs; give coverprofiles or folders (DIR_OR_FILE...)"
        )
    inputs = tuple(ctx.path(p) for p in raw_paths)
    for raw, path in zip(raw_paths, inputs, strict=True):
        if not path.exists():
            raise bad_input("DIR_OR_FILE", raw, "an existing coverprofile or folder")
    out = ctx.workspace_path(label_of(opts, "out"), opts.out)
    reports = {
        name: ctx.workspace_path(label_of(opts, name), value)
        for name, value in (("cobertura", opts.cobertura), ("lcov", opts.lcov), ("html", opts.html))
        if value
    }
    return _Request(
        inputs=inputs,
        out=out,
        reports=reports,
        min_total=opts.min_total,
        min_package=opts.min_package,
        overrides=tuple(thresholds.parse_threshold(t) for t in opts.threshold or ()),
    )


def _merge_and_count(
    request: _Request, opts: CoverageOptions, ctx: Context
) -> tuple[MergeResult, coverage.CoverageReport]:
    """Merge to a scratch name first: the real ``--out`` appears only when the report worked."""
    out = request.out
    with atomic_target(out) as staging:
        merged = merge(
            request.inputs,
            out=staging,
            go=ctx.go,
            allow_mixed=opts.allow_mixed,
            expect_shards=opts.expect_shards,
            label_root=ctx.cwd,
            skip=(out, staging),
        )
        try:
            cov = coverage.report(
                staging,
                root=ctx.cwd,
                go=ctx.go,
                exclude=tuple(opts.exclude or ()),
                display=out,
                merged=(merged.mode, merged.blocks_by_file),
            )
        except SourceFileError as exc:  # the merged file is never written: name the input
            where = origin(merged, exc.name)
            if where is None:
                raise
            raise InputError(f"{where}: {exc.detail}") from None
    return merged, dataclasses.replace(cov, profile=out)


def origin(merged: MergeResult, name: str) -> str | None:
    """The first input that names the file ``name``: ``profile:line``, or a GOCOVERDIR folder."""
    for item in merged.inputs:
        if item.kind != "text":
            continue
        with item.path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if line.startswith(name + ":"):
                    return f"{item.path}:{number}"
    folders = [str(item.path) for item in merged.inputs if item.kind != "text"]
    return f"{folders[0]} (GOCOVERDIR data)" if len(folders) == 1 else None


def _write_reports(request: _Request, cov: coverage.CoverageReport, ctx: Context) -> None:
    """Cobertura, LCOV and HTML, where the options ask for them."""
    hits = formats.all_line_hits(cov) if {"cobertura", "lcov"} & set(request.reports) else []
    for name, path in request.reports.items():
        if name == "cobertura":
            formats.write_cobertura(path, cov, ctx.cwd, hits)
        elif name == "lcov":
            formats.write_lcov(path, cov, ctx.cwd, hits)
        else:
            formats.html(request.out, path, go=ctx.go, cwd=ctx.cwd)


def run(opts: CoverageOptions, ctx: Context) -> Result:
    request = _checked(opts, ctx)
    for target in (request.out, *request.reports.values()):
        ignore_goci_folders(target)
    merged, cov = _merge_and_count(request, opts, ctx)
    _write_reports(request, cov, ctx)
    short = thresholds.check_thresholds(
        cov,
        min_total=request.min_total,
        min_package=request.min_package,
        overrides=request.overrides,
    )
    for item in short:
        ctx.runtime.error(item.message, title="coverage threshold")
    review = _review.review(opts, ctx, cov, merged)
    _review.annotate(review, ctx)
    for failure in review.failures:
        ctx.runtime.error(failure, title="coverage")
    headline = _review.headline(review, cov)
    _review.write_comment(opts, ctx, review, headline)
    per_package = baseline.PER_PACKAGE[baseline.scope_of(merged.inputs)]  # what a figure counts
    report = [
        f"total: {cov.total}% ({cov.covered}/{cov.statements} statements) "
        f"from {counted(merged.profiles, 'input')} -> {request.out}",
        f"per package: {per_package}",
        *(f"{coverage.fmt(p.percent):>6}%  {p.package}" for p in cov.packages),
        *(f"FAIL {s.message}" for s in short),
        *(f"FAIL {failure}" for failure in review.failures),
    ]
    written = {name: str(path) for name, path in request.reports.items()}
    outputs = {
        "total": cov.total,
        "profile": str(request.out),
        "statements": cov.statements,
        "covered": cov.covered,
        "inputs": merged.profiles,
        "shards": list(merged.shards),
        "passed": not short,
        **{name: written.get(name, "") for name in ("cobertura", "lcov", "html")},
        **_review.outputs(review),
        "headline": headline,
    }
    outputs["passed"] = not short and not review.failures
    return Result(
        outputs=outputs,
        report="\n".join([headline, *report]),
        summary=_summary(cov, merged, short, review, headline, per_package),
        exit_code=1 if short or review.failures else 0,
    )


COMMAND = Command(
    path=("coverage", "merge"),
    help="merge coverage profiles of all shards and jobs; total, tables, thresholds, reports",
    settings=CoverageOptions,
    outputs=OUTPUTS,
    run=run,
)
