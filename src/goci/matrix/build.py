"""Reproducible, stripped, version-stamped binaries of the repository's main packages.

Every binary lands in ``dist/{service}/{target}/{binary}`` next to a ``build.json`` that the
artifact packer reads. Builds are all-or-nothing: everything is built in a temporary folder
inside ``dist`` and moved into place only when every target succeeded. Reproducibility comes
from ``-trimpath``, ``CGO_ENABLED=0``, VCS stamps of a clean tree (``dist`` carries its own
``.gitignore``), and times taken from the commit rather than the clock.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goci.errors import InputError
from goci.matrix.platforms import Platform
from goci.matrix.records import (
    BUILD_JSON,
    Artifact,
    ProfileEntry,
    build_record,
    commit_info,
    read_profile,
    sha256_of,
    tag_version,
)
from goci.matrix.services import MainPackage, inside, main_packages, select
from goci.tools.gittool import Git
from goci.tools.gotool import Go
from goci.tools.workspace import Workspace, discover

_SAFE_VALUE = re.compile(r"^[A-Za-z0-9._+~:@/=-]*$")
_VERSION_VAR = re.compile(r"^[A-Za-z0-9_./-]+\.[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class BuildResult:
    """What ``build`` produced."""

    out: Path
    artifacts: tuple[Artifact, ...]
    skipped: tuple[MainPackage, ...]
    go_version: str
    commit: str | None
    build_time: str | None
    version: str
    flags: tuple[str, ...]
    profile: tuple[ProfileEntry, ...] = field(default=())
    cached_steps: int = 0


# ----------------------------------------------------------------------------- checks


def check_out(out: Path, root: Path, env: Mapping[str, str] | None = None) -> Path:
    """The output folder: inside the workspace (or the runner's own RUNNER_TEMP), not either."""
    resolved = out.resolve()
    allowed = [root]
    for name in ("GITHUB_WORKSPACE", "RUNNER_TEMP"):
        if (env or {}).get(name):
            allowed.append(Path((env or {})[name]).resolve())
    if resolved in allowed or not any(inside(resolved, place) for place in allowed):
        raise InputError(
            f"out: {str(out)!r} is outside the workspace {root}; give a folder inside it "
            "(such as dist) or under RUNNER_TEMP"
        )
    return resolved


def check_version(version: str, version_var: str | None) -> None:
    if version and not _SAFE_VALUE.match(version):
        raise InputError(
            f"version: {version!r} is not valid; accepted: letters, digits and . _ + ~ : @ / = -"
        )
    if version_var is not None and not _VERSION_VAR.match(version_var):
        raise InputError(
            f"version-var: {version_var!r} is not valid; accepted: a package path and a "
            "variable name, such as main.version or example.com/app/internal/build.Version"
        )


# ----------------------------------------------------------------------------- building


@dataclass(frozen=True)
class _Plan:
    go: Go
    root: Path
    workspace: Workspace
    packages: tuple[MainPackage, ...]
    flags: tuple[str, ...]
    ldflags: tuple[str, ...]
    strip: bool
    compare_size: bool
    cgo: bool
    profile: bool
    staging: Path
    meta: Mapping[str, Any]


def _groups(plan: _Plan) -> list[tuple[Path, list[MainPackage]]]:
    """Packages built by one ``go build`` each: per module, or all at once in a go.work."""
    if plan.workspace.gowork is not None:
        return [(plan.workspace.gowork.parent, list(plan.packages))]
    groups: dict[Path, list[MainPackage]] = {}
    for package in plan.packages:
        groups.setdefault(package.module_dir, []).append(package)
    return list(groups.items())


def _mod_flag(cwd: Path, plan: _Plan) -> str:
    vendored = plan.workspace.gowork is None and (cwd / "vendor" / "modules.txt").is_file()
    return "-mod=vendor" if vendored else "-mod=readonly"


def _go_build(
    plan: _Plan, target: Platform, folder: Path, strip: bool, graph: Path | None
) -> dict[str, Path]:
    """Run ``go build`` for every package into ``folder``; returns import path -> binary."""
    env = target.env()
    if plan.cgo:
        env["CGO_ENABLED"] = "1"
    ldflags = (["-s", "-w"] if strip else []) + list(plan.ldflags)
    outputs: dict[str, Path] = {}
    for index, (cwd, packages) in enumerate(_groups(plan)):
        args = ["build", *plan.flags, _mod_flag(cwd, plan)]
        if ldflags:
            args.append("-ldflags=" + " ".join(ldflags))
        if graph is not None:
            args.append(f"-debug-actiongraph={graph.with_suffix(f'.{index}.json')}")
        binaries = [p.binary for p in packages]
        if len(set(binaries)) == len(binaries):
            dest = folder / f"g{index}"
            dest.mkdir(parents=True)
            plan.go.run(
                *args,
                "-o",
                str(dest) + os.sep,
                *(p.import_path for p in packages),
                cwd=cwd,
                env=env,
            )
            for package in packages:
                outputs[package.import_path] = dest / (package.binary + target.exe_suffix)
        else:  # same binary name twice in one module: one build each
            for n, package in enumerate(packages):
                path = folder / f"g{index}-{n}" / (package.binary + target.exe_suffix)
                path.parent.mkdir(parents=True)
                plan.go.run(*args, "-o", str(path), package.import_path, cwd=cwd, env=env)
                outputs[package.import_path] = path
    return outputs


def _build_target(plan: _Plan, target: Platform) -> tuple[list[Artifact], list[ProfileEntry], int]:
    work = Path(tempfile.mkdtemp(prefix=f".{target.folder}-", dir=plan.staging))
    graph = work / "actiongraph" if plan.profile else None
    built = _go_build(plan, target, work / "final", plan.strip, graph)
    unstripped: dict[str, Path] = {}
    if plan.strip and plan.compare_size:
        unstripped = _go_build(plan, target, work / "unstripped", False, None)
    artifacts = []
    for package in plan.packages:
        source = built[package.import_path]
        if not source.is_file():
            raise InputError(f"services: {package.import_path} built no binary for {target.spec}")
        folder = plan.staging / package.service / target.folder
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / source.name
        os.replace(source, dest)
        size = dest.stat().st_size
        full = unstripped.get(package.import_path)
        full_size = full.stat().st_size if full is not None else None
        artifact = Artifact(package, target, dest, size, full_size, sha256_of(dest))
        (folder / BUILD_JSON).write_text(
            json.dumps(build_record(artifact, plan.meta), indent=2, sort_keys=True) + "\n",
            encoding="utf-8",
        )
        artifacts.append(artifact)
    profile: list[ProfileEntry] = []
    cached = 0
    if graph is not None:
        profile, cached = read_profile(sorted(work.glob("actiongraph.*.json")), target.spec)
    shutil.rmtree(work, ignore_errors=True)
    return artifacts, profile, cached


def _ensure_ignored(out: Path) -> None:
    """A ``.gitignore`` of ``*`` in dist, so Go's VCS stamp never sees the tree as modified."""
    out.mkdir(parents=True, exist_ok=True)
    ignore = out / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# written by goci build: keeps build output out of git status\n*\n")


def _install(staging: Path, out: Path, artifacts: Sequence[Artifact]) -> tuple[Artifact, ...]:
    """Move every built target folder into place; the old one goes only after the new is in."""
    final: list[Artifact] = []
    trash = staging / ".old"
    for service_target in sorted({(a.service, a.target.folder) for a in artifacts}):
        source = staging / service_target[0] / service_target[1]
        dest = out / service_target[0] / service_target[1]
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            trash.mkdir(exist_ok=True)
            os.replace(dest, trash / f"{service_target[0]}-{service_target[1]}")
        os.replace(source, dest)
    for artifact in artifacts:
        moved = out / artifact.service / artifact.target.folder / artifact.path.name
        final.append(
            Artifact(
                artifact.package,
                artifact.target,
                moved,
                artifact.size,
                artifact.unstripped_size,
                artifact.sha256,
            )
        )
    return tuple(final)


def build(
    root: Path,
    go: Go,
    git: Git,
    *,
    targets: Sequence[Platform],
    services: Sequence[str] | None = None,
    out: Path | None = None,
    strip: bool = False,
    compare_size: bool = True,
    version: str | None = None,
    version_var: str | None = None,
    only_changed: Sequence[str] | None = None,
    toolexec: str | None = None,
    profile: bool = False,
    cgo: bool = False,
    jobs: int | None = None,
    env: Mapping[str, str] | None = None,
) -> BuildResult:
    """Build the services for every target (in parallel across targets), all or nothing."""
    root = root.resolve()
    out_dir = check_out(out if out is not None else root / "dist", root, env)
    check_version(version or "", version_var)
    if not targets:
        raise InputError("target: no target to build for; give --target os/arch or --platforms")
    folders = [t.folder for t in targets]
    if len(set(folders)) != len(folders):
        twice = next(f for f in folders if folders.count(f) > 1)
        raise InputError(f"platforms: two targets share the output folder {twice!r}; keep one")
    workspace = discover(root, go)
    mains = main_packages(workspace, go)
    # An empty list (changed-packages found no service) builds nothing; None builds them all.
    packages = select(services, mains, root) if services is not None else mains
    if services is None and not packages:
        raise InputError(f"services: no main package in the modules in use under {root}")
    skipped: tuple[MainPackage, ...] = ()
    if only_changed is not None:
        changed = {m.import_path for m in select(only_changed, mains, root, "only-changed")}
        skipped = tuple(p for p in packages if p.import_path not in changed)
        packages = tuple(p for p in packages if p.import_path in changed)
    commit, build_time = commit_info(git, env or {})
    stamp = version if version else (tag_version(git) if commit else "")
    if not stamp and version_var:
        stamp = f"dev-{commit[:12]}" if commit else "dev"
    flags = ["-trimpath", "-buildvcs=auto"]
    if toolexec:
        program = toolexec.split()[0]
        if "/" in program and not os.path.isabs(program) and (root / program).exists():
            toolexec = str((root / program).resolve()) + toolexec[len(program) :]
        flags.append("-toolexec=" + toolexec)
    ldflags = (f"-X={version_var}={stamp}",) if version_var else ()
    go_version = go.version(cwd=root)  # go1.26.8, as `go env GOVERSION` says
    all_ldflags = " ".join([*(["-s", "-w"] if strip else []), *ldflags])
    result_flags = (*flags, "-mod=readonly", *([f"-ldflags={all_ldflags}"] if all_ldflags else []))
    if not packages:
        return BuildResult(
            out_dir, (), skipped, go_version, commit, build_time, stamp, result_flags
        )
    _ensure_ignored(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=".goci-build-", dir=out_dir))
    meta = {
        "go_version": go_version,
        "commit": commit,
        "build_time": build_time,
        "version": stamp,
        "version_var": version_var,
        "strip": strip,
        "cgo": cgo,
        "flags": result_flags,
    }
    plan = _Plan(
        go,
        root,
        workspace,
        packages,
        tuple(flags),
        ldflags,
        strip,
        compare_size,
        cgo,
        profile,
        staging,
        meta,
    )
    try:
        workers = max(1, min(len(targets), jobs or max(2, os.cpu_count() or 2)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_build_target, plan, t) for t in targets]
            results = [f.result() for f in futures]
        built = [a for arts, _, _ in results for a in arts]
        installed = _install(staging, out_dir, built)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    steps = sorted((p for _, prof, _ in results for p in prof), key=lambda p: -p.seconds)
    return BuildResult(
        out_dir,
        installed,
        skipped,
        go_version,
        commit,
        build_time,
        stamp,
        result_flags,
        tuple(steps),
        sum(c for _, _, c in results),
    )
