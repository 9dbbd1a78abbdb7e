"""The local tier: a folder on this machine that the go command reads outputs from.

Go wants every hit as a file on local disk (``DiskPath``) that stays until ``close``, so each
output lands here first, whether it came from a ``put`` or from the store: ``o/<oo>/<outputID>``
holds the bytes (written under a temporary name and renamed, so no reader sees half of one),
and the entries are lines ``<actionID> <outputID> <size> <put-unix-nanos>`` appended to
``index``, each in one write, which several servers (one per go command) can do at once. A
server reads the index when it starts and the lines added since whenever it misses, so it
sees what the others stored. Everything here was checked against its output ID before it was
written. An output already here is never written again: the go command may hold it open
(golang/go#71059), and its bytes cannot differ.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from goci.tools.atomic import mkstemp_owned, temp_token
from goci.tools.owner import unregister_live

_LINE = re.compile(rb"^([0-9a-f]{64}) ([0-9a-f]{64}) (\d{1,15}) (\d{1,20})$")
_BINARY = getattr(os, "O_BINARY", 0)


@dataclass(frozen=True, slots=True)
class Hit:
    """An entry served from this folder."""

    output_id: str
    size: int
    put_nanos: int
    path: str


class LocalTier:
    """One folder of entries and outputs (the default lives under GOCACHE)."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = str(root.resolve())
        self._made: set[str] = set()
        self._entries: dict[str, tuple[str, int, int]] = {}
        self._lock = threading.Lock()
        self._closed = False
        index = os.path.join(self.root, "index")
        self._append = os.open(index, os.O_WRONLY | os.O_CREAT | os.O_APPEND | _BINARY, 0o644)
        self._reader = open(index, "rb")  # noqa: SIM115 - read on each miss, closed by close()
        self._partial = b""
        self._refresh()

    def close(self) -> None:
        """Close the index; a store fetch still finishing on another thread writes nothing
        more (its file descriptors may already belong to something else)."""
        with self._lock:
            self._closed = True
            os.close(self._append)
            self._reader.close()

    def _refresh(self) -> None:
        """Read the index lines written since the last look (by this server or another)."""
        with self._lock:
            if self._closed:
                return
            data = self._partial + self._reader.read()
            lines = data.split(b"\n")
            self._partial = lines.pop()  # a line still being written, or b""
            for line in lines:
                match = _LINE.match(line)
                if match:
                    action, output, size, nanos = match.groups()
                    self._entries[action.decode()] = (output.decode(), int(size), int(nanos))

    def output_path(self, output_id: str) -> str:
        return os.path.join(self.root, "o", output_id[:2], output_id)

    def get(self, action_id: str) -> Hit | None:
        """The entry of ``action_id`` when both it and its output are here."""
        entry = self._entries.get(action_id)
        if entry is None:
            self._refresh()
            entry = self._entries.get(action_id)
            if entry is None:
                return None
        output_id, size, put_nanos = entry
        path = self.output_path(output_id)
        try:
            if os.stat(path).st_size != size:
                return None
        except OSError:
            return None
        return Hit(output_id, size, put_nanos, path)

    def has_output(self, output_id: str, size: int) -> bool:
        try:
            return os.stat(self.output_path(output_id)).st_size == size
        except OSError:
            return False

    def put_output(self, output_id: str, body: bytes) -> str:
        """Write a checked output (unless it is already here); its path."""
        path = self.output_path(output_id)
        if self.has_output(output_id, len(body)):
            return path
        folder = os.path.dirname(path)
        if folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)
        fd, tmp = mkstemp_owned(Path(path))
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view) :]
            os.close(fd)
            fd = -1
            os.replace(tmp, path)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            Path(tmp).unlink(missing_ok=True)
            raise
        finally:
            unregister_live(temp_token(tmp))
        return path

    def put_action(self, action_id: str, output_id: str, size: int, put_nanos: int) -> None:
        """Record an entry whose output is here (one appended line, one write)."""
        with self._lock:
            if self._closed:
                return
            line = f"{action_id} {output_id} {size} {put_nanos}\n".encode("ascii")
            os.write(self._append, line)
            self._entries[action_id] = (output_id, size, put_nanos)
