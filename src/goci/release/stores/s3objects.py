"""What the shared build cache asks of an S3 store besides the release protocol: when an object
was last written, "mark it written now", and a listing with sizes and times.

A mixin of :class:`~goci.release.stores.s3store.S3Store` over its :class:`Bucket` plumbing
(retries, error text, keys under the prefix), kept apart so the store stays readable. S3 has
no "touch": an object is copied onto itself with its own metadata, which gives it a new
last-modified time (what lifecycle rules and ``goci cacheprog gc`` judge) without sending a
byte of it.
"""

from __future__ import annotations

from typing import Any

from goci.errors import ToolError
from goci.release.stores import Listed
from goci.release.stores.s3client import MISSING_CODES, error_code, http_status
from goci.release.stores.s3multipart import Bucket


class S3Objects:
    """``last_modified``, ``touch`` and ``list_objects`` of the Store protocol, for S3."""

    def head(self: Bucket, key: str) -> dict[str, Any] | None:
        """The HEAD answer of ``key`` (size, time, metadata), or None when it is absent."""
        from botocore.exceptions import ClientError

        full = self.full_key(key)
        try:
            response: dict[str, Any] = self.call(
                "check",
                key,
                lambda: self.client.head_object(Bucket=self.bucket, Key=full),
                expect=True,
            )
        except ClientError as exc:
            if error_code(exc) in MISSING_CODES or http_status(exc) == 404:
                return None
            reason = error_code(exc) or exc
            raise ToolError(f"store {self.url}: check {key} failed: {reason}") from None
        return response

    def last_modified(self: Bucket, key: str) -> float | None:
        head = S3Objects.head(self, key)
        modified = head.get("LastModified") if head else None
        return modified.timestamp() if modified is not None else None

    def touch(self: Bucket, key: str) -> bool:
        """Copy ``key`` onto itself with its own metadata: a new last-modified time, the same
        bytes (S3 refuses a self-copy that changes nothing, so the metadata is replaced by
        itself)."""
        head = S3Objects.head(self, key)
        if head is None:
            return False
        full = self.full_key(key)
        self.call(
            "touch",
            key,
            lambda: self.client.copy_object(
                Bucket=self.bucket,
                Key=full,
                CopySource={"Bucket": self.bucket, "Key": full},
                MetadataDirective="REPLACE",
                Metadata=head.get("Metadata") or {},
            ),
        )
        return True

    def list_objects(self: Bucket, prefix: str) -> list[Listed]:
        full = self.full_key(prefix.rstrip("/")) + ("/" if prefix.endswith("/") else "")
        strip = len(self.prefix) + 1 if self.prefix else 0

        def fetch() -> list[Listed]:
            found: list[Listed] = []
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                found.extend(
                    Listed(
                        str(item["Key"])[strip:],
                        int(item["Size"]),
                        item["LastModified"].timestamp(),
                    )
                    for item in page.get("Contents", [])
                )
            return found

        return sorted(self.call("list", prefix, fetch), key=lambda listed: listed.key)
