"""What several commands share: the store options, opening (and closing) a store, and the
job's build-cache plan.

Commands do not import one another (each is loaded only when it runs); what ``artifact upload``
and ``promote`` both need to open a store lives here once. Who is acting, the run's page and the
workspace's folders come from :attr:`goci.command.Context.ci`; the one rule for user-given
paths is :meth:`goci.command.Context.workspace_path`.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from goci.cache.cacheprog.plan import STATS_FILE, BuildCachePlan, plan
from goci.cache.units import parse_duration
from goci.command import Context
from goci.options import label_of, option
from goci.release.stores import Store, Tuning, check_url, open_store, url_password
from goci.tools.owner import Owner
from goci.tools.paths import ignore_goci_folders


@dataclass(frozen=True, kw_only=True)
class StoreOptions:
    """Where releases go and how hard to push the store (``artifact upload``, ``promote``)."""

    store: str = option(
        default="file://.goci/store",
        help="where releases go: file://DIR or s3://bucket/prefix",
        metavar="URL",
        check=check_url,
    )
    endpoint_url: str = option(
        default="",
        help="S3 endpoint for MinIO, SeaweedFS, R2 (default: AWS_ENDPOINT_URL_S3 or AWS)",
        metavar="URL",
    )
    workers: int = option(kind="int", default=8, minimum=1, help="parallel transfers")
    part_size_mb: int = option(
        kind="int", default=8, minimum=1, help="multipart part size in MiB (S3 takes 5 or more)"
    )
    multipart_threshold_mb: int = option(
        kind="int",
        default=32,
        minimum=1,
        help="files larger than this many MiB are sent in parts, in parallel",
    )
    retries: int = option(
        kind="int", default=4, minimum=1, help="attempts per request on transient errors"
    )
    stale_after: str = option(
        default="1h",
        help="an unfinished upload of a writer that cannot be proven gone counts as abandoned "
        "after this long idle (e.g. 30m, 2h); a dead writer's is removed at once",
        metavar="DURATION",
        check=parse_duration,
    )

    @property
    def stale_after_seconds(self) -> float:
        """``--stale-after`` in seconds (``90``, ``30m``, ``2h``, ``1d``)."""
        return parse_duration(self.stale_after, label_of(self, "stale_after"))


def mask_credentials(ctx: Context, *urls: str) -> None:
    """Mask the secrets of the environment, and any user-info a URL carries (refused later,
    but it must not show in the log even then)."""
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        if ctx.env.get(name):
            ctx.runtime.mask(ctx.env[name], name=name)
    for url in (*urls, ctx.env.get("AWS_ENDPOINT_URL_S3", ""), ctx.env.get("AWS_ENDPOINT_URL", "")):
        secret = url_password(url)
        if secret:
            ctx.runtime.mask(secret, name="the store URL's user-info")
            ctx.runtime.mask(secret.partition(":")[2] or secret, name="the store URL's password")


def store_from(opts: StoreOptions, ctx: Context) -> Store:
    """Open the store the options name (credentials are checked here, before any upload)."""
    mask_credentials(ctx, opts.store, opts.endpoint_url)
    scheme, rest = check_url(opts.store, label_of(opts, "store"))
    if scheme == "file":  # a store in .goci/ stays out of git like the rest
        ignore_goci_folders(ctx.path(rest))
    tuning = Tuning(
        part_size=max(5, opts.part_size_mb) * 1024 * 1024,
        multipart_threshold=opts.multipart_threshold_mb * 1024 * 1024,
        workers=opts.workers,
        attempts=opts.retries,
    )
    return open_store(
        opts.store,
        endpoint_url=opts.endpoint_url,
        env=ctx.env,
        cwd=ctx.cwd,
        tuning=tuning,
        owner=Owner.current(ctx.ci.job, ctx.ci.attempt),
    )


@contextlib.contextmanager
def opened_store(opts: StoreOptions, ctx: Context) -> Iterator[Store]:
    """The store the options name, closed (its transfer threads ended) when the block ends."""
    store = store_from(opts, ctx)
    try:
        yield store
    finally:
        store.close()


def build_cache_plan(
    ctx: Context, requested: str, store: str, endpoint_url: str, stats_dir: Path | None = None
) -> BuildCachePlan:
    """This job's build cache (``cache-key``, ``goci ci``): the store through GOCACHEPROG when
    asked for (or, with ``requested`` empty, when a store and its credentials are given) and
    the job's Go speaks it; else actions/cache. Untrusted events read the store, never write."""
    go_version = ctx.go.version(cwd=ctx.cwd) if requested != "actions" else ""
    temp = stats_dir or ctx.ci.temp or ctx.env.get("TMPDIR") or tempfile.gettempdir()
    mask_credentials(ctx, store, endpoint_url)
    scheme, sep, rest = store.strip().partition("://")
    if sep and scheme.lower() == "file" and rest and not Path(rest).is_absolute():
        store = (ctx.cwd / rest).resolve().as_uri()  # the go command starts it elsewhere
    return plan(
        requested,
        go_version=go_version,
        store=store,
        endpoint_url=endpoint_url,
        namespace=ctx.ci.repository,
        stats=str(Path(temp) / STATS_FILE),
        read_only=ctx.ci.provider != "local" and not ctx.ci.event.trusted,
        has_credentials=bool(ctx.env.get("AWS_ACCESS_KEY_ID")),
        program=(sys.executable, "-m", "goci"),
    )
