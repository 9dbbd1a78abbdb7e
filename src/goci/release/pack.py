"""Release names, validation and ``pack``: turning ``dist/{service}/{os}-{arch}/`` into a release.

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
import re
import shutil
import stat
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from goci.errors import InputError, VerdictError, bad_input
from goci.release.checksums import CHUNK, format_sums, parse_sums, sha256_bytes
from goci.tools.atomic import write_atomic

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
_DEV_RELEASE = re.compile(r"^dev/(?P<service>.+)-(?P<stamp>\d{14})$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
RELEASE_FORMS = "dev/{service}-{YYYYMMDDHHMMSS} or prod/{service}-v{semver}"


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
    """A release name that reads back as exactly these parts, or bad input.

    ``prod/api-v1.0.0-v2.0.0`` could be ``api`` at ``1.0.0-v2.0.0`` or ``api-v1.0.0`` at
    ``2.0.0``: such a name is refused here, so no folder or key is ever ambiguous.
    """
    validate_service(service)
    name = (
        ReleaseName("dev", service, parse_stamp(version))
        if env == "dev"
        else ReleaseName("prod", service, parse_semver(version))
    )
    readings = _readings(name.folder)
    if readings != [name]:
        others = ", ".join(f"{r.service!r} at {r.version!r}" for r in readings if r != name)
        raise bad_input(
            "--version",
            version,
            f"a version that keeps {name.folder} unambiguous (it also reads as {others})",
        )
    return name


def _readings(text: str) -> list[ReleaseName]:
    """Every way ``text`` splits into a valid service and stamp or version."""
    dev = _DEV_RELEASE.match(text)
    if dev:
        service = dev.group("service")
        return [ReleaseName("dev", service, dev.group("stamp"))] if _is_service(service) else []
    if not text.startswith("prod/"):
        return []
    found = []
    start = len("prod/")
    while (cut := text.find("-v", start)) != -1:
        service, version = text[len("prod/") : cut], text[cut + 2 :]
        if _is_service(service) and _SEMVER.match(version) and not _has_control(version):
            found.append(ReleaseName("prod", service, version))
        start = cut + 1
    return found


def _is_service(name: str) -> bool:
    try:
        validate_service(name)
    except InputError:
        return False
    return True


def parse_release(text: str, option: str = "--release") -> ReleaseName:
    """Read ``dev/api-20250102030405`` or ``prod/group/api-v1.2.3`` back into its parts.

    The suffix is anchored: a dev name ends in exactly 14 digits, a prod name in ``-v`` and a
    semantic version, so ``dev/my-vault-20260101120000`` is the service ``my-vault``.
    """
    folder = text.strip().strip("/").removeprefix("dist/")
    readings = _readings(folder)
    if len(readings) == 1:
        name = readings[0]
        if name.env == "dev":
            parse_stamp(name.version, option)
        return name
    if readings:
        choices = " or ".join(f"service {r.service!r} at {r.version!r}" for r in readings)
        raise bad_input(option, text, f"an unambiguous release name (this reads as {choices})")
    service = re.sub(r"-(?:\d{14}|v[^/]*)$", "", folder.partition("/")[2])
    if folder.startswith(("dev/", "prod/")) and service:
        validate_service(service, option)  # say what is wrong with the service part
    raise bad_input(option, text, f"use {RELEASE_FORMS}")


@dataclass(frozen=True)
class FileEntry:
    """One file of a release: its path inside the release, target, size and SHA-256."""

    path: str
    target: str
    size: int
    sha256: str

    @classmethod
    def from_json(cls, data: Any) -> FileEntry:
        """A manifest entry, checked: ``{target}/{file}`` exactly as pack names them.

        A manifest may come from a store anyone with write access could edit; its paths
        become keys and file names, so nothing but pack's own shape is accepted.
        """
        if not isinstance(data, dict):
            raise ValueError(f"a file entry is {type(data).__name__}, not an object")
        path, target, size, digest = (data.get(k) for k in ("path", "target", "size", "sha256"))
        if not (isinstance(path, str) and isinstance(target, str) and isinstance(digest, str)):
            raise ValueError(f"file entry {data!r:.80} needs path, target and sha256 strings")
        folder, _, name = path.partition("/")
        if folder != target or not is_target(target) or not _FILE.match(name):
            raise ValueError(f"file path {path!r:.80} is not {{os}}-{{arch}}/{{file}}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"{path}: size {size!r:.40} is not a byte count")
        if not _SHA256.match(digest):
            raise ValueError(f"{path}: sha256 {digest!r:.80} is not 64 hex digits")
        return cls(path, target, size, digest)


_TEXT_FIELDS = (
    "name",
    "service",
    "version",
    "commit",
    "ref",
    "go_version",
    "build_time",
    "sha256sums",
    "run_url",
    "promoted_from",
    "promoted_by",
    "promoted_at",
)


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
            if not isinstance(data, dict):
                raise ValueError(f"it holds {type(data).__name__}, not an object")
            if data.get("schema") != SCHEMA:
                raise ValueError(f"schema is {data.get('schema')!r:.80}, expected {SCHEMA!r}")
            texts = {}
            for key in _TEXT_FIELDS:
                value = data.get(key, "")
                if not isinstance(value, str):
                    raise ValueError(f"{key} is {type(value).__name__}, not text")
                texts[key] = value
            files = data.get("files")
            builds = data.get("builds", [])
            if not isinstance(files, list) or not isinstance(builds, list):
                raise ValueError("files and builds must be lists")
            if not all(isinstance(b, dict) for b in builds):
                raise ValueError("every build record must be an object")
            if data.get("env") not in ENVS:
                raise ValueError(f"env is {data.get('env')!r:.40}, not dev or prod")
            if not _SHA256.match(texts["sha256sums"]):
                raise ValueError("sha256sums is not 64 hex digits")
            manifest = cls(
                env="prod" if data["env"] == "prod" else "dev",
                files=tuple(FileEntry.from_json(f) for f in files),
                builds=tuple(builds),
                **texts,
            )
            named = parse_release(manifest.name, "manifest name")
            if (named.env, named.service, named.version) != (
                manifest.env,
                manifest.service,
                manifest.version,
            ):
                raise ValueError(f"name {manifest.name!r} disagrees with its service or version")
            return manifest
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise VerdictError(f"{source} is not a goci release manifest: {exc}") from exc
        except InputError as exc:
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
    real, root = path.resolve(), dist.resolve()
    if real != root and not real.is_relative_to(root):
        raise bad_input("build output", str(path), f"{_ONLY_REGULAR}; it resolves to {real}")


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
        and _FILE.match(binary)
        and isinstance(size, int)
        and not isinstance(size, bool)
        and isinstance(digest, str)
        and _SHA256.match(digest)
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
            elif not _FILE.match(path.name):
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


def record_path(record: Mapping[str, Any]) -> str | None:
    """The release file a build record vouches for (older manifests lack ``path``)."""
    path = record.get("path")
    if isinstance(path, str):
        return path
    target, binary = record.get("target"), record.get("binary")
    if isinstance(target, str) and isinstance(binary, str):
        return f"{target.replace('/', '-')}/{binary}"
    return None


def check_build_records(manifest: Manifest, where: str) -> None:
    """Refuse a release whose files disagree with the build records it carries.

    Pack refuses such a binary itself; this catches a release packed without that check (by
    an older goci, or by hand) before upload or promote publishes it.
    """
    files = {f.path: f for f in manifest.files}
    problems = []
    for record in manifest.builds:
        digest = record.get("sha256")
        if digest is None:
            continue  # a record without digests (written before goci build kept them)
        path = record_path(record)
        entry = files.get(path) if path else None
        if entry is None:
            problems.append(f"{path or record.get('binary', '?')} is built but not in the release")
        elif entry.sha256 != digest or entry.size != record.get("size", entry.size):
            problems.append(
                f"{path} is sha256 {entry.sha256} ({entry.size} bytes) but was built as "
                f"{digest} ({record.get('size')} bytes)"
            )
    if problems:
        raise VerdictError(
            f"{where}: the release does not match its build record: {'; '.join(problems)}; "
            "goci publishes only the binaries goci build made (rebuild and pack again)"
        )


def _copy_hashing(src: Path, dst: Path) -> tuple[int, str]:
    """Copy a regular file (never through a link swapped in since it was checked)."""
    import hashlib

    digest = hashlib.sha256()
    size = 0
    fd = os.open(src, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fin, dst.open("wb") as fout:
        if not stat.S_ISREG(os.fstat(fin.fileno()).st_mode):
            raise bad_input("build output", str(src), _ONLY_REGULAR)
        for chunk in iter(lambda: fin.read(CHUNK), b""):
            digest.update(chunk)
            fout.write(chunk)
            size += len(chunk)
    shutil.copymode(src, dst)
    return size, digest.hexdigest()


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
    """Every release folder under ``dist/dev`` and ``dist/prod`` (``group/`` folders too).

    A folder that is neither a release nor a group of releases is bad input, named: skipping
    it would leave a release unpublished without a word.
    """
    found: list[ReleaseName] = []
    unreadable: list[str] = []

    def folders(parent: Path) -> list[Path]:
        return sorted(p for p in parent.iterdir() if p.is_dir() and not p.name.startswith("."))

    for env in ENVS:
        root = dist / env
        if not root.is_dir():
            continue
        for first in folders(root):
            named = _as_release(f"{env}/{first.name}")
            if named is not None:
                found.append(named)
                continue
            group = folders(first)
            if not group or (first / MANIFEST).exists() or (first / SUMS).exists():
                unreadable.append(f"{env}/{first.name}")
                continue
            for second in group:
                named = _as_release(f"{env}/{first.name}/{second.name}")
                if named is None:
                    unreadable.append(f"{env}/{first.name}/{second.name}")
                else:
                    found.append(named)
    if unreadable:
        raise bad_input(
            "--dist",
            str(dist),
            f"release folders named {RELEASE_FORMS}; cannot read "
            + ", ".join(unreadable)
            + " (rename or remove them, or name releases with --release)",
        )
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
