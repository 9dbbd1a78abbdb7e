"""The request loop: one thread reads the go command's requests and answers what it can at once.

The go command sends thousands of requests per build and waits on each ``get``, so the loop
stays tight: a local hit and a ``put`` are answered inline (a few file operations), and only a
``get`` that must ask the store goes to a pool thread, which answers it when the store has.
Uploads and marks run on their own threads, so a slow upload never delays a ``get``. Every
``get`` sent to the store has a deadline: when the store has not answered by then, a watcher
answers "miss" for it and turns the remote tier off, so the build never hangs on the store.
``close`` waits for the uploads (up to the flush timeout) before it is answered.
"""

from __future__ import annotations

import heapq
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import BinaryIO

from goci.cache.cacheprog import wire
from goci.cache.cacheprog.local import Hit, LocalTier
from goci.cache.cacheprog.remote import RemoteTier, StoreDown
from goci.cache.cacheprog.stats import Recorder
from goci.tools.hashing import sha256_bytes

GET_THREADS = 16
UPLOAD_THREADS = 4


class Server:
    """One GOCACHEPROG server: a local tier, an optional remote tier, one output stream."""

    def __init__(
        self,
        local: LocalTier,
        remote: RemoteTier | None,
        recorder: Recorder,
        *,
        out_fd: int,
        timeout: float,
        flush_timeout: float,
        warn: Callable[[str], None],
    ) -> None:
        self.local = local
        self.remote = remote
        self.recorder = recorder
        self.timeout = timeout
        self.flush_timeout = flush_timeout
        self._warn = warn
        self._out = out_fd
        self._write_lock = threading.Lock()
        self._pending: dict[int, float] = {}
        # Answers taken out of _pending and not yet written: close waits for these too, or
        # its own answer could overtake one, and the output be closed before it is written.
        self._writing = 0
        self._deadlines: list[tuple[float, int]] = []
        self._due = threading.Condition()
        self._gets = ThreadPoolExecutor(GET_THREADS, thread_name_prefix="goci-cacheprog-get")
        self._uploads = ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix="goci-cacheprog-up")
        self._queued: set[Future[None]] = set()
        self._queued_lock = threading.Lock()
        self._closing = False
        if remote is not None:
            remote.set_background(self._in_background)
            threading.Thread(
                target=self._watch, name="goci-cacheprog-deadlines", daemon=True
            ).start()

    # --- output ----------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        with self._write_lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self._out, view) :]

    def _answer(self, request_id: int, data: bytes) -> bool:
        """Answer a ``get`` sent to the store, unless its deadline already answered it."""
        with self._due:
            if self._pending.pop(request_id, None) is None:
                return False
            self._writing += 1
        try:
            self._send(data)
        finally:
            with self._due:
                self._writing -= 1
                self._due.notify_all()
        return True

    # --- the loop --------------------------------------------------------------------------

    def serve(self, stream: BinaryIO) -> bool:
        """Answer requests until ``close`` (True) or the end of the input (False)."""
        self._send(wire.handshake())
        for request in wire.requests(stream):
            received = time.perf_counter()
            if request.command == wire.GET:
                self._get(request, received)
            elif request.command == wire.PUT:
                self._put(request)
            elif request.command == wire.CLOSE:
                self.flush()
                self._send(wire.closed(request.id))
                return True
            else:
                self._send(wire.error(request.id, f"unknown command {request.command!r}"))
        self.flush()
        return False

    def _get(self, request: wire.Request, received: float) -> None:
        hit = self.local.get(request.action_id)
        if hit is not None:
            self._send(wire.hit(request.id, hit.output_id, hit.size, hit.put_nanos, hit.path))
            self.recorder.add(gets=1, local_hits=1)
            self.recorder.overhead(time.perf_counter() - received)
            return
        if self.remote is None or not self.remote.usable:
            self._send(wire.miss(request.id))
            self.recorder.add(gets=1, misses=1)
            self.recorder.overhead(time.perf_counter() - received)
            return
        with self._due:
            self._pending[request.id] = received
            heapq.heappush(self._deadlines, (received + self.timeout, request.id))
            self._due.notify()
        self._gets.submit(self._remote_get, self.remote, request, received)

    def _remote_get(self, remote: RemoteTier, request: wire.Request, received: float) -> None:
        remote.spent()
        hit: Hit | None = None
        try:
            hit = remote.fetch(request.action_id, self.local)
        except StoreDown:
            pass
        except Exception as exc:  # the local disk, not the store: say so, answer a miss
            self._warn(f"goci cacheprog: cannot serve {request.action_id[:12]}: {exc}")
        store_seconds = remote.spent()
        answer = (
            wire.hit(request.id, hit.output_id, hit.size, hit.put_nanos, hit.path)
            if hit is not None
            else wire.miss(request.id)
        )
        if self._answer(request.id, answer):
            waited = time.perf_counter() - received
            kind = "remote_hits" if hit is not None else "misses"
            self.recorder.add(gets=1, store_wait=waited, **{kind: 1})
            self.recorder.overhead(waited - store_seconds)

    def _watch(self) -> None:
        """Answer "miss" for every ``get`` the store left unanswered past its deadline."""
        while True:
            with self._due:
                while self._deadlines and self._deadlines[0][1] not in self._pending:
                    heapq.heappop(self._deadlines)
                if not self._deadlines:
                    if self._closing:
                        return
                    self._due.wait()
                    continue
                due, request_id = self._deadlines[0]
                left = due - time.perf_counter()
                if left > 0:
                    self._due.wait(left)
                    continue
                heapq.heappop(self._deadlines)
            if self._answer(request_id, wire.miss(request_id)):
                self.recorder.add(gets=1, misses=1, timeouts=1, store_wait=self.timeout)
                if self.remote is not None:
                    self.remote.fail(f"no answer within {self.timeout:g}s")

    def _put(self, request: wire.Request) -> None:
        body = request.body
        if sha256_bytes(body) != request.output_id:
            self._send(wire.error(request.id, "the body does not hash to its OutputID"))
            return
        try:
            path = self.local.put_output(request.output_id, body)
            put_nanos = time.time_ns()
            self.local.put_action(request.action_id, request.output_id, len(body), put_nanos)
        except OSError as exc:
            self._send(wire.error(request.id, f"goci cacheprog: cannot write {exc}"))
            return
        self._send(wire.stored(request.id, path))
        self.recorder.add(puts=1)
        remote = self.remote
        if remote is not None and remote.writable:
            action_id, output_id = request.action_id, request.output_id
            self._in_background(lambda: remote.upload(action_id, output_id, put_nanos, self.local))

    # --- background work -------------------------------------------------------------------

    def _in_background(self, job: Callable[[], None]) -> None:
        if self._closing:
            return
        future = self._uploads.submit(job)
        with self._queued_lock:
            self._queued.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._queued_lock:
            self._queued.discard(future)

    def flush(self) -> int:
        """Answer the gets still waiting on the store, then wait for the uploads (up to the
        flush timeout); how many did not finish."""
        with self._due:
            while self._pending or self._writing:  # every get answered first (on a deadline)
                self._due.wait()
            self._closing = True
            self._due.notify_all()  # the deadline watcher ends once nothing is pending
        with self._queued_lock:
            left = [f for f in self._queued if not f.done()]
        _done, pending = wait(left, timeout=self.flush_timeout)
        if pending:
            for future in pending:
                future.cancel()
            self.recorder.add(uploads_dropped=len(pending))
            self._warn(
                f"goci cacheprog: {len(pending)} uploads did not finish within "
                f"{self.flush_timeout:g}s; they stay out of the store"
            )
        self._gets.shutdown(wait=False, cancel_futures=True)
        self._uploads.shutdown(wait=False, cancel_futures=True)
        return len(pending)
