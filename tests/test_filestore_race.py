"""The file store's create-only writes, raced: a plain write between a create-only write's check
and its write, and writers racing to create one key.

Hooks on the os calls the store makes put the threads in the one order that would show the
race, so every run takes the bad path if there is one; nothing waits for time to pass (a
timeout only ends a run whose threads wait for an event that never comes).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from goci.release.stores import ConflictError, filestore
from goci.release.stores.filestore import FileStore

WAIT = 30.0  # how long a thread waits for another before the test fails instead of hanging
KEY = "ptr/current"


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
    assert store.read(KEY) == (b"plain write", filestore.sha256_bytes(b"plain write"))


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
    assert store.read(KEY) == (won[0], filestore.sha256_bytes(won[0]))
    assert sorted(p.name for p in target.parent.iterdir()) == ["current"]
