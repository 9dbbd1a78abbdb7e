"""What several commands share: the store options, opening (and closing) a store, and (from
:mod:`goci.commands._buildcache`) the job's build-cache plan.

Commands do not import one another (each is loaded only when it runs); what ``artifact upload``
and ``promote`` both need to open a store lives here once. Who is acting, the run's page and the
workspace's folders come from :attr:`goci.command.Context.ci`; the one rule for user-given
paths is :meth:`goci.command.Context.workspace_path`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from goci.cache.units import parse_duration
from goci.command import Context
from goci.commands._buildcache import build_cache_plan as build_cache_plan
from goci.commands._buildcache import mask_credentials as mask_credentials
from goci.options import Options, label_of, option
from goci.release.stores import Store, Tuning, check_url, open_store
from goci.tools.owner import Owner
from goci.tools.paths import ignore_goci_folders


class StoreOptions(Options):
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
