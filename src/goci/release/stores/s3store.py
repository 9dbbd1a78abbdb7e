"""``s3://bucket/prefix`` through boto3, for AWS S3, MinIO, SeaweedFS and R2.

Settings that S3-compatible servers need: path-style addressing, and boto3's newer default
checksums turned down to ``when_required`` (many servers reject the CRC headers). Integrity
is ours instead: every PUT carries Content-MD5 (the server refuses a body that does not match),
the returned ETag is compared with the MD5 we computed (the multipart ETag too), and the
SHA-256 travels as object metadata and is checked after the upload. Large files go multipart
with parts in parallel; transient failures are retried with exponential backoff.

A server-side copy runs only while the source still has the ETag seen when it was verified
(``CopySourceIfMatch``), and the copy is read back and hashed: metadata is what a writer
claims, the bytes are what a user downloads. Each multipart upload leaves a small marker
naming its writer beside it until it ends, so a rerun can abort a killed writer's upload and
leave a live writer's alone.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar

from goci.errors import GociError, InputError, ToolError
from goci.release.stores import (
    ConflictError,
    ObjectInfo,
    Progress,
    Tuning,
    check_key,
    redact_url,
    url_password,
)
from goci.tools.owner import Owner, abandoned, register_live, unregister_live

T = TypeVar("T")

_AUTH_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "InvalidToken",
    "ExpiredToken",
    "AuthorizationHeaderMalformed",
    "InvalidClientTokenId",
}
_TRANSIENT_CODES = {
    "SlowDown",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    "Throttling",
    "ThrottlingException",
    "OperationAborted",
}
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}
MARKERS = ".goci-uploads"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
META_SHA = "sha256"


def retrying(
    action: Callable[[], T],
    *,
    attempts: int,
    backoff: float,
    transient: Callable[[BaseException], bool],
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``action``; on a transient failure wait ``backoff * 2**n`` (with jitter) and retry."""
    for attempt in range(1, max(1, attempts) + 1):
        try:
            return action()
        except Exception as exc:
            if attempt >= attempts or not transient(exc):
                raise
            sleep(backoff * (2 ** (attempt - 1)) * (0.5 + random.random() / 2))  # noqa: S311
    raise AssertionError("unreachable")


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _status(exc: BaseException) -> int:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def is_transient(exc: BaseException) -> bool:
    """Connection trouble, timeouts, throttling and 5xx: worth another try."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, ClientError):
        return _code(exc) in _TRANSIENT_CODES or _status(exc) >= 500
    return isinstance(exc, ConnectionError | HTTPClientError)


def md5_b64(data: bytes) -> tuple[str, bytes]:
    digest = hashlib.md5(data, usedforsecurity=False).digest()
    return base64.b64encode(digest).decode(), digest


def expected_etag(path: Path, part_size: int, threshold: int = 0) -> str:
    """The ETag S3 gives the upload we make: MD5, or MD5 of part MD5s plus ``-N``."""
    size = path.stat().st_size
    if size <= max(part_size, threshold):
        return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
    digests = []
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(part_size), b""):
            digests.append(hashlib.md5(chunk, usedforsecurity=False).digest())
    combined = hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest()
    return f"{combined}-{len(digests)}"


_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def _shared_client(identity: tuple[Any, ...]) -> Any:
    """One boto3 client per credentials, region, endpoint and pool size in a process.

    Clients are thread-safe and building one costs a quarter of a second (its service model
    is parsed anew each time), which several stores opened in one process need not pay twice.
    """
    with _clients_lock:
        if identity not in _clients:
            import boto3
            from botocore.config import Config

            creds, region, endpoint, pool = identity
            named = dict(creds)
            session = boto3.session.Session(
                aws_access_key_id=named.get("aws_access_key_id"),
                aws_secret_access_key=named.get("aws_secret_access_key"),
                aws_session_token=named.get("aws_session_token"),
                profile_name=named.get("profile_name"),
                region_name=region,
            )
            _clients[identity] = session.client(
                "s3",
                endpoint_url=endpoint or None,
                config=Config(
                    s3={"addressing_style": "path"},
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                    retries={"total_max_attempts": 1},
                    max_pool_connections=pool,
                    connect_timeout=10,
                    read_timeout=120,
                ),
            )
        return _clients[identity]


class S3Store:
    """A bucket and key prefix on an S3-compatible server."""

    def __init__(
        self,
        bucket: str,
        prefix: str,
        *,
        endpoint_url: str,
        credentials: Mapping[str, str],
        region: str,
        tuning: Tuning,
        owner: Owner | None = None,
    ) -> None:
        self.bucket = bucket
        self.owner = owner or Owner.here()
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self.tuning = tuning
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._credentials = dict(credentials)
        self._region = region
        self._client: Any = None
        self._lock = threading.Lock()
        self._parts: ThreadPoolExecutor | None = None

    @classmethod
    def from_url(
        cls, url: str, rest: str, *, endpoint_url: str, env: Mapping[str, str], tuning: Tuning
    ) -> S3Store:
        bucket, _, prefix = rest.partition("/")
        if not _BUCKET.match(bucket):
            raise InputError(
                f"--store: {url!r} is not valid; the bucket must be 3-63 lower-case letters, "
                "digits, '.' or '-' (s3://bucket/prefix)"
            )
        if prefix.strip("/"):
            check_key(prefix.strip("/"))
        endpoint = (
            endpoint_url or env.get("AWS_ENDPOINT_URL_S3", "") or env.get("AWS_ENDPOINT_URL", "")
        )
        if endpoint and url_password(endpoint):
            raise InputError(
                f"--endpoint-url: {redact_url(endpoint)!r} is not valid; credentials never go "
                "in the URL (use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), use "
                "http(s)://host[:port]"
            )
        if endpoint and not re.match(r"^https?://[^/\s@]+(?:/\S*)?$", endpoint):
            raise InputError(
                f"--endpoint-url: {endpoint!r} is not valid; use http(s)://host[:port]"
            )
        key_id = env.get("AWS_ACCESS_KEY_ID", "")
        secret = env.get("AWS_SECRET_ACCESS_KEY", "")
        credentials = {}
        if key_id and secret:
            credentials = {"aws_access_key_id": key_id, "aws_secret_access_key": secret}
            if env.get("AWS_SESSION_TOKEN"):
                credentials["aws_session_token"] = env["AWS_SESSION_TOKEN"]
        elif key_id or secret:
            missing = "AWS_SECRET_ACCESS_KEY" if key_id else "AWS_ACCESS_KEY_ID"
            raise InputError(
                f"credentials: {missing} is not set (AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY go together)"
            )
        elif env.get("AWS_PROFILE"):
            credentials = {"profile_name": env["AWS_PROFILE"]}
        else:
            raise InputError(
                f"credentials: none for {url}; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(aws-actions/configure-aws-credentials sets them) or AWS_PROFILE"
            )
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        return cls(
            bucket,
            prefix,
            endpoint_url=endpoint,
            credentials=credentials,
            region=region,
            tuning=tuning,
            owner=Owner.current(env),
        )

    # --- plumbing -------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                creds = self._credentials
                identity = (
                    tuple(sorted(creds.items())),
                    self._region,
                    self.endpoint_url,
                    max(10, self.tuning.workers * 3),
                )
                self._client = _shared_client(identity)
            return self._client

    def _full(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"

    def _call(self, what: str, key: str, action: Callable[[], T], *, expect: bool = False) -> T:
        """Run one request with retries; refused credentials and other failures become one
        clear line (never the secret). With ``expect`` other ClientErrors reach the caller."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return retrying(
                action,
                attempts=self.tuning.attempts,
                backoff=self.tuning.backoff,
                transient=is_transient,
            )
        except ClientError as exc:
            code = _code(exc)
            if code in _AUTH_CODES or _status(exc) == 403:
                raise ToolError(
                    f"store {self.url}: the server refused the credentials ({code or 403}) "
                    f"on {what} {key}; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                ) from None
            if code == "NoSuchBucket":
                raise ToolError(
                    f"store {self.url}: bucket {self.bucket!r} does not exist at "
                    f"{self.endpoint_url or 'AWS'}"
                ) from None
            if expect:
                raise
            raise self._wrap_error(what, key, exc) from None
        except BotoCoreError as exc:
            raise ToolError(
                f"store {self.url}: {what} {key} failed after {self.tuning.attempts} "
                f"attempts: {exc}"
            ) from None

    def _wrap_error(self, what: str, key: str, exc: Exception) -> ToolError:
        return ToolError(f"store {self.url}: {what} {key} failed: {_code(exc) or exc}")

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._parts is None:
                self._parts = ThreadPoolExecutor(
                    max_workers=self.tuning.workers, thread_name_prefix="goci-part"
                )
            return self._parts

    def close(self) -> None:
        if self._parts is not None:
            self._parts.shutdown(wait=True)
            self._parts = None

    # --- the Store protocol ---------------------------------------------------------------

    def put_file(
        self, key: str, path: Path, sha256: str, *, on_progress: Progress | None = None
    ) -> None:
        size = path.stat().st_size
        # The MD5s prove the server got the bytes we read; this proves they are the bytes meant.
        if size <= max(self.tuning.part_size, self.tuning.multipart_threshold):
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != sha256:
                raise ToolError(f"store {self.url}: {path} does not match its SHA-256 {sha256}")
            md5, digest = md5_b64(data)
            etag = self._put(key, data, sha256, md5=md5)
            expected = digest.hex()
            if on_progress:
                on_progress(key, 1)
        else:
            etag, expected = self._multipart(key, path, sha256, on_progress)
        if etag.strip('"') != expected:
            raise ToolError(
                f"store {self.url}: {key} was stored with ETag {etag}, expected {expected}"
            )
        info = self.stat(key)
        if info is None or info.size != size or info.sha256 != sha256:
            raise ToolError(
                f"store {self.url}: {key} does not match after upload "
                f"(size {info.size if info else 'missing'} of {size}, "
                f"sha256 {info.sha256 if info else '-'} of {sha256})"
            )

    def _put(self, key: str, data: bytes, sha256: str, md5: str = "", **conditions: str) -> str:
        expect = bool(conditions)
        md5 = md5 or md5_b64(data)[0]
        full = self._full(key)
        response = self._call(
            "upload",
            key,
            lambda: self.client.put_object(
                Bucket=self.bucket,
                Key=full,
                Body=data,
                ContentMD5=md5,
                Metadata={META_SHA: sha256},
                **conditions,
            ),
            expect=expect,
        )
        return str(response.get("ETag", ""))

    def _multipart(
        self, key: str, path: Path, sha256: str, on_progress: Progress | None
    ) -> tuple[str, str]:
        full = self._full(key)
        size = path.stat().st_size
        part_size = self.tuning.part_size
        count = (size + part_size - 1) // part_size
        created = self._call(
            "start multipart upload of",
            key,
            lambda: self.client.create_multipart_upload(
                Bucket=self.bucket, Key=full, Metadata={META_SHA: sha256}
            ),
        )
        upload_id = str(created["UploadId"])
        token = f"s3:{upload_id}"
        register_live(token)
        marker = self._mark(key, upload_id)
        failed = threading.Event()
        # Parts are read once, in order, hashing the whole file on the way; at most a few
        # parts wait in memory for a free worker.
        slots = threading.BoundedSemaphore(self.tuning.workers + 2)

        def send(number: int, data: bytes) -> tuple[int, str, bytes]:
            try:
                if failed.is_set():
                    raise ToolError(f"store {self.url}: {key} upload abandoned")
                md5, digest = md5_b64(data)
                response = self._call(
                    f"part {number}/{count} of",
                    key,
                    lambda: self.client.upload_part(
                        Bucket=self.bucket,
                        Key=full,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=data,
                        ContentMD5=md5,
                    ),
                )
                etag = str(response["ETag"])
                if etag.strip('"') != digest.hex():
                    raise ToolError(f"store {self.url}: part {number} of {key} was stored wrongly")
                if on_progress:
                    on_progress(key, number)
                return number, etag, digest
            except BaseException:
                failed.set()
                raise
            finally:
                slots.release()

        pool = self._executor()
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
                raise ToolError(f"store {self.url}: {path} does not match its SHA-256 {sha256}")
            done = self._call(
                "complete multipart upload of",
                key,
                lambda: self.client.complete_multipart_upload(
                    Bucket=self.bucket,
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
            self._abort(full, upload_id)
            raise
        finally:
            unregister_live(token)
            if marker:
                with contextlib.suppress(GociError):
                    self._delete_one(marker)
        combined = hashlib.md5(
            b"".join(d for _, _, d in sorted(results)), usedforsecurity=False
        ).hexdigest()
        return str(done.get("ETag", "")), f"{combined}-{count}"

    def _abort(self, full: str, upload_id: str) -> None:
        # Best effort: the server may be the very thing that failed.
        with contextlib.suppress(Exception):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)

    def _marker_key(self, key: str, upload_id: str) -> str:
        folder = key.rpartition("/")[0]
        name = hashlib.sha256(upload_id.encode()).hexdigest()[:32]
        return f"{folder}/{MARKERS}/{name}.json" if folder else f"{MARKERS}/{name}.json"

    def _mark(self, key: str, upload_id: str) -> str:
        """Leave a note of who runs this upload (best effort: without it only age counts)."""
        marker = self._marker_key(key, upload_id)
        note = {"key": key, "upload_id": upload_id, "owner": self.owner.to_dict()}
        data = json.dumps(note).encode()
        try:
            self._put(marker, data, hashlib.sha256(data).hexdigest())
        except GociError:
            return ""
        return marker

    def has_file(self, key: str, path: Path, sha256: str) -> bool:
        info = self.stat(key)
        if info is None or info.size != path.stat().st_size or info.sha256 != sha256:
            return False
        return info.etag.strip('"') == expected_etag(
            path, self.tuning.part_size, self.tuning.multipart_threshold
        )

    def put_bytes(
        self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None
    ) -> str:
        from botocore.exceptions import ClientError

        conditions: dict[str, str] = {}
        if if_absent:
            conditions["IfNoneMatch"] = "*"
        if if_match is not None:
            conditions["IfMatch"] = if_match
        try:
            return self._put(key, data, hashlib.sha256(data).hexdigest(), **conditions)
        except ClientError as exc:
            if _code(exc) in _CONFLICT_CODES or _status(exc) in (409, 412):
                raise ConflictError(f"{key} was changed by someone else") from None
            if _code(exc) == "NotImplemented" or _status(exc) == 501:
                raise ToolError(
                    f"store {self.url}: the server does not support conditional writes "
                    "(If-None-Match / If-Match), which goci needs to keep prod versions "
                    "immutable and the current pointer consistent"
                ) from None
            raise self._wrap_error("upload", key, exc) from None

    def read(self, key: str) -> tuple[bytes, str] | None:
        from botocore.exceptions import ClientError

        full = self._full(key)
        try:
            response = self._call(
                "read",
                key,
                lambda: self.client.get_object(Bucket=self.bucket, Key=full),
                expect=True,
            )
            return response["Body"].read(), str(response.get("ETag", ""))
        except ClientError as exc:
            if _code(exc) in _MISSING_CODES:
                return None
            raise self._wrap_error("read", key, exc) from None

    def stat(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        full = self._full(key)
        try:
            response = self._call(
                "check",
                key,
                lambda: self.client.head_object(Bucket=self.bucket, Key=full),
                expect=True,
            )
        except ClientError as exc:
            if _code(exc) in _MISSING_CODES or _status(exc) == 404:
                return None
            raise self._wrap_error("check", key, exc) from None
        meta = {k.lower(): v for k, v in (response.get("Metadata") or {}).items()}
        return ObjectInfo(
            key, int(response["ContentLength"]), meta.get(META_SHA, ""), str(response["ETag"])
        )

    def hash(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        full = self._full(key)

        def fetch() -> ObjectInfo:
            response = self.client.get_object(Bucket=self.bucket, Key=full)
            digest = hashlib.sha256()
            size = 0
            for chunk in response["Body"].iter_chunks(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
            return ObjectInfo(key, size, digest.hexdigest(), str(response.get("ETag", "")))

        try:
            return self._call("read", key, fetch, expect=True)
        except ClientError as exc:
            if _code(exc) in _MISSING_CODES:
                return None
            raise self._wrap_error("read", key, exc) from None

    def copy(self, src: str, dst: str, sha256: str, *, if_match: str | None = None) -> None:
        from botocore.exceptions import ClientError

        full_src, full_dst = self._full(src), self._full(dst)
        condition = {"CopySourceIfMatch": if_match} if if_match is not None else {}
        try:
            # MetadataDirective=REPLACE: some servers drop metadata on COPY; ours must survive.
            self._call(
                "copy",
                f"{src} -> {dst}",
                lambda: self.client.copy_object(
                    Bucket=self.bucket,
                    Key=full_dst,
                    CopySource={"Bucket": self.bucket, "Key": full_src},
                    MetadataDirective="REPLACE",
                    Metadata={META_SHA: sha256},
                    **condition,
                ),
                expect=True,
            )
        except ClientError as exc:
            if _code(exc) in _CONFLICT_CODES or _status(exc) == 412:
                raise ConflictError(f"{src} changed since it was verified") from None
            if _code(exc) in _MISSING_CODES or _status(exc) == 404:
                raise ToolError(f"store {self.url}: {src} is missing") from None
            raise self._wrap_error("copy", f"{src} -> {dst}", exc) from None
        # The metadata above is only what we asked for; the bytes are what was copied.
        copied = self.hash(dst)
        if copied is None or copied.sha256 != sha256:
            with contextlib.suppress(GociError):
                self._delete_one(dst)
            raise ToolError(
                f"store {self.url}: the copy of {src} has SHA-256 "
                f"{copied.sha256 if copied else '(missing)'}, not {sha256}; {dst} was removed"
            )

    def list_keys(self, prefix: str) -> list[str]:
        full = self._full(prefix.rstrip("/")) + ("/" if prefix.endswith("/") else "")
        strip = len(self.prefix) + 1 if self.prefix else 0

        def fetch() -> list[str]:
            keys: list[str] = []
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                keys.extend(str(item["Key"])[strip:] for item in page.get("Contents", []))
            return keys

        return sorted(self._call("list", prefix, fetch))

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self._delete_one(key)

    def _delete_one(self, key: str) -> None:
        full = self._full(key)
        self._call("delete", key, lambda: self.client.delete_object(Bucket=self.bucket, Key=full))

    # --- leftovers of killed writers ---------------------------------------------------------

    def clean_leftovers(self, prefix: str, stale_after: float) -> list[str]:
        # Markers first: an upload whose marker is listed now was created before this moment,
        # so if the upload listing below lacks it, it has ended and its marker is an orphan.
        markers = [k for k in self.list_keys(prefix) if f"/{MARKERS}/" in f"/{k}"]
        uploads, now = self._uploads(prefix)
        cleaned = []
        live_markers = set()
        for key, upload_id, initiated in uploads:
            marker = self._marker_key(key, upload_id)
            owner = self._marker_owner(marker) if marker in markers else None
            idle = (now - self._last_activity(key, upload_id, initiated)).total_seconds()
            reason = abandoned(owner, f"s3:{upload_id}", idle, stale_after, self.owner)
            if reason is None:
                live_markers.add(marker)
                continue
            self._abort(self._full(key), upload_id)
            cleaned.append(f"aborted the unfinished upload of {key} ({reason})")
        orphans = [m for m in markers if m not in live_markers]
        for marker in orphans:
            with contextlib.suppress(GociError):
                self._delete_one(marker)
        return sorted(cleaned)

    def _uploads(self, prefix: str) -> tuple[list[tuple[str, str, datetime]], datetime]:
        """Unfinished multipart uploads under ``prefix`` and the server's clock."""
        full = self._full(prefix.rstrip("/")) + ("/" if prefix.endswith("/") else "")
        strip = len(self.prefix) + 1 if self.prefix else 0

        def fetch() -> tuple[list[tuple[str, str, datetime]], datetime]:
            found: list[tuple[str, str, datetime]] = []
            now = datetime.now(timezone.utc)
            paginator = self.client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                date = page.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
                with contextlib.suppress(TypeError, ValueError):
                    now = parsedate_to_datetime(date) if date else now
                for item in page.get("Uploads", []):
                    found.append(
                        (str(item["Key"])[strip:], str(item["UploadId"]), item["Initiated"])
                    )
            return found, now

        return self._call("list unfinished uploads of", prefix, fetch)

    def _last_activity(self, key: str, upload_id: str, initiated: datetime) -> datetime:
        full = self._full(key)

        def fetch() -> datetime:
            latest = initiated
            paginator = self.client.get_paginator("list_parts")
            for page in paginator.paginate(Bucket=self.bucket, Key=full, UploadId=upload_id):
                for part in page.get("Parts", []):
                    latest = max(latest, part["LastModified"])
            return latest

        try:
            return self._call("list parts of", key, fetch)
        except ToolError:
            return initiated

    def _marker_owner(self, marker: str) -> Owner | None:
        try:
            found = self.read(marker)
            return Owner.from_dict(json.loads(found[0]).get("owner")) if found else None
        except (GociError, ValueError, AttributeError):
            return None
