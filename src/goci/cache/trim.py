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

A GOCACHE can be shared by concurrent jobs (a self-hosted runner, act in host mode). Their
marks must not undo each other: a second job's mark would move back what the first job used
since its own mark, and the first job's trim would drop it. So :func:`mark` registers its job
in the folder (``goci-marks/``, :mod:`goci.cache.registry`) and the trim's command removes
the registration when the trim is done; a mark that finds other jobs registered takes the
earliest of their marks as its own (and writes it to ``goci-mark``) and moves back nothing
used at or after it. Every trim then keeps everything used since the earliest job that was
using the cache when its own job started. Go itself, another trim or ``go clean -cache`` may
also delete or write any file between our listing and our acting on it: a file that vanished
is simply not there any more (never an error, never counted as ours), an ``-a`` Go used after
the scan stays, and so does every ``-d`` an ``-a`` written or used since the scan points at.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from goci.cache import registry
from goci.cache.gocache import (
    CacheScan,
    Entry,
    entry_files,
    outputs_in_use_since,
    remove,
    scan,
    size_of,
)
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
    """The time recorded after a restore, how many restored files were moved back, this job's
    registration and how many other jobs' were live."""

    root: Path
    mark: int
    backdated_files: int
    registration: str
    others: int


def _plan(
    cache: CacheScan, unused_since: float | None, max_size: int | None
) -> tuple[list[Entry], list[Entry], list[Entry], dict[str, int]]:
    """Entries kept, unused and over budget, and how many kept entries point at each output."""
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
    return kept, unused, over_budget, refs


def _used_since_scan(entry: Entry) -> bool:
    """Whether Go used the entry after the scan read it: its ``-a`` is newer now."""
    try:
        return entry.path.lstat().st_mtime > entry.mtime
    except FileNotFoundError:
        return False


def trim(root: Path, *, unused_since: float | None, max_size: int | None) -> TrimResult:
    """Drop entries unused since ``unused_since``, then the least recently used over budget.

    Entries Go would not accept (unreadable ``-a``, or its ``-d`` gone) and outputs no kept
    entry points at go as well. ``-a`` files are removed before any ``-d``, so an interrupted
    trim still leaves a valid cache; each ``-a`` is looked at again right before it goes, and
    one a job used since the scan stays, with its output.
    """
    cache = scan(root)
    kept, unused, over_budget, refs = _plan(cache, unused_since, max_size)
    removed_bytes = removed_files = 0
    late: set[str] = set()
    for entry in (*unused, *over_budget):
        if _used_since_scan(entry):
            late.add(entry.location)
        elif remove(entry.path):
            removed_files += 1
            removed_bytes += entry.size
    for path in cache.broken:
        size = size_of(path)
        if remove(path):
            removed_files += 1
            removed_bytes += size
    kept_outputs = {oid for oid, count in refs.items() if count > 0}
    if len(kept_outputs) < len(cache.outputs):  # some output may go: look at the -a's again
        kept_outputs |= outputs_in_use_since(cache)  # the late ones' included
    for oid, output in cache.outputs.items():
        if oid not in kept_outputs and remove(output.path):
            removed_files += 1
            removed_bytes += output.size
    return TrimResult(
        root=root,
        unused_since=unused_since,
        max_size=max_size,
        size_before=cache.total_bytes,
        size_after=cache.total_bytes - removed_bytes,
        removed_files=removed_files,
        removed_bytes=removed_bytes,
        removed_unused=sum(1 for e in unused if e.location not in late),
        removed_over_budget=sum(1 for e in over_budget if e.location not in late),
        removed_broken=len(cache.broken),
        removed_orphans=sum(1 for oid in cache.outputs if oid not in refs),
        kept_entries=len(kept) + len(late),
    )


def mark(root: Path, *, now: float | None = None) -> MarkResult:
    """Record "now" and move restored mtimes newer than two hours before it back to that point.

    The mark is a whole second, one second early: file systems stamp files from a coarse clock
    that may lag ``time.time()`` by a few milliseconds, and a file this run writes must never
    look older than the mark. When other jobs are using the folder (:mod:`goci.cache.registry`)
    the mark is the earliest of theirs, and nothing used at or after it moves: what they used
    since their marks stays theirs to keep.
    """
    moment = int(now if now is not None else time.time()) - 1
    registration, taken, others = registry.register(root, moment)
    floor = float(taken - int(BACKDATE))
    limit = float(taken) if others or taken < moment else math.inf
    moved = 0
    for item, _digest, _kind in entry_files(root):
        try:
            stat = item.stat(follow_symlinks=False)
            if floor < stat.st_mtime < limit:
                os.utime(item.path, (floor, floor), follow_symlinks=False)
                moved += 1
        except FileNotFoundError:
            continue
    write_atomic(root / MARK_FILE, f"{taken}\n")
    return MarkResult(
        root=root, mark=taken, backdated_files=moved, registration=registration, others=others
    )


def recorded_mark(root: Path) -> str | None:
    """The mark :func:`mark` left in the cache folder, as written (None when there is none)."""
    try:
        return (root / MARK_FILE).read_text(encoding="utf-8").strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None
