"""Go's build cache as it lies on disk: entries, their outputs, and what Go would not accept.

An entry is a pair: ``GOCACHE/xx/<actionID>-a`` holds one line
``v1 <actionID> <outputID> <size> <unixnano>`` that points at ``GOCACHE/yy/<outputID>-d`` (a
file, or a folder holding one executable); several ``-a`` may share one ``-d``. Reading the
folder is separate from deciding what to drop (:mod:`goci.cache.trim`) because another job may
delete any file between the listing and the reading: a file that vanished is not an error.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from goci.cache.registry import REGISTRY

_ENTRY_NAME = re.compile(r"^([0-9a-f]{64})-([ad])$")
_SUBDIR_NAME = re.compile(r"^[0-9a-f]{2}$")
# "v1 <actionID> <outputID> <size> <unixnano>\n", the numbers space-padded to 20 characters.
_ACTION_LINE = re.compile(rb"^v1 ([0-9a-f]{64}) ([0-9a-f]{64}) ( *\d+) ( *\d+)\n$")
_ACTION_LINE_LENGTH = 2 + 1 + 64 + 1 + 64 + 1 + 20 + 1 + 20 + 1
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)  # Windows would translate line ends


@dataclass(frozen=True)
class Output:
    """One ``<outputID>-d``: a file, or a folder holding one cached executable.

    Its location is kept as the text the listing gave: a cache holds ~10,000 files, and a
    Path made for each one was a third of a trim's time.
    """

    location: str
    size: int
    mtime: float

    @property
    def path(self) -> Path:
        return Path(self.location)


@dataclass(frozen=True)
class Entry:
    """One ``<actionID>-a`` and the output it points at (None when that ``-d`` is gone)."""

    location: str  # as Output's
    output_id: str
    mtime: float
    size: int
    output: Output | None

    @property
    def path(self) -> Path:
        return Path(self.location)

    @property
    def last_used(self) -> float:
        """When the entry was last used, as far as its files tell.

        Go refreshes the ``-a`` on every use and the ``-d`` when it opens it (never an empty
        one). A ``-d`` that moved may have been read through another entry pointing at the same
        output: counting it can keep an unused entry (a few bytes), never drop a used one.
        """
        return max(self.mtime, self.output.mtime if self.output else self.mtime)


@dataclass(frozen=True)
class CacheScan:
    """What a build cache folder holds, as entries, outputs and Go's other files."""

    root: Path
    entries: tuple[Entry, ...]
    outputs: dict[str, Output]
    broken: tuple[Path, ...]
    other_bytes: int

    @property
    def total_bytes(self) -> int:
        return (
            self.other_bytes
            + sum(e.size for e in self.entries)
            + sum(o.size for o in self.outputs.values())
            + sum(size_of(p) for p in self.broken)
        )


def size_of(path: Path) -> int:
    """Bytes in a file, or in every file below a folder; files that vanish count as 0."""
    try:
        if not (path.is_dir() and not path.is_symlink()):
            return path.lstat().st_size
    except OSError:
        return 0
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(folder) / name).lstat().st_size
            except OSError:
                continue
    return total


def _listing(folder: str) -> list[os.DirEntry[str]]:
    """The entries of a folder, or none when the folder vanished or is not one."""
    try:
        with os.scandir(folder) as items:
            return list(items)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _subdirs(root: Path) -> list[os.DirEntry[str]]:
    """The ``xx`` folders of the cache, in name order."""
    return sorted(
        (
            d
            for d in _listing(str(root))
            if _SUBDIR_NAME.match(d.name) and d.is_dir(follow_symlinks=False)
        ),
        key=lambda d: d.name,
    )


def _subdir_items(root: Path) -> Iterable[tuple[os.DirEntry[str], str, str]]:
    """Everything in the ``xx`` folders: (dir entry, hash, kind), hash and kind empty for a
    name that is no cache entry (listed once: a cache holds ~10,000 files)."""
    for subdir in _subdirs(root):
        for item in _listing(subdir.path):
            match = _ENTRY_NAME.match(item.name)
            if match and match.group(1).startswith(subdir.name):
                yield item, match.group(1), match.group(2)
            else:
                yield item, "", ""


def entry_files(root: Path) -> Iterable[tuple[os.DirEntry[str], str, str]]:
    """Every ``xx/<hash>-a`` and ``xx/<hash>-d`` of the cache: (dir entry, hash, kind)."""
    return ((item, digest, kind) for item, digest, kind in _subdir_items(root) if kind)


def _other_bytes(root: Path) -> int:
    """Bytes in files outside the ``xx`` folders (README, trim.txt, fuzz/, ...), but for the
    jobs' registrations (:mod:`goci.cache.registry`): a trim removes its own after it counts."""
    total = 0
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        at_top = here == root
        if at_top:
            dirs[:] = [d for d in dirs if not _SUBDIR_NAME.match(d) and d != REGISTRY]
        for name in files:
            try:
                total += (here / name).lstat().st_size
            except OSError:
                continue
    return total


class _Vanished(Exception):
    """The file was deleted (by another job) after it was listed."""


def _read_output_id(path: str) -> str | None:
    """The output ID an ``-a`` file points at, or None when Go would not accept the file.

    With the os module's own calls: a trim reads thousands of these, and a buffered file
    object for each one costs more than the reading.
    """
    try:
        handle = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        raise _Vanished(path) from None
    except OSError:
        return None
    try:
        data = os.read(handle, 256)
    except OSError:
        return None
    finally:
        os.close(handle)
    match = _ACTION_LINE.match(data) if len(data) == _ACTION_LINE_LENGTH else None
    if not match or not path.endswith(match.group(1).decode() + "-a"):
        return None
    return match.group(2).decode()


def outputs_in_use_since(cache: CacheScan) -> set[str]:
    """The outputs of the entries Go wrote or used since ``cache`` was scanned (an ``-a`` the
    scan did not see, or one newer now): Go writes a new ``-a`` without touching an existing
    ``-d`` it points at, so a ``-d`` the scan found unused may have gained one."""
    seen = {e.location: e.mtime for e in cache.entries}
    found: set[str] = set()
    for item, _digest, kind in entry_files(cache.root):
        if kind != "a":
            continue
        try:
            if item.path in seen and item.stat(follow_symlinks=False).st_mtime <= seen[item.path]:
                continue
            output_id = _read_output_id(item.path)
        except (FileNotFoundError, _Vanished):
            continue
        if output_id:
            found.add(output_id)
    return found


def _late_output(root: Path, output_id: str) -> Output | None:
    """The ``-d`` of an ``-a`` read after the listing of the folder it lies in: a job that put
    an entry meanwhile writes the ``-d`` first, and its entry is not broken."""
    location = os.path.join(root, output_id[:2], f"{output_id}-d")
    try:
        stat = os.lstat(location)
    except (FileNotFoundError, NotADirectoryError):
        return None
    is_dir = os.path.isdir(location) and not os.path.islink(location)
    return Output(location, size_of(Path(location)) if is_dir else stat.st_size, stat.st_mtime)


def scan(root: Path) -> CacheScan:
    """Read a build cache folder: every entry, every output, and what Go would not accept."""
    actions: list[tuple[os.DirEntry[str], str | None]] = []
    outputs: dict[str, Output] = {}
    stray = 0  # bytes in the xx folders that are no cache entry
    for item, digest, kind in _subdir_items(root):
        try:
            if not kind:
                stray += size_of(Path(item.path))
            elif kind == "d":
                stat = item.stat(follow_symlinks=False)
                is_dir = item.is_dir(follow_symlinks=False)
                size = size_of(Path(item.path)) if is_dir else stat.st_size
                outputs[digest] = Output(item.path, size, stat.st_mtime)
            else:
                actions.append((item, _read_output_id(item.path)))
        except (FileNotFoundError, _Vanished):
            continue
    entries: list[Entry] = []
    broken: list[Path] = []
    for item, output_id in actions:
        output = outputs.get(output_id) if output_id else None
        if output is None and output_id:  # Go may have written both since we listed the -d's
            output = _late_output(root, output_id)
            if output is not None:
                outputs[output_id] = output
        try:
            stat = item.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if output is None:
            broken.append(Path(item.path))
            continue
        entries.append(Entry(item.path, output_id or "", stat.st_mtime, stat.st_size, output))
    return CacheScan(root, tuple(entries), outputs, tuple(broken), _other_bytes(root) + stray)


def _ignore_vanished(function: object, path: str, error: BaseException) -> None:
    if not isinstance(error, FileNotFoundError):
        raise error


def remove(path: Path) -> bool:
    """Remove a file or folder; False when another job removed it first."""
    try:
        if not (path.is_dir() and not path.is_symlink()):
            path.unlink()
            return True
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=_ignore_vanished)
        else:
            shutil.rmtree(path, onerror=lambda f, p, info: _ignore_vanished(f, p, info[1]))
        return True
    except FileNotFoundError:
        return False
