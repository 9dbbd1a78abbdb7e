"""Reproducible, stripped, version-stamped binaries of the repository's main packages.

Every binary lands in ``dist/{service}/{folder}/{binary}`` (``linux-amd64``, ``linux-arm-v7``)
next to a ``build.json`` that the artifact packer reads. Builds are all-or-nothing: everything
is built in a temporary folder inside ``dist`` and each target folder swapped into place only
when every target succeeded. Reproducibility comes from ``-trimpath``, ``CGO_ENABLED=0`` (unless
the target says ``+cgo``), VCS stamps of a clean tree (``dist`` carries its own ``.gitignore``),
and times taken from the commit rather than the clock.

:func:`build` runs its steps in order: :func:`check_request`, :func:`select_packages`,
:func:`stamp_facts`, then every target's ``go build`` in parallel and the swap of each folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from goci.errors import InputError
from goci.matrix.platforms import Platform, check_folders
from goci.matrix.records import (
    BUILD_JSON,
    SAFE_STAMP,
    Artifact,
    BuildFacts,
    ProfileEntry,
    build_record,
    commit_info,
    read_profile,
    tag_version,
)
from goci.matrix.services import MainPackage, main_packages, select
from goci.tools.atomic import swap_folder
from goci.tools.gittool import Git
from goci.tools.gotool import Go
from goci.tools.hashing import sha256_file
from goci.tools.workspace import Workspace, discover

_VERSION_VAR = re.compile(r"^[A-Za-z0-9_./-]+\.[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class BuildRequest:
    """What to build and how: the choices of ``goci build`` as one value."""

    targets: tuple[Platform, ...]
    services: tuple[str, ...] | None = None  # None: every main package; (): nothing changed
    out: Path | None = None  # default: dist under the repository
    strip: bool = False
    compare_size: bool = True
    version: str = ""
    version_var: str | None = None
    only_changed: tuple[str, ...] | None = None
    toolexec: str | None = None
    profile: bool = False
    cgo: bool = False
    jobs: int | None = None


@dataclass(frozen=True)
class BuildResult:
    """What ``build`` produced."""

    out: Path
    artifacts: tuple[Artifact, ...]
    skipped: tuple[MainPackage, ...]
    facts: BuildFacts
    profile: tuple[ProfileEntry, ...] = field(default=())
    cached_steps: int = 0

    @property
    def go_version(self) -> str:
        return self.facts.go_version

    @property
    def commit(self) -> str | None:
        return self.facts.commit

    @property
    def version(self) -> str:
        return self.facts.version


# ----------------------------------------------------------------------------- checks


def check_version(version: str, version_var: str | None) -> None:
    if version:
        check_stamp(version)
    if version_var is not None:
        check_version_var(version_var)


def check_stamp(version: str, name: str = "version") -> str:
    """A version to stamp: it goes into -ldflags, so only characters safe there."""
    if not SAFE_STAMP.match(version):
        raise InputError(
            f"{name}: {version!r} is not valid; accepted: letters, digits and . _ + ~ : @ / = -"
        )
    return version


def check_version_var(version_var: str, name: str = "version-var") -> str:
    if not _VERSION_VAR.match(version_var):
        raise InputError(
            f"{name}: {version_var!r} is not valid; accepted: a package path and a "
            "variable name, such as main.version or example.com/app/internal/build.Version"
        )
    return version_var


def check_request(request: BuildRequest, root: Path) -> Path:
    """Everything about the request that is wrong before anything runs; the output folder
    (a user-given ``--out`` was held to the workspace rule by the shell: goci.tools.paths)."""
    out = (request.out if request.out is not None else root / "dist").resolve()
    check_version(request.version, request.version_var)
    if not request.targets:
        raise InputError("target: no target to build for; give --target os/arch or --platforms")
    check_folders(request.targets)
    return out


# ----------------------------------------------------------------------------- building


@dataclass(frozen=True)
class _Work:
    """What the build of every target shares."""

    go: Go
    workspace: Workspace
    packages: tuple[MainPackage, ...]
    request: BuildRequest
    flags: tuple[str, ...]  # go build flags but -mod and -ldflags
    stamp_ldflags: tuple[str, ...]  # the version's -X
    facts: BuildFacts
    staging: Path


def _groups(work: _Work) -> list[tuple[Path, list[MainPackage]]]:
    """Packages built by one ``go build`` each: per module, or all at once in a go.work."""
    if work.workspace.gowork is not None:
        return [(work.workspace.gowork.parent, list(work.packages))]
    groups: dict[Path, list[MainPackage]] = {}
    for package in work.packages:
        groups.setdefault(package.module_dir, []).append(package)
    return list(groups.items())


def _mod_flag(cwd: Path, work: _Work) -> str:
    vendored = work.workspace.gowork is None and (cwd / "vendor" / "modules.txt").is_file()
    return "-mod=vendor" if vendored else "-mod=readonly"


def _go_build(
    work: _Work, target: Platform, folder: Path, strip: bool, graph: Path | None
) -> dict[str, Path]:
    """Run ``go build`` for every package into ``folder``; returns import path -> binary."""
    env = target.env()
    if work.request.cgo:
        env["CGO_ENABLED"] = "1"
    ldflags = (["-s", "-w"] if strip else []) + list(work.stamp_ldflags)
    outputs: dict[str, Path] = {}
    for index, (cwd, packages) in enumerate(_groups(work)):
        args = ["build", *work.flags, _mod_flag(cwd, work)]
        if ldflags:
            args.append("-ldflags=" + " ".join(ldflags))
        if graph is not None:
            args.append(f"-debug-actiongraph={graph.with_suffix(f'.{index}.json')}")
        binaries = [p.binary for p in packages]
        if len(set(binaries)) == len(binaries):
            dest = folder / f"g{index}"
            dest.mkdir(parents=True)
            work.go.run(
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
                work.go.run(*args, "-o", str(path), package.import_path, cwd=cwd, env=env)
                outputs[package.import_path] = path
    return outputs


def _record(
    work: _Work, target: Platform, package: MainPackage, source: Path, full: Path | None
) -> Artifact:
    """Move one built binary into its staged ``{service}/{target.folder}`` with its build.json."""
    if not source.is_file():
        raise InputError(f"services: {package.import_path} built no binary for {target.spec}")
    folder = work.staging / package.service / target.folder
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / source.name
    os.replace(source, dest)
    full_size = full.stat().st_size if full is not None else None
    artifact = Artifact(package, target, dest, dest.stat().st_size, full_size, sha256_file(dest))
    (folder / BUILD_JSON).write_text(
        json.dumps(build_record(artifact, work.facts), indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    return artifact


def _build_target(work: _Work, target: Platform) -> tuple[list[Artifact], list[ProfileEntry], int]:
    """Every package for one target, staged with its records; the steps that ran."""
    request = work.request
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.folder}-", dir=work.staging))
    graph = scratch / "actiongraph" if request.profile else None
    built = _go_build(work, target, scratch / "final", request.strip, graph)
    unstripped: dict[str, Path] = {}
    if request.strip and request.compare_size:
        unstripped = _go_build(work, target, scratch / "unstripped", False, None)
    artifacts = [
        _record(work, target, p, built[p.import_path], unstripped.get(p.import_path))
        for p in work.packages
    ]
    profile: list[ProfileEntry] = []
    cached = 0
    if graph is not None:
        profile, cached = read_profile(sorted(scratch.glob("actiongraph.*.json")), target.spec)
    shutil.rmtree(scratch, ignore_errors=True)
    return artifacts, profile, cached


def _ensure_ignored(out: Path) -> None:
    """A ``.gitignore`` of ``*`` in dist, so Go's VCS stamp never sees the tree as modified."""
    out.mkdir(parents=True, exist_ok=True)
    ignore = out / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# written by goci build: keeps build output out of git status\n*\n")


def _install(staging: Path, out: Path, artifacts: Sequence[Artifact]) -> tuple[Artifact, ...]:
    """Swap every built target folder into place: a reader sees the old one or the new one."""
    for service, folder in sorted({(a.service, a.target.folder) for a in artifacts}):
        swap_folder(staging / service / folder, out / service / folder)
    return tuple(
        replace(a, path=out / a.service / a.target.folder / a.path.name) for a in artifacts
    )


def _build_all(
    work: _Work, out: Path
) -> tuple[tuple[Artifact, ...], tuple[ProfileEntry, ...], int]:
    """Build every target (in parallel), then install them all, or none if one fails."""
    targets = work.request.targets
    workers = max(1, min(len(targets), work.request.jobs or max(2, os.cpu_count() or 2)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_build_target, work, t) for t in targets]
        results = [f.result() for f in futures]
    installed = _install(work.staging, out, [a for arts, _, _ in results for a in arts])
    steps = sorted((p for _, prof, _ in results for p in prof), key=lambda p: -p.seconds)
    return installed, tuple(steps), sum(c for _, _, c in results)


# ----------------------------------------------------------------------------- the steps


def select_packages(
    request: BuildRequest, mains: tuple[MainPackage, ...], root: Path
) -> tuple[tuple[MainPackage, ...], tuple[MainPackage, ...]]:
    """The main packages to build and those ``only_changed`` skips."""
    # An empty list (changed-packages found no service) builds nothing; None builds them all.
    packages = select(request.services, mains, root) if request.services is not None else mains
    if request.services is None and not packages:
        raise InputError(f"services: no main package in the modules in use under {root}")
    if request.only_changed is None:
        return packages, ()
    changed = {m.import_path for m in select(request.only_changed, mains, root, "only-changed")}
    return (
        tuple(p for p in packages if p.import_path in changed),
        tuple(p for p in packages if p.import_path not in changed),
    )


def go_flags(request: BuildRequest, root: Path) -> tuple[str, ...]:
    """``go build`` flags of a reproducible build (a repository's own -toolexec made absolute)."""
    flags = ["-trimpath", "-buildvcs=auto"]
    toolexec = request.toolexec
    if toolexec:
        program = toolexec.split()[0]
        if "/" in program and not os.path.isabs(program) and (root / program).exists():
            toolexec = str((root / program).resolve()) + toolexec[len(program) :]
        flags.append("-toolexec=" + toolexec)
    return tuple(flags)


def stamp_facts(
    request: BuildRequest,
    flags: tuple[str, ...],
    root: Path,
    go: Go,
    git: Git,
    env: Mapping[str, str],
) -> tuple[BuildFacts, tuple[str, ...]]:
    """The commit, its time, the version stamped and the flags; and the stamp's ldflags."""
    commit, build_time = commit_info(git, env)
    stamp = request.version or (tag_version(git, env) if commit else "")
    if not stamp and request.version_var:
        stamp = f"dev-{commit[:12]}" if commit else "dev"
    stamp_ldflags = (f"-X={request.version_var}={stamp}",) if request.version_var else ()
    all_ldflags = " ".join([*(["-s", "-w"] if request.strip else []), *stamp_ldflags])
    recorded = (*flags, "-mod=readonly", *([f"-ldflags={all_ldflags}"] if all_ldflags else []))
    facts = BuildFacts(
        go_version=go.version(cwd=root),  # go1.26.8, as `go env GOVERSION` says
        commit=commit,
        build_time=build_time,
        version=stamp,
        version_var=request.version_var,
        strip=request.strip,
        cgo=request.cgo,
        flags=recorded,
    )
    return facts, stamp_ldflags


def build(
    root: Path, go: Go, git: Git, request: BuildRequest, env: Mapping[str, str] | None = None
) -> BuildResult:
    """Build the services for every target (in parallel across targets), all or nothing."""
    root, env = root.resolve(), env or {}
    out = check_request(request, root)
    workspace = discover(root, go)
    packages, skipped = select_packages(request, main_packages(workspace, go), root)
    flags = go_flags(request, root)
    facts, stamp_ldflags = stamp_facts(request, flags, root, go, git, env)
    if not packages:
        return BuildResult(out, (), skipped, facts)
    _ensure_ignored(out)
    staging = Path(tempfile.mkdtemp(prefix=".goci-build-", dir=out))
    work = _Work(
        go=go,
        workspace=workspace,
        packages=packages,
        request=request,
        flags=flags,
        stamp_ldflags=stamp_ldflags,
        facts=facts,
        staging=staging,
    )
    try:
        installed, profile, cached = _build_all(work, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(out, installed, skipped, facts, profile, cached)
