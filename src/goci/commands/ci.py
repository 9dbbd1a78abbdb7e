"""``goci ci`` and ``goci drone``: the whole pipeline on one machine, in order.

``goci drone`` is the same pipeline configured the way a Drone/Woodpecker plugin is: settings
arrive as ``PLUGIN_*`` variables (the option resolver reads them) and the commit range as
``DRONE_COMMIT_BEFORE``/``DRONE_COMMIT_AFTER``. The seed plugin's settings ``targets``,
``strip_debug`` and ``skip_unchanged`` are aliases of ``platforms``, ``strip`` and
``only-changed``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO, cast

from goci.cache.cacheprog import stats as cachestats
from goci.cache.cacheprog.plan import BuildCachePlan
from goci.command import Command, Context, Result
from goci.commands import _pipeline as pipeline
from goci.commands._shared import build_cache_plan, mask_credentials
from goci.errors import InputError, bad_input
from goci.gotest.results import COVERPKG_HELP
from goci.matrix import goreleases, platforms
from goci.options import Options, label_of, option
from goci.progress import ProgressStream
from goci.release.names import parse_semver
from goci.release.stores import check_url, redact_url
from goci.runtime import OUTPUT_FILE, Runtime, markdown_table
from goci.tools.paths import WorkspaceRoots, workspace_path
from goci.tools.workspace import discover

DEFAULT_PLATFORMS = ("linux/amd64", "linux/arm64", "darwin/arm64", "windows/amd64")


class CiOptions(Options):
    path: tuple[str, ...] | None = option(
        kind="list",
        positional=True,
        metavar="DIR",
        help="the repository folder (default .)",
    )
    base: str | None = option(
        help="compare with this commit (default: the CI event; else everything)"
    )
    head: str | None = option(help="the commit to test (default: HEAD)")
    platforms: tuple[str, ...] = option(
        kind="list",
        aliases=("targets",),
        default=list(DEFAULT_PLATFORMS),
        help="targets to build (os/arch; Drone targets may be {os, arch} objects)",
    )
    go_versions: tuple[str, ...] = option(
        kind="list",
        default=["local"],
        help="Go versions of the matrix shown ('local' = the go on PATH)",
    )
    strip: bool = option(
        kind="bool",
        aliases=("strip-debug",),
        default=True,
        help='strip symbols from binaries (-ldflags "-s -w")',
    )
    only_changed: bool = option(
        kind="bool",
        aliases=("skip-unchanged",),
        default=True,
        help="build only the services the change touches",
    )
    test: bool = option(kind="bool", default=True, help="run the tests (--no-test skips them)")
    upload: bool = option(kind="bool", default=True, help="upload the packed release")
    store: str = option(
        default="", help="where to upload (default: file://WORK-DIR/store)", check=check_url
    )
    endpoint_url: str = option(default="", help="S3 endpoint for s3:// stores")
    env: str = option(choices=("dev", "prod"), default="dev", help="release environment")
    version: str = option(default="", help="semantic version (with --env prod)", check=parse_semver)
    min_total: float | None = option(
        kind="float", minimum=0, maximum=100, help="fail below this total coverage percent"
    )
    parallel: int = option(
        kind="int", default=0, minimum=0, help="packages tested at once (default 0: CPUs)"
    )
    coverpkg: tuple[str, ...] | None = option(
        kind="list",
        help=COVERPKG_HELP,
    )
    work_dir: str = option(default=".goci", help="where reports, dist and the store go")
    build_cache: str = option(
        default="actions",
        help="store: the go command's build cache through GOCACHEPROG on --build-cache-store",
        metavar="actions|store",
    )
    build_cache_store: str = option(
        default="", help="the shared build cache (default file://WORK-DIR/build-cache)"
    )


OUTPUTS = ("status", "total", "headline", "api", "services", "releases", "manifest-url")


def platform_words(items: Sequence[str]) -> tuple[str, ...]:
    """Normalise targets: ``os/arch`` words, or Drone's ``{"os": .., "arch": ..}`` objects."""
    words: list[str] = []
    for item in items:
        if item.startswith("{"):
            try:
                obj = json.loads(item)
            except ValueError:
                raise InputError(f"targets: {item!r} is not a JSON object") from None
            if not isinstance(obj, dict) or not obj.get("os") or not obj.get("arch"):
                raise InputError(f'targets: {item!r} needs "os" and "arch", e.g. linux/amd64')
            words.append(f"{obj['os']}/{obj['arch']}")
        else:
            words.append(item)
    return tuple(dict.fromkeys(words))


def go_versions(words: Sequence[str], ctx: Context, label: str) -> tuple[str, ...]:
    """'local' becomes the exact version of the go on PATH, so the plan needs no network.

    The matrix step plans offline, so every other word must be an exact version or a minor
    (or go.mod): checked here, before any step runs.
    """
    online = [w for w in words if w.strip() in ("stable", "oldstable")]
    if online:
        raise bad_input(
            label,
            online[0],
            "goci ci plans without the network: give local, go.mod, a minor (1.24) or an "
            "exact version (1.24.3)",
        )
    local = ctx.go.version(cwd=ctx.cwd).removeprefix("go")
    versions = tuple(dict.fromkeys(local if w == "local" else w for w in words))
    needs_modules = any(w.strip() in ("go.mod", "toolchain") for w in versions)
    modules = discover(ctx.cwd, ctx.go).modules if needs_modules else ()
    goreleases.resolve_versions(versions, modules=modules, offline=True)
    return versions


def targets(opts: CiOptions, ctx: Context) -> tuple[str, ...]:
    """The platform words, each checked against ``go tool dist list`` before any step runs."""
    words = platform_words(opts.platforms)
    known = platforms.dist_list(ctx.go, ctx.cwd)
    platforms.parse_all(words, known, input_name=label_of(opts, "platforms"))
    return words


def blocking_file(folder: Path) -> Path | None:
    """The file that stops ``folder`` from being a folder (it, or a parent), if there is one."""
    for path in (folder, *folder.parents):
        if path.exists():
            return None if path.is_dir() else path
    return None


def _check_folder(option: str, value: str, folder: Path) -> None:
    try:
        found = blocking_file(folder)
    except OSError as exc:
        raise InputError(f"{option}: {value!r} cannot be used ({exc.strerror or exc})") from None
    if found is not None:
        raise InputError(
            f"{option}: {value!r} needs the folder {folder}, but {found} is a file; "
            "give a folder (or remove the file)"
        )


def _check_store(value: str, cwd: Path) -> None:
    """A file:// store must be a folder: found here, before the tests and the build ran."""
    scheme, sep, rest = value.strip().partition("://")
    if sep and scheme.lower() == "file" and rest:
        _check_folder("--store", value, Path(rest) if Path(rest).is_absolute() else cwd / rest)


def settings_from(opts: CiOptions, ctx: Context, *, drone: bool) -> pipeline.Settings:
    """Every option checked (what the flags' declarations could not check alone: folders, the
    platforms, the Go versions, the credentials) before the first step runs."""
    # Only inside the repository folder: the steps are given paths relative to it.
    work = workspace_path(label_of(opts, "work_dir"), opts.work_dir, WorkspaceRoots(ctx.cwd))
    _check_folder(label_of(opts, "work_dir"), opts.work_dir, work)
    store = opts.store or (work / "store").as_uri()
    if opts.upload:
        _check_store(store, ctx.cwd)
        mask_credentials(ctx, store, opts.endpoint_url)
    if opts.env == "prod" and not opts.version:
        raise InputError(
            f"{label_of(opts, 'version')}: a prod release needs a semantic version (e.g. 1.4.0)"
        )
    base = opts.base
    head = opts.head
    if drone:
        base = base or ctx.ci.before or None
        head = head or ctx.ci.head_sha or None
    return pipeline.Settings(
        base=base,
        head=head,
        platforms=targets(opts, ctx),
        go_versions=go_versions(opts.go_versions, ctx, label_of(opts, "go_versions")),
        strip=opts.strip,
        only_changed=opts.only_changed,
        test=opts.test,
        upload=opts.upload,
        store=store,
        endpoint_url=opts.endpoint_url,
        env=opts.env,
        version=opts.version,
        min_total=opts.min_total,
        parallel=opts.parallel,
        coverpkg=opts.coverpkg or (),
        work=work,
    )


def _in_folder(opts: CiOptions, ctx: Context) -> Context:
    """The context of the repository folder ``goci ci DIR`` names (this one by default)."""
    paths = opts.path or ()
    if len(paths) > 1:
        raise InputError(f"goci ci takes one folder, got {len(paths)}: {' '.join(paths)}")
    if not paths:
        return ctx
    folder = ctx.path(paths[0])
    if not folder.is_dir():
        raise InputError(f"DIR: {paths[0]!r} is not a folder")
    return Context(cwd=folder, env=ctx.env, runtime=ctx.runtime, json_output=ctx.json_output)


def _run(opts: CiOptions, ctx: Context, *, drone: bool) -> Result:
    ctx = _in_folder(opts, ctx)
    settings = settings_from(opts, ctx, drone=drone)
    stream = ProgressStream(ctx.runtime.stream, live=ctx.runtime.stream.isatty(), prefix="  ")
    # The steps' outputs are the pipeline's business, not the workflow's: without GITHUB_OUTPUT
    # no step spills a long list to a file or writes outputs of its own.
    step_env = {k: v for k, v in ctx.env.items() if k != OUTPUT_FILE}
    shared = _build_cache(opts, ctx, settings.work)
    if shared is not None:
        step_env["GOCACHEPROG"] = shared.gocacheprog
    quiet = Context(
        cwd=ctx.cwd,
        env=step_env,
        runtime=Runtime(step_env, cast(TextIO, stream), ctx.runtime.secrets, weak=ctx.runtime.weak),
    )
    show = ctx.runtime.log if ctx.json_output else ctx.runtime.out

    def emit(text: str) -> None:
        stream.settle()
        show(text + "\n")

    run = pipeline.run(settings, quiet, emit)
    stream.settle()
    rows = pipeline.table(run)
    outputs = outputs_of(run)
    verdict = "passed" if run.exit_code == 0 else "failed"
    report = f"goci ci {ctx.cwd}: {verdict}\n" + _text_table(rows)
    if shared is not None:
        report += "\n" + cachestats.total(Path(shared.stats).read_text().splitlines()).line(
            redact_url(shared.store)
        )
    summary = f"## goci ci: {verdict}\n\n" + markdown_table(
        ["step", "status", "time", "result"], rows
    )
    return Result(outputs=outputs, report=report, summary=summary, exit_code=run.exit_code)


def _build_cache(opts: CiOptions, ctx: Context, work: Path) -> BuildCachePlan | None:
    """The shared build cache's plan in store mode (its stats file emptied), else None."""
    if opts.build_cache == "actions":
        return None
    store = opts.build_cache_store or (work / "build-cache").as_uri()
    shared = build_cache_plan(ctx, opts.build_cache, store, opts.endpoint_url, stats_dir=work)
    ctx.runtime.log(f"build cache: {shared.mode}: {shared.reason}")
    if shared.mode != "store":
        return None
    work.mkdir(parents=True, exist_ok=True)
    Path(shared.stats).write_text("")
    return shared


def outputs_of(run: pipeline.PipelineRun) -> dict[str, Any]:
    def output(step: str, name: str, default: Any = "") -> Any:
        result = run.step(step).result
        return result.outputs.get(name, default) if result else default

    releases = output("pack", "release")
    return {
        "status": "passed" if run.exit_code == 0 else "failed",
        "total": output("coverage", "total"),
        "headline": output("coverage", "headline"),
        "api": output("api", "summary", {}),
        "services": output("build", "services", []),
        "releases": releases.split() if isinstance(releases, str) else releases,
        "manifest-url": output("upload", "manifest-url"),
    }


def _text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        f"  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}" for r in rows
    )


def run_ci(opts: CiOptions, ctx: Context) -> Result:
    return _run(opts, ctx, drone=False)


def run_drone(opts: CiOptions, ctx: Context) -> Result:
    return _run(opts, ctx, drone=True)


COMMAND = Command(
    path=("ci",),
    help="the whole pipeline on one machine: changed, matrix, test, coverage, build, publish",
    settings=CiOptions,
    outputs=OUTPUTS,
    run=run_ci,
)
DRONE_COMMAND = Command(
    path=("drone",),
    help="the pipeline as a Drone/Woodpecker plugin (settings from PLUGIN_*)",
    settings=CiOptions,
    outputs=OUTPUTS,
    run=run_drone,
)
