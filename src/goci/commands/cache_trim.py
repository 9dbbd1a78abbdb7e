"""``goci cache mark`` (after the restore) and ``goci cache trim`` (before the save)."""

from __future__ import annotations

from pathlib import Path

from goci.cache import modverify, registry
from goci.cache.trim import MARK_FILE, mark, recorded_mark, trim
from goci.cache.units import format_size, format_time, parse_duration, parse_size, parse_time
from goci.command import Command, Context, Result
from goci.errors import InputError, bad_input
from goci.options import Options, label_of, option
from goci.runtime import markdown_table

MARK_VARIABLE = "GOCI_CACHE_MARK"
# The job's registration in the cache folder (goci.cache.registry), which its trim removes.
MARK_ID_VARIABLE = "GOCI_CACHE_MARK_ID"


class CacheDirOptions(Options):
    cache_dir: str | None = option(
        help="the Go build cache folder (default: `go env GOCACHE`)",
        metavar="DIR",
    )


class TrimOptions(CacheDirOptions):
    unused_since: str | None = option(
        help=f"drop entries not used since this time: epoch seconds or ISO 8601 "
        f"(default: ${MARK_VARIABLE}, which `goci cache mark` sets after the restore)",
        metavar="TIME",
        check=parse_time,
    )
    keep_within: str = option(
        default="0",
        help="also keep entries used this long before that time (7d, 12h, 0): with "
        "affected-only runs, what the previous runs compiled stays for the next",
        metavar="DURATION",
        check=parse_duration,
    )
    max_size: str = option(
        default="1GiB",
        help="then drop least recently used entries until the cache fits "
        "(KiB/MiB/GiB, KB/MB/GB or bytes; none for no budget)",
        metavar="SIZE",
        check=parse_size,
    )


TRIM_OUTPUTS = ("removed-files", "removed-bytes", "size-before", "size-after")


class MarkOptions(CacheDirOptions):
    mod_key: str | None = option(help="the module cache key the restore asked for", metavar="KEY")
    mod_restored_key: str | None = option(
        help="the key the module cache was restored from (actions/cache: cache-matched-key); "
        "when it is a fallback key, `go mod verify` checks the restored modules",
        metavar="KEY",
    )
    build_key: str | None = option(help="the build cache key the restore asked for", metavar="KEY")
    build_restored_key: str | None = option(
        help="the key the build cache was restored from (actions/cache: cache-matched-key)",
        metavar="KEY",
    )
    mod_save: bool = option(
        kind="bool",
        default=True,
        help="whether this job may save the module cache (cache-key's mod-save: a trusted "
        "event and modules to download); the mod-save output adds 'and no exact hit'",
    )


MARK_OUTPUTS = (
    "mark",
    "backdated-files",
    "mod-cache-hit",
    "build-cache-hit",
    "mod-verified",
    "mod-save",
)


def cache_dir(opts: CacheDirOptions, ctx: Context) -> Path:
    """The build cache folder: ``--cache-dir``, or what ``go env GOCACHE`` says."""
    if opts.cache_dir:
        return ctx.path(opts.cache_dir)
    folder = ctx.go.env_values(["GOCACHE"], cwd=ctx.cwd)["GOCACHE"]
    if not folder or folder == "off":
        raise InputError(
            f"GOCACHE: {folder or '(empty)'!r} is not a build cache folder; "
            "set GOCACHE or pass --cache-dir"
        )
    return Path(folder)


def _mark_used(opts: TrimOptions, ctx: Context, folder: Path) -> tuple[float | None, str]:
    """The mark this trim goes by, and where it came from (for the report): ``--unused-since``,
    else ``$GOCI_CACHE_MARK``, else the mark ``goci cache mark`` left."""
    for text, name in (
        (opts.unused_since, label_of(opts, "unused_since")),
        (ctx.env.get(MARK_VARIABLE, ""), MARK_VARIABLE),
        (recorded_mark(folder), str(folder / MARK_FILE)),
    ):
        if text:
            return parse_time(text, name), name
    return None, ""


def run_trim(opts: TrimOptions, ctx: Context) -> Result:
    folder = cache_dir(opts, ctx)
    if opts.cache_dir and not folder.is_dir():
        raise bad_input(
            label_of(opts, "cache_dir"), opts.cache_dir, "an existing Go build cache folder"
        )
    marked, source = _mark_used(opts, ctx, folder)
    unused_since = None if marked is None else marked - parse_duration(opts.keep_within)
    max_size = parse_size(opts.max_size)
    result = trim(folder, unused_since=unused_since, max_size=max_size)
    # Last, once nothing is left to judge: until now a mark starting meanwhile kept off what
    # this job used. Without $GOCI_CACHE_MARK_ID (a shell), any registration of this mark.
    whole = int(marked) if marked is not None and marked == int(marked) else None
    registry.release(folder, ctx.env.get(MARK_ID_VARIABLE) or None, whole)
    budget = format_size(result.max_size) if result.max_size is not None else "none"
    since = (
        f"{format_time(result.unused_since)} (from {source})"
        if result.unused_since is not None
        else f"not checked (no --unused-since, no ${MARK_VARIABLE}, no mark in the folder)"
    )
    removed_entries = result.removed_unused + result.removed_over_budget + result.removed_broken
    report = "\n".join(
        [
            f"build cache   {folder}"
            + ("" if folder.is_dir() else " (not there yet: nothing to trim)"),
            f"  removed     {result.removed_files} files, {format_size(result.removed_bytes)} "
            f"({removed_entries} entries)",
            f"  unused      {result.removed_unused} entries not used since {since}",
            f"  over budget {result.removed_over_budget} entries, least recently used first "
            f"(budget {budget})",
            f"  invalid     {result.removed_broken} entries without output, "
            f"{result.removed_orphans} outputs without entry",
            f"  size        {format_size(result.size_before)} -> {format_size(result.size_after)}"
            f" ({result.kept_entries} entries kept)",
        ]
    )
    summary = "### Go build cache trim\n\n" + markdown_table(
        ["before", "after", "removed", "unused", "over budget", "budget"],
        [
            [
                format_size(result.size_before),
                format_size(result.size_after),
                f"{result.removed_files} files, {format_size(result.removed_bytes)}",
                str(result.removed_unused),
                str(result.removed_over_budget),
                budget,
            ]
        ],
    )
    outputs = {
        "removed-files": result.removed_files,
        "removed-bytes": result.removed_bytes,
        "size-before": result.size_before,
        "size-after": result.size_after,
    }
    return Result(outputs=outputs, report=report, summary=summary)


def _restored(key: str | None, restored: str | None) -> str:
    """``hit`` (the exact key), ``fallback`` (a restore key matched) or ``miss``.

    Case does not count: the cache service may hand the matched key back in another case (act
    lowercases it), and actions/cache's own exact-match test ignores case too.
    """
    if not restored:
        return "miss"
    return "hit" if key is not None and restored.lower() == key.lower() else "fallback"


def run_mark(opts: MarkOptions, ctx: Context) -> Result:
    mod = _restored(opts.mod_key, opts.mod_restored_key)
    build = _restored(opts.build_key, opts.build_restored_key)
    verified: tuple[Path, ...] = ()
    if mod == "fallback":
        with ctx.runtime.group("go mod verify (module cache from a fallback key)"):
            verified = modverify.verify(ctx.cwd, ctx.go).folders
    folder = cache_dir(opts, ctx)
    result = mark(folder)
    ctx.runtime.export_env(MARK_VARIABLE, str(result.mark))
    ctx.runtime.export_env(MARK_ID_VARIABLE, result.registration)
    mod_save = opts.mod_save and mod != "hit"
    lines = [
        f"module cache  {mod}"
        + (f" from {opts.mod_restored_key}" if mod != "miss" else "")
        + (f"; go mod verify passed in {len(verified)} folder(s)" if verified else ""),
        "  save        "
        + (
            "yes, at the end of the job"
            if mod_save
            else "no (restored by its exact key)"
            if mod == "hit"
            else "no (cache-key: not a trusted event, or nothing to download)"
        ),
        f"build cache   {build}" + (f" from {opts.build_restored_key}" if build != "miss" else ""),
        f"cache mark    {result.mark} ({format_time(result.mark)}) in {folder / MARK_FILE}"
        + (f"; {MARK_VARIABLE} set for later steps" if ctx.runtime.in_actions else ""),
        f"  backdated   {result.backdated_files} restored files in {folder} "
        "(so that Go marks each one it uses)",
        f"  job         {folder / registry.REGISTRY / result.registration}"
        + (
            f"; {result.others} other job(s) using this cache: the mark is the earliest "
            "of theirs, nothing used since it moved"
            if result.others
            else ""
        ),
    ]
    outputs = {
        "mark": str(result.mark),
        "backdated-files": result.backdated_files,
        "mod-cache-hit": mod == "hit",
        "build-cache-hit": build == "hit",
        "mod-verified": bool(verified),
        "mod-save": mod_save,
    }
    return Result(outputs=outputs, report="\n".join(lines))


TRIM = Command(
    path=("cache", "trim"),
    help="drop build cache entries this run did not use, then keep it under a size budget",
    settings=TrimOptions,
    outputs=TRIM_OUTPUTS,
    run=run_trim,
)
MARK = Command(
    path=("cache", "mark"),
    help="right after the cache restore: record the time that `cache trim` uses, verify a "
    "module cache from a fallback key",
    settings=MarkOptions,
    outputs=MARK_OUTPUTS,
    run=run_mark,
)
