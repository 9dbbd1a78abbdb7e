"""``upload``: send packed releases to a store, files first and the manifest last.

A reader decides "this release is complete" by the presence of ``manifest.json``, so it is
written only after every file and ``SHA256SUMS`` landed and were verified. A prod version is
immutable; every release, dev or prod, is claimed before any of its objects is written
(:mod:`goci.release.claim`), so of two publishes with different files exactly one writes
anything. An existing prod version is left alone when byte-identical and refused otherwise; an
existing dev release with other files is hidden, then rebuilt under a claim taken over; one
with our files but an object missing is repaired under our claim. An interrupted upload leaves
no manifest; running again skips the objects that already hold the right bytes, finishes the
rest, and removes what the interrupted run left behind (unfinished multipart uploads,
temporary files) once its writer is provably gone. Every object is checked once more just
before the manifest is written.
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
from goci.release.local import LocalRelease, refuse_links
from goci.release.manifest import MANIFEST, SUMS, FileEntry, Manifest, check_build_records
from goci.release.names import STAMP_DIGITS, ReleaseName
from goci.release.stores import ConflictError, Progress, Store, is_safe_key
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
    prune_note: str = ""


def verify_local(release: LocalRelease, workers: int = 4) -> None:
    """Every file on disk must still match SHA256SUMS before a single byte is sent, and be
    reached through no symbolic link (bad input, as when it was loaded: it could have been
    swapped for one since)."""
    refuse_links(release.path, [*(f.path for f in release.manifest.files), SUMS], str(release.name))

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
    if sha256_file(release.path / SUMS) != release.manifest.sha256sums:
        problems.append(f"{SUMS} changed after pack (re-run pack)")
    if problems:
        raise VerdictError(f"{release.path}: " + "; ".join(problems))


def _remote_manifest(store: Store, key: str) -> Manifest | None:
    found = store.read(key)
    return Manifest.from_json(found[0], store.location(key)) if found else None


Job = tuple[str, Path, str]
"""An object to send: its key, the local file and the SHA-256 it must hold."""


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
    jobs = [(f"{prefix}/{f.path}", release.path / f.path, f.sha256) for f in local.files]
    jobs.append((f"{prefix}/{SUMS}", release.path / SUMS, local.sha256sums))
    claim = Claim(prefix, local.sha256sums, local.commit, who or local.run_url, when)
    status, complete = _claim_release(store, release, claim, jobs, workers)
    sent = 0
    if status != "unchanged":
        sent = _send(store, jobs, workers, on_progress)
    if not complete:
        still_mine(store, release.name, claim)
        _check_sent(store, release.name, jobs, workers)
        status = _publish_manifest(store, release, status)
    cleaned = clean_leftovers(store, f"{prefix}/", stale_after)
    pruned: tuple[str, ...] = ()
    note = ""
    if keep and release.name.env == "dev":
        pruned, note = prune_dev(store, release.name, keep)
    return Uploaded(
        release.name,
        status,
        store.location(manifest_key),
        len(local.files),
        sum(f.size for f in local.files),
        sent,
        pruned,
        cleaned,
        note,
    )


def _claim_release(
    store: Store, release: LocalRelease, claim: Claim, jobs: list[Job], workers: int
) -> tuple[Status, bool]:
    """Make the release ours before any byte is written: the status so far, and whether its
    manifest is (and stays) in place.

    A complete release with our files that lacks nothing needs no write at all. One that needs
    repair is written only under our claim: a dev release is hidden, as for a rebuild, so a
    rebuild of other content that starts now is refused, and one that took the name already
    makes us stop, having touched nothing, before we write over its objects.
    """
    name, local = release.name, release.manifest
    existing = _remote_manifest(store, f"{name.folder}/{MANIFEST}")
    if existing is None:
        claim_version(store, name, claim)
        return "uploaded", False
    if not existing.same_files(local):
        if name.env == "prod":
            raise VerdictError(
                f"{store.location(name.folder)} already exists with different files; a prod "
                "version is immutable (publish a new version)"
            )
        # A dev release rebuilt with other bytes: its name changes hands, then it is hidden.
        take_over(store, name, existing.sha256sums, claim)
        return "uploaded", False
    if _all_stored(store, jobs, workers):
        return "unchanged", True
    if name.env == "prod":  # immutable: no one else's content can hold its claim
        claim_version(store, name, claim)
        return "repaired", True
    # Ours only while the claim is still ours (refused untouched if rebuilt meanwhile), then
    # hidden like a rebuild while its objects are written again.
    take_over(store, name, local.sha256sums, claim)
    return "repaired", False


def _stored(store: Store, job: Job) -> bool:
    """Whether the object holds exactly the job's bytes, judged by content.

    ``has_file`` also wants the ETag this upload would make, which an object of the right
    bytes lacks when another part size wrote it or a server-side copy (promote) made it: such
    an object is read back and hashed instead of being taken for damage and rewritten.
    """
    key, path, digest = job
    if store.has_file(key, path, digest):
        return True
    info = store.stat(key)
    if info is None or info.size != path.stat().st_size or info.sha256 != digest:
        return False
    read = store.hash(key)
    return read is not None and read.sha256 == digest and read.size == info.size


def _all_stored(store: Store, jobs: list[Job], workers: int) -> bool:
    def stored(job: Job) -> bool:
        return _stored(store, job)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="goci-head") as pool:
        return all(pool.map(stored, jobs))


def _send(store: Store, jobs: list[Job], workers: int, on_progress: Progress | None) -> int:
    """Send every object not already holding its bytes; the bytes sent."""

    def send(job: Job) -> int:
        key, path, digest = job
        if _stored(store, job):
            return 0
        store.put_file(key, path, digest, on_progress=on_progress)
        return path.stat().st_size

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="goci-file") as pool:
        return sum(pool.map(send, jobs))


def _check_sent(store: Store, name: ReleaseName, jobs: list[Job], workers: int) -> None:
    """Every object must still hold our bytes just before the manifest vouches for them.

    A publish that lost the name (a rebuild of the same dev release with other bytes took it
    over) stops before its manifest, but a write of it already under way can land on one of
    the winner's objects; the winner finds it here instead of publishing a manifest over
    someone else's bytes.
    """
    if not _all_stored(store, jobs, workers):
        raise VerdictError(
            f"{store.location(name.folder)}: objects changed while this upload ran (another "
            "publish of this release was writing); nothing was published, run it again"
        )


def _publish_manifest(store: Store, release: LocalRelease, status: Status) -> Status:
    """Write the manifest, last and only if absent: the moment the release becomes complete."""
    key = f"{release.name.folder}/{MANIFEST}"
    try:
        store.put_bytes(key, release.manifest_bytes, if_absent=True)
    except ConflictError:
        # Someone published the same name while we uploaded: fine only if it is our bytes.
        other = _remote_manifest(store, key)
        if other is None or not other.same_files(release.manifest):
            raise VerdictError(
                f"{store.location(release.name.folder)} was published by someone else with "
                "different files while this upload ran"
            ) from None
        return "unchanged"
    return status


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
    pattern = re.compile(rf"^dev/{re.escape(service)}-({STAMP_DIGITS})/{re.escape(MANIFEST)}\Z")
    stamps = []
    for key in store.list_keys(f"dev/{service}-"):
        match = pattern.match(key)
        if match:
            stamps.append(match.group(1))
    return sorted(stamps)


def prune_dev(store: Store, current: ReleaseName, keep: int) -> tuple[tuple[str, ...], str]:
    """Delete the dev releases beyond the ``keep`` newest by stamp, the one just written
    counted among them; what was removed, and a note when that one is not among the newest.

    Only releases older than the one just written are ever removed: re-running an old
    commit's publish must not delete the newer builds (``latest`` would go back to the old
    one), and a publish of a newer stamp running at the same moment is never a victim of
    this one, whatever either listing saw. When the one just written is itself older than
    the ``keep`` newest, the releases between it and them stay too, and the note says so.

    The manifest goes first, so a release being pruned never looks complete with files gone.
    An object whose key goci cannot address safely (a drive letter or control character in it,
    written by another tool) is left and named: the release it belonged to is already hidden,
    and the publish that prunes is complete.
    """
    stamps = sorted({*dev_releases(store, current.service), current.version})
    newest = stamps[-keep:]
    victims = [s for s in stamps[:-keep] if s < current.version]
    note = ""
    if current.version not in newest:
        note = (
            f"{current.folder} is not among the {keep} newest dev release(s) of "
            f"{current.service} (newest: {current.service}-{newest[-1]}); kept the newer ones, "
            "pruned only older ones"
        )
    removed = []
    for stamp in victims:
        prefix = f"dev/{current.service}-{stamp}/"
        store.delete([prefix + MANIFEST])
        rest = [k for k in store.list_keys(prefix) if k != prefix + MANIFEST]
        store.delete([k for k in rest if is_safe_key(k)])
        odd = [k for k in rest if not is_safe_key(k)]
        left = f" (left {len(odd)} object(s) with unsafe keys, remove by hand: {odd!r:.200})"
        removed.append(prefix.rstrip("/") + (left if odd else ""))
    return tuple(removed), note


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
