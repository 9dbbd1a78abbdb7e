"""``upload``: send packed releases to a store, files first and the manifest last.

A reader decides "this release is complete" by the presence of ``manifest.json``, so it is
written only after every file and ``SHA256SUMS`` landed and were verified. A prod version is
immutable; every release, dev or prod, is claimed before any of its objects is written
(:mod:`goci.release.claim`), so of two publishes with different files exactly one writes
anything. An existing prod version is left alone when byte-identical and refused otherwise; an
existing dev release with other files is hidden, then rebuilt under a claim taken over. An
interrupted upload leaves no manifest; running again skips the objects that already hold the
right bytes, finishes the rest, and removes what the interrupted run left behind (unfinished
multipart uploads, temporary files) once its writer is provably gone.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from goci.errors import ToolError, VerdictError
from goci.release.claim import Claim, claim_version, still_mine, take_over
from goci.release.local import LocalRelease
from goci.release.manifest import MANIFEST, SUMS, FileEntry, Manifest, check_build_records
from goci.release.names import ReleaseName
from goci.release.stores import ConflictError, Progress, Store
from goci.tools.hashing import sha256_file

STALE_AFTER = 3600.0
"""Seconds an unfinished upload of an unknown writer must sit idle before it counts as dead."""

Status = Literal["uploaded", "unchanged", "repaired"]


@dataclass(frozen=True)
class Uploaded:
    """What happened to one release."""

    name: ReleaseName
    status: Status
    manifest_url: str
    files: int
    bytes: int
    sent: int
    pruned: tuple[str, ...] = ()
    cleaned: tuple[str, ...] = ()


def verify_local(release: LocalRelease, workers: int = 4) -> None:
    """Every file on disk must still match SHA256SUMS before a single byte is sent."""

    def problem(entry: FileEntry) -> str:
        path = release.path / entry.path
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            return f"{entry.path} is listed in {SUMS} but missing"
        if not stat.S_ISREG(mode):
            return f"{entry.path} is not a regular file (pack writes only regular files)"
        if path.stat().st_size != entry.size or sha256_file(path) != entry.sha256:
            return f"{entry.path} does not match {SUMS}; the file changed after pack (re-run pack)"
        return ""

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="goci-hash") as pool:
        problems = [p for p in pool.map(problem, release.manifest.files) if p]
    if problems:
        raise VerdictError(f"{release.path}: " + "; ".join(problems))


def _remote_manifest(store: Store, key: str) -> Manifest | None:
    found = store.read(key)
    return Manifest.from_json(found[0], store.location(key)) if found else None


def upload_release(
    store: Store,
    release: LocalRelease,
    *,
    workers: int = 4,
    keep: int = 0,
    on_progress: Progress | None = None,
    verify: bool = True,
    who: str = "",
    when: str = "",
    stale_after: float = STALE_AFTER,
) -> Uploaded:
    """Upload one release (resuming an interrupted one) and prune old dev releases."""
    if verify:
        verify_local(release)
    check_build_records(release.manifest, str(release.path))
    prefix = release.name.folder
    manifest_key = f"{prefix}/{MANIFEST}"
    local = release.manifest
    total = sum(f.size for f in local.files)
    existing = _remote_manifest(store, manifest_key)
    status: Status = "uploaded"
    claim = Claim(prefix, local.sha256sums, local.commit, who or local.run_url, when)
    if existing is not None and not existing.same_files(local):
        if release.name.env == "prod":
            raise VerdictError(
                f"{store.location(prefix)} already exists with different files; a prod "
                "version is immutable (publish a new version)"
            )
        # A dev release rebuilt with other bytes: hidden before its name changes hands.
        take_over(store, release.name, existing.sha256sums, claim)
        existing = None
    elif existing is not None:
        status = "repaired"
    else:
        claim_version(store, release.name, claim)

    jobs = [(f"{prefix}/{f.path}", release.path / f.path, f.sha256) for f in local.files]
    jobs.append((f"{prefix}/{SUMS}", release.path / SUMS, local.sha256sums))

    def send(job: tuple[str, Path, str]) -> int:
        key, path, digest = job
        if store.has_file(key, path, digest):
            return 0
        store.put_file(key, path, digest, on_progress=on_progress)
        return path.stat().st_size

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="goci-file") as pool:
        sent = sum(pool.map(send, jobs))
    if existing is not None:
        status = "unchanged" if sent == 0 else "repaired"
    else:
        still_mine(store, release.name, claim)
        data = (release.path / MANIFEST).read_bytes()
        try:
            store.put_bytes(manifest_key, data, if_absent=True)
        except ConflictError:
            # Someone published the same name while we uploaded: fine only if it is our bytes.
            other = _remote_manifest(store, manifest_key)
            if other is None or not other.same_files(local):
                raise VerdictError(
                    f"{store.location(prefix)} was published by someone else with different "
                    "files while this upload ran"
                ) from None
            status = "unchanged"
    cleaned = clean_leftovers(store, f"{prefix}/", stale_after)
    pruned = prune_dev(store, release.name, keep) if keep and release.name.env == "dev" else ()
    return Uploaded(
        release.name,
        status,
        store.location(manifest_key),
        len(local.files),
        total,
        sent,
        pruned,
        cleaned,
    )


def clean_leftovers(store: Store, prefix: str, stale_after: float) -> tuple[str, ...]:
    """What dead writers left under ``prefix``, removed; what was done, in words.

    Housekeeping after the release is complete: a store that refuses it (a bucket policy
    without ``s3:ListBucketMultipartUploads``, say) is reported, never a failed publish.
    """
    try:
        return tuple(store.clean_leftovers(prefix, stale_after))
    except ToolError as exc:
        return (f"skipped ({exc})",)


def dev_releases(store: Store, service: str) -> list[str]:
    """Stamps of the complete dev releases of ``service`` in the store, oldest first."""
    pattern = re.compile(rf"^dev/{re.escape(service)}-(\d{{14}})/{re.escape(MANIFEST)}$")
    stamps = []
    for key in store.list_keys(f"dev/{service}-"):
        match = pattern.match(key)
        if match:
            stamps.append(match.group(1))
    return sorted(stamps)


def prune_dev(store: Store, current: ReleaseName, keep: int) -> tuple[str, ...]:
    """Delete the oldest dev releases beyond ``keep``; never the one just written.

    The manifest goes first, so a release being pruned never looks complete with files gone.
    """
    stamps = [s for s in dev_releases(store, current.service) if s != current.version]
    excess = len(stamps) + 1 - keep
    victims = stamps[: max(0, excess)]
    removed = []
    for stamp in victims:
        prefix = f"dev/{current.service}-{stamp}/"
        store.delete([prefix + MANIFEST])
        store.delete([k for k in store.list_keys(prefix) if k != prefix + MANIFEST])
        removed.append(prefix.rstrip("/"))
    return tuple(removed)


def upload_all(
    store: Store,
    releases: Sequence[LocalRelease],
    *,
    workers: int = 4,
    keep: int = 0,
    on_progress: Progress | None = None,
    who: str = "",
    when: str = "",
    stale_after: float = STALE_AFTER,
) -> list[Uploaded]:
    """Verify every release locally first (files and build records), then upload them one
    after another."""
    for release in releases:
        verify_local(release, workers)
        check_build_records(release.manifest, str(release.path))
    return [
        upload_release(
            store,
            r,
            workers=workers,
            keep=keep,
            on_progress=on_progress,
            verify=False,
            who=who,
            when=when,
            stale_after=stale_after,
        )
        for r in releases
    ]
