"""The whole pipeline on one machine: changed -> api -> matrix -> test -> coverage -> build ->
publish.

``goci ci`` and ``goci drone`` run the same steps a GitHub workflow runs, in order, by calling
the very commands the composite actions call (through the registry), so a local run and a CI
run cannot drift apart. Each step's report is shown as it finishes; a failed verdict stops
the publishing steps but still shows what was learnt.

It belongs to the shell, not the core: it runs commands through the registry. It sits beside
:mod:`goci.commands.ci` (its only user) as a module of its own because together they would be
too long to read; it is not a command.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goci.command import Context, Result
from goci.errors import GociError, InputError
from goci.runtime import counted
from goci.tools.paths import ignore_folder

Emit = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    """What a pipeline run was asked to do (already validated plain values)."""

    base: str | None
    head: str | None
    platforms: tuple[str, ...]
    go_versions: tuple[str, ...]
    strip: bool
    only_changed: bool
    test: bool
    upload: bool
    store: str
    endpoint_url: str
    env: str
    version: str
    min_total: float | None
    parallel: int
    coverpkg: tuple[str, ...]
    work: Path

    def inside(self, name: str, ctx: Context) -> str:
        """A path under the work folder, relative to the repository (commands want that)."""
        return (self.work / name).relative_to(ctx.cwd).as_posix()


@dataclass
class Step:
    """One step's outcome, for the final table."""

    name: str
    status: str = "skipped"
    seconds: float = 0.0
    note: str = ""
    result: Result | None = None


@dataclass
class PipelineRun:
    """Every step of a run and the verdict."""

    steps: list[Step] = field(default_factory=list)
    exit_code: int = 0

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)


STEP_NAMES = ("changed", "api", "matrix", "test", "coverage", "build", "pack", "upload")


def invoke(path: tuple[str, ...], overrides: Mapping[str, Any], ctx: Context) -> Result:
    """Run a registered command with option values given by name (defaults for the rest).

    The environment is not consulted for options here: the pipeline's own INPUT_/PLUGIN_
    settings were already read by ``goci ci``, and must not leak into its steps.
    """
    from goci.commands import find

    command = find(path)
    if command is None:
        raise AssertionError(f"goci {' '.join(path)} is not registered")
    cli = {name.replace("-", "_"): value for name, value in overrides.items()}
    return command.run(command.parse(cli, {}), ctx)


def _short(items: list[str], limit: int = 6) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def run(settings: Settings, ctx: Context, emit: Emit) -> PipelineRun:
    """Run every step in order; ``emit`` receives each step's report as it finishes."""
    pipeline = PipelineRun([Step(name) for name in STEP_NAMES])
    ignore_folder(settings.work)  # reports, binaries and the local store never belong in git
    state: dict[str, Any] = {}

    def attempt(name: str, action: Callable[[], tuple[Result, str]]) -> Result | None:
        step = pipeline.step(name)
        started = time.monotonic()
        try:
            with ctx.runtime.group(f"[{STEP_NAMES.index(name) + 1}/{len(STEP_NAMES)}] {name}"):
                result, note = action()
        except InputError:
            raise
        except GociError as exc:
            step.status, step.note = "failed", str(exc).splitlines()[0]
            step.seconds = time.monotonic() - started
            emit(f"── {name}: failed\n{exc}")
            pipeline.exit_code = pipeline.exit_code or exc.exit_code
            return None
        step.seconds = time.monotonic() - started
        step.result, step.note = result, note
        step.status = "ok" if result.exit_code == 0 else "failed"
        if result.exit_code:
            pipeline.exit_code = pipeline.exit_code or result.exit_code
        emit(f"── {name} ({step.seconds:.1f}s)\n{result.report.rstrip()}")
        return result

    changed = attempt("changed", lambda: _changed(settings, ctx, state))
    if changed is None:
        return pipeline
    if not changed.outputs["any"]:
        for step in pipeline.steps[1:]:
            step.note = "nothing Go-relevant changed"
        return pipeline
    attempt("api", lambda: _api(ctx, state))
    attempt("matrix", lambda: _matrix(settings, ctx, state))
    if settings.test:
        tested = attempt("test", lambda: _test(settings, ctx, state))
        if tested is not None and any((settings.work / "coverage").glob("*.cover")):
            attempt("coverage", lambda: _coverage(settings, ctx, state))
        else:
            pipeline.step("coverage").note = "no test run to merge"
    if pipeline.exit_code:
        for name in ("build", "pack", "upload"):
            pipeline.step(name).note = "not run: an earlier step said no"
        return pipeline
    built = attempt("build", lambda: _build(settings, ctx, state))
    if built is None or not state.get("built_services"):
        pipeline.step("pack").note = pipeline.step("upload").note = "no service to publish"
        return pipeline
    packed = attempt("pack", lambda: _pack(settings, ctx, state))
    if packed is not None and settings.upload:
        attempt("upload", lambda: _upload(settings, ctx, state))
    elif not settings.upload:
        pipeline.step("upload").note = "upload off"
    return pipeline


def _changed(settings: Settings, ctx: Context, state: dict[str, Any]) -> tuple[Result, str]:
    result = invoke(
        ("changed",),
        {"base": settings.base, "head": settings.head, "platform": list(settings.platforms)},
        ctx,
    )
    out = result.outputs
    state["merge_base"] = out["merge-base"]
    state["test_packages"] = out["test-packages"]
    state["services"] = out["services"]
    if not out["any"]:
        return result, "nothing Go-relevant changed"
    note = (
        f"{counted(len(out['packages']), 'package')}, {len(out['test-packages'])} to test, "
        f"{counted(len(out['services']), 'service')}"
    )
    return result, note + (" (everything)" if out["all"] else "")


def _api(ctx: Context, state: dict[str, Any]) -> tuple[Result, str]:
    """The exported API change, as a report: it never stops the pipeline."""
    if not state["merge_base"]:
        return Result(report="API: not compared (no merge base)"), "not compared: no merge base"
    try:
        result = invoke(("api-diff",), {"base": state["merge_base"]}, ctx)
    except InputError:
        raise
    except GociError as exc:
        why = str(exc).splitlines()[0]
        return Result(report=f"API: not compared ({why})"), f"not compared: {why}"
    state["api"] = result.outputs["summary"]
    return (
        result,
        f"{result.outputs['compatible']} compatible, {result.outputs['breaking']} breaking",
    )


def _matrix(settings: Settings, ctx: Context, state: dict[str, Any]) -> tuple[Result, str]:
    result = invoke(
        ("matrix",),
        {
            "go-versions": list(settings.go_versions),
            "platforms": list(settings.platforms),
            "offline": True,
        },
        ctx,
    )
    return result, counted(int(result.outputs["count"]), "job")


def _test(settings: Settings, ctx: Context, state: dict[str, Any]) -> tuple[Result, str]:
    out = settings.inside("coverage", ctx)
    shutil.rmtree(settings.work / "coverage", ignore_errors=True)  # profiles of this run only
    result = invoke(
        ("test",),
        {
            "packages": json.dumps(state["test_packages"]),
            "out": out,
            "junit": settings.inside("junit.xml", ctx),
            "parallel": settings.parallel,
            "coverpkg": list(settings.coverpkg),
        },
        ctx,
    )
    state["profiles"] = out
    o = result.outputs
    verdict = "passed" if o["passed"] else f"{o['failed']} failing"
    return result, f"{o['tests']} tests in {o['packages']} packages, {verdict}"


def _coverage(settings: Settings, ctx: Context, state: dict[str, Any]) -> tuple[Result, str]:
    result = invoke(
        ("coverage", "merge"),
        {
            "profiles": [state["profiles"]],
            "out": settings.inside("coverage.out", ctx),
            "min-total": settings.min_total,
            "html": settings.inside("coverage.html", ctx),
            "base": state["merge_base"] or None,
            "api-summary": state.get("api"),
        },
        ctx,
    )
    return result, result.outputs["headline"]


def _build(settings: Settings, ctx: Context, state: dict[str, Any]) -> tuple[Result, str]:
    services = state["services"]
    if settings.only_changed and not services:
        state["built_services"] = []
        return Result(report="no service changed: nothing to build"), "no service changed"
    shutil.rmtree(settings.work / "dist", ignore_errors=True)  # publish this run's builds only
    overrides: dict[str, Any] = {
        "platforms": list(settings.platforms),
        "strip": settings.strip,
        "out": settings.inside("dist", ctx),
    }
    if settings.only_changed:
        overrides["services"] = json.dumps(services)
    if settings.version:
        overrides["version"] = settings.version
    result = invoke(("build",), overrides, ctx)
    state["built_services"] = result.outputs["services"]
    count = len(result.outputs["binaries"])
    return (
        result,
        f"{counted(count, 'binary', 'binaries')} for {counted(len(settings.platforms), 'target')}",
    )


def _pack(settings: Settings, ctx: Context, state: dict[str, Any]) -> tuple[Result, str]:
    overrides: dict[str, Any] = {
        "env": settings.env,
        "service": list(state["built_services"]),
        "dist": settings.inside("dist", ctx),
    }
    if settings.env == "prod":
        overrides["version"] = settings.version
    result = invoke(("artifact", "pack"), overrides, ctx)
    release = result.outputs["release"]
    state["releases"] = release.split() if isinstance(release, str) else list(release)
    return result, _short([str(r) for r in state["releases"]])


def _upload(settings: Settings, ctx: Context, state: dict[str, Any]) -> tuple[Result, str]:
    result = invoke(
        ("artifact", "upload"),
        {
            "store": settings.store,
            "endpoint-url": settings.endpoint_url,
            "dist": settings.inside("dist", ctx),
            "release": [str(r) for r in state["releases"]],
        },
        ctx,
    )
    return result, settings.store


def table(pipeline: PipelineRun) -> list[list[str]]:
    """Rows of the final step table: step, status, time, what it found."""
    return [
        [s.name, s.status, f"{s.seconds:.1f}s" if s.status != "skipped" else "", s.note]
        for s in pipeline.steps
    ]
