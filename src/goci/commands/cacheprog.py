"""``goci cacheprog``: the GOCACHEPROG server; ``goci cacheprog gc`` and ``goci cacheprog report``.

The server is started by the go command, not by a workflow step: its whole configuration is
its command line (``GOCACHEPROG``), and the ``INPUT_*``/``PLUGIN_*`` variables of whatever step
runs go are not its settings (``working-directory``, ``store`` or ``mode`` of another command
would otherwise leak in). Its stdout belongs to the protocol alone; everything it says goes to
stderr, which the go command passes on. A store that cannot be opened or fails later makes it a
local cache with one warning: the build never fails because the shared cache did.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from goci.cache.cacheprog import stats as cachestats
from goci.cache.cacheprog.entries import Layout
from goci.cache.cacheprog.gc import collect
from goci.cache.cacheprog.local import LocalTier
from goci.cache.cacheprog.remote import RemoteTier
from goci.cache.cacheprog.server import Server
from goci.cache.units import format_size, parse_duration, parse_size
from goci.command import Command, Context, Result
from goci.commands._shared import mask_credentials
from goci.errors import GociError, InputError
from goci.options import Options, option
from goci.release.stores import Store, Tuning, open_store, redact_url
from goci.runtime import markdown_table
from goci.tools.owner import Owner

MODES = ("serve", "gc", "report")
LOCAL_FOLDER = "goci-cacheprog"


class CacheprogOptions(Options):
    mode: tuple[str, ...] | None = option(
        kind="list",
        positional=True,
        metavar="gc|report",
        help="none: serve the go command (GOCACHEPROG); gc: trim the store; report: add up "
        "the --stats file into one table (the job summary)",
    )
    store: str = option(
        default="",
        help="the shared cache: file://DIR or s3://bucket/prefix (none: local only)",
        metavar="URL",
    )
    endpoint_url: str = option(
        default="",
        help="S3 endpoint for MinIO, SeaweedFS, R2 (default: AWS_ENDPOINT_URL_S3 or AWS)",
        metavar="URL",
    )
    namespace: str = option(
        default="",
        help="the prefix that keeps one repository's entries apart (default: the GitHub "
        "repository, else 'default')",
        metavar="OWNER/REPO",
    )
    local: str = option(
        default="",
        help=f"the local tier (default: GOCACHE/{LOCAL_FOLDER}, so a fresh GOCACHE is a fresh "
        "local tier)",
        metavar="DIR",
    )
    read_only: bool | None = option(
        kind="bool",
        help="never write the store (default: read-only unless a push to the default branch, "
        "a tag or a local run)",
    )
    timeout: str = option(
        default="10s",
        help="a store request not answered within this is a miss, and the store is left alone "
        "for the rest of the run",
        metavar="DURATION",
        check=parse_duration,
    )
    flush_timeout: str = option(
        default="60s",
        help="at close, how long to wait for uploads still running",
        metavar="DURATION",
        check=parse_duration,
    )
    stats: str = option(
        default="",
        help="add this run's counts to FILE (one JSON line per go command; report adds them up)",
        metavar="FILE",
    )
    max_size: str = option(
        default="none",
        help="gc: then drop least recently used objects until the store fits (10GiB, none)",
        metavar="SIZE",
    )
    unused_since: str | None = option(
        help="gc: drop entries no build used for this long (7d, 12h); marks are written at "
        "most once a day, so an entry may stay a day longer",
        metavar="DURATION",
    )


def _mode(opts: CacheprogOptions) -> str:
    words = list(opts.mode or ())
    if len(words) > 1 or (words and words[0] not in MODES[1:]):
        raise InputError(
            f"goci cacheprog: {' '.join(words)!r} is not a mode; use no word (serve), gc or report"
        )
    return words[0] if words else "serve"


def _namespace(opts: CacheprogOptions, ctx: Context) -> Layout:
    return Layout.of(opts.namespace or ctx.ci.repository or "default")


def _local_root(opts: CacheprogOptions, ctx: Context) -> Path:
    if opts.local:
        return ctx.path(opts.local)
    gocache = ctx.env.get("GOCACHE") or ctx.go.env_values(["GOCACHE"], cwd=ctx.cwd)["GOCACHE"]
    if not gocache or gocache == "off":
        raise InputError("--local: GOCACHE is off or unknown; pass --local DIR")
    return Path(gocache) / LOCAL_FOLDER


def _open(opts: CacheprogOptions, ctx: Context, attempts: int) -> Store:
    mask_credentials(ctx, opts.store, opts.endpoint_url)
    return open_store(
        opts.store,
        endpoint_url=opts.endpoint_url,
        env=ctx.env,
        cwd=ctx.cwd,
        tuning=Tuning(workers=16, attempts=attempts, backoff=0.2),
        owner=Owner.current(ctx.ci.job, ctx.ci.attempt),
    )


def _read_only(opts: CacheprogOptions, ctx: Context) -> bool:
    if opts.read_only is not None:
        return opts.read_only
    return ctx.ci.provider != "local" and not ctx.ci.event.trusted


def run_serve(opts: CacheprogOptions, ctx: Context) -> int:
    """Serve the go command on stdin/stdout until it closes; the exit code."""
    timeout = parse_duration(opts.timeout, "--timeout")
    flush_timeout = parse_duration(opts.flush_timeout, "--flush-timeout")
    layout = _namespace(opts, ctx)
    local = LocalTier(_local_root(opts, ctx))
    out_fd = os.dup(1)  # the protocol's channel; stray prints go to stderr from here on
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    recorder = cachestats.Recorder()
    warn = ctx.runtime.warning
    remote = None
    store: Store | None = None
    if opts.store:
        try:
            store = _open(opts, ctx, attempts=2)
            remote = RemoteTier(store, layout, recorder, read_only=_read_only(opts, ctx), warn=warn)
        except GociError as exc:
            recorder.degraded(str(exc).splitlines()[0])
            warn(f"goci cacheprog: {exc}; the build goes on with the local cache only")
    server = Server(
        local,
        remote,
        recorder,
        out_fd=out_fd,
        timeout=timeout,
        flush_timeout=flush_timeout,
        warn=warn,
    )
    with open(0, "rb", buffering=1 << 16, closefd=False) as stdin:
        server.serve(stdin)
    counts = recorder.snapshot()
    if counts.gets or counts.puts:
        ctx.runtime.log(counts.line(redact_url(opts.store) if opts.store else "no store"))
    if opts.stats:
        cachestats.append(ctx.path(opts.stats), counts)
    os.close(out_fd)
    return 0


def run_gc(opts: CacheprogOptions, ctx: Context) -> Result:
    if not opts.store:
        raise InputError("--store: goci cacheprog gc needs the store to trim")
    unused_for = parse_duration(opts.unused_since, "--unused-since") if opts.unused_since else None
    max_size = parse_size(opts.max_size)
    if unused_for is None and max_size is None:
        raise InputError("goci cacheprog gc: give --unused-since DURATION, --max-size SIZE or both")
    layout = _namespace(opts, ctx)
    store = _open(opts, ctx, attempts=4)
    try:
        result = collect(store, layout, unused_for=unused_for, max_size=max_size, now=time.time())
    finally:
        store.close()
    where = f"{redact_url(store.url)}/{layout.root}"
    report = "\n".join(
        [
            f"shared build cache  {where}",
            f"  before            {result.objects_before} objects, "
            f"{format_size(result.bytes_before)}",
            f"  removed           {result.removed_unused} unused, {result.removed_over_budget} "
            f"over budget ({format_size(result.removed_bytes)}); {result.changed_meanwhile} "
            "used or changed meanwhile, kept",
            f"  after             {result.kept_objects} objects, {format_size(result.kept_bytes)}",
            *(f"  leftover          {line}" for line in result.leftovers),
        ]
    )
    summary = "### Shared build cache trim\n\n" + markdown_table(
        ["before", "removed (unused)", "removed (over budget)", "after"],
        [
            [
                f"{result.objects_before} objects, {format_size(result.bytes_before)}",
                str(result.removed_unused),
                str(result.removed_over_budget),
                f"{result.kept_objects} objects, {format_size(result.kept_bytes)}",
            ]
        ],
    )
    return Result(report=report, summary=summary)


def run_report(opts: CacheprogOptions, ctx: Context) -> Result:
    if not opts.stats:
        raise InputError("--stats: goci cacheprog report needs the stats file the servers wrote")
    path = ctx.path(opts.stats)
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    counts = cachestats.total(lines)
    if not counts.processes:
        return Result(report=f"goci cacheprog: no go command used the shared cache ({path})")
    line = counts.line(redact_url(opts.store) if opts.store else "the store")
    summary = "### Shared build cache (goci cacheprog)\n\n" + markdown_table(
        cachestats.TABLE_HEADERS, [counts.table_row()]
    )
    return Result(report=f"{line} ({counts.processes} go commands)", summary=summary)


def run(opts: CacheprogOptions, ctx: Context) -> Result:
    mode = _mode(opts)
    if mode == "gc":
        return run_gc(opts, ctx)
    if mode == "report":
        return run_report(opts, ctx)
    code = run_serve(opts, ctx)
    # The pools' threads may still wait on a store that never answers: nothing of theirs is
    # needed any more, and joining them at exit could take as long as the store's timeouts.
    sys.stderr.flush()
    os._exit(code)


COMMAND = Command(
    path=("cacheprog",),
    help="GOCACHEPROG server: the build cache shared through a store (gc, report)",
    settings=CacheprogOptions,
    outputs=(),
    run=run,
    cli_only=True,
)
