"""``manifest.json`` and ``SHA256SUMS``: what a release holds, and the build records it carries.

A reader decides "this release is complete" by its manifest, and a manifest may come from a
store anyone with write access could edit, so reading one checks every field and every path
against pack's own shape. The build records travel in the manifest, so upload and promote can
refuse a release whose files disagree with what goci build made.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from goci.errors import InputError, VerdictError
from goci.release.checksums import format_sums
from goci.release.names import ENVS, FILE_NAME, Env, ReleaseName, is_target, parse_release

SUMS = "SHA256SUMS"
MANIFEST = "manifest.json"
SCHEMA = "goci.release/v1"

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# A git commit id (SHA-1, or SHA-256 in a repository of that format); "" when unknown.
_COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})?\Z")


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
        if folder != target or not is_target(target) or not FILE_NAME.match(name):
            raise ValueError(f"file path {path!r:.80} is not {{os}}-{{arch}}/{{file}}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"{path}: size {size!r:.40} is not a byte count")
        if not SHA256_HEX.match(digest):
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
            if not _COMMIT.match(texts["commit"]):
                # reviewers approve a promotion from it: text there could pose as another commit
                raise ValueError(f"commit {texts['commit']!r:.80} is not a git commit id")
            files = data.get("files")
            builds = data.get("builds", [])
            if not isinstance(files, list) or not isinstance(builds, list):
                raise ValueError("files and builds must be lists")
            if not all(isinstance(b, dict) for b in builds):
                raise ValueError("every build record must be an object")
            if data.get("env") not in ENVS:
                raise ValueError(f"env is {data.get('env')!r:.40}, not dev or prod")
            if not SHA256_HEX.match(texts["sha256sums"]):
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
