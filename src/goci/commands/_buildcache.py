"""The job's build-cache plan (``cache-key``, ``goci ci``) and the masking of store credentials.

Apart from :mod:`goci.commands._shared` because ``cache-key`` runs at the start of every job:
it must not pay for loading the stores it never opens (see bench/cache_key.py).
"""

from __future__ import annotations

from pathlib import Path

from goci.cache.cacheprog.plan import STATS_FILE, BuildCachePlan, plan
from goci.command import Context


def mask_credentials(ctx: Context, *urls: str) -> None:
    """Mask the secrets of the environment, and any user-info a URL carries (refused later,
    but it must not show in the log even then)."""
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        if ctx.env.get(name):
            ctx.runtime.mask(ctx.env[name], name=name)
    for url in (*urls, ctx.env.get("AWS_ENDPOINT_URL_S3", ""), ctx.env.get("AWS_ENDPOINT_URL", "")):
        if not url:
            continue
        from goci.release.stores import url_password  # loaded only when a URL is given

        secret = url_password(url)
        if secret:
            ctx.runtime.mask(secret, name="the store URL's user-info")
            ctx.runtime.mask(secret.partition(":")[2] or secret, name="the store URL's password")


def _temp_dir() -> str:
    import tempfile  # slow to import, and rarely needed: the runner names its temp folder

    return tempfile.gettempdir()


def build_cache_plan(
    ctx: Context, requested: str, store: str, endpoint_url: str, stats_dir: Path | None = None
) -> BuildCachePlan:
    """This job's build cache (``cache-key``, ``goci ci``): the store through GOCACHEPROG when
    asked for (or, with ``requested`` empty, when a store and its credentials are given) and
    the job's Go speaks it; else actions/cache. Untrusted events read the store, never write."""
    # build-cache: actions never needs the store's Go version or stats file: neither is asked.
    store_possible = requested != "actions"
    go_version = ctx.go.version(cwd=ctx.cwd) if store_possible else ""
    temp = (
        (stats_dir or ctx.ci.temp or ctx.env.get("TMPDIR") or _temp_dir()) if store_possible else ""
    )
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
        stats=str(Path(temp) / STATS_FILE) if temp else "",
        read_only=ctx.ci.provider != "local" and not ctx.ci.event.trusted,
        has_credentials=bool(ctx.env.get("AWS_ACCESS_KEY_ID")),
        program=_goci_command() if store_possible else (),
    )


def _goci_command() -> tuple[str, ...]:
    """How go starts this goci as GOCACHEPROG (imported here: a tarball job never asks)."""
    from goci.tools.relaunch import goci_command

    return goci_command()
