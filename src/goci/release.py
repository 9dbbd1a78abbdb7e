"""Release names, validation and ``pack``: turning ``dist/{service}/{os}-{arch}/`` into a release.

A release is a folder ``dist/dev/{service}-{YYYYMMDDHHMMSS}`` or
``dist/prod/{service}-v{semver}`` with one folder per target, a ``SHA256SUMS`` in the exact
``sha256sum`` format, and a ``manifest.json``. The folder is assembled under a temporary name
and renamed last, so a reader (or ``upload``) never sees a half-packed release.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from goci.atomic import write_atomic
from goci.checksums import CHUNK, format_sums, parse_sums, sha256_bytes
from goci.errors import InputError, VerdictError, bad_input

Env = Literal["dev", "prod"]
ENVS: tuple[Env, ...] = ("dev", "prod")
SUMS = "SHA256SUMS"
MANIFEST = "manifest.json"
BUILD_JSON = "build.json"
SCHEMA = "goci.release/v1"

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_STAMP = re.compile(r"^\d{14}$")
GOOS = (
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "illumos",
    "ios",
    "js",
    "linux",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
)
_TARGET = re.compile(r"^(" + "|".join(GOOS) + r")-[a-z0-9]+(?:-[a-z0-9.]+)?$")
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_RELEASE = re.compile(
    r"^(?P<env>dev|prod)/(?P<service>.+?)-(?:(?P<stamp>\d{14})|v(?P<version>[^/]+))$"
)


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


def validate_service(name: str, option: str = "--service") -> str:
    """A service name is ``name`` or ``group/name``: never absolute, ``..`` or control chars."""
    accepted = "use 'name' or 'group/name' of letters, digits, '.', '_' and '-'"
    if not name or _has_control(name):
        raise bad_input(option, name, accepted + " (no control characters)")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise bad_input(option, name, accepted + " (not an absolute path)")
    parts = name.split("/")
    if any(p in ("..", ".") for p in parts) or ".." in name:
        raise bad_input(option, name, accepted + " (no '..': names may not leave the folder)")
    if len(parts) > 2:
        raise bad_input(option, name, accepted + " (at most one '/')")
    if not all(_SEGMENT.match(p) for p in parts):
        raise bad_input(option, name, accepted)
    if parts[0] in ENVS:
        raise bad_input(option, name, accepted + " ('dev' and 'prod' are the release folders)")
    return name


def parse_semver(text: str, option: str = "--version") -> str:
    """``v1.2.3`` or ``1.2.3-rc.1`` -> the version without ``v``; anything else is bad input."""
    value = text.strip()
    bare = value[1:] if value.startswith("v") else value
    if not _SEMVER.match(bare) or _has_control(value):
        raise bad_input(option, text, "use a semantic version like 1.4.0 or v1.4.0-rc.1")
    return bare


def version_from_tag(ref: str, service: str) -> str | None:
    """The version of a tag ``v1.2.3`` or ``{service}/v1.2.3`` (full ref or bare tag), else None."""
    tag = ref.removeprefix("refs/tags/")
    for prefix in ("", f"{service}/"):
        rest = tag[len(prefix) :] if tag.startswith(prefix) else None
        if rest and rest.startswith("v") and _SEMVER.match(rest[1:]):
            return rest[1:]
    return None


def parse_stamp(text: str, option: str = "--timestamp") -> str:
    """A dev release's UTC time, ``YYYYMMDDHHMMSS``."""
    if not _STAMP.match(text):
        raise bad_input(option, text, "use UTC time as YYYYMMDDHHMMSS, e.g. 20250102030405")
    try:
        datetime.strptime(text, "%Y%m%d%H%M%S")
    except ValueError:
        raise bad_input(option, text, "use a real UTC date and time as YYYYMMDDHHMMSS") from None
    return text


def stamp_of(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


@dataclass(frozen=True)
class ReleaseName:
    """``dev/{service}-{stamp}`` or ``prod/{service}-v{version}``: the key prefix of a release."""

    env: Env
    service: str
    version: str

    @property
    def folder(self) -> str:
        suffix = self.version if self.env == "dev" else f"v{self.version}"
        return f"{self.env}/{self.service}-{suffix}"

    def __str__(self) -> str:
        return self.folder


def release_name(env: Env, service: str, version: str) -> ReleaseName:
    validate_service(service)
    if env == "dev":
        return ReleaseName("dev", service, parse_stamp(version))
    return ReleaseName("prod", service, parse_semver(version))


def parse_release(text: str, option: str = "--release") -> ReleaseName:
    """Read ``dev/api-20250102030405`` or ``prod/group/api-v1.2.3`` back into its parts."""
    match = _RELEASE.match(text.strip().strip("/").removeprefix("dist/"))
    if not match:
        raise bad_input(
            option, text, "use dev/{service}-{YYYYMMDDHHMMSS} or prod/{service}-v{semver}"
        )
    env: Env = "dev" if match.group("env") == "dev" else "prod"
    version = match.group("stamp") or match.group("version") or ""
    return release_name(env, validate_service(match.group("service"), option), version)


@dataclass(frozen=True)
class FileEntry:
    """One file of a release: its path inside the release, target, size and SHA-256."""

    path: str
    target: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` says; the last object written, so its presence means "complete"."""

    name: str
    service: str
    env: Env
    version: str
    commit: str
    ref: str
    go_version: str
    build_time: str
    files: tuple[FileEntry, ...]
    sha256sums: str
    run_url: str = ""
    builds: tuple[Mapping[str, Any], ...] = ()
    promoted_from: str = ""
    promoted_by: str = ""
    promoted_at: str = ""

    @property
    def targets(self) -> list[str]:
        return sorted({f.target for f in self.files})

    @property
    def release(self) -> ReleaseName:
        return parse_release(self.name, "manifest name")

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "schema": SCHEMA,
            "name": self.name,
            "service": self.service,
            "env": self.env,
            "version": self.version,
            "commit": self.commit,
            "ref": self.ref,
            "go_version": self.go_version,
            "build_time": self.build_time,
            "run_url": self.run_url,
            "targets": self.targets,
            "files": [
                {"path": f.path, "target": f.target, "size": f.size, "sha256": f.sha256}
                for f in self.files
            ],
            "sha256sums": self.sha256sums,
            "builds": [dict(b) for b in self.builds],
        }
        if self.promoted_from:
            data.update(
                promoted_from=self.promoted_from,
                promoted_by=self.promoted_by,
                promoted_at=self.promoted_at,
            )
        return json.dumps(data, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, source: str = MANIFEST) -> Manifest:
        try:
            data = json.loads(text)
            if data.get("schema") != SCHEMA:
                raise ValueError(f"schema is {data.get('schema')!r}, expected {SCHEMA!r}")
            files = tuple(
                FileEntry(str(f["path"]), str(f["target"]), int(f["size"]), str(f["sha256"]))
                for f in data["files"]
            )
            return cls(
                name=str(data["name"]),
                service=str(data["service"]),
                env="prod" if data["env"] == "prod" else "dev",
                version=str(data["version"]),
                commit=str(data.get("commit", "")),
                ref=str(data.get("ref", "")),
                go_version=str(data.get("go_version", "")),
                build_time=str(data.get("build_time", "")),
                files=files,
                sha256sums=str(data["sha256sums"]),
                run_url=str(data.get("run_url", "")),
                builds=tuple(data.get("builds", ())),
                promoted_from=str(data.get("promoted_from", "")),
                promoted_by=str(data.get("promoted_by", "")),
                promoted_at=str(data.get("promoted_at", "")),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise VerdictError(f"{source} is not a goci release manifest: {exc}") from exc

    def sums_text(self) -> str:
        return format_sums((f.path, f.sha256) for f in self.files)

    def same_files(self, other: Manifest) -> bool:
        """Byte-identical content (by SHA-256 and size), whatever the metadata says."""
        return sorted(self.files, key=lambda f: f.path) == sorted(other.files, key=lambda f: f.path)


# --- reading build output ---------------------------------------------------------------


def is_target(name: str) -> bool:
    return bool(_TARGET.match(name))


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


def _target_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.iterdir()):
        if path.name == BUILD_JSON or path.name.startswith(".") or not path.is_file():
            continue
        if not _FILE.match(path.name):
            raise bad_input("build output", str(path), "file names of letters, digits, '._+-'")
        yield path


def read_builds(source: Path) -> list[dict[str, Any]]:
    """The ``build.json`` records beside the binaries (those that parse)."""
    builds = []
    for target in sorted(p for p in source.iterdir() if p.is_dir() and is_target(p.name)):
        meta = target / BUILD_JSON
        if meta.is_file():
            try:
                data = json.loads(meta.read_text(encoding="utf-8"))
            except ValueError:
                continue
            if isinstance(data, dict):
                builds.append({"target": target.name, **data})
    return builds


def _copy_hashing(src: Path, dst: Path) -> tuple[int, str]:
    import hashlib

    digest = hashlib.sha256()
    size = 0
    with src.open("rb") as fin, dst.open("wb") as fout:
        for chunk in iter(lambda: fin.read(CHUNK), b""):
            digest.update(chunk)
            fout.write(chunk)
            size += len(chunk)
    shutil.copymode(src, dst)
    return size, digest.hexdigest()


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
    targets = (
        sorted(p for p in source.iterdir() if p.is_dir() and is_target(p.name))
        if source.is_dir()
        else []
    )
    inputs = [(t.name, f) for t in targets for f in _target_files(t)]
    if not inputs:
        raise bad_input(
            "--service",
            service,
            f"no build output in {source} (expected {source}/{{os}}-{{arch}}/{{binary}}, "
            "as goci build writes)",
        )
    dest = dist / name.folder
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        entries = []
        for target, src in inputs:
            (staging / target).mkdir(exist_ok=True)
            size, digest = _copy_hashing(src, staging / target / src.name)
            entries.append(FileEntry(f"{target}/{src.name}", target, size, digest))
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
            builds=tuple(read_builds(source)),
        )
        write_atomic(staging / MANIFEST, manifest.to_json().encode())
        for folder in (staging, *(p for p in staging.iterdir() if p.is_dir())):
            os.chmod(folder, 0o755)  # noqa: S103 - release folders are meant to be readable
        if dest.exists():
            existing = _existing_manifest(dest)
            if existing is not None and existing.same_files(manifest):
                shutil.rmtree(staging)
                return Packed(dest, existing, unchanged=True)
            if env == "prod":
                raise VerdictError(
                    f"{dest} already exists with different files; a prod version is immutable "
                    "(pick a new version)"
                )
            trash = dest.with_name(f".{dest.name}.old")
            shutil.rmtree(trash, ignore_errors=True)
            os.replace(dest, trash)
            os.replace(staging, dest)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(staging, dest)
        return Packed(dest, manifest)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _existing_manifest(folder: Path) -> Manifest | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        return Manifest.from_json(path.read_bytes(), str(path))
    except VerdictError:
        return None


# --- reading packed releases ---------------------------------------------------------------


def find_releases(dist: Path) -> list[ReleaseName]:
    """Every release folder under ``dist/dev`` and ``dist/prod`` (``group/`` folders too)."""
    found = []
    for env in ENVS:
        root = dist / env
        if not root.is_dir():
            continue
        for first in sorted(p for p in root.iterdir() if p.is_dir()):
            if first.name.startswith("."):
                continue
            named = _as_release(f"{env}/{first.name}")
            if named is not None:
                found.append(named)
                continue
            for second in sorted(p for p in first.iterdir() if p.is_dir()):
                named = _as_release(f"{env}/{first.name}/{second.name}")
                if named is not None and not second.name.startswith("."):
                    found.append(named)
    return found


def _as_release(text: str) -> ReleaseName | None:
    try:
        return parse_release(text, "release folder")
    except InputError:
        return None


@dataclass(frozen=True)
class LocalRelease:
    """A packed release read back from disk and checked against its own SHA256SUMS."""

    name: ReleaseName
    path: Path
    manifest: Manifest
    sums_text: str


def load_release(dist: Path, name: ReleaseName) -> LocalRelease:
    """Read a packed release; a missing SHA256SUMS or manifest is bad input, a mismatch a no."""
    folder = dist / name.folder
    if not folder.is_dir():
        raise bad_input("--release", name.folder, f"a release folder under {dist} made by pack")
    sums_path = folder / SUMS
    if not sums_path.is_file():
        raise bad_input(
            "--release", name.folder, f"a release with {SUMS} (missing {sums_path}); run pack"
        )
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise bad_input(
            "--release", name.folder, f"a release with {MANIFEST} (missing {manifest_path})"
        )
    sums_text = sums_path.read_text(encoding="utf-8")
    sums = parse_sums(sums_text, source=str(sums_path))
    manifest = Manifest.from_json(manifest_path.read_bytes(), str(manifest_path))
    listed = {f.path: f.sha256 for f in manifest.files}
    if sums != listed or sha256_bytes(sums_text.encode()) != manifest.sha256sums:
        raise VerdictError(f"{folder}: {SUMS} and {MANIFEST} disagree; re-run pack")
    return LocalRelease(name, folder, manifest, sums_text)


def with_promotion(
    manifest: Manifest, name: ReleaseName, source: str, who: str, when: str
) -> Manifest:
    """The prod manifest of a promoted dev release: same files, new name, who and when."""
    return replace(
        manifest,
        name=name.folder,
        env="prod",
        version=name.version,
        promoted_from=source,
        promoted_by=who,
        promoted_at=when,
    )


def newest_first(names: Sequence[ReleaseName]) -> list[ReleaseName]:
    return sorted(names, key=lambda n: n.version, reverse=True)
