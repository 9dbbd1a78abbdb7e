"""The boto3 side of the S3 store: credentials, one shared client, retries, error codes, ETags.

Kept apart from :mod:`goci.release.stores.s3store` so that what S3-compatible servers answer
(error codes that mean "denied", "missing", "conflict" or "try again") and how S3 computes an
ETag are stated once, for the store and for its multipart uploads alike.
"""

from __future__ import annotations

import base64
import hashlib
import random
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from goci.errors import InputError

T = TypeVar("T")

AUTH_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "InvalidToken",
    "ExpiredToken",
    "AuthorizationHeaderMalformed",
    "InvalidClientTokenId",
}
TRANSIENT_CODES = {
    "SlowDown",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    "Throttling",
    "ThrottlingException",
    "OperationAborted",
}
MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}
META_SHA = "sha256"  # the object metadata key that carries a file's SHA-256


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


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def http_status(exc: BaseException) -> int:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def is_transient(exc: BaseException) -> bool:
    """Connection trouble, timeouts, throttling and 5xx: worth another try."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, ClientError):
        return error_code(exc) in TRANSIENT_CODES or http_status(exc) >= 500
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


def shared_client(identity: tuple[Any, ...]) -> Any:
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


def credentials_from(env: Mapping[str, str], url: str) -> dict[str, str]:
    """boto3 session arguments from the standard AWS variables (keys, or a profile); none is
    bad input naming what to set, and half a key pair names the missing half."""
    key_id = env.get("AWS_ACCESS_KEY_ID", "")
    secret = env.get("AWS_SECRET_ACCESS_KEY", "")
    credentials: dict[str, str] = {}
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
    return credentials
