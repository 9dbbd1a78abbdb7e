"""Trim Go's build cache before it is saved, so that a CI cache stops growing without bound.

Go drops build-cache entries only after five days without use, and a cache restored in CI is
never that old, so every save adds to it. Two facts of Go's on-disk layout make a safe trim
possible:

* an entry is a pair: ``GOCACHE/xx/<actionID>-a`` holds one line
  ``v1 <actionID> <outputID> <size> <unixnano>`` that points at ``GOCACHE/yy/<outputID>-d``
  (a file, or a folder holding one executable). Several ``-a`` may share one ``-d``. Go treats
  an ``-a`` whose ``-d`` is gone as a miss, so a trim removes the ``-a`` first and a ``-d`` only
  when no kept ``-a`` points at it: the cache is valid at every moment;
* Go sets an entry's mtime when it uses it, but only when the mtime is at least an hour old.
  So right after the restore, :func:`mark` records the time and moves every mtime newer than
  two hours before it back to that point; any use in this run then moves it past the mark,
  and an entry still older than the mark at save time was not used by this run.

Everything else in the folder (``README``, ``trim.txt``, ``testexpire.txt``, ``fuzz/``) is Go's
own bookkeeping or data and is never touched.

A GOCACHE can be shared by concurrent jobs (a self-hosted runner, act in host mode): Go itself,
another trim or ``go clean -cache`` may delete any file between our listing and our reading
it. A file that vanished is simply not there any more: never an error, never counted as ours.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from goci.errors import InputError

# Go refreshes an mtime on use only when it is at least this old (cmd/go/internal/cache).
GO_MTIME_INTERVAL = 3600.0
# How far back mark() moves restored entries: past the interval, with room for clock skew.
BACKDATE = 2 * GO_MTIME_INTERVAL
_ENTRY_NAME = re.compile(r"^([0-9a-f]{64})-([ad])$")
_SUBDIR_NAME = re.compile(r"^[0-9a-f]{2}$")
# "v1 <actionID> <outputID> <size> <unixnano>\n", the numbers space-padded to 20 characters.
_ACTION_LINE = re.compile(rb"^v1 ([0-9a-f]{64}) ([0-9a-f]{64}) ( *\d+) ( *\d+)\n$")
_ACTION_LINE_LENGTH = 2 + 1 + 64 + 1 + 64 + 1 + 20 + 1 + 20 + 1
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_NO_BUDGET = {"none", "off", "unlimited"}


@dataclass(frozen=True)
class Output:
    """One ``<outputID>-d``: a file, or a folder holding one cached executable."""

    path: Path
    size: int
    mtime: float


@dataclass(frozen=True)
class Entry:
    """One ``<actionID>-a`` and the output it points at (None when that ``-d`` is gone)."""

    path: Path
    output_id: str
    mtime: float
    size: int
    output: Output | None

    @property
    def last_used(self) -> float:
        """Go refreshes both files on use; either one moving means the entry was used."""
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
            + sum(_size_of(p) for p in self.broken)
        )


@dataclass(frozen=True)
class TrimResult:
    """What a trim removed and how big the cache was before and after."""

    root: Path
    unused_since: float | None
    max_size: int | None
    size_before: int
    size_after: int
    removed_files: int
    removed_bytes: int
    removed_unused: int
    removed_over_budget: int
    removed_broken: int
    removed_orphans: int
    kept_entries: int


@dataclass(frozen=True)
class MarkResult:
    """The time recorded after a restore and how many restored files were moved back."""

    root: Path
    mark: int
    backdated_files: int


def parse_size(text: str, name: str = "--max-size") -> int | None:
    """``1GiB`` -> 1073741824; ``none`` -> None (no budget). KiB/MiB/GiB/TiB, KB/MB/GB/TB, B."""
    accepted = "use a size like 500MiB, 1GiB, 2GB or 1048576 (bytes), or none"
    word = text.strip().lower()
    if word in _NO_BUDGET:
        return None
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS:
        raise InputError(f"{name}: {text!r} is not a size; {accepted}")
    return int(float(match.group(1)) * _UNITS[unit])


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$", re.IGNORECASE)
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, name: str = "--keep-within") -> float:
    """``7d``, ``12h``, ``30m``, ``90s`` or ``0`` -> seconds."""
    if text.strip() == "0":
        return 0.0
    match = _DURATION.match(text)
    if not match:
        raise InputError(f"{name}: {text!r} is not a duration; use 7d, 12h, 30m, 90s or 0")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]


def parse_time(text: str, name: str = "--unused-since") -> float:
    """Epoch seconds (``1764249600``) or an ISO 8601 time (``2026-11-27T13:00:00Z``)."""
    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
        raise InputError(f"{name}: {text!r} is not a time; use epoch seconds or ISO 8601")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{name}: {text!r} is not a time; use epoch seconds (1764249600) or ISO 8601 "
            "(2026-11-27T13:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def format_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_size(size: int) -> str:
    """Bytes for people: ``1.5 MiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - the loop always returns


def _size_of(path: Path) -> int:
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


def _entry_files(root: Path) -> Iterable[tuple[os.DirEntry[str], str, str]]:
    """Every ``xx/<hash>-a`` and ``xx/<hash>-d`` of the cache: (dir entry, hash, kind)."""
    for subdir in _subdirs(root):
        for item in _listing(subdir.path):
            match = _ENTRY_NAME.match(item.name)
            if match and match.group(1).startswith(subdir.name):
                yield item, match.group(1), match.group(2)


def _other_bytes(root: Path) -> int:
    """Bytes in files that are not cache entries (README, trim.txt, fuzz/, ...)."""
    total = 0
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        at_top = here == root
        if at_top:
            dirs[:] = [d for d in dirs if not _SUBDIR_NAME.match(d)]
        for name in files:
            try:
                total += (here / name).lstat().st_size
            except OSError:
                continue
    for subdir in _subdirs(root):
        for item in _listing(subdir.path):
            match = _ENTRY_NAME.match(item.name)
            if not (match and match.group(1).startswith(subdir.name)):
                total += _size_of(Path(item.path))
    return total


class _Vanished(Exception):
    """The file was deleted (by another job) after it was listed."""


def _read_output_id(path: str) -> str | None:
    """The output ID an ``-a`` file points at, or None when Go would not accept the file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(256)
    except FileNotFoundError:
        raise _Vanished(path) from None
    except OSError:
        return None
    match = _ACTION_LINE.match(data) if len(data) == _ACTION_LINE_LENGTH else None
    if not match or not path.endswith(match.group(1).decode() + "-a"):
        return None
    return match.group(2).decode()


def scan(root: Path) -> CacheScan:
    """Read a build cache folder: every entry, every output, and what Go would not accept."""
    actions: list[tuple[os.DirEntry[str], str | None]] = []
    outputs: dict[str, Output] = {}
    for item, digest, kind in _entry_files(root):
        try:
            if kind == "d":
                stat = item.stat(follow_symlinks=False)
                is_dir = item.is_dir(follow_symlinks=False)
                size = _size_of(Path(item.path)) if is_dir else stat.st_size
                outputs[digest] = Output(Path(item.path), size, stat.st_mtime)
            else:
                actions.append((item, _read_output_id(item.path)))
        except (FileNotFoundError, _Vanished):
            continue
    entries: list[Entry] = []
    broken: list[Path] = []
    for item, output_id in actions:
        output = outputs.get(output_id) if output_id else None
        try:
            stat = item.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if output is None:
            broken.append(Path(item.path))
            continue
        entries.append(Entry(Path(item.path), output_id or "", stat.st_mtime, stat.st_size, output))
    return CacheScan(root, tuple(entries), outputs, tuple(broken), _other_bytes(root))


def _ignore_vanished(function: object, path: str, error: BaseException) -> None:
    if not isinstance(error, FileNotFoundError):
        raise error


def _remove(path: Path) -> bool:
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


def trim(root: Path, *, unused_since: float | None, max_size: int | None) -> TrimResult:
    """Drop entries unused since ``unused_since``, then the least recently used over budget.

    Entries Go would not accept (unreadable ``-a``, or its ``-d`` gone) and outputs no kept
    entry points at go as well. ``-a`` files are removed before any ``-d``, so an interrupted
    trim still leaves a valid cache.
    """
    cache = scan(root)
    size_before = cache.total_bytes
    refs: dict[str, int] = {}
    for entry in cache.entries:
        refs[entry.output_id] = refs.get(entry.output_id, 0) + 1

    kept: list[Entry] = []
    unused: list[Entry] = []
    for entry in cache.entries:
        if unused_since is not None and entry.last_used < unused_since:
            unused.append(entry)
        else:
            kept.append(entry)
    for entry in unused:
        refs[entry.output_id] -= 1

    size = cache.other_bytes + sum(e.size for e in kept)
    size += sum(cache.outputs[oid].size for oid, count in refs.items() if count > 0)
    over_budget: list[Entry] = []
    if max_size is not None and size > max_size:
        kept.sort(key=lambda e: (e.last_used, e.path.name))
        for entry in kept:
            if size <= max_size:
                break
            over_budget.append(entry)
            size -= entry.size
            refs[entry.output_id] -= 1
            if refs[entry.output_id] == 0:
                size -= cache.outputs[entry.output_id].size
        kept = kept[len(over_budget) :]

    dropped_actions = [e.path for e in (*unused, *over_budget)] + list(cache.broken)
    kept_outputs = {oid for oid, count in refs.items() if count > 0}
    dropped_outputs = [o for oid, o in cache.outputs.items() if oid not in kept_outputs]
    orphans = sum(1 for oid in cache.outputs if oid not in refs)
    removed_bytes = removed_files = 0
    for path in dropped_actions:
        size = _size_of(path)
        if _remove(path):
            removed_files += 1
            removed_bytes += size
    for output in dropped_outputs:
        if _remove(output.path):
            removed_files += 1
            removed_bytes += output.size
    return TrimResult(
        root=root,
        unused_since=unused_since,
        max_size=max_size,
        size_before=size_before,
        size_after=size_before - removed_bytes,
        removed_files=removed_files,
        removed_bytes=removed_bytes,
        removed_unused=len(unused),
        removed_over_budget=len(over_budget),
        removed_broken=len(cache.broken),
        removed_orphans=orphans,
        kept_entries=len(kept),
    )


def mark(root: Path, *, now: float | None = None) -> MarkResult:
    """Record "now" and move restored mtimes newer than two hours before it back to that point.

    The mark is a whole second, one second early: file systems stamp files from a coarse clock
    that may lag ``time.time()`` by a few milliseconds, and a file this run writes must never
    look older than the mark.
    """
    moment = int(now if now is not None else time.time()) - 1
    floor = float(moment - int(BACKDATE))
    moved = 0
    for item, _digest, _kind in _entry_files(root):
        try:
            stat = item.stat(follow_symlinks=False)
            if stat.st_mtime > floor:
                os.utime(item.path, (floor, floor), follow_symlinks=False)
                moved += 1
        except FileNotFoundError:
            continue
    return MarkResult(root=root, mark=moment, backdated_files=moved)
