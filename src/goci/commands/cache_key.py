"""``goci cache-key``: keys, restore keys and paths of the module cache and the build cache."""

from __future__ import annotations

from dataclasses import dataclass

from goci.cache.keys import compute
from goci.command import Command, Context, Result
from goci.options import option
from goci.runtime import markdown_table


@dataclass(frozen=True)
class CacheKeyOptions:
    target: str | None = option(
        help="os/arch[/variant][+cgo] the build cache is for (default: GOOS/GOARCH of go)",
        metavar="OS/ARCH",
    )
    prefix: str = option(default="goci", help="readable prefix of every key")


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
)


def run(opts: CacheKeyOptions, ctx: Context) -> Result:
    keys = compute(ctx.cwd, ctx.go, ctx.ci, target=opts.target, prefix=opts.prefix)
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
    }
    report = "\n".join(
        [
            f"module cache  {keys.mod_path}",
            f"  key         {keys.mod_key}",
            *(f"  restore     {k}" for k in keys.mod_restore_keys),
            f"build cache   {keys.build_path}",
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
