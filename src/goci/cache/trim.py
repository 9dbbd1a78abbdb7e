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
own bookkeeping or data and is never touched. :func:`mark` also leaves the mark in the folder
(``goci-mark``), so that a trim in a shell, where no later step sees ``GOCI_CACHE_MARK``, finds
it (Go ignores files it does not know there).

A GOCACHE can be shared by concurrent jobs (a self-hosted runner, act in host mode): Go itself,
another trim or ``go clean -cache`` may delete any file between our listing and our reading
it. A file that vanished is simply not there any more: never an error, never counted as ours.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from goci.cache.gocache import Entry, entry_files, remove, scan, size_of
from goci.tools.atomic import write_atomic

# Go refreshes an mtime on use only when it is at least this old (cmd/go/internal/cache).
GO_MTIME_INTERVAL = 3600.0
# How far back mark() moves restored entries: past the interval, with room for clock skew.
BACKDATE = 2 * GO_MTIME_INTERVAL
# The file in the cache folder that holds the last mark (epoch seconds).
MARK_FILE = "goci-mark"


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
        kept.sort(key=lambda e: (e.last_used, os.path.basename(e.location)))
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
        size = size_of(path)
        if remove(path):
            removed_files += 1
            removed_bytes += size
    for output in dropped_outputs:
        if remove(output.path):
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
    for item, _digest, _kind in entry_files(root):
        try:
            stat = item.stat(follow_symlinks=False)
            if stat.st_mtime > floor:
                os.utime(item.path, (floor, floor), follow_symlinks=False)
                moved += 1
        except FileNotFoundError:
            continue
    write_atomic(root / MARK_FILE, f"{moment}\n")  # creates the folder after a cache miss
    return MarkResult(root=root, mark=moment, backdated_files=moved)


def recorded_mark(root: Path) -> str | None:
    """The mark :func:`mark` left in the cache folder, as written (None when there is none)."""
    try:
        return (root / MARK_FILE).read_text(encoding="utf-8").strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None
