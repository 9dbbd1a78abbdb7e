"""The file store's lock and create-only writes, raced: two waiters that judge one stale lock at
once, a lock that changes hands while it is being broken, writers racing to create one key.

Hooks on the os calls the store makes put the threads in the one order that would show the
race, so every run takes the bad path if there is one; nothing waits for time to pass (a
timeout only ends a run whose threads wait for an event that never comes).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from goci.release.stores import ConflictError, filelock
from goci.release.stores.filestore import FileStore
from goci.tools.hashing import sha256_bytes

LONG_AGO = 1_000_000  # an mtime in 1970: stale by any LOCK_STALE
WAIT = 30.0  # how long a thread waits for another before the test fails instead of hanging
KEY = "ptr/current"


def stale_lock(store: FileStore, key: str) -> Path:
    """The lock file a writer that crashed inside a conditional write of ``key`` leaves."""
    target = store.root / key
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.with_name(f".{target.name}.lock")
    lock.touch()
    os.utime(lock, (LONG_AGO, LONG_AGO))
    return lock


def run_threads(targets: dict[str, Callable[[], None]]) -> None:
    """Run each target in a thread of its name; re-raise the first error any of them had."""
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=guarded, args=(target,), name=name)
        for name, target in targets.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * WAIT)
    assert not any(thread.is_alive() for thread in threads)
    if errors:
        raise errors[0]


def same(path: Any, other: Path) -> bool:
    return isinstance(path, (str, os.PathLike)) and os.fspath(path) == os.fspath(other)


def test_two_waiters_that_judge_one_stale_lock_never_hold_it_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both see the crashed writer's lock as stale; "early" breaks it and goes in, and only
    then does "late" act on what it saw. Removing the lock now would remove early's fresh one
    (the old code did, and both were inside at once); late must wait for early instead,
    without ever taking early's lock away, even to put it back."""
    store = FileStore(tmp_path / "store")
    lock = stale_lock(store, KEY)
    real_stat, real_open = os.stat, os.open
    judged: set[str] = set()  # the threads that have seen the stale lock
    both_judged = threading.Barrier(2, timeout=WAIT)
    early_inside, late_decided = threading.Event(), threading.Event()

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        result = real_stat(path, *args, **kwargs)
        me = threading.current_thread().name
        if same(path, lock) and result.st_mtime == LONG_AGO and me not in judged:
            judged.add(me)
            both_judged.wait()
            if me == "late" and not early_inside.wait(WAIT):
                raise AssertionError("early never got the lock")
        return result

    def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        try:
            return real_open(path, flags, *args, **kwargs)
        except FileExistsError:
            if same(path, lock) and threading.current_thread().name == "late" and "late" in judged:
                late_decided.set()  # it acted on the stale judgment and is waiting now
            raise

    inside: list[str] = []
    moved: list[str] = []  # what late did to the lock while early held it

    def record(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(path: Any, *args: Any, **kwargs: Any) -> Any:
            if same(path, lock) and threading.current_thread().name == "late" and inside:
                moved.append(real.__name__)
            return real(path, *args, **kwargs)

        return call

    for name in ("unlink", "rename", "replace"):
        monkeypatch.setattr(os, name, record(getattr(os, name)))
    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "open", open_)
    peak: list[int] = []

    def hold() -> None:
        me = threading.current_thread().name
        with store._locked(store.root / KEY):
            inside.append(me)
            peak.append(len(inside))
            if me == "early":
                early_inside.set()
                if not late_decided.wait(WAIT):
                    raise AssertionError("late never tried the lock while early held it")
            else:
                late_decided.set()
            inside.remove(me)

    run_threads({"early": hold, "late": hold})
    assert max(peak) == 1, "two writers held the lock at the same time"
    # Not even for a moment: while the name is free, a third writer could take the lock.
    assert moved == [], "late removed or moved early's lock"
    assert sorted(judged) == ["early", "late"]
    assert not lock.exists()


@pytest.mark.parametrize("links", [True, False], ids=["hard links", "no hard links"])
def test_a_lock_that_changes_hands_while_it_is_broken_is_put_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, links: bool
) -> None:
    """The stale lock's writer was alive after all (it overran LOCK_STALE): it lets go just
    as the breaker removes the lock, and another writer takes it. The breaker must not take
    that writer's lock away (the old code unlinked it and went in beside it), also in a
    folder without hard links (FAT, some SMB shares), where it is renamed back."""
    if not links:

        def no_link(*_args: Any, **_kwargs: Any) -> None:
            raise PermissionError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(os, "link", no_link)
    store = FileStore(tmp_path / "store")
    lock = stale_lock(store, KEY)
    real_open, real_unlink = os.open, os.unlink
    theirs: list[int] = []  # the inode of the other writer's lock, while they hold it

    def swap_then(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(path: Any, *args: Any, **kwargs: Any) -> Any:
            if same(path, lock) and not theirs and lock.stat().st_mtime == LONG_AGO:
                real_unlink(lock)  # the old holder lets go...
                os.close(real_open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))  # ...they take it
                theirs.append(lock.stat().st_ino)
            return real(path, *args, **kwargs)

        return call

    released: list[bool] = []

    def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        try:
            return real_open(path, flags, *args, **kwargs)
        except FileExistsError:
            if same(path, lock) and theirs and not released:
                assert lock.stat().st_ino == theirs[0], "their lock was not put back as it was"
                real_unlink(lock)  # they finish and let go, now that the breaker waits for them
                released.append(True)
            raise

    for name in ("unlink", "rename", "replace"):
        monkeypatch.setattr(os, name, swap_then(getattr(os, name)))
    monkeypatch.setattr(os, "open", open_)
    with store._locked(store.root / KEY):
        assert theirs, "the breaker never removed the stale lock"
        assert released, "the breaker went in while the other writer held the lock"


def test_a_writer_whose_lock_was_broken_leaves_the_next_holders_lock_alone(
    tmp_path: Path,
) -> None:
    """A writer that overran LOCK_STALE lost its lock to a breaker, and a third writer holds
    the lock now: letting go must not remove the third writer's lock (the old code did)."""
    store = FileStore(tmp_path / "store")
    target = store.root / KEY
    lock = target.with_name(f".{target.name}.lock")
    with store._locked(target):
        other = lock.with_name("next-holder")
        other.touch()
        os.replace(other, lock)  # broken and taken by the next writer (a new inode)
        theirs = lock.stat().st_ino
    assert lock.stat().st_ino == theirs


def test_a_breaker_that_died_holding_its_claim_does_not_block_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A breaker killed between claiming a stale lock and removing it leaves both behind; the
    claim is stale in turn and broken the same way, so the next writer gets in at once and
    nothing is left beside the object."""
    monkeypatch.setattr(filelock, "LOCK_TIMEOUT", 5.0)  # fail fast instead of after 30s
    store = FileStore(tmp_path / "store")
    lock = stale_lock(store, KEY)
    claim = lock.with_name(f"{lock.name}.claim")
    claim.touch()
    os.utime(claim, (LONG_AGO, LONG_AGO))
    store.put_bytes(KEY, b"one", if_absent=True)
    assert sorted(p.name for p in lock.parent.iterdir()) == ["current"]


def test_create_only_fails_on_an_object_written_after_its_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain write (no lock: it needs none) lands between a create-only write's look at the
    key and its own write. The create-only write must lose; the old code renamed over the
    plain write's object and reported success."""
    store = FileStore(tmp_path / "store")
    target = store.root / KEY
    real_stat = os.stat
    interfered: list[bool] = []

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        try:
            return real_stat(path, *args, **kwargs)
        finally:
            if same(path, target) and not interfered:
                interfered.append(True)
                store.put_bytes(KEY, b"plain write")

    monkeypatch.setattr(os, "stat", stat)
    with pytest.raises(ConflictError):
        store.put_bytes(KEY, b"create-only write", if_absent=True)
    assert interfered
    assert store.read(KEY) == (b"plain write", sha256_bytes(b"plain write"))


@contextlib.contextmanager
def no_exclusion(_store: FileStore, _path: Path) -> Iterator[None]:
    yield


def test_of_many_create_only_writers_exactly_one_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writers each look at the key, find it absent, and only then write: the write alone
    must decide, whatever the lock did (here it excludes nothing, as when it was broken by a
    machine whose clock is off). The old code let every writer rename its bytes in."""
    writers = 8
    store = FileStore(tmp_path / "store")
    target = store.root / KEY
    real_stat = os.stat
    looked: set[str] = set()
    all_looked = threading.Barrier(writers, timeout=WAIT)

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        try:
            return real_stat(path, *args, **kwargs)
        finally:
            me = threading.current_thread().name
            if same(path, target) and me.startswith("writer") and me not in looked:
                looked.add(me)
                all_looked.wait()

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(FileStore, "_locked", no_exclusion)
    won: list[bytes] = []
    lost: list[bytes] = []

    def write(data: bytes) -> None:
        try:
            store.put_bytes(KEY, data, if_absent=True)
            won.append(data)
        except ConflictError:
            lost.append(data)

    run_threads(
        {f"writer-{i}": functools.partial(write, f"writer {i}".encode()) for i in range(writers)}
    )
    assert len(won) == 1 and len(lost) == writers - 1
    assert store.read(KEY) == (won[0], sha256_bytes(won[0]))
    assert sorted(p.name for p in target.parent.iterdir()) == ["current"]


@pytest.mark.parametrize("code", [errno.EPERM, errno.EACCES, errno.EINVAL])
def test_create_only_still_works_in_a_folder_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """A FAT drive or an SMB share that refuses link() (EPERM; ACCESS_DENIED from some shares;
    Windows' ERROR_INVALID_FUNCTION as EINVAL): the write falls back to a check and a rename
    under the lock instead of failing, and still refuses an existing key."""

    def no_link(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", no_link)
    store = FileStore(tmp_path / "store")
    store.put_bytes(KEY, b"one", if_absent=True)
    with pytest.raises(ConflictError):
        store.put_bytes(KEY, b"two", if_absent=True)
    assert store.read(KEY) == (b"one", sha256_bytes(b"one"))
    assert sorted(p.name for p in (store.root / KEY).parent.iterdir()) == ["current"]


def test_a_lock_is_let_go_where_the_folder_reports_another_mtime_each_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A network folder may answer a later stat of the same file with another mtime (attribute
    caching, rounding): the lock is still known as ours and removed, not left behind to block
    every writer until it is stale (a lock known by its mtime was)."""
    store = FileStore(tmp_path / "store")
    real_stat = os.stat
    calls = iter(range(1, 1_000_000))

    class Jittery:
        def __init__(self, real: os.stat_result) -> None:
            self._real, self._shift = real, next(calls)

        def __getattr__(self, name: str) -> Any:
            value = getattr(self._real, name)
            return value + self._shift if name == "st_mtime_ns" else value

    def stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        return Jittery(real_stat(path, *args, **kwargs))

    monkeypatch.setattr(os, "stat", stat)
    with store._locked(store.root / KEY):
        pass
    monkeypatch.undo()
    assert [p.name for p in store.root.rglob("*") if p.is_file()] == []


def test_two_deletes_emptying_one_folder_at_once_both_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gc deletes in parallel: two deletes of the last two objects of a folder both find it
    empty, and the second rmdir finds it gone. That is done, not an error."""
    store = FileStore(tmp_path / "store")
    store.put_bytes("gc/ab/a", b"a")
    store.put_bytes("gc/ab/b", b"b")
    folder = store.root / "gc" / "ab"
    real_rmdir = os.rmdir
    other_first: list[bool] = []

    def rmdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if same(path, folder) and not other_first:
            other_first.append(True)
            real_rmdir(path)  # the other delete, which emptied it too, removes it first
        real_rmdir(path, *args, **kwargs)

    (folder / "b").unlink()  # the other delete's object is gone already
    monkeypatch.setattr(os, "rmdir", rmdir)
    store.delete(["gc/ab/a"])
    assert other_first
    assert sorted(p.name for p in store.root.rglob("*")) == []


def test_a_write_into_a_folder_a_delete_just_removed_makes_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delete removes the folders it left empty; a writer that made the folder a moment
    before must not fail because it is gone when its temporary file is created."""
    store = FileStore(tmp_path / "store")
    folder = store.root / "dev" / "api"
    real_open = os.open
    removed: list[bool] = []

    def open_(path: Any, *args: Any, **kwargs: Any) -> int:
        if os.fspath(path).startswith(os.fspath(folder) + os.sep) and not removed:
            removed.append(True)
            os.rmdir(folder)  # a delete of the folder's last object, just finished
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    store.put_bytes("dev/api/manifest.json", b"{}")
    store.put_bytes("dev/api/lock-guarded", b"x", if_absent=True)
    assert removed
    assert store.read("dev/api/manifest.json") == (b"{}", sha256_bytes(b"{}"))
    assert store.list_keys("dev/") == ["dev/api/lock-guarded", "dev/api/manifest.json"]
