"""SHA-256 of files, bytes and streams: the one way goci hashes content.

Build records, ``SHA256SUMS``, manifests, stores and cache keys all compare SHA-256 digests, so
they must all read files the same way: in chunks (a large binary never sits in memory) and,
where the bytes also go somewhere (a copy, an upload in parts), hashed as they pass, so that
what was hashed is exactly what was written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


class Sha256:
    """The SHA-256 and size of every chunk fed to it, for bytes that stream past once."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes) -> bytes:
        """Count ``chunk`` in and hand it back, so it can go on where it was going."""
        self._digest.update(chunk)
        self.size += len(chunk)
        return chunk

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def chunks(handle: BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    """The rest of an open file, ``size`` bytes at a time."""
    return iter(lambda: handle.read(size), b"")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_pieces(pieces: Iterable[bytes]) -> str:
    """The hex SHA-256 of ``pieces`` one after the other (without copying them into one)."""
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """The hex SHA-256 of a file, read in chunks so large binaries never sit in memory."""
    digest = Sha256()
    with path.open("rb") as handle:
        for chunk in chunks(handle):
            digest.update(chunk)
    return digest.hexdigest()
