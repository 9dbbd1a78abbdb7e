"""Object stores a release is published to: ``file://DIR`` and ``s3://bucket/prefix``.

Both speak the small :class:`Store` protocol that upload and promote need: whole-file puts
that verify what landed, small conditional writes (claims, the ``current`` pointer), reads,
streamed hashing, server-side copies that re-check what they copied, listing, deletion, and
the removal of what killed writers left behind. The shared build cache (``goci cacheprog``)
adds three cheap questions: when an object was last written, "mark it written now", and a
listing with sizes and times, so that its trim never reads an object to judge it. Keys are
``/``-separated and relative to the store's root; they are built from validated release names,
and :func:`check_key` refuses any key (from a crafted manifest, say) that could leave the root
on any operating system.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from goci.errors import GociError, InputError
from goci.tools.owner import Owner

Progress = Callable[[str, int], None]
"""Called as ``(key, part_number)`` after each part (or whole small file) is stored."""

SCHEMES = ("file", "s3")


class ConflictError(GociError):
    """A conditional write lost: someone else changed the object first."""


@dataclass(frozen=True)
class ObjectInfo:
    """An object's size, SHA-256 and ETag (``hash`` reads the bytes; ``stat`` trusts metadata)."""

    key: str
    size: int
    sha256: str
    etag: str


@dataclass(frozen=True)
class Listed:
    """An object as a listing shows it: key, size and last-modified time (epoch seconds)."""

    key: str
    size: int
    modified: float


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

    def hash(self, key: str) -> ObjectInfo | None:
        """Size and SHA-256 of the bytes actually stored (read back in full), with the ETag of
        that very read, so a later copy can insist on the same object."""

    def copy(self, src: str, dst: str, sha256: str, *, if_match: str | None = None) -> None:
        """Copy ``src`` to ``dst`` only while ``src`` still has ETag ``if_match`` (raise
        ConflictError otherwise), and check that ``dst`` holds bytes of SHA-256 ``sha256``
        (raise ToolError and leave no such ``dst`` otherwise)."""

    def list_keys(self, prefix: str) -> list[str]: ...

    def list_objects(self, prefix: str) -> list[Listed]:
        """Every object under ``prefix`` with its size and last-modified time, in key order."""

    def last_modified(self, key: str) -> float | None:
        """When ``key`` was last written (epoch seconds), or None when absent: the cheap
        existence check (no byte of the object is read)."""

    def touch(self, key: str) -> bool:
        """Make ``key`` look written now, content unchanged (lifecycle rules and trims judge
        objects by that time); False when it is absent."""

    def delete(self, keys: list[str]) -> None: ...

    def clean_leftovers(self, prefix: str, stale_after: float) -> list[str]:
        """Remove what dead writers left under ``prefix`` (unfinished multipart uploads,
        temporary files); say what went. A live writer's work is never touched."""

    def close(self) -> None:
        """Let go of what the store holds open (transfer threads); it is not used again."""


_DRIVE = re.compile(r"^[A-Za-z]:")


def check_key(key: str) -> str:
    """Keys come from validated names; this is the last guard against leaving the root.

    Backslashes and drive letters are refused too: on Windows ``a\\..\\..\\x`` and ``C:x``
    leave a file store's folder even though they contain no ``/..``.
    """
    parts = key.split("/")
    if (
        not key
        or key.startswith("/")
        or "\\" in key
        or any(p in ("", ".", "..") or _DRIVE.match(p) for p in parts)
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in key)
    ):
        raise InputError(
            f"object key {key!r} is not a safe relative path ('/'-separated names, "
            "no '..', backslash, drive letter or control character)"
        )
    return key


def is_safe_key(key: str) -> bool:
    """Whether :func:`check_key` accepts ``key``: a listing can hold keys goci never writes
    (``a//b`` is a valid S3 key), which housekeeping leaves alone and names instead of failing
    a publish that is already complete."""
    try:
        check_key(key)
    except InputError:
        return False
    return True


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``, fit to print."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@", r"\1***@", url.strip())


def url_password(url: str) -> str:
    """The user-info of a URL (``user:password``), or '' when it has none."""
    try:
        netloc = urlsplit(url.strip()).netloc
    except ValueError:
        return ""
    return netloc.rpartition("@")[0]


def check_url(url: str, name: str = "--store") -> tuple[str, str]:
    """The scheme and the rest of a store URL whose shape is right (nothing is opened), else bad
    input naming ``name``: an unknown scheme says what is accepted, credentials are refused."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", url.strip())
    scheme = match.group(1).lower() if match else ""
    if scheme not in SCHEMES or match is None:
        match_ = difflib.get_close_matches(scheme, SCHEMES, n=1, cutoff=0.5) if scheme else []
        hint = f" (did you mean {match_[0]!r}?)" if match_ else ""
        raise InputError(
            f"{name}: {redact_url(url)!r} is not valid; use file://DIR or s3://bucket/prefix{hint}"
        )
    if url_password(url):
        raise InputError(
            f"{name}: {redact_url(url)!r} is not valid; credentials never go in the URL "
            "(use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        )
    if scheme == "file" and not match.group(2):
        raise InputError(f"{name}: {url!r} is not valid; use file://DIR")
    return scheme, match.group(2)


def _check_folder(root: Path, url: str) -> None:
    """Bad input when ``file://DIR`` names a file, or a path through one: every read and
    write under it would otherwise end in an OS error (``Not a directory``) mid-command."""
    existing = next((p for p in (root, *root.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        what = "is a file" if existing == root else f"is inside {existing}, a file"
        raise InputError(
            f"--store: {redact_url(url)!r} is not valid; {root} {what}, not a folder "
            "(file://DIR names a folder, made when missing)"
        )


def open_store(
    url: str,
    *,
    endpoint_url: str = "",
    env: Mapping[str, str],
    cwd: Path,
    tuning: Tuning | None = None,
    owner: Owner | None = None,
) -> Store:
    """The store a URL names; an unknown scheme is bad input that says what is accepted."""
    tuning = tuning or Tuning()
    owner = owner or Owner.here()
    scheme, rest = check_url(url)
    if scheme == "file":
        from goci.release.stores.filestore import FileStore

        root = (Path(rest) if Path(rest).is_absolute() else cwd / rest).resolve()
        _check_folder(root, url)
        return FileStore(root, tuning, owner)
    from goci.release.stores.s3store import S3Store

    return S3Store.from_url(
        url, rest, endpoint_url=endpoint_url, env=env, tuning=tuning, owner=owner
    )
