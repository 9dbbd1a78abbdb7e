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

import contextlib
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from goci.errors import GociError, InputError, ToolError
from goci.release.stores import (
    ConflictError,
    ObjectInfo,
    Progress,
    Tuning,
    check_key,
    redact_url,
    s3multipart,
    url_password,
)
from goci.release.stores.s3client import (
    AUTH_CODES,
    CONFLICT_CODES,
    META_SHA,
    MISSING_CODES,
    T,
    credentials_from,
    error_code,
    expected_etag,
    http_status,
    is_transient,
    md5_b64,
    retrying,
    shared_client,
)
from goci.release.stores.s3objects import S3Objects
from goci.tools.hashing import CHUNK, Sha256, sha256_bytes
from goci.tools.owner import Owner

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class S3Store(S3Objects):
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
        cls,
        url: str,
        rest: str,
        *,
        endpoint_url: str,
        env: Mapping[str, str],
        tuning: Tuning,
        owner: Owner,
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
        credentials = credentials_from(env, url)
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        return cls(
            bucket,
            prefix,
            endpoint_url=endpoint,
            credentials=credentials,
            region=region,
            tuning=tuning,
            owner=owner,
        )

    # --- plumbing, also what s3multipart uses (its Bucket protocol) ------------------------

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
                self._client = shared_client(identity)
            return self._client

    def full_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.full_key(key)}"

    def call(self, what: str, key: str, action: Callable[[], T], *, expect: bool = False) -> T:
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
            code = error_code(exc)
            if code in AUTH_CODES or http_status(exc) == 403:
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
        return ToolError(f"store {self.url}: {what} {key} failed: {error_code(exc) or exc}")

    def part_pool(self) -> ThreadPoolExecutor:
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
            if sha256_bytes(data) != sha256:
                raise ToolError(f"store {self.url}: {path} does not match its SHA-256 {sha256}")
            md5, digest = md5_b64(data)
            etag = self.put_object(key, data, sha256, md5=md5)
            expected = digest.hex()
            if on_progress:
                on_progress(key, 1)
        else:
            etag, expected = s3multipart.upload_in_parts(self, key, path, sha256, on_progress)
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

    def put_object(
        self, key: str, data: bytes, sha256: str, md5: str = "", **conditions: str
    ) -> str:
        expect = bool(conditions)
        md5 = md5 or md5_b64(data)[0]
        full = self.full_key(key)
        response = self.call(
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
            return self.put_object(key, data, sha256_bytes(data), **conditions)
        except ClientError as exc:
            if error_code(exc) in CONFLICT_CODES or http_status(exc) in (409, 412):
                raise ConflictError(f"{key} was changed by someone else") from None
            if error_code(exc) == "NotImplemented" or http_status(exc) == 501:
                raise ToolError(
                    f"store {self.url}: the server does not support conditional writes "
                    "(If-None-Match / If-Match), which goci needs to keep prod versions "
                    "immutable and the current pointer consistent"
                ) from None
            raise self._wrap_error("upload", key, exc) from None

    def read(self, key: str) -> tuple[bytes, str] | None:
        from botocore.exceptions import ClientError

        full = self.full_key(key)
        try:
            response = self.call(
                "read",
                key,
                lambda: self.client.get_object(Bucket=self.bucket, Key=full),
                expect=True,
            )
            return response["Body"].read(), str(response.get("ETag", ""))
        except ClientError as exc:
            if error_code(exc) in MISSING_CODES:
                return None
            raise self._wrap_error("read", key, exc) from None

    def stat(self, key: str) -> ObjectInfo | None:
        response = self.head(key)
        if response is None:
            return None
        meta = {k.lower(): v for k, v in (response.get("Metadata") or {}).items()}
        return ObjectInfo(
            key, int(response["ContentLength"]), meta.get(META_SHA, ""), str(response["ETag"])
        )

    def hash(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        full = self.full_key(key)

        def fetch() -> ObjectInfo:
            response = self.client.get_object(Bucket=self.bucket, Key=full)
            digest = Sha256()
            for chunk in response["Body"].iter_chunks(CHUNK):
                digest.update(chunk)
            return ObjectInfo(key, digest.size, digest.hexdigest(), str(response.get("ETag", "")))

        try:
            return self.call("read", key, fetch, expect=True)
        except ClientError as exc:
            if error_code(exc) in MISSING_CODES:
                return None
            raise self._wrap_error("read", key, exc) from None

    def copy(self, src: str, dst: str, sha256: str, *, if_match: str | None = None) -> None:
        from botocore.exceptions import ClientError

        full_src, full_dst = self.full_key(src), self.full_key(dst)
        condition = {"CopySourceIfMatch": if_match} if if_match is not None else {}
        try:
            # MetadataDirective=REPLACE: some servers drop metadata on COPY; ours must survive.
            self.call(
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
            if error_code(exc) in CONFLICT_CODES or http_status(exc) == 412:
                raise ConflictError(f"{src} changed since it was verified") from None
            if error_code(exc) in MISSING_CODES or http_status(exc) == 404:
                raise ToolError(f"store {self.url}: {src} is missing") from None
            raise self._wrap_error("copy", f"{src} -> {dst}", exc) from None
        # The metadata above is only what we asked for; the bytes are what was copied.
        copied = self.hash(dst)
        if copied is None or copied.sha256 != sha256:
            with contextlib.suppress(GociError):
                self.delete_key(dst)
            raise ToolError(
                f"store {self.url}: the copy of {src} has SHA-256 "
                f"{copied.sha256 if copied else '(missing)'}, not {sha256}; {dst} was removed"
            )

    def list_keys(self, prefix: str) -> list[str]:
        full = self.full_key(prefix.rstrip("/")) + ("/" if prefix.endswith("/") else "")
        strip = len(self.prefix) + 1 if self.prefix else 0

        def fetch() -> list[str]:
            keys: list[str] = []
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                keys.extend(str(item["Key"])[strip:] for item in page.get("Contents", []))
            return keys

        return sorted(self.call("list", prefix, fetch))

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self.delete_key(key)

    def delete_key(self, key: str) -> None:
        full = self.full_key(key)
        self.call("delete", key, lambda: self.client.delete_object(Bucket=self.bucket, Key=full))

    # --- leftovers of killed writers ---------------------------------------------------------

    def clean_leftovers(self, prefix: str, stale_after: float) -> list[str]:
        return s3multipart.clean_leftovers(self, prefix, stale_after)
