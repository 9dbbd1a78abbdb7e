"""``goci cache-key``: keys, restore keys and paths of the module cache and the build cache."""

from __future__ import annotations

from goci.cache.keys import check_prefix, compute
from goci.command import Command, Context, Result
from goci.commands._buildcache import build_cache_plan
from goci.options import Options, option
from goci.runtime import markdown_table


class CacheKeyOptions(Options):
    target: str | None = option(
        help="os/arch[/variant][+cgo] the build cache is for (default: GOOS/GOARCH of go)",
        metavar="OS/ARCH",
    )
    prefix: str = option(default="goci", help="readable prefix of every key", check=check_prefix)
    build_cache: str = option(
        default="actions",
        help="actions: a GOCACHE tarball through actions/cache; store: GOCACHEPROG on "
        "--build-cache-store (Go 1.24+); empty: store when a store and credentials are given",
        metavar="actions|store",
        choices=("actions", "store", ""),
    )
    build_cache_store: str = option(
        default="", help="the shared build cache: s3://bucket/prefix or file://DIR", metavar="URL"
    )
    endpoint_url: str = option(default="", help="S3 endpoint of the build-cache store")


OUTPUTS = (
    "mod-key",
    "mod-restore-keys",
    "mod-path",
    "build-key",
    "build-restore-keys",
    "build-path",
    "deps-hash",
    "save",
    "mod-save",
    "build-cache",
    "build-cache-stats",
)


def run(opts: CacheKeyOptions, ctx: Context) -> Result:
    keys = compute(ctx.cwd, ctx.go, ctx.ci, target=opts.target, prefix=opts.prefix)
    shared = build_cache_plan(ctx, opts.build_cache, opts.build_cache_store, opts.endpoint_url)
    if shared.mode == "store":
        ctx.runtime.export_env("GOCACHEPROG", shared.gocacheprog)
    outputs = {
        "mod-key": keys.mod_key,
        "mod-restore-keys": "\n".join(keys.mod_restore_keys),
        "mod-path": keys.mod_path,
        "build-key": keys.build_key,
        "build-restore-keys": "\n".join(keys.build_restore_keys),
        "build-path": keys.build_path,
        "deps-hash": keys.deps_hash,
        "save": keys.save,
        "mod-save": keys.mod_save,
        "build-cache": shared.mode,
        "build-cache-stats": shared.stats,
    }
    report = "\n".join(
        [
            f"module cache  {keys.mod_path}",
            f"  key         {keys.mod_key}",
            *(f"  restore     {k}" for k in keys.mod_restore_keys),
            f"build cache   {shared.mode}: {shared.reason}",
            f"  path        {keys.build_path}",
            f"  key         {keys.build_key}",
            *(f"  restore     {k}" for k in keys.build_restore_keys),
            f"dependencies  {len(keys.dependency_files)} files, hash {keys.deps_hash}",
            f"save          {'yes' if keys.save else 'no (restore only: not a trusted push)'}",
            "module save   "
            + (
                "yes, unless the restore hits the exact key"
                if keys.mod_save
                else "no (restore only: not a trusted push)"
                if not keys.save
                else "no (nothing to download: no go.sum lines, or vendored)"
            ),
        ]
    )
    summary = "### Go cache keys\n\n" + markdown_table(
        ["cache", "key", "path"],
        [
            ["modules", f"`{keys.mod_key}`", f"`{keys.mod_path}`"],
            ["build", f"`{keys.build_key}`", f"`{keys.build_path}`"],
        ],
    )
    return Result(outputs=outputs, report=report, summary=summary)


COMMAND = Command(
    path=("cache-key",),
    help="cache keys for the Go module cache and build cache",
    settings=CacheKeyOptions,
    outputs=OUTPUTS,
    run=run,
)
