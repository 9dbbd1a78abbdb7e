"""Multipart uploads to S3 and the leftovers of killed writers.

A large file goes in parts, in parallel, read once in order and hashed on the way; every part
is checked against its MD5 and the whole against its SHA-256 before the upload is completed.
Each upload leaves a small marker naming its writer beside it until it ends, so a later run
aborts a dead writer's unfinished upload (and removes orphan markers) but leaves a live
writer's alone. These are functions over an :class:`~goci.release.stores.s3store.S3Store`
and its request plumbing, kept apart so the store itself stays readable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from goci.errors import GociError, ToolError
from goci.release.stores import Progress
from goci.release.stores.s3client import META_SHA, md5_b64
from goci.tools.owner import Owner, abandoned, register_live, unregister_live

if TYPE_CHECKING:
    from goci.release.stores.s3store import S3Store

MARKERS = ".goci-uploads"


def upload_in_parts(
    store: S3Store, key: str, path: Path, sha256: str, on_progress: Progress | None
) -> tuple[str, str]:
    """Send ``path`` in parts; the ETag the server gave the whole, and the one expected."""
    full = store._full(key)
    size = path.stat().st_size
    part_size = store.tuning.part_size
    count = (size + part_size - 1) // part_size
    created = store._call(
        "start multipart upload of",
        key,
        lambda: store.client.create_multipart_upload(
            Bucket=store.bucket, Key=full, Metadata={META_SHA: sha256}
        ),
    )
    upload_id = str(created["UploadId"])
    token = f"s3:{upload_id}"
    register_live(token)
    marker = _mark(store, key, upload_id)
    failed = threading.Event()
    # Parts are read once, in order, hashing the whole file on the way; at most a few
    # parts wait in memory for a free worker.
    slots = threading.BoundedSemaphore(store.tuning.workers + 2)

    def send(number: int, data: bytes) -> tuple[int, str, bytes]:
        try:
            if failed.is_set():
                raise ToolError(f"store {store.url}: {key} upload abandoned")
            md5, digest = md5_b64(data)
            response = store._call(
                f"part {number}/{count} of",
                key,
                lambda: store.client.upload_part(
                    Bucket=store.bucket,
                    Key=full,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=data,
                    ContentMD5=md5,
                ),
            )
            etag = str(response["ETag"])
            if etag.strip('"') != digest.hex():
                raise ToolError(f"store {store.url}: part {number} of {key} was stored wrongly")
            if on_progress:
                on_progress(key, number)
            return number, etag, digest
        except BaseException:
            failed.set()
            raise
        finally:
            slots.release()

    pool = store._executor()
    futures = []
    whole = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for number in range(1, count + 1):
                data = handle.read(part_size)
                whole.update(data)
                slots.acquire()
                if failed.is_set():
                    slots.release()
                    break
                futures.append(pool.submit(send, number, data))
        results = [f.result() for f in futures]
        if whole.hexdigest() != sha256:
            raise ToolError(f"store {store.url}: {path} does not match its SHA-256 {sha256}")
        done = store._call(
            "complete multipart upload of",
            key,
            lambda: store.client.complete_multipart_upload(
                Bucket=store.bucket,
                Key=full,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": n, "ETag": e} for n, e, _ in sorted(results)]
                },
            ),
        )
    except BaseException:
        failed.set()
        for future in futures:
            future.cancel()
        for future in futures:
            if not future.cancelled():
                future.exception()
        abort(store, full, upload_id)
        raise
    finally:
        unregister_live(token)
        if marker:
            with contextlib.suppress(GociError):
                store._delete_one(marker)
    combined = hashlib.md5(
        b"".join(d for _, _, d in sorted(results)), usedforsecurity=False
    ).hexdigest()
    return str(done.get("ETag", "")), f"{combined}-{count}"


def abort(store: S3Store, full: str, upload_id: str) -> None:
    # Best effort: the server may be the very thing that failed.
    with contextlib.suppress(Exception):
        store.client.abort_multipart_upload(Bucket=store.bucket, Key=full, UploadId=upload_id)


def marker_key(key: str, upload_id: str) -> str:
    folder = key.rpartition("/")[0]
    name = hashlib.sha256(upload_id.encode()).hexdigest()[:32]
    return f"{folder}/{MARKERS}/{name}.json" if folder else f"{MARKERS}/{name}.json"


def _mark(store: S3Store, key: str, upload_id: str) -> str:
    """Leave a note of who runs this upload (best effort: without it only age counts)."""
    marker = marker_key(key, upload_id)
    note = {"key": key, "upload_id": upload_id, "owner": store.owner.to_dict()}
    data = json.dumps(note).encode()
    try:
        store._put(marker, data, hashlib.sha256(data).hexdigest())
    except GociError:
        return ""
    return marker


def clean_leftovers(store: S3Store, prefix: str, stale_after: float) -> list[str]:
    # Markers first: an upload whose marker is listed now was created before this moment,
    # so if the upload listing below lacks it, it has ended and its marker is an orphan.
    markers = [k for k in store.list_keys(prefix) if f"/{MARKERS}/" in f"/{k}"]
    uploads, now = _uploads(store, prefix)
    cleaned = []
    live_markers = set()
    for key, upload_id, initiated in uploads:
        marker = marker_key(key, upload_id)
        owner = _marker_owner(store, marker) if marker in markers else None
        idle = (now - _last_activity(store, key, upload_id, initiated)).total_seconds()
        reason = abandoned(owner, f"s3:{upload_id}", idle, stale_after, store.owner)
        if reason is None:
            live_markers.add(marker)
            continue
        abort(store, store._full(key), upload_id)
        cleaned.append(f"aborted the unfinished upload of {key} ({reason})")
    orphans = [m for m in markers if m not in live_markers]
    for marker in orphans:
        with contextlib.suppress(GociError):
            store._delete_one(marker)
    return sorted(cleaned)


def _uploads(store: S3Store, prefix: str) -> tuple[list[tuple[str, str, datetime]], datetime]:
    """Unfinished multipart uploads under ``prefix`` and the server's clock."""
    full = store._full(prefix.rstrip("/")) + ("/" if prefix.endswith("/") else "")
    strip = len(store.prefix) + 1 if store.prefix else 0

    def fetch() -> tuple[list[tuple[str, str, datetime]], datetime]:
        found: list[tuple[str, str, datetime]] = []
        now = datetime.now(timezone.utc)
        paginator = store.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=store.bucket, Prefix=full):
            date = page.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
            with contextlib.suppress(TypeError, ValueError):
                now = parsedate_to_datetime(date) if date else now
            for item in page.get("Uploads", []):
                found.append((str(item["Key"])[strip:], str(item["UploadId"]), item["Initiated"]))
        return found, now

    return store._call("list unfinished uploads of", prefix, fetch)


def _last_activity(store: S3Store, key: str, upload_id: str, initiated: datetime) -> datetime:
    full = store._full(key)

    def fetch() -> datetime:
        latest = initiated
        paginator = store.client.get_paginator("list_parts")
        for page in paginator.paginate(Bucket=store.bucket, Key=full, UploadId=upload_id):
            for part in page.get("Parts", []):
                latest = max(latest, part["LastModified"])
        return latest

    try:
        return store._call("list parts of", key, fetch)
    except ToolError:
        return initiated


def _marker_owner(store: S3Store, marker: str) -> Owner | None:
    try:
        found = store.read(marker)
        return Owner.from_dict(json.loads(found[0]).get("owner")) if found else None
    except (GociError, ValueError, AttributeError):
        return None
