"""``goci changed``: the packages, test packages, services and modules a change can break."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from goci.changed import affected
from goci.changed.globs import DEFAULT_GLOBAL_FILES
from goci.changed.orphans import ORPHAN_POLICIES
from goci.command import Command, Context, Result
from goci.options import Options, label_of, option
from goci.runtime import counted, markdown_table, shown
from goci.tools.atomic import write_atomic

# GitHub refuses a step's outputs above 1 MB; a list that would come near it goes to a file.
OUTPUT_LIMIT = 1_000_000
_SUMMARY_ROWS = 50


class ChangedOptions(Options):
    base: str | None = option(help="base commit or ref (default: from the CI event)", metavar="REF")
    head: str | None = option(
        help="head commit or ref (default: GITHUB_SHA or HEAD)", metavar="REF"
    )
    platform: tuple[str, ...] = option(
        kind="list",
        aliases=("platforms",),
        default=[],
        metavar="OS/ARCH",
        help="targets whose import graphs are unioned (default: the host)",
    )
    global_files: tuple[str, ...] = option(
        kind="list",
        default=list(DEFAULT_GLOBAL_FILES),
        metavar="GLOB",
        help="files whose change means everything runs (default: "
        + ", ".join(DEFAULT_GLOBAL_FILES)
        + ")",
    )
    orphan_files: str = option(
        choices=ORPHAN_POLICIES,
        default="nearest",
        help="a changed file no package owns: nearest (the build of the nearest package above "
        "when Go or a C compiler may read it, else only its tests), all, or ignore",
    )
    ignore_comments: bool = option(
        kind="bool",
        default=False,
        help="Go files whose change touches only comments or white space do not count",
    )
    deepen_limit: int = option(
        kind="int",
        default=2000,
        minimum=0,
        help="fetch at most this many more commits of a shallow clone to find the merge base",
    )
    github_token: str = option(
        secret=True,
        default="",
        help="token for the GitHub compare API fallback (default: GITHUB_TOKEN)",
    )
    output_limit: int = option(
        kind="int",
        default=OUTPUT_LIMIT,
        minimum=1,
        help="bytes above which a list output is written to a file instead (see *-file)",
    )


LISTS = ("packages", "test-packages", "services", "modules", "reason")
OUTPUTS = (
    "packages",
    "test-packages",
    "services",
    "modules",
    "all",
    "any",
    "reason",
    *(f"{name}-file" for name in LISTS),
    "base",
    "head",
    "merge-base",
    "trusted",
)


def run(opts: ChangedOptions, ctx: Context) -> Result:
    token = opts.github_token or ctx.ci.token
    if token:
        named = label_of(opts, "github_token") if opts.github_token else "the job's GitHub token"
        ctx.runtime.mask(token, name=named)
    result = affected.analyse(
        ctx.cwd,
        ctx.go,
        ctx.git,
        base=opts.base,
        head=opts.head,
        ci=ctx.ci,
        platforms=opts.platform,
        global_files=opts.global_files,
        orphan_files=opts.orphan_files,
        ignore_comments=opts.ignore_comments,
        deepen_limit=opts.deepen_limit,
        token=token,
    )
    outputs: dict[str, Any] = {
        "packages": list(result.packages),
        "test-packages": list(result.test_packages),
        "services": list(result.services),
        "modules": list(result.modules),
        "all": result.all,
        "any": result.any,
        "reason": result.reason_json(),
        "base": result.base or "",
        "head": result.head,
        "merge-base": result.merge_base or "",
        # Whether this run's code was reviewed (the default branch, a tag): go-ci.yml gives the
        # store's write credentials only to such runs, as their go test runs that code.
        "trusted": ctx.ci.event.trusted,
    }
    for name in LISTS:
        outputs[f"{name}-file"] = ""
    if ctx.runtime.writes_outputs:
        spill(outputs, ctx.ci.temp, opts.output_limit)
    return Result(outputs=outputs, report=report(result), summary=summary(result))


def spill(outputs: dict[str, Any], temp: Path | None, limit: int) -> None:
    """Move lists too big for GitHub's output limit to files named by ``<name>-file``.

    The output itself then holds JSON ``null``: a consumer that ignores the file fails loudly
    instead of silently running nothing.
    """
    folder: Path | None = None
    for name in LISTS:
        text = json.dumps(outputs[name], separators=(",", ":"))
        if len(text.encode()) <= limit:
            continue
        if folder is None:
            parent = temp or tempfile.gettempdir()
            folder = Path(tempfile.mkdtemp(prefix="goci-changed-", dir=parent))
        target = folder / f"{name}.json"
        write_atomic(target, text.encode())
        outputs[name] = None
        outputs[f"{name}-file"] = str(target)


def report(result: affected.AffectedSet) -> str:
    if result.base:
        top = f"base {result.base}  merge base {result.merge_base or '-'}  head {result.head}"
    elif result.missing_base:  # a force push: "first run" would hide the reason below
        top = f"base {result.missing_base} not found: every package  head {result.head}"
    else:
        top = f"no base (first run): every package  head {result.head}"
    lines = [
        top,
        f"{counted(len(result.changed_files), 'changed file')}; "
        f"{counted(len(result.packages), 'package')}, "
        f"{counted(len(result.test_packages), 'test package')}, "
        f"{counted(len(result.services), 'service')}, {counted(len(result.modules), 'module')}",
    ]
    lines += [f"all: {shown(why)}" for why in result.all_reasons]
    lines += [f"skipped {shown(path)}: {why}" for path, why in result.skipped_files]
    for pkg in result.packages:
        reason = result.reasons.get(pkg)
        if reason is None:
            why = "?"
        elif reason.file == "*" and reason.note in result.all_reasons:
            why = "everything runs (see above)"
        else:
            why = reason.text()
        lines.append(f"  {pkg}  <- {shown(why)}")
    if not result.any:
        lines.append("nothing Go-relevant changed")
    return "\n".join(lines)


def summary(result: affected.AffectedSet) -> str:
    head = "### Changed Go packages\n\n"
    if not result.any:
        return head + "Nothing Go-relevant changed.\n"
    text = head
    if result.all_reasons:
        text += "".join(f"- **everything runs**: {why}\n" for why in result.all_reasons) + "\n"
    rows = []
    for pkg in result.packages[:_SUMMARY_ROWS]:
        reason = result.reasons.get(pkg)
        kinds = []
        if pkg in result.services:
            kinds.append("service")
        if pkg in result.test_packages:
            kinds.append("tests")
        rows.append(
            [
                f"`{pkg}`",
                ", ".join(kinds) or "build",
                f"`{reason.file}`" if reason else "",
                " → ".join(reason.via) if reason else "",
            ]
        )
    text += markdown_table(["package", "runs", "changed file", "import chain"], rows)
    if len(result.packages) > _SUMMARY_ROWS:
        text += f"\n\n…and {len(result.packages) - _SUMMARY_ROWS} more."
    return text


COMMAND = Command(
    path=("changed",),
    help="packages, test packages, services and modules that a change can break",
    settings=ChangedOptions,
    outputs=OUTPUTS,
    run=run,
)
