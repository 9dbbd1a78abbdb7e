"""Multipart uploads to S3 and the leftovers of killed writers.

A large file goes in parts, in parallel, read once in order and hashed on the way; every part
is checked against its MD5 and the whole against its SHA-256 before the upload is completed.
Each upload leaves a small marker naming its writer beside it until it ends, so a later run
aborts a dead writer's unfinished upload (and removes orphan markers) but leaves a live
writer's alone. These are functions over a :class:`Bucket`, the small part of
:class:`~goci.release.stores.s3store.S3Store` they use, kept apart so the store stays readable.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from goci.errors import GociError, ToolError
from goci.release.stores import Progress, Tuning, is_safe_key
from goci.release.stores.s3client import META_SHA, md5_b64
from goci.tools.hashing import Sha256, sha256_bytes
from goci.tools.owner import Owner, abandoned, register_live, unregister_live

MARKERS = ".goci-uploads"
T = TypeVar("T")


class Bucket(Protocol):
    """What these functions need of :class:`~goci.release.stores.s3store.S3Store`: its bucket,
    its client and the request plumbing (retries, error text, keys under the prefix)."""

    url: str
    bucket: str
    prefix: str
    owner: Owner
    tuning: Tuning

    @property
    def client(self) -> Any: ...

    def call(self, what: str, key: str, action: Callable[[], T], *, expect: bool = False) -> T:
        """Run one request with retries; failures become one clear ToolError."""

    def full_key(self, key: str) -> str:
        """``key`` under the store's prefix, as the bucket names it."""

    def put_object(self, key: str, data: bytes, sha256: str) -> str:
        """Store a small object; its ETag."""

    def delete_key(self, key: str) -> None: ...

    def part_pool(self) -> ThreadPoolExecutor:
        """The threads that send parts (shared by every upload of the store)."""

    def read(self, key: str) -> tuple[bytes, str] | None: ...

    def list_keys(self, prefix: str) -> list[str]: ...


class _Upload:
    """One multipart upload in flight: its parts are sent in parallel; the first failure
    stops the rest, and nothing is completed unless every part and the whole hash held."""

    def __init__(self, bucket: Bucket, key: str, upload_id: str, count: int) -> None:
        self.bucket, self.key, self.upload_id, self.count = bucket, key, upload_id, count
        self.full = bucket.full_key(key)
        self.failed = threading.Event()
        # Parts are read once, in order; at most a few wait in memory for a free worker.
        self.slots = threading.BoundedSemaphore(bucket.tuning.workers + 2)
        self.futures: list[Future[tuple[int, str, bytes]]] = []

    def send(
        self, number: int, data: bytes, on_progress: Progress | None
    ) -> tuple[int, str, bytes]:
        """Send one part; its number, the ETag the server gave it and its MD5."""
        bucket = self.bucket
        try:
            if self.failed.is_set():
                raise ToolError(f"store {bucket.url}: {self.key} upload abandoned")
            md5, digest = md5_b64(data)
            response = bucket.call(
                f"part {number}/{self.count} of",
                self.key,
                lambda: bucket.client.upload_part(
                    Bucket=bucket.bucket,
                    Key=self.full,
                    UploadId=self.upload_id,
                    PartNumber=number,
                    Body=data,
                    ContentMD5=md5,
                ),
            )
            etag = str(response["ETag"])
            if etag.strip('"') != digest.hex():
                raise ToolError(
                    f"store {bucket.url}: part {number} of {self.key} was stored wrongly"
                )
            if on_progress:
                on_progress(self.key, number)
            return number, etag, digest
        except BaseException:
            self.failed.set()
            raise
        finally:
            self.slots.release()

    def send_all(self, path: Path, on_progress: Progress | None) -> tuple[str, list[Any]]:
        """Read ``path`` part by part, hashing it on the way, and hand each part to a worker;
        the whole file's SHA-256 and every part's result."""
        pool = self.bucket.part_pool()
        whole = Sha256()
        with path.open("rb") as handle:
            for number in range(1, self.count + 1):
                data = whole.update(handle.read(self.bucket.tuning.part_size))
                self.slots.acquire()
                if self.failed.is_set():
                    self.slots.release()
                    break
                self.futures.append(pool.submit(self.send, number, data, on_progress))
        return whole.hexdigest(), [f.result() for f in self.futures]

    def complete(self, parts: list[tuple[int, str, bytes]]) -> str:
        """Join the parts into the object; the ETag the server gave the whole."""
        bucket = self.bucket
        done = bucket.call(
            "complete multipart upload of",
            self.key,
            lambda: bucket.client.complete_multipart_upload(
                Bucket=bucket.bucket,
                Key=self.full,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e, _ in parts]},
            ),
        )
        return str(done.get("ETag", ""))

    def abandon(self) -> None:
        """Stop the parts still waiting, let the running ones end, abort the upload."""
        self.failed.set()
        for future in self.futures:
            future.cancel()
        for future in self.futures:
            if not future.cancelled():
                future.exception()
        abort(self.bucket, self.full, self.upload_id)


def upload_in_parts(
    bucket: Bucket, key: str, path: Path, sha256: str, on_progress: Progress | None
) -> tuple[str, str]:
    """Send ``path`` in parts; the ETag the server gave the whole, and the one expected."""
    size = path.stat().st_size
    count = (size + bucket.tuning.part_size - 1) // bucket.tuning.part_size
    created = bucket.call(
        "start multipart upload of",
        key,
        lambda: bucket.client.create_multipart_upload(
            Bucket=bucket.bucket, Key=bucket.full_key(key), Metadata={META_SHA: sha256}
        ),
    )
    upload = _Upload(bucket, key, str(created["UploadId"]), count)
    token = f"s3:{upload.upload_id}"
    register_live(token)
    marker = _mark(bucket, key, upload.upload_id)
    try:
        whole, parts = upload.send_all(path, on_progress)
        if whole != sha256:
            raise ToolError(f"store {bucket.url}: {path} does not match its SHA-256 {sha256}")
        etag = upload.complete(sorted(parts))
    except BaseException:
        upload.abandon()
        raise
    finally:
        unregister_live(token)
        if marker:
            with contextlib.suppress(GociError):
                bucket.delete_key(marker)
    combined = md5_b64(b"".join(d for _, _, d in sorted(parts)))[1].hex()
    return etag, f"{combined}-{count}"


def abort(bucket: Bucket, full: str, upload_id: str) -> None:
    # Best effort: the server may be the very thing that failed.
    with contextlib.suppress(Exception):
        bucket.client.abort_multipart_upload(Bucket=bucket.bucket, Key=full, UploadId=upload_id)


def marker_key(key: str, upload_id: str) -> str:
    folder = key.rpartition("/")[0]
    name = sha256_bytes(upload_id.encode())[:32]
    return f"{folder}/{MARKERS}/{name}.json" if folder else f"{MARKERS}/{name}.json"


def _mark(bucket: Bucket, key: str, upload_id: str) -> str:
    """Leave a note of who runs this upload (best effort: without it only age counts)."""
    marker = marker_key(key, upload_id)
    note = {"key": key, "upload_id": upload_id, "owner": bucket.owner.to_dict()}
    data = json.dumps(note).encode()
    try:
        bucket.put_object(marker, data, sha256_bytes(data))
    except GociError:
        return ""
    return marker


def clean_leftovers(bucket: Bucket, prefix: str, stale_after: float) -> list[str]:
    # Markers first: an upload whose marker is listed now was created before this moment,
    # so if the upload listing below lacks it, it has ended and its marker is an orphan.
    markers = [k for k in bucket.list_keys(prefix) if f"/{MARKERS}/" in f"/{k}"]
    uploads, now = _uploads(bucket, prefix)
    cleaned = []
    live_markers = set()
    for key, upload_id, initiated in uploads:
        if not is_safe_key(key):  # not goci's: another tool's upload, left to its owner
            cleaned.append(f"left the unfinished upload of {key!r} (not a key goci writes)")
            continue
        marker = marker_key(key, upload_id)
        owner = _marker_owner(bucket, marker) if marker in markers else None
        idle = (now - _last_activity(bucket, key, upload_id, initiated)).total_seconds()
        reason = abandoned(owner, f"s3:{upload_id}", idle, stale_after, bucket.owner)
        if reason is None:
            live_markers.add(marker)
            continue
        abort(bucket, bucket.full_key(key), upload_id)
        cleaned.append(f"aborted the unfinished upload of {key} ({reason})")
    orphans = [m for m in markers if m not in live_markers]
    for marker in orphans:
        with contextlib.suppress(GociError):
            bucket.delete_key(marker)
    return sorted(cleaned)


def _uploads(bucket: Bucket, prefix: str) -> tuple[list[tuple[str, str, datetime]], datetime]:
    """Unfinished multipart uploads under ``prefix`` and the server's clock."""
    full = bucket.full_key(prefix.rstrip("/")) + ("/" if prefix.endswith("/") else "")
    strip = len(bucket.prefix) + 1 if bucket.prefix else 0

    def fetch() -> tuple[list[tuple[str, str, datetime]], datetime]:
        found: list[tuple[str, str, datetime]] = []
        now = datetime.now(timezone.utc)
        paginator = bucket.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=bucket.bucket, Prefix=full):
            date = page.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
            with contextlib.suppress(TypeError, ValueError):
                now = parsedate_to_datetime(date) if date else now
            for item in page.get("Uploads", []):
                found.append((str(item["Key"])[strip:], str(item["UploadId"]), item["Initiated"]))
        return found, now

    return bucket.call("list unfinished uploads of", prefix, fetch)


def _last_activity(bucket: Bucket, key: str, upload_id: str, initiated: datetime) -> datetime:
    full = bucket.full_key(key)

    def fetch() -> datetime:
        latest = initiated
        paginator = bucket.client.get_paginator("list_parts")
        for page in paginator.paginate(Bucket=bucket.bucket, Key=full, UploadId=upload_id):
            for part in page.get("Parts", []):
                latest = max(latest, part["LastModified"])
        return latest

    try:
        return bucket.call("list parts of", key, fetch)
    except ToolError:
        return initiated


def _marker_owner(bucket: Bucket, marker: str) -> Owner | None:
    try:
        found = bucket.read(marker)
        return Owner.from_dict(json.loads(found[0]).get("owner")) if found else None
    except (GociError, ValueError, AttributeError):
        return None
