"""The remote tier: entries and outputs in a goci store, shared by every job and machine.

A hit fetched from the store is checked (its bytes must hash to the output ID) and written to
the local tier before it is served. A ``put`` is uploaded in the background: the output first
(only when the store lacks it: a cheap existence check), then the entry, written only if no
other job wrote it meanwhile (a conditional put), so the entry a reader finds always points at
an output already there. An object found broken (corrupted, truncated, pointing at a missing
output) is remembered, and the ``put`` that follows the miss overwrites it: a bad object is
repaired by the next build that needs it.

Any store failure (down, refused, too slow) turns the remote tier off for the rest of the
process, with one warning: the build goes on with the local tier, never failing or hanging
because of the store. Reads of a read-only tier never write, not even the marks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from goci.cache.cacheprog.entries import (
    MARK_INTERVAL,
    BadObject,
    Entry,
    Layout,
    compress,
    decode,
    expand,
    needs_mark,
    new_entry,
)
from goci.cache.cacheprog.local import Hit, LocalTier
from goci.cache.cacheprog.stats import Recorder
from goci.release.stores import ConflictError, Store

T = TypeVar("T")


class StoreDown(Exception):
    """The store failed once; the remote tier is off for the rest of this process."""


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


class RemoteTier:
    """Reads and background writes of one namespace of a store."""

    def __init__(
        self,
        store: Store,
        layout: Layout,
        recorder: Recorder,
        *,
        read_only: bool,
        warn: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.layout = layout
        self.recorder = recorder
        self.read_only = read_only
        self.clock = clock
        self._warn = warn
        self._background: Callable[[Callable[[], None]], None] = lambda job: job()
        self._lock = threading.Lock()
        self._down: str | None = None
        self._repair: set[str] = set()
        self._marked: set[str] = set()
        self._spent = threading.local()

    def set_background(self, run: Callable[[Callable[[], None]], None]) -> None:
        """Where marks run (the server's upload threads; inline by default)."""
        self._background = run

    @property
    def usable(self) -> bool:
        return self._down is None

    @property
    def writable(self) -> bool:
        return self._down is None and not self.read_only

    def fail(self, reason: str) -> None:
        """Turn the remote tier off, saying so once."""
        with self._lock:
            if self._down is not None:
                return
            self._down = reason
        self.recorder.degraded(reason)
        self._warn(
            f"goci cacheprog: the store {self.store.url} failed ({reason}); the build goes on "
            "with the local cache only"
        )

    def spent(self) -> float:
        """Seconds this thread spent in store calls since the last call of this method."""
        seconds: float = getattr(self._spent, "seconds", 0.0)
        self._spent.seconds = 0.0
        return seconds

    def _call(self, action: Callable[[], T]) -> T:
        if self._down is not None:
            raise StoreDown(self._down)
        started = time.perf_counter()
        try:
            return action()
        except ConflictError:
            raise
        except Exception as exc:
            self.fail(_reason(exc))
            raise StoreDown(_reason(exc)) from None
        finally:
            self._spent.seconds = getattr(self._spent, "seconds", 0.0) + (
                time.perf_counter() - started
            )

    def _bad(self, key: str) -> None:
        with self._lock:
            self._repair.add(key)
        self.recorder.add(bad_objects=1)

    # --- get -------------------------------------------------------------------------------

    def fetch(self, action_id: str, local: LocalTier) -> Hit | None:
        """The entry of ``action_id`` from the store, its output checked and put on local disk;
        None for a miss (absent, broken, or the store failed)."""
        key = self.layout.action_key(action_id)
        found = self._call(lambda: self.store.read(key))
        if found is None:
            return None
        data, etag = found
        self.recorder.add(bytes_down=len(data))
        path: str | None
        try:
            entry = decode(data)
            if entry.inline is not None:
                path = local.put_output(
                    entry.output_id, expand(entry.inline, entry.output_id, entry.size)
                )
            elif local.has_output(entry.output_id, entry.size):
                path = local.output_path(entry.output_id)
            else:
                path = self._fetch_output(key, entry, local)
                if path is None:
                    return None
        except BadObject:
            self._bad(key)
            return None
        local.put_action(action_id, entry.output_id, entry.size, entry.put_nanos)
        if not self.read_only and needs_mark(entry, self.clock()) and key not in self._marked:
            self._marked.add(key)
            self._background(lambda: self._mark(key, entry, etag))
        return Hit(entry.output_id, entry.size, entry.put_nanos, path)

    def _fetch_output(self, key: str, entry: Entry, local: LocalTier) -> str | None:
        output_key = self.layout.output_key(entry.output_id)
        found = self._call(lambda: self.store.read(output_key))
        if found is None:  # the entry outlived its output: the next put rewrites the entry
            self._bad(key)
            return None
        self.recorder.add(bytes_down=len(found[0]))
        try:
            body = expand(found[0], entry.output_id, entry.size)
        except BadObject:
            self._bad(output_key)
            raise
        return local.put_output(entry.output_id, body)

    def _mark(self, key: str, entry: Entry, etag: str) -> None:
        """Record a use: rewrite the entry with a new mark, unless another job did first, and
        make its output look used too (lifecycle rules and the trim judge by that time)."""
        try:
            self._call(
                lambda: self.store.put_bytes(
                    key, entry.marked_now(self.clock()).encode(), if_match=etag
                )
            )
            if entry.inline is None:
                self._call(lambda: self.store.touch(self.layout.output_key(entry.output_id)))
        except (ConflictError, StoreDown):
            return
        self.recorder.add(marks=1)

    # --- put -------------------------------------------------------------------------------

    def upload(self, action_id: str, output_id: str, put_nanos: int, local: LocalTier) -> None:
        """Send one entry (and its output, when the store lacks it); runs in the background."""
        if not self.writable:
            self.recorder.add(uploads_dropped=1)
            return
        with open(local.output_path(output_id), "rb") as handle:
            body = handle.read()
        now = self.clock()
        entry = new_entry(output_id, body, put_nanos, now)
        key = self.layout.action_key(action_id)
        try:
            if entry.inline is None:
                self._upload_output(output_id, body, now)
            data = entry.encode()
            with self._lock:
                overwrite = key in self._repair
            try:
                self._call(lambda: self.store.put_bytes(key, data, if_absent=not overwrite))
            except ConflictError:  # another job stored this entry first: theirs stays
                self.recorder.add(uploads_skipped=1)
                return
        except StoreDown:
            self.recorder.add(uploads_dropped=1)
            return
        self.recorder.add(uploads=1, bytes_up=len(data))

    def _upload_output(self, output_id: str, body: bytes, now: float) -> None:
        key = self.layout.output_key(output_id)
        with self._lock:
            overwrite = key in self._repair
        modified = None if overwrite else self._call(lambda: self.store.last_modified(key))
        if modified is None:
            data = compress(body)
            self._call(lambda: self.store.put_bytes(key, data))
            self.recorder.add(bytes_up=len(data))
        elif now - modified >= MARK_INTERVAL:
            self._call(lambda: self.store.touch(key))
