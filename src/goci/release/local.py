"""Packed releases read back from ``dist/``: found by folder name, checked against their sums.

Upload publishes what it finds here, so a folder that is neither a release nor a group of
releases is bad input (skipping it would leave a release unpublished without a word), and a
release whose ``SHA256SUMS`` and manifest disagree is refused before any byte is sent.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from goci.errors import InputError, VerdictError, bad_input
from goci.release.checksums import parse_sums
from goci.release.manifest import MANIFEST, SUMS, Manifest
from goci.release.names import ENVS, RELEASE_FORMS, ReleaseName, parse_release
from goci.tools.hashing import sha256_bytes


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


def linked_part(root: Path, relative: str) -> str | None:
    """The first part of ``root/relative`` below ``root`` that is a symbolic link, or None.

    Every part is looked at with ``lstat``, never followed: a link to a folder anywhere in the
    path (``linux-amd64 -> /etc``) would otherwise publish files from outside dist, while a
    check of the last part alone sees regular files behind it.
    """
    path = root
    for part in relative.split("/"):
        path = path / part
        try:
            if stat.S_ISLNK(path.lstat().st_mode):
                return path.relative_to(root).as_posix()
        except FileNotFoundError:
            return None
    return None


def refuse_links(root: Path, relatives: Iterable[str], release: str) -> None:
    """Bad input (exit 2) when any of ``relatives`` passes through a symbolic link."""
    for relative in relatives:
        link = linked_part(root, relative)
        if link is not None:
            raise bad_input(
                "--release",
                release,
                f"a release folder of regular files and folders only: {root / link} is a "
                "symbolic link, which could publish files from outside dist (re-run pack)",
            )


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
    manifest_bytes: bytes
    """The manifest exactly as checked: upload sends these bytes, never a re-read of a file
    that could have changed since."""


def load_release(dist: Path, name: ReleaseName) -> LocalRelease:
    """Read a packed release; a missing SHA256SUMS or manifest is bad input, a mismatch a no."""
    folder = dist / name.folder
    refuse_links(dist, [f"{name.folder}/{SUMS}", f"{name.folder}/{MANIFEST}"], name.folder)
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
    try:  # as bytes: reading as text would turn CRLF into LF and hide a changed file
        sums_text = sums_path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_input(
            "--release", name.folder, f"a {SUMS} as pack writes it (UTF-8 text; {exc}); run pack"
        ) from None
    sums = parse_sums(sums_text, source=str(sums_path))
    manifest_bytes = manifest_path.read_bytes()
    manifest = Manifest.from_json(manifest_bytes, str(manifest_path))
    if manifest.release != name:
        raise VerdictError(
            f"{folder}: its {MANIFEST} is of {manifest.name}, not {name.folder}; a release "
            "folder moved or renamed after pack would publish under the wrong name (re-run pack)"
        )
    refuse_links(folder, (f.path for f in manifest.files), name.folder)
    listed = {f.path: f.sha256 for f in manifest.files}
    if sums != listed or sha256_bytes(sums_text.encode()) != manifest.sha256sums:
        raise VerdictError(f"{folder}: {SUMS} and {MANIFEST} disagree; re-run pack")
    return LocalRelease(name, folder, manifest, sums_text, manifest_bytes)
