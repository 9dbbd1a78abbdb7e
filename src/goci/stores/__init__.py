"""Object stores a release is published to: ``file://DIR`` and ``s3://bucket/prefix``.

Both speak the small :class:`Store` protocol that upload and promote need: whole-file puts
that verify what landed, small conditional writes (the ``current`` pointer), reads, streamed
hashing, server-side copies, listing and deletion. Keys are ``/``-separated and relative to
the store's root; they are built from validated release names only.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from goci.errors import GociError, InputError

Progress = Callable[[str, int], None]
"""Called as ``(key, part_number)`` after each part (or whole small file) is stored."""

SCHEMES = ("file", "s3")


class ConflictError(GociError):
    """A conditional write lost: someone else changed the object first."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    sha256: str
    etag: str


@dataclass(frozen=True)
class Tuning:
    """How hard to push the store: part size, parallelism, retries.

    Files up to ``multipart_threshold`` go in one PUT (S3-compatible servers such as SeaweedFS
    store those faster than the same bytes in parts); larger ones go in parts, in parallel.
    """

    part_size: int = 8 * 1024 * 1024
    multipart_threshold: int = 32 * 1024 * 1024
    workers: int = 8
    attempts: int = 4
    backoff: float = 0.5


class Store(Protocol):
    url: str

    def location(self, key: str) -> str:
        """Where ``key`` lives, as a person (or another tool) would address it."""

    def put_file(
        self, key: str, path: Path, sha256: str, *, on_progress: Progress | None = None
    ) -> None:
        """Store a file and check that what landed has its size and SHA-256."""

    def has_file(self, key: str, path: Path, sha256: str) -> bool:
        """True when ``key`` already holds exactly the bytes of ``path``."""

    def put_bytes(
        self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None
    ) -> str:
        """Store a small object; with a condition, raise ConflictError when it does not hold."""

    def read(self, key: str) -> tuple[bytes, str] | None:
        """Content and ETag of ``key``, or None when absent."""

    def stat(self, key: str) -> ObjectInfo | None: ...

    def hash(self, key: str) -> tuple[int, str] | None:
        """Size and SHA-256 of the bytes actually stored (read back in full)."""

    def copy(self, src: str, dst: str, sha256: str) -> None:
        """Copy the exact bytes (server-side where the store can) and check the copy."""

    def list_keys(self, prefix: str) -> list[str]: ...

    def delete(self, keys: list[str]) -> None: ...


def check_key(key: str) -> str:
    """Keys come from validated names; this is the last guard against leaving the root."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InputError(f"object key {key!r} is not a safe relative path")
    return key


def open_store(
    url: str,
    *,
    endpoint_url: str = "",
    env: Mapping[str, str],
    cwd: Path,
    tuning: Tuning | None = None,
) -> Store:
    """The store a URL names; an unknown scheme is bad input that says what is accepted."""
    tuning = tuning or Tuning()
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", url.strip())
    scheme = match.group(1).lower() if match else ""
    if scheme not in SCHEMES or match is None:
        match_ = difflib.get_close_matches(scheme, SCHEMES, n=1, cutoff=0.5) if scheme else []
        hint = f" (did you mean {match_[0]!r}?)" if match_ else ""
        raise InputError(
            f"--store: {url!r} is not valid; use file://DIR or s3://bucket/prefix{hint}"
        )
    rest = match.group(2)
    if scheme == "file":
        from goci.stores.filestore import FileStore

        if not rest:
            raise InputError(f"--store: {url!r} is not valid; use file://DIR")
        root = Path(rest)
        return FileStore((root if root.is_absolute() else cwd / root).resolve(), tuning)
    from goci.stores.s3store import S3Store

    return S3Store.from_url(url, rest, endpoint_url=endpoint_url, env=env, tuning=tuning)
