"""Reproducible, stripped, version-stamped binaries of the repository's main packages.

Every binary lands in ``dist/{service}/{target}/{binary}`` next to a ``build.json`` that the
artifact packer reads. Builds are all-or-nothing: everything is built in a temporary folder
inside ``dist`` and moved into place only when every target succeeded. Reproducibility comes
from ``-trimpath``, ``CGO_ENABLED=0``, VCS stamps of a clean tree (``dist`` carries its own
``.gitignore``), and times taken from the commit rather than the clock.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from goci.errors import InputError, closest
from goci.matrix.platforms import Platform
from goci.tools.gittool import Git
from goci.tools.gotool import Go
from goci.tools.workspace import Workspace, discover

BUILD_JSON = "build.json"
SCHEMA = 1
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9._+~:@/=-]*$")
_VERSION_VAR = re.compile(r"^[A-Za-z0-9_./-]+\.[A-Za-z_][A-Za-z0-9_]*$")
_MAJOR = re.compile(r"^v\d+$")
_MAIN_FIELDS = "Name,ImportPath,Dir,Module,Error"


@dataclass(frozen=True)
class MainPackage:
    """A ``main`` package: what gets built, and the service name its folder is filed under."""

    import_path: str
    dir: Path
    module: str
    module_dir: Path
    service: str

    @property
    def binary(self) -> str:
        """``go build``'s own naming: the last element, a ``/vN`` major suffix skipped."""
        parts = self.import_path.split("/")
        if len(parts) > 1 and _MAJOR.match(parts[-1]):
            return parts[-2]
        return parts[-1]


@dataclass(frozen=True)
class Artifact:
    """One built binary."""

    package: MainPackage
    target: Platform
    path: Path  # final location: out/{service}/{target}/{binary}
    size: int
    unstripped_size: int | None
    sha256: str

    @property
    def service(self) -> str:
        return self.package.service


@dataclass(frozen=True)
class ProfileEntry:
    """One step of the build that really ran (not served from the cache)."""

    target: str
    package: str
    mode: str
    seconds: float


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


# ----------------------------------------------------------------------------- main packages


def _service_names(packages: Sequence[tuple[str, Path, str, Path]]) -> dict[str, str]:
    """Folder base names, made unique by prefixing parent folders (``cmd-api``, ``tools-api``).

    Names are decided over every main package of the modules in use, so a service keeps its
    name whichever subset a job builds.
    """

    def words(path: str) -> list[str]:
        parts = path.split("/")
        if len(parts) > 1 and _MAJOR.match(parts[-1]):
            parts = parts[:-1]
        return parts

    depth = dict.fromkeys((p[0] for p in packages), 1)
    while True:
        names = {ip: "-".join(words(ip)[-depth[ip] :]) for ip in depth}
        groups: dict[str, list[str]] = {}
        for ip, name in names.items():
            groups.setdefault(name, []).append(ip)
        clashing = [ips for ips in groups.values() if len(ips) > 1]
        grown = False
        for ips in clashing:
            for ip in ips:
                if depth[ip] < len(words(ip)):
                    depth[ip] += 1
                    grown = True
        if not clashing or not grown:
            return names


def main_packages(workspace: Workspace, go: Go) -> tuple[MainPackage, ...]:
    """Every ``main`` package of the modules in use (``go list ./...`` per module).

    A module go cannot load fails here (GoListError) rather than building the others' services
    only; so does a package whose files go cannot even name, since it may be a service.
    """
    found: dict[str, tuple[str, Path, str, Path]] = {}
    for module in workspace.modules:
        listed = go.list_json("-e", "./...", cwd=module.dir, fields=_MAIN_FIELDS)
        for item in listed:
            if item.get("Error") and not item.get("Name"):
                error = item["Error"]
                pos = str(error.get("Pos") or "")
                where = f"{module.dir / pos if pos else ''}: " if pos else ""
                raise InputError(
                    f"{where}{str(error.get('Err', '')).strip()} (go list cannot tell whether "
                    f"{item.get('ImportPath')} is a main package, so it might be a service "
                    "that would not be built; fix the package)"
                )
            mod = item.get("Module") or {}
            path = str(item.get("ImportPath", ""))
            if item.get("Name") == "main" and mod.get("Dir") and path not in found:
                found[path] = (path, Path(item["Dir"]), str(mod["Path"]), Path(mod["Dir"]))
    names = _service_names(list(found.values()))
    return tuple(
        MainPackage(ip, folder, mod, mod_dir, names[ip])
        for ip, folder, mod, mod_dir in sorted(found.values())
    )


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def select(
    words: Sequence[str], mains: Sequence[MainPackage], root: Path, input_name: str = "services"
) -> tuple[MainPackage, ...]:
    """Main packages named by import path, ``./folder`` or service name."""
    chosen: dict[str, MainPackage] = {}
    by_path = {m.import_path: m for m in mains}
    by_dir = {m.dir.resolve(): m for m in mains}
    by_name = {m.service: m for m in mains}
    for word in words:
        text = word.strip()
        if text.startswith((".", "/")) or os.path.isabs(text) or ".." in text.split("/"):
            if os.path.isabs(text) or ".." in Path(text).parts:
                raise InputError(
                    f"{input_name}: {text!r} escapes the repository; give an import path or a "
                    "./folder inside it"
                )
            folder = (root / text).resolve()
            if not _inside(folder, root):
                raise InputError(f"{input_name}: {text!r} escapes the repository {root}")
            package = by_dir.get(folder)
            if package is None:
                what = "is not a folder" if not folder.is_dir() else "is not a main package"
                raise InputError(
                    f"{input_name}: {text!r} {what}; main packages here: "
                    + ", ".join(
                        "./" + str(m.dir.relative_to(root)) for m in mains if _inside(m.dir, root)
                    )
                )
        else:
            package = by_path.get(text) or by_name.get(text)
            if package is None:
                hint = closest(text, [*by_path, *by_name])
                raise InputError(
                    f"{input_name}: {text!r} is not a main package of the modules in use{hint}; "
                    f"main packages: {', '.join(by_path) or 'none'}"
                )
        chosen[package.import_path] = package
    return tuple(chosen.values())


# ----------------------------------------------------------------------------- checks


def check_out(out: Path, root: Path, env: Mapping[str, str] | None = None) -> Path:
    """The output folder: inside the workspace (or the runner's own RUNNER_TEMP), not either."""
    resolved = out.resolve()
    allowed = [root]
    for name in ("GITHUB_WORKSPACE", "RUNNER_TEMP"):
        if (env or {}).get(name):
            allowed.append(Path((env or {})[name]).resolve())
    if resolved in allowed or not any(_inside(resolved, place) for place in allowed):
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


def tag_version(git: Git) -> str:
    """The release tag on HEAD (``v1.2.3`` preferred), or '' when HEAD is not tagged."""
    result = git.run("tag", "--points-at", "HEAD", check=False)
    tags = sorted(t for t in result.stdout.split() if t)
    plain = [t for t in tags if re.match(r"^v\d", t)]
    return (plain or tags or [""])[-1]


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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_profile(graph_files: Sequence[Path], target: str) -> tuple[list[ProfileEntry], int]:
    """Steps that ran, with their time, from Go's own action graph (``-debug-actiongraph``)."""
    entries: list[ProfileEntry] = []
    cached = 0
    for path in graph_files:
        if not path.is_file():
            continue
        for action in json.loads(path.read_text(encoding="utf-8")):
            if not action.get("Package") or action.get("Mode") not in ("build", "link"):
                continue
            if not action.get("Cmd"):
                cached += 1
                continue
            seconds = (action.get("CmdReal") or 0) / 1e9
            entries.append(ProfileEntry(target, action["Package"], action["Mode"], seconds))
    return entries, cached


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
        artifact = Artifact(package, target, dest, size, full_size, _sha256(dest))
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


def build_record(artifact: Artifact, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The ``build.json`` written beside each binary (read by ``goci artifact pack``)."""
    package, target = artifact.package, artifact.target
    return {
        "schema": SCHEMA,
        "service": package.service,
        "import_path": package.import_path,
        "module": package.module,
        "binary": artifact.path.name,
        "target": target.spec,
        "goos": target.os,
        "goarch": target.arch,
        "variant": target.variant,
        "cgo": bool(meta["cgo"] or target.cgo),
        "go_version": meta["go_version"],
        "commit": meta["commit"],
        "build_time": meta["build_time"],
        "version": meta["version"],
        "version_var": meta["version_var"],
        "stripped": meta["strip"],
        "size": artifact.size,
        "unstripped_size": artifact.unstripped_size,
        "sha256": artifact.sha256,
        "flags": list(meta["flags"]),
    }


def _commit_info(git: Git, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The commit and its time (never the clock: SOURCE_DATE_EPOCH outside git)."""
    commit = git.resolve("HEAD") if git.run("rev-parse", "--git-dir", check=False).ok else None
    seconds: int | None = None
    if commit is not None:
        seconds = git.commit_time("HEAD")
    elif env.get("SOURCE_DATE_EPOCH", "").strip().isdigit():
        seconds = int(env["SOURCE_DATE_EPOCH"])
    when = (
        datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if seconds is not None
        else None
    )
    return commit, when


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
    commit, build_time = _commit_info(git, env or {})
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
