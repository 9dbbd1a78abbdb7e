"""A TCP forwarder in front of a real server that dies after a set number of HTTP requests.

It stands for a store that crashes in the middle of a build, at a point the test chooses
rather than a moment it guesses: the ``cut_after``-th request that starts on any connection
makes it reset every connection and stop listening, so what follows is refused, as after a
crash.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading

_REQUEST = re.compile(rb"^(GET|PUT|HEAD|POST|DELETE) /")


class CutProxy:
    def __init__(self, target_port: int, cut_after: int) -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self.requests = 0
        self.cut = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.cut.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._sockets += [client, upstream]
                if self.cut.is_set():  # cut while this one was accepted
                    self.die()
                    return
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, counting: bool) -> None:
        while not self.cut.is_set():
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)
                return
            if counting and _REQUEST.match(data):
                with self._lock:
                    self.requests += 1
                    if self.requests > self.cut_after:
                        self.die()
                        return
            try:
                dst.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        with self._lock:
            self.die()

    def die(self) -> None:
        """Reset every connection and stop listening (the caller holds the lock)."""
        self.cut.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        for sock in list(self._sockets):
            # shutdown first: a bare close does not wake the pump blocked in recv on it, and
            # the peer would see nothing at all (a hang, not a crash).
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
