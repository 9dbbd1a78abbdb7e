"""Lock files for the file store's conditional writes, on local and network folders alike.

A lock is a file created exclusively (O_EXCL: atomic on local and network folders, unlike
fcntl or msvcrt locks) beside the object it guards, and broken when older than LOCK_STALE, as
a crashed writer leaves it behind. Breaking is the hard part: see :func:`_break_if_stale`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from goci.errors import ToolError
from goci.tools.atomic import mkstemp_owned, temp_token
from goci.tools.owner import unregister_live

LOCK_TIMEOUT = 30.0
LOCK_STALE = 120.0
# A breaker that dies holding its claim on a stale lock leaves the claim behind, stale in its
# turn and broken by a claim on the claim: this many levels before waiters give up.
_CLAIM_LEVELS = 2

# A lock file's identity: the random token its writer put in it. Not its inode and mtime:
# a network folder may report another mtime for the same file on the next stat (attribute
# caching, rounding), and on FAT a rename changes the file's id. A lock without a token (an
# older goci's) is known by device, inode and mtime instead.
_Identity = str


def _identity(lock: Path) -> _Identity | None:
    """Who holds ``lock`` now, or None when there is no lock."""
    try:
        token = lock.read_bytes().decode("ascii", "replace")
        if token:
            return token
        seen = os.stat(lock)
    except FileNotFoundError:
        return None
    return f"{seen.st_dev}:{seen.st_ino}:{seen.st_mtime_ns}"


def _create_lock(lock: Path) -> _Identity | None:
    """Make ``lock`` if no file is there (O_EXCL, atomic on local and network folders, unlike
    fcntl or msvcrt locks); the new lock's token, or None while another writer holds it."""
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return None
    except FileNotFoundError:  # a store delete removed the folder, left empty, meanwhile
        lock.parent.mkdir(parents=True, exist_ok=True)
        return None  # the caller's loop tries again
    except PermissionError:
        if os.name == "nt":  # a lock removed while still open elsewhere: "delete pending"
            return None
        raise
    token = secrets.token_hex(16)
    try:
        os.write(fd, token.encode())
    finally:
        os.close(fd)
    return token


def _release(lock: Path, mine: _Identity) -> None:
    """Remove our own lock and no other: a writer that overran LOCK_STALE had its lock broken,
    and the file there now is the next holder's."""
    with contextlib.suppress(FileNotFoundError):
        if _identity(lock) == mine:
            os.unlink(lock)


def _break_if_stale(lock: Path, level: int = 0) -> bool:
    """Remove ``lock`` if its writer has held it for more than LOCK_STALE (it crashed); whether
    to try taking it again at once.

    Two waiters can judge the same stale lock stale. The first removes it and takes a fresh
    one; the second, acting on what it saw, must not remove that fresh one, or both hold the
    lock. So breakers take turns through a claim file, made exclusively like the lock, and the
    claim holder checks that the lock is still the very file judged stale (:data:`_Identity`)
    before it moves it: a late breaker finds the fresh lock and leaves it. Nothing else removes
    a stale lock, so it cannot change between that check and the move, unless its writer was
    alive after all and let go just then (see :func:`_set_aside`). A claim left by a breaker
    that died is stale in its turn and broken the same way, one level up.
    """
    seen = _identity(lock)  # before the age: a lock replaced in between looks fresh, not stale
    try:
        age = time.time() - os.stat(lock).st_mtime
    except FileNotFoundError:
        return True  # let go meanwhile
    if seen is None or age <= LOCK_STALE:
        return seen is None
    claim = lock.with_name(f"{lock.name}.claim")
    held = _create_lock(claim)
    if held is None:
        if level < _CLAIM_LEVELS:
            _break_if_stale(claim, level + 1)
        return False
    try:
        if _identity(lock) != seen:
            return True  # broken and taken again by an earlier breaker, or let go
        _set_aside(lock, seen)
        return True
    finally:
        _release(claim, held)


def _set_aside(lock: Path, stale: _Identity) -> None:
    """Remove the stale ``lock``, and only it, even if the file there changed since it was
    checked (its writer, alive after all, let go, and another writer took the lock).

    The lock is renamed to a name of our own first (rename is atomic), so the file we then
    look at is the file we took: the stale one is removed, another is linked back into place
    (link fails on an existing name, so it never replaces a lock). Only a third writer that
    takes the lock in the microseconds its name is free could still hold it beside the one put
    back, and only after a writer (or a breaker holding its claim) overran LOCK_STALE, which
    time-based breaking cannot tell from a crash anyway.
    """
    fd, aside = mkstemp_owned(lock)
    os.close(fd)
    try:
        try:
            os.replace(lock, aside)
        except FileNotFoundError:
            return
        if _identity(Path(aside)) != stale:
            try:
                os.link(aside, lock)
            except FileExistsError:
                pass  # taken again meanwhile: what is aside is nobody's lock any more
            except OSError:  # no hard links here (FAT, some SMB shares): rename it back
                if not os.path.lexists(lock):
                    os.replace(aside, lock)
    finally:
        Path(aside).unlink(missing_ok=True)
        unregister_live(temp_token(aside))


@contextlib.contextmanager
def hold(lock: Path, owner: str) -> Iterator[None]:
    """Hold ``lock``, waiting up to LOCK_TIMEOUT for another writer's (``owner`` names the
    store in the error)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + LOCK_TIMEOUT
    delay = 0.005
    while (mine := _create_lock(lock)) is None:
        if _break_if_stale(lock):
            continue
        if time.monotonic() > deadline:
            raise ToolError(
                f"{owner}: {lock} is held by another writer for more than "
                f"{LOCK_TIMEOUT:.0f}s; remove it if no goci is running"
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    try:
        yield
    finally:
        _release(lock, mine)
