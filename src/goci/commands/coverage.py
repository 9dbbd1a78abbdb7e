"""``goci coverage merge``: one profile, one total and one verdict from every shard and job."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from goci.command import Command, Context, Result
from goci.commands._shared import workspace_path
from goci.coverage import formats, thresholds
from goci.coverage import report as coverage
from goci.coverage.merge import MergeResult, merge
from goci.errors import InputError, bad_input
from goci.options import Option
from goci.runtime import markdown_table

OPTIONS = (
    Option(
        name="profiles",
        kind="list",
        positional=True,
        help="coverprofiles and folders holding them or GOCOVERDIR data (searched recursively)",
        metavar="DIR_OR_FILE",
    ),
    Option(name="out", default="coverage.out", help="the merged profile", metavar="FILE"),
    Option(name="min-total", kind="float", default=None, help="fail below this total percent"),
    Option(
        name="min-package", kind="float", default=None, help="fail when a package is below this"
    ),
    Option(
        name="threshold",
        kind="list",
        help="per-path minimums GLOB=PERCENT, matched on package import paths and files",
        metavar="GLOB=P",
    ),
    Option(name="exclude", kind="list", help="globs of files or packages left out of the numbers"),
    Option(
        name="expect-shards", kind="int", default=0, help="fail unless shards 1..N are all present"
    ),
    Option(
        name="allow-mixed",
        kind="bool",
        default=False,
        help="merge profiles of different commits or Go versions",
    ),
    Option(name="cobertura", default="", help="write Cobertura XML here", metavar="FILE"),
    Option(name="lcov", default="", help="write an LCOV tracefile here", metavar="FILE"),
    Option(name="html", default="", help="write go tool cover's HTML here", metavar="FILE"),
)
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
)


def _percent_option(name: str, value: float | None) -> float | None:
    if value is not None and not 0 <= value <= 100:
        raise bad_input(f"--{name}", value, "a percentage between 0 and 100")
    return value


def _summary(
    cov: coverage.CoverageReport,
    merged: MergeResult,
    short: tuple[thresholds.Shortfall, ...],
) -> str:
    lines = [
        f"### Coverage: {cov.total}%",
        "",
        f"{cov.covered} of {cov.statements} statements in functions, as `go tool cover -func` "
        f"counts them; {merged.profiles} inputs merged ({merged.blocks} blocks, mode "
        f"{merged.mode})" + (f", shards {', '.join(merged.shards)}" if merged.shards else "") + ".",
    ]
    if cov.excluded:
        lines.append(f"Excluded by glob: {len(cov.excluded)} files.")
    if short:
        lines += ["", "#### Thresholds missed", ""]
        lines += [f"- ❌ {s.message}" for s in short]
    lines += ["", "#### Packages", ""]
    lines.append(
        markdown_table(
            ["package", "statements", "covered", "coverage"],
            [
                [
                    f"`{p.package}`",
                    str(p.statements),
                    str(p.covered),
                    f"{coverage.fmt(p.percent)}%",
                ]
                for p in cov.packages
            ],
        )
    )
    least = cov.least_covered(10)
    if least:
        lines += ["", "#### Least covered files", ""]
        lines.append(
            markdown_table(
                ["file", "statements", "uncovered", "coverage"],
                [
                    [
                        f"`{f.file}`",
                        str(f.statements),
                        str(f.statements - f.covered),
                        f"{coverage.fmt(f.percent)}%",
                    ]
                    for f in least
                ],
            )
        )
    return "\n".join(lines)


def run(values: Mapping[str, Any], ctx: Context) -> Result:
    raw_paths = values["profiles"] or []
    if not raw_paths:
        raise InputError(
            "coverage merge: no inputs; give coverprofiles or folders (DIR_OR_FILE...)"
        )
    inputs = [ctx.path(p) for p in raw_paths]
    for raw, path in zip(raw_paths, inputs, strict=True):
        if not path.exists():
            raise bad_input("DIR_OR_FILE", raw, "an existing coverprofile or folder")
    out = workspace_path(ctx, "out", values["out"])
    extra = {
        name: workspace_path(ctx, name, values[name]) if values[name] else None
        for name in ("cobertura", "lcov", "html")
    }
    min_total = _percent_option("min-total", values["min_total"])
    min_package = _percent_option("min-package", values["min_package"])
    overrides = [thresholds.parse_threshold(t) for t in values["threshold"] or ()]
    if values["expect_shards"] < 0:
        raise bad_input("--expect-shards", values["expect_shards"], "a number of shards >= 1")

    # Merge to a scratch name first: the real --out appears only when the report also worked.
    staging = out.with_name(f".{out.name}.staging")
    try:
        merged = merge(
            inputs,
            out=staging,
            go=ctx.go,
            allow_mixed=values["allow_mixed"],
            expect_shards=values["expect_shards"],
            label_root=ctx.cwd,
            skip=(out, staging),
        )
        cov = coverage.report(
            staging,
            root=ctx.cwd,
            go=ctx.go,
            exclude=tuple(values["exclude"] or ()),
            display=out,
        )
        staging.replace(out)
    finally:
        staging.unlink(missing_ok=True)
    cov = coverage.CoverageReport(
        out, cov.mode, cov.statements, cov.covered, cov.files, cov.packages, cov.excluded
    )
    written: dict[str, str] = {}
    if extra["cobertura"]:
        formats.write_text(extra["cobertura"], formats.cobertura(cov, ctx.cwd))
        written["cobertura"] = str(extra["cobertura"])
    if extra["lcov"]:
        formats.write_text(extra["lcov"], formats.lcov(cov, ctx.cwd))
        written["lcov"] = str(extra["lcov"])
    if extra["html"]:
        formats.html(out, extra["html"], go=ctx.go, cwd=ctx.cwd)
        written["html"] = str(extra["html"])
    short = thresholds.check_thresholds(
        cov, min_total=min_total, min_package=min_package, overrides=overrides
    )
    for item in short:
        ctx.runtime.error(item.message, title="coverage threshold")
    report = [
        f"total: {cov.total}% ({cov.covered}/{cov.statements} statements) "
        f"from {merged.profiles} inputs -> {out}",
        *(f"{coverage.fmt(p.percent):>6}%  {p.package}" for p in cov.packages),
        *(f"FAIL {s.message}" for s in short),
    ]
    outputs = {
        "total": cov.total,
        "profile": str(out),
        "statements": cov.statements,
        "covered": cov.covered,
        "inputs": merged.profiles,
        "shards": list(merged.shards),
        "passed": not short,
        "cobertura": written.get("cobertura", ""),
        "lcov": written.get("lcov", ""),
        "html": written.get("html", ""),
    }
    return Result(
        outputs=outputs,
        report="\n".join(report),
        summary=_summary(cov, merged, short),
        exit_code=1 if short else 0,
    )


COMMAND = Command(
    path=("coverage", "merge"),
    help="merge coverage profiles of all shards and jobs; total, tables, thresholds, reports",
    options=OPTIONS,
    outputs=OUTPUTS,
    run=run,
)
