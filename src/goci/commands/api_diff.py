"""``goci api-diff``: the exported API each touched package adds, removes or changes."""

from __future__ import annotations

from goci.api.compare import ApiDiff, analyse
from goci.changed import diff
from goci.command import Command, Context, Result
from goci.options import Options, option
from goci.runtime import markdown_table, shown

OUTPUTS = ("compatible", "breaking", "blocking", "summary", "packages", "passed")
_ROWS = 200


class ApiDiffOptions(Options):
    base: str | None = option(
        help="compare with the merge base of this commit or ref (default: from the CI event)",
        metavar="REF",
    )
    fail_on_breaking: bool = option(
        kind="bool",
        default=False,
        help="exit 1 on a breaking change of a module at v1 or later that keeps its major version",
    )


def _report(result: ApiDiff) -> str:
    counts = result.counts
    lines = [
        f"API: {counts['compatible']} compatible, {counts['breaking']} breaking "
        f"({counts['blocking']} blocking) in {result.compared} touched packages"
    ]
    for package in result.packages:
        note = f" ({package.excused})" if package.excused and package.breaking else ""
        lines.append(f"  {shown(package.package)}{note}")
        if package.error:
            lines.append(f"    ! {shown(package.error)}")
        for c in package.changes:
            mark = "+" if c.compatible else "!"
            lines.append(
                f"    {mark} {c.change} {shown(c.name)}: {shown(c.new or c.old)}"
                + (f" ({c.why})" if c.why else "")
            )
    lines += [f"  skipped {shown(folder or '.')}: {why}" for folder, why in result.skipped]
    return "\n".join(lines)


def _summary(result: ApiDiff) -> str:
    counts = result.counts
    text = [
        f"### API: {counts['compatible']} compatible, {counts['breaking']} breaking",
        "",
        f"Exported API of {result.compared} touched packages against the merge base "
        f"{result.merge_base[:12]}.",
    ]
    for package in result.packages:
        excused = f" — breaking changes allowed: {package.excused}" if package.excused else ""
        text += ["", f"#### `{shown(package.package)}`{excused}", ""]
        if package.error:
            text.append(f"Not compared: {shown(package.error)}")
            continue
        rows = [
            [
                "✅" if c.compatible else "❌",
                c.change,
                f"`{shown(c.name)}`",
                f"`{shown(c.old)}`" if c.old else "",
                f"`{shown(c.new)}`" if c.new else "",
                c.why,
            ]
            for c in package.changes[:_ROWS]
        ]
        text.append(markdown_table(["", "change", "name", "before", "after", "why"], rows))
    if result.skipped:
        text += [
            "",
            "Skipped: " + ", ".join(f"`{shown(f or '.')}` ({w})" for f, w in result.skipped),
        ]
    return "\n".join(text)


def run(opts: ApiDiffOptions, ctx: Context) -> Result:
    refs = diff.refs_from_event(ctx.ci, opts.base, None)
    changes = diff.collect(ctx.git, refs)
    if changes.merge_base is None:
        why = changes.everything or "no merge base"
        empty = {"compatible": 0, "breaking": 0, "blocking": 0}
        return Result(
            outputs={**empty, "summary": empty, "packages": [], "passed": True},
            report=f"API: not compared ({why})",
            summary=f"### API: not compared\n\n{why}.",
        )
    result = analyse(ctx.go, ctx.git, ctx.cwd, changes.merge_base, changes.head)
    counts = result.counts
    failed = opts.fail_on_breaking and counts["blocking"] > 0
    for package in result.packages:
        if package.blocking and opts.fail_on_breaking:
            ctx.runtime.error(
                f"{package.package}: {package.blocking} breaking API changes in a module at v1 "
                "or later (make a new major version, or keep the old API)",
                title="api-diff",
            )
    return Result(
        outputs={
            **counts,
            "summary": counts,
            "packages": [p.to_json() for p in result.packages],
            "passed": not failed,
        },
        report=_report(result),
        summary=_summary(result),
        exit_code=1 if failed else 0,
    )


COMMAND = Command(
    path=("api-diff",),
    help="exported API added, changed or removed per touched package; breaking or compatible",
    settings=ApiDiffOptions,
    outputs=OUTPUTS,
    run=run,
)
