"""``file://DIR``: the embedded store, a folder on disk with atomic writes and a lock file.

Every write goes to a temporary name in the target folder and is renamed into place, so a
reader never sees a partial object; a copy is hashed before it is renamed, so a wrong one is
never in place; a create-only write is linked into place, which fails on an existing file.
Conditional writes hold a lock file (:mod:`goci.release.stores.filelock`). Temporary files
carry their writer's machine and process, so a rerun removes a killed writer's and leaves a
live writer's alone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable
from pathlib import Path

from goci.errors import ToolError
from goci.release.stores import (
    ConflictError,
    Listed,
    ObjectInfo,
    Progress,
    Tuning,
    check_key,
    filelock,
)
from goci.tools.atomic import (
    is_temp,
    mkstemp_owned,
    temp_owner,
    temp_token,
    write_atomic,
    write_once,
)
from goci.tools.hashing import chunks, sha256_bytes, sha256_file
from goci.tools.owner import Owner, abandoned, unregister_live

# What link() fails with in a folder without hard links (FAT and exFAT drives, some SMB shares;
# Windows reports ERROR_INVALID_FUNCTION as EINVAL, and some shares answer ACCESS_DENIED, EACCES:
# a folder that truly refuses writes fails the fallback's write just the same).
_NO_LINKS = frozenset(
    {errno.EPERM, errno.EACCES, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}
)


def _create_only(target: Path, data: bytes) -> bool:
    """Write ``data`` at ``target`` unless a file is there; whether this call wrote it.

    A link decides (write_once). A folder without hard links gets the check and a rename, as
    before links were used: safe against other conditional writers, as the caller holds the
    lock, but not against a plain write landing in between; better than no store at all.
    """
    try:
        return write_once(target, data)
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
    if target.exists():
        return False
    write_atomic(target, data)
    return True


class FileStore:
    """A folder that holds objects as files."""

    def __init__(
        self, root: Path, tuning: Tuning | None = None, owner: Owner | None = None
    ) -> None:
        self.root = root
        self.tuning = tuning or Tuning()
        self.url = root.as_uri()
        self.owner = owner or Owner.here()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def location(self, key: str) -> str:
        return self._path(key).as_uri()

    def put_file(
        self, key: str, path: Path, sha256: str, *, on_progress: Progress | None = None
    ) -> None:
        """Only the right bytes ever replace an object, not even for the moment between a rename
        and a check after it (a prod object stays what it was)."""

        def check(digest: str) -> None:
            if digest != sha256:
                raise ToolError(
                    f"store {self.url}: {path} does not match its SHA-256 {sha256}; {key} "
                    "was not written"
                )

        self._write_checked(self._path(key), path, check)
        if on_progress:
            on_progress(key, 1)

    def has_file(self, key: str, path: Path, sha256: str) -> bool:
        target = self._path(key)
        return (
            target.is_file()
            and target.stat().st_size == path.stat().st_size
            and sha256_file(target) == sha256
        )

    def _locked(self, path: Path) -> contextlib.AbstractContextManager[None]:
        return filelock.hold(path.with_name(f".{path.name}.lock"), f"store {self.url}")

    def put_bytes(
        self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None
    ) -> str:
        """Write ``data`` at ``key``; with ``if_absent`` only if nothing is there, with
        ``if_match`` only if the object there has that SHA-256 (its ETag here).

        A create-only write links its file into place (_create_only): the link itself fails on
        a file that is there, so it can never replace an object written after the check by a
        plain write (which takes no lock) or by a writer whose lock did not exclude. It still
        takes the lock, so that it cannot slip in between an ``if_match`` writer's check and
        its rename. ``if_match`` has no such primitive (rename always replaces): it is as safe
        as the lock, and a plain write racing with it may be replaced.
        """
        target = self._path(key)
        if not if_absent and if_match is None:
            write_atomic(target, data)
            return sha256_bytes(data)
        with self._locked(target):
            if if_absent and if_match is None:
                if not _create_only(target, data):
                    raise ConflictError(f"{key} already exists")
                return sha256_bytes(data)
            current = sha256_file(target) if target.is_file() else None
            if if_absent and current is not None:
                raise ConflictError(f"{key} already exists")
            if current != if_match:
                raise ConflictError(f"{key} changed since it was read")
            write_atomic(target, data)
        return sha256_bytes(data)

    def read(self, key: str) -> tuple[bytes, str] | None:
        target = self._path(key)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            return None
        return data, sha256_bytes(data)

    def stat(self, key: str) -> ObjectInfo | None:
        target = self._path(key)
        if not target.is_file():
            return None
        digest = sha256_file(target)
        return ObjectInfo(key, target.stat().st_size, digest, digest)

    def hash(self, key: str) -> ObjectInfo | None:
        return self.stat(key)

    def copy(self, src: str, dst: str, sha256: str, *, if_match: str | None = None) -> None:
        """A file's ETag here is its SHA-256, so ``if_match`` is checked on the very bytes
        copied."""

        def check(digest: str) -> None:
            if if_match is not None and digest != if_match:
                raise ConflictError(f"{src} changed since it was verified")
            if digest != sha256:
                raise ToolError(
                    f"store {self.url}: the copy of {src} has SHA-256 {digest}, not {sha256}; "
                    f"{dst} was not written"
                )

        try:
            self._write_checked(self._path(dst), self._path(src), check)
        except FileNotFoundError:
            raise ToolError(f"store {self.url}: {src} is missing") from None

    def _write_checked(self, target: Path, source: Path, check: Callable[[str], None]) -> None:
        """Copy ``source`` into a temporary file beside ``target``, let ``check`` judge the
        SHA-256 of what was written (it raises to refuse), and rename only then: a wrong copy
        is never in place."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = mkstemp_owned(target)
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as fin:
                for chunk in chunks(fin):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            check(sha256_file(Path(tmp)))
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
            unregister_live(temp_token(tmp))

    def list_keys(self, prefix: str) -> list[str]:
        return [listed.key for listed in self.list_objects(prefix)]

    def list_objects(self, prefix: str) -> list[Listed]:
        """Files under ``prefix``; hidden names (temporary files, locks) are not objects, and
        a file removed while the folder is walked is simply not listed."""
        if not self.root.is_dir():
            return []
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / base if base else self.root
        found = []
        for folder, dirs, files in os.walk(start):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            rel_folder = Path(folder).relative_to(self.root).as_posix()
            if any(part.startswith(".") for part in rel_folder.split("/") if part != "."):
                continue
            for name in files:
                rel = name if rel_folder == "." else f"{rel_folder}/{name}"
                if name.startswith(".") or not rel.startswith(prefix):
                    continue
                try:
                    stat = os.stat(os.path.join(folder, name))
                except FileNotFoundError:
                    continue
                found.append(Listed(rel, stat.st_size, stat.st_mtime))
        return sorted(found, key=lambda listed: listed.key)

    def last_modified(self, key: str) -> float | None:
        try:
            return self._path(key).stat().st_mtime
        except FileNotFoundError:
            return None

    def touch(self, key: str) -> bool:
        try:
            os.utime(self._path(key))
        except FileNotFoundError:
            return False
        return True

    def clean_leftovers(self, prefix: str, stale_after: float) -> list[str]:
        folder = self._path(prefix.rstrip("/"))
        if not folder.is_dir():
            return []
        cleaned = []
        now = time.time()
        for dirpath, _dirs, files in os.walk(folder):
            for name in files:
                if not is_temp(name):
                    continue
                path = Path(dirpath) / name
                try:
                    idle = now - path.stat().st_mtime
                except FileNotFoundError:
                    continue  # renamed or removed by its writer meanwhile
                reason = abandoned(
                    temp_owner(name), temp_token(name), idle, stale_after, self.owner
                )
                if reason is None:
                    continue
                path.unlink(missing_ok=True)
                cleaned.append(f"removed {path.relative_to(self.root).as_posix()} ({reason})")
        return sorted(cleaned)

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            target = self._path(key)
            target.unlink(missing_ok=True)
            parent = target.parent
            while parent != self.root:
                try:  # another delete may remove it at the same moment, or a writer fill it
                    parent.rmdir()
                except FileNotFoundError:
                    pass  # removed by the other delete: its parent may be empty now
                except OSError:
                    break  # not empty (or not ours to remove): the folders above are not either
                parent = parent.parent

    def close(self) -> None:
        """Nothing to let go of: every operation opens and closes its own files."""
