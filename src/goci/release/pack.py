"""``pack``: turning ``dist/{service}/{os}-{arch}/`` into a release.

A release is a folder ``dist/dev/{service}-{YYYYMMDDHHMMSS}`` or
``dist/prod/{service}-v{semver}`` with one folder per target, a ``SHA256SUMS`` in the exact
``sha256sum`` format, and a ``manifest.json``. The folder is assembled under a temporary name
and renamed last, so a reader (or ``upload``) never sees a half-packed release.

Pack takes only regular files inside ``dist/`` (a symbolic link could publish any file of the
machine), and only binaries that match the ``build.json`` goci build wrote beside them: a
binary mixed or swapped after the build is refused, and the build record travels in the
manifest so that upload and promote can refuse a release packed without this check.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from goci.errors import VerdictError, bad_input
from goci.matrix.records import BUILD_JSON
from goci.release.checksums import format_sums
from goci.release.manifest import MANIFEST, SHA256_HEX, SUMS, FileEntry, Manifest
from goci.release.names import ENVS, FILE_NAME, Env, is_target, release_name
from goci.tools.atomic import swap_folder, write_atomic
from goci.tools.hashing import Sha256, chunks, sha256_bytes
from goci.tools.paths import inside


def discover_services(dist: Path) -> list[str]:
    """Services that ``goci build`` left in ``dist``: folders holding ``{os}-{arch}`` folders."""
    found: list[str] = []

    def walk(folder: Path, depth: int) -> None:
        children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        if any(is_target(c.name) for c in children) and depth > 0:
            found.append(folder.relative_to(dist).as_posix())
            return
        if depth < 2:
            for child in children:
                if depth == 0 and child.name in ENVS:
                    continue
                walk(child, depth + 1)

    if dist.is_dir():
        walk(dist, 0)
    return found


@dataclass(frozen=True)
class BuildInfo:
    """The facts a release records, from ``build.json`` when present, else from git and go."""

    commit: str = ""
    ref: str = ""
    go_version: str = ""
    build_time: datetime = field(default_factory=lambda: datetime.fromtimestamp(0, timezone.utc))
    run_url: str = ""


_ONLY_REGULAR = "only regular files inside dist/ (no symbolic links, devices or pipes)"


def _check_inside(dist: Path, path: Path, *, folder: bool) -> None:
    """Refuse a symbolic link, a special file, or a path that resolves outside ``dist``."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise bad_input(
            "build output", str(path), f"{_ONLY_REGULAR}; it is a link to {os.readlink(path)!r}"
        )
    if not (stat.S_ISDIR(info.st_mode) if folder else stat.S_ISREG(info.st_mode)):
        kind = "folder" if folder else "regular file"
        raise bad_input("build output", str(path), f"{_ONLY_REGULAR}; it is not a {kind}")
    if not inside(path, [dist]):
        raise bad_input(
            "build output", str(path), f"{_ONLY_REGULAR}; it resolves to {path.resolve()}"
        )


@dataclass(frozen=True)
class TargetOutput:
    """One ``dist/{service}/{target}/`` folder: its files, and its build record if any."""

    target: str
    folder: Path
    files: tuple[Path, ...]
    record: Mapping[str, Any] | None


def _build_record(path: Path) -> dict[str, Any]:
    """``build.json`` as goci build writes it: it must name its binary, size and SHA-256."""
    problem = f"{path} is not a goci build record"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        raise VerdictError(f"{problem} ({exc}); rebuild with goci build") from None
    if not isinstance(data, dict):
        raise VerdictError(f"{problem} (not an object); rebuild with goci build")
    binary, size, digest = data.get("binary"), data.get("size"), data.get("sha256")
    if not (
        isinstance(binary, str)
        and FILE_NAME.match(binary)
        and isinstance(size, int)
        and not isinstance(size, bool)
        and isinstance(digest, str)
        and SHA256_HEX.match(digest)
    ):
        raise VerdictError(
            f"{problem} (it must name the binary, its size and sha256); rebuild with goci build"
        )
    return data


def scan_build_output(dist: Path, service: str) -> list[TargetOutput]:
    """``dist/{service}/{target}/`` folders as goci build leaves them, checked to hold only
    regular files inside ``dist`` (hidden names and sub-folders are not release files)."""
    source = dist / service
    chain = [dist / Path(*Path(service).parts[: i + 1]) for i in range(len(Path(service).parts))]
    if not all(os.path.lexists(p) for p in chain):
        return []
    for folder in chain:
        _check_inside(dist, folder, folder=True)
    outputs = []
    for entry in sorted(source.iterdir()):
        if not is_target(entry.name) or not (entry.is_dir() or entry.is_symlink()):
            continue
        _check_inside(dist, entry, folder=True)
        files, record = [], None
        for path in sorted(entry.iterdir()):
            if path.name.startswith("."):
                continue
            if path.is_dir() and not path.is_symlink():
                continue
            _check_inside(dist, path, folder=False)
            if path.name == BUILD_JSON:
                record = _build_record(path)
            elif not FILE_NAME.match(path.name):
                raise bad_input("build output", str(path), "file names of letters, digits, '._+-'")
            else:
                files.append(path)
        outputs.append(TargetOutput(entry.name, entry, tuple(files), record))
    return outputs


def read_builds(dist: Path, service: str) -> list[dict[str, Any]]:
    """The ``build.json`` records of a service, each with the release ``path`` it vouches for."""
    return [
        {"target": out.target, **out.record, "path": f"{out.target}/{out.record['binary']}"}
        for out in scan_build_output(dist, service)
        if out.record is not None
    ]


def _copy_hashing(src: Path, dst: Path) -> tuple[int, str]:
    """Copy a regular file (never through a link swapped in since it was checked)."""
    digest = Sha256()
    fd = os.open(src, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fin, dst.open("wb") as fout:
        if not stat.S_ISREG(os.fstat(fin.fileno()).st_mode):
            raise bad_input("build output", str(src), _ONLY_REGULAR)
        for chunk in chunks(fin):
            fout.write(digest.update(chunk))
    shutil.copymode(src, dst)
    return digest.size, digest.hexdigest()


def _check_against_record(out: TargetOutput, src: Path, size: int, digest: str) -> None:
    record = out.record
    if record is None:
        return
    where = out.folder / BUILD_JSON
    if src.name != record["binary"]:
        raise VerdictError(
            f"{src} is not the binary {where} records ({record['binary']}); goci publishes "
            "only what goci build made (remove the file or rebuild)"
        )
    if digest != record["sha256"] or size != record["size"]:
        raise VerdictError(
            f"{src} does not match its build record {where}: sha256 {digest}, {size} bytes; "
            f"the build made sha256 {record['sha256']}, {record['size']} bytes. The binary "
            "changed after goci build (artifacts of several builds in one folder?); "
            "rebuild and pack again"
        )


@dataclass(frozen=True)
class Packed:
    """A release folder on disk and what ``pack`` did with it."""

    path: Path
    manifest: Manifest
    unchanged: bool = False


def pack(
    dist: Path,
    service: str,
    env: Env,
    version: str,
    info: BuildInfo,
) -> Packed:
    """Assemble ``dist/{env}/{service}-{version}`` from ``dist/{service}/{target}/``.

    ``version`` is the UTC stamp for dev and the semantic version for prod. Re-packing the
    same bytes is a no-op; different bytes under an existing prod version are refused.
    """
    name = release_name(env, service, version)
    source = dist / service
    outputs = scan_build_output(dist, service)
    inputs = [(out, f) for out in outputs for f in out.files]
    if not inputs:
        raise bad_input(
            "--service",
            service,
            f"no build output in {source} (expected {source}/{{os}}-{{arch}}/{{binary}}, "
            "as goci build writes)",
        )
    for out in outputs:
        if out.record is not None and not (out.folder / out.record["binary"]).is_file():
            raise VerdictError(
                f"{out.folder / BUILD_JSON} records {out.record['binary']}, which is missing "
                f"from {out.folder}; rebuild"
            )
    dest = dist / name.folder
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        entries = []
        for out, src in inputs:
            (staging / out.target).mkdir(exist_ok=True)
            size, digest = _copy_hashing(src, staging / out.target / src.name)
            _check_against_record(out, src, size, digest)
            entries.append(FileEntry(f"{out.target}/{src.name}", out.target, size, digest))
        sums = format_sums((e.path, e.sha256) for e in entries)
        write_atomic(staging / SUMS, sums.encode())
        manifest = Manifest(
            name=name.folder,
            service=service,
            env=env,
            version=name.version,
            commit=info.commit,
            ref=info.ref,
            go_version=info.go_version,
            build_time=info.build_time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            files=tuple(entries),
            sha256sums=sha256_bytes(sums.encode()),
            run_url=info.run_url,
            builds=tuple(read_builds(dist, service)),
        )
        write_atomic(staging / MANIFEST, manifest.to_json().encode())
        for folder in (staging, *(p for p in staging.iterdir() if p.is_dir())):
            os.chmod(folder, 0o755)  # noqa: S103 - release folders are meant to be readable
        return _put_in_place(staging, dest, manifest, env)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _put_in_place(staging: Path, dest: Path, manifest: Manifest, env: Env) -> Packed:
    """Move the packed folder to ``dest``: the same files already there are kept as they are,
    a dev release is replaced whole, and a prod version is never replaced."""
    try:
        swap_folder(staging, dest, replace=False)
        return Packed(dest, manifest)
    except FileExistsError:
        pass  # a folder is there (an earlier pack, or another one just now): judged below
    existing = _existing_manifest(dest)
    if existing is not None and existing.same_files(manifest):
        return Packed(dest, existing, unchanged=True)
    if env == "prod":
        raise VerdictError(
            f"{dest} already exists with different files; a prod version is immutable "
            "(pick a new version)"
        )
    swap_folder(staging, dest)
    return Packed(dest, manifest)


def _existing_manifest(folder: Path) -> Manifest | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        return Manifest.from_json(path.read_bytes(), str(path))
    except VerdictError:
        return None
