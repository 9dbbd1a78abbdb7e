"""``goci build``: reproducible, optionally stripped binaries of the services, per target."""

from __future__ import annotations

from typing import Any

from goci.command import Command, Context, Result
from goci.errors import InputError
from goci.matrix import build, platforms
from goci.matrix.plan import service_list
from goci.options import Options, label_of, option
from goci.runtime import counted, markdown_table
from goci.tools.paths import ignore_goci_folders


class BuildOptions(Options):
    target: str | None = option(
        metavar="OS/ARCH",
        help="one target os/arch[/variant][+cgo] (default: GOOS/GOARCH, as go reads them)",
    )
    platforms: tuple[str, ...] | None = option(
        kind="list", help="several targets, built in parallel"
    )
    services: str | None = option(
        help="main packages to build: JSON list or words of import paths, ./folders or "
        "service names (default: every main package of the modules in use)",
        check=service_list,
    )
    strip: bool = option(kind="bool", default=False, help='strip symbols: -ldflags "-s -w"')
    compare_size: bool = option(
        kind="bool",
        default=True,
        help="with --strip, link each binary once more unstripped to report the size saved",
    )
    out: str = option(default=".goci/dist", help="output folder inside the workspace")
    version: str | None = option(
        help="version to stamp (default: the tag on HEAD, else dev-<sha>)", check=build.check_stamp
    )
    version_var: str | None = option(
        help="variable that receives the version through -X, e.g. main.version",
        check=build.check_version_var,
    )
    only_changed: str | None = option(
        help="JSON list of services from changed-packages: skip every other service",
        check=service_list,
    )
    toolexec: str | None = option(help="program passed to go build -toolexec")
    profile: bool = option(kind="bool", default=False, help="report the slowest build steps")
    cgo: bool = option(kind="bool", default=False, help="build with CGO_ENABLED=1")
    jobs: int | None = option(
        kind="int", minimum=1, help="targets built at once (default: CPU count, at least 2)"
    )


OUTPUTS = ("dist", "binaries", "services", "skipped", "version")


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1048576:.2f} MiB" if n >= 1048576 else f"{n / 1024:.1f} KiB"


def _targets(opts: BuildOptions, ctx: Context) -> tuple[platforms.Platform, ...]:
    known = platforms.dist_list(ctx.go, ctx.cwd)
    if opts.target and opts.platforms:
        raise InputError("target: give --target or --platforms, not both")
    if opts.target:
        return (platforms.parse(opts.target, known, input_name="target"),)
    if opts.platforms:
        return platforms.parse_all(opts.platforms, known)
    env = ctx.go.env_values(["GOOS", "GOARCH"], cwd=ctx.cwd)
    return (platforms.parse(f"{env['GOOS']}/{env['GOARCH']}", known, input_name="target"),)


def run(opts: BuildOptions, ctx: Context) -> Result:
    only = opts.only_changed
    only_changed = service_list(only, "only-changed") if only not in (None, "") else None
    out = ctx.workspace_path(label_of(opts, "out"), opts.out, may_be_root=False)
    request = build.BuildRequest(
        targets=_targets(opts, ctx),
        services=service_list(opts.services),
        out=out,
        strip=opts.strip,
        compare_size=opts.compare_size,
        version=opts.version or "",
        version_var=opts.version_var,
        only_changed=only_changed,
        toolexec=opts.toolexec,
        profile=opts.profile,
        cgo=opts.cgo,
        jobs=opts.jobs,
    )
    ignore_goci_folders(out)
    result = build.build(ctx.cwd, ctx.go, ctx.git, request, ctx.env)
    for package in result.skipped:
        ctx.runtime.notice(f"skipped {package.service} ({package.import_path}): not changed")

    def rel(path: Any) -> str:
        try:
            return str(path.relative_to(ctx.cwd))
        except ValueError:
            return str(path)

    outputs = {
        "dist": rel(result.out),
        "binaries": [rel(a.path) for a in result.artifacts],
        "services": sorted({a.service for a in result.artifacts}),
        "skipped": [p.service for p in result.skipped],
        "version": result.version,
    }
    lines = [
        f"built {counted(len(result.artifacts), 'binary', 'binaries')} with {result.go_version}"
        + (f" at {result.commit[:12]}" if result.commit else "")
    ]
    rows = []
    for a in result.artifacts:
        saved = f"{100 * (1 - a.size / a.unstripped_size):.0f}%" if a.unstripped_size else "-"
        lines.append(f"  {rel(a.path)}  {_size(a.size)}  sha256 {a.sha256[:16]}")
        rows.append([a.service, a.target.spec, _size(a.unstripped_size), _size(a.size), saved])
    lines += [f"  skipped {p.service}: not in --only-changed" for p in result.skipped]
    summary = f"### Binaries ({result.go_version})\n\n"
    summary += (
        markdown_table(["service", "target", "unstripped", "size", "saved"], rows)
        if rows
        else "Nothing built."
    )
    if result.skipped:
        summary += "\n\nSkipped (unchanged): " + ", ".join(p.service for p in result.skipped)
    if opts.profile:
        top = result.profile[:10]
        lines.append(f"slowest steps ({result.cached_steps} served from the build cache):")
        lines += [f"  {p.seconds:7.2f}s  {p.mode:5}  {p.package}  [{p.target}]" for p in top]
        summary += "\n\n#### Slowest build steps\n\n" + markdown_table(
            ["seconds", "step", "package", "target"],
            [[f"{p.seconds:.2f}", p.mode, p.package, p.target] for p in top],
        )
    return Result(outputs=outputs, report="\n".join(lines), summary=summary)


COMMAND = Command(
    path=("build",),
    help="build reproducible binaries of the services into .goci/dist/{service}/{os}-{arch}/",
    settings=BuildOptions,
    outputs=OUTPUTS,
    run=run,
)
