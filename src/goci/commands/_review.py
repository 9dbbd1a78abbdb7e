"""What ``goci coverage merge`` tells a reviewer beyond the total (not a command of its own).

Three questions: are the lines this change adds or edits tested (patch coverage, with
``--base``), did coverage go down and where (against the default branch's
``coverage-summary.json``), and does the API verdict of the api job allow the change
(``--api-summary``). The answers lead the summary as one line, e.g. ``patch 87.2% (34/39),
total 71.2% (-0.4), API: 2 compatible, 0 breaking``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from goci.changed import diff
from goci.command import Context
from goci.commands._baseline import summarize
from goci.coverage import baseline as baselines
from goci.coverage.merge import MergeResult
from goci.coverage.patch import PatchCoverage, changed_lines, patch_coverage
from goci.coverage.report import CoverageReport, fmt
from goci.errors import bad_input
from goci.options import Options, option
from goci.runtime import markdown_table, shown
from goci.tools.atomic import write_atomic

API_CHECKS = ("off", "report", "fail-on-breaking")
# GitHub shows at most 10 warning annotations of a step; the rest are in the summary table.
ANNOTATIONS = 10
REVIEW_OUTPUTS = ("patch-covered", "patch-statements", "patch", "total-change", "headline")


class ReviewOptions(Options):
    """The options of ``coverage merge`` that answer a reviewer's questions."""

    base: str | None = option(
        help="patch coverage of the change from the merge base with this commit or ref",
        metavar="REF",
    )
    min_patch: float | None = option(kind="float", help="fail below this patch coverage percent")
    max_drop: float | None = option(
        kind="float", help="fail when the total falls more than this many points below the baseline"
    )
    summary_json: str = option(
        default="", help="write this run's coverage-summary.json here", metavar="FILE"
    )
    baseline: str = option(
        default="",
        help="the default branch's coverage-summary.json (a missing file: no baseline)",
        metavar="FILE",
    )
    baseline_store: str = option(
        default="", help="a release store holding the default branch's baseline", metavar="URL"
    )
    endpoint_url: str = option(default="", help="S3 endpoint of --baseline-store", metavar="URL")
    save_baseline: bool = option(
        kind="bool",
        default=False,
        help="keep this run's summary in --baseline-store as the branch's baseline",
    )
    baseline_branch: str = option(
        default="", help="the branch whose baseline (default: the repository's default branch)"
    )
    api_summary: Any = option(
        kind="json", help="the api-diff summary output of the api job", metavar="JSON"
    )
    comment_file: str = option(
        default="",
        help="write the headline, patch coverage and change as Markdown here (for pr-comment)",
        metavar="FILE",
    )
    api_check: str = option(
        choices=API_CHECKS,
        default="report",
        help="off, report, or fail-on-breaking: fail on a breaking change of a v1+ module",
    )


@dataclass
class Review:
    """The answers, and the verdicts they lead to."""

    patch: PatchCoverage | None = None
    patch_note: str = ""
    delta: baselines.Delta | None = None
    total: str = ""
    baseline_note: str = ""
    baseline_mark: str = "no baseline"  # the headline's word when there is no change to show
    api: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def _percent(name: str, value: float | None) -> float | None:
    if value is not None and not 0 <= value <= 100:
        raise bad_input(f"--{name}", value, "a percentage between 0 and 100")
    return value


def _patch(base: str, ctx: Context, cov: CoverageReport) -> PatchCoverage:
    """Patch coverage against the merge base of ``base`` and HEAD (a shallow clone deepened)."""
    git = ctx.git
    changes = diff.collect(git, diff.Refs(base, "HEAD"))
    assert changes.merge_base is not None  # collect raises for an explicit base it cannot use
    return patch_coverage(
        cov,
        changed_lines(git, changes.merge_base, git.toplevel()),
        git.toplevel(),
        changes.merge_base,
    )


def _api(value: Any) -> dict[str, int]:
    if value in (None, "", {}):
        return {}
    data = json.loads(value) if isinstance(value, str) else value
    names = ("compatible", "breaking", "blocking")
    if not isinstance(data, dict) or not all(isinstance(data.get(n), int) for n in names):
        raise bad_input("--api-summary", value, 'the api-diff summary, {"compatible": N, ...}')
    return {n: int(data[n]) for n in names}


def review(opts: ReviewOptions, ctx: Context, cov: CoverageReport, merged: MergeResult) -> Review:
    """Every answer the options ask for, with the verdicts they lead to."""
    min_patch = _percent("min-patch", opts.min_patch)
    max_drop = _percent("max-drop", opts.max_drop)
    result = Review(api=_api(opts.api_summary) if opts.api_check != "off" else {})
    if opts.base:
        result.patch = _patch(opts.base, ctx, cov)
        if not result.patch.statements:
            result.patch_note = "no changed statements: nothing to cover"
    else:
        result.patch_note = "no --base: no patch coverage"
    if opts.summary_json or opts.baseline or opts.baseline_store or max_drop is not None:
        summarize(opts, ctx, cov, merged, result)
    patch, delta = result.patch, result.delta
    short = patch is not None and patch.statements and patch.percent < (min_patch or 0)
    if patch is not None and short:
        result.failures.append(
            f"patch coverage {patch.shown}% is below --min-patch {fmt(min_patch or 0)}% "
            f"({patch.covered} of {patch.statements} changed statements covered)"
        )
    if max_drop is not None and delta is not None and delta.points < -max_drop:
        result.failures.append(
            f"total coverage fell {fmt(-delta.points)} points ({fmt(delta.baseline.percent)}% -> "
            f"{result.total}%), more than --max-drop {fmt(max_drop)}"
        )
    if opts.api_check == "fail-on-breaking" and result.api.get("blocking"):
        result.failures.append(
            f"API: {result.api['blocking']} breaking changes in modules at v1 or later without "
            "a new major version (see the api-diff summary)"
        )
    return result


def headline(result: Review, cov: CoverageReport) -> str:
    """``patch 87.2% (34/39), total 71.2% (-0.4), API: 2 compatible, 0 breaking``."""
    parts = []
    patch = result.patch
    if patch is not None:
        parts.append(
            f"patch {patch.shown}% ({patch.covered}/{patch.statements})"
            if patch.statements
            else "patch: no changed statements"
        )
    total = result.total or cov.total
    if result.delta is not None:
        parts.append(f"total {total}% ({result.delta.points:+.1f})")
    else:
        parts.append(
            f"total {total}%" + (f" ({result.baseline_mark})" if result.baseline_note else "")
        )
    if result.api:
        parts.append(
            f"API: {result.api['compatible']} compatible, {result.api['breaking']} breaking"
        )
    return ", ".join(parts)


def write_comment(opts: ReviewOptions, ctx: Context, result: Review, line: str) -> None:
    """The pull-request comment's body: the headline, then the patch and change sections."""
    if opts.comment_file:
        text = "\n".join([f"**{line}**", *markdown(result), ""])
        write_atomic(ctx.workspace_path("comment-file", opts.comment_file), text.encode())


def outputs(result: Review) -> dict[str, Any]:
    patch = result.patch
    return {
        "patch-covered": patch.covered if patch else "",
        "patch-statements": patch.statements if patch else "",
        "patch": patch.shown if patch else "",
        "total-change": f"{result.delta.points:+.1f}" if result.delta else "",
    }


def annotate(result: Review, ctx: Context) -> None:
    """One warning per uncovered changed range at its file and line, the first few only."""
    ranges = result.patch.uncovered if result.patch else []
    for path, first, last in ranges[:ANNOTATIONS]:
        lines = f"line {first}" if first == last else f"lines {first}-{last}"
        ctx.runtime.warning(
            f"{lines}: changed but not run by any test",
            file=path,
            line=first,
            title="patch coverage",
        )


def _ranges(items: tuple[tuple[int, int], ...]) -> str:
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in items)


def markdown(result: Review) -> list[str]:
    """The patch and change sections of the job summary."""
    lines: list[str] = []
    patch = result.patch
    if patch is not None:
        title = f"{patch.shown}% ({patch.covered} of {patch.statements} changed statements)"
        lines += [
            "",
            f"#### Patch coverage: {title if patch.statements else 'no changed statements'}",
            "",
        ]
        lines.append(
            f"Against the merge base {patch.merge_base[:12]}: {patch.changed_files} changed Go "
            f"files, {len(patch.files)} with statements"
            + (f"; generated files skipped: {len(patch.generated)}" if patch.generated else "")
            + "."
        )
        rows = [
            [
                f"`{shown(f.path)}`",
                str(f.statements),
                str(f.covered),
                f"{fmt(f.percent)}%",
                _ranges(f.uncovered),
            ]
            for f in patch.files
        ]
        if rows:
            lines += [
                "",
                markdown_table(
                    [
                        "file",
                        "changed statements",
                        "covered",
                        "coverage",
                        "uncovered changed lines",
                    ],
                    rows,
                ),
            ]
        if len(patch.uncovered) > ANNOTATIONS:
            lines.append(
                f"\nThe first {ANNOTATIONS} of {len(patch.uncovered)} uncovered ranges are "
                "annotated in the diff."
            )
    if result.baseline_note:
        lines += [
            "",
            "#### Coverage change",
            "",
            result.baseline_note[:1].upper() + result.baseline_note[1:] + ".",
        ]
    if result.delta is not None:
        lines += _delta_table(result.delta)
    return lines


def _delta_table(delta: baselines.Delta) -> list[str]:
    def pc(counts: baselines.Counts | None) -> str:
        return f"{fmt(counts.percent)}%" if counts else "-"

    rows = [
        [f"`{shown(d.package)}`", pc(d.before), pc(d.after), f"{d.points:+.1f}"]
        for d in delta.packages[:50]
    ]
    text = [
        "",
        f"Total {fmt(delta.current.percent)}% ({delta.points:+.1f} against "
        f"{fmt(delta.baseline.percent)}%); packages whose numbers changed, largest drop first:",
    ]
    if rows:
        text += ["", markdown_table(["package", "before", "after", "change"], rows)]
    else:
        text.append("no package's coverage changed.")
    return text
