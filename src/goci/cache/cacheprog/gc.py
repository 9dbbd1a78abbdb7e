"""Trim the shared build cache in its store: drop what no build used lately, then keep a budget.

Readers mark an entry (and its output) as used at most once a day, which refreshes the
objects' last-modified time; so one listing (sizes and times, no object read) tells what is
unused. An entry is removed before any output, and every candidate's time is checked again
right before it goes, so an entry a build marked meanwhile stays. The trim is safe while jobs
read: the worst a reader can meet is an entry whose output just went, which it takes for a
miss (the output is checked by its hash anyway) and the build that follows stores again.

An output is refreshed at most once a day, and not when a new entry comes to point at it, so
it can look older than the entries that point at it; by its own time alone it would go while
they stay, and every hit on them would be a miss. So an output's age is the newest of its own
time and the times of the entries pointing at it. Which entries those are the listing does not
say: an entry whose output is stored apart is a header line alone, at most
:data:`HEADER_MAX` bytes, so only entries that small are read, and only when some output is
about to go.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from goci.cache.cacheprog.entries import MARK_INTERVAL, BadObject, Layout, decode
from goci.release.stores import Listed, Store

WORKERS = 8
#: An entry whose output is stored apart is its header alone, shorter than this (decode()
#: looks for the header's end within it); a bigger entry holds its output inline.
HEADER_MAX = 256


@dataclass(frozen=True)
class GcResult:
    """What a trim found and removed."""

    objects_before: int
    bytes_before: int
    removed_unused: int
    removed_over_budget: int
    removed_bytes: int
    kept_objects: int
    kept_bytes: int
    changed_meanwhile: int
    leftovers: tuple[str, ...]


def _order(item: Listed, layout: Layout, ages: dict[str, float]) -> tuple[float, int, str]:
    """Oldest first, and of equal age an entry before an output."""
    return (ages[item.key], 0 if item.key.startswith(layout.actions) else 1, item.key)


def _pointed_at(store: Store, layout: Layout, entries: list[Listed]) -> dict[str, float]:
    """For each output stored apart, the newest time of the entries pointing at it (by output
    key). An entry that vanished or is broken points nowhere: it is a miss for any reader."""

    def target(item: Listed) -> str | None:
        found = store.read(item.key)
        try:
            entry = decode(found[0]) if found else None
        except BadObject:
            return None
        return layout.output_key(entry.output_id) if entry and entry.inline is None else None

    small = [o for o in entries if o.size < HEADER_MAX]
    newest: dict[str, float] = {}
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="goci-cacheprog-gc-read") as pool:
        for item, key in zip(small, pool.map(target, small), strict=True):
            if key is not None:
                newest[key] = max(newest.get(key, item.modified), item.modified)
    return newest


def _ages(
    store: Store, layout: Layout, objects: list[Listed], cutoff: float | None, max_size: int | None
) -> dict[str, float]:
    """Each object's age for the trim: its own time, or for an output the newest of its own
    and its entries' times. The entries are read only when an output could go at all."""
    ages = {o.key: o.modified for o in objects}
    outputs = [o for o in objects if not o.key.startswith(layout.actions)]
    over = max_size is not None and sum(o.size for o in objects) > max_size
    if not (over or (cutoff is not None and any(o.modified < cutoff for o in outputs))):
        return ages
    entries = [o for o in objects if o.key.startswith(layout.actions)]
    for key, newest in _pointed_at(store, layout, entries).items():
        if key in ages:
            ages[key] = max(ages[key], newest)
    return ages


def collect(
    store: Store,
    layout: Layout,
    *,
    unused_for: float | None,
    max_size: int | None,
    now: float,
    stale_after: float = 3600.0,
    progress: Callable[[str], None] = lambda _line: None,
) -> GcResult:
    """Remove entries and outputs not used for ``unused_for`` seconds (a day more, as marks
    are written at most once a day), then the least recently used until ``max_size`` fits."""
    listed = store.list_objects(layout.root)
    objects = [o for o in listed if o.key.startswith((layout.actions, layout.outputs))]
    progress(f"{len(objects)} objects under {layout.root}")
    cutoff = None if unused_for is None else now - unused_for - MARK_INTERVAL
    ages = _ages(store, layout, objects, cutoff, max_size)
    objects.sort(key=lambda o: _order(o, layout, ages))
    unused: list[Listed] = []
    kept: list[Listed] = []
    for item in objects:
        (unused if cutoff is not None and ages[item.key] < cutoff else kept).append(item)
    over: list[Listed] = []
    size = sum(o.size for o in kept)
    if max_size is not None:
        while kept and size > max_size:
            item = kept.pop(0)
            over.append(item)
            size -= item.size
    removed, changed = _remove(store, layout, [*unused, *over])
    gone = {o.key for o in removed}
    leftovers = tuple(store.clean_leftovers(layout.root, stale_after))
    survivors = [o for o in objects if o.key not in gone]
    return GcResult(
        objects_before=len(objects),
        bytes_before=sum(o.size for o in objects),
        removed_unused=sum(1 for o in unused if o.key in gone),
        removed_over_budget=sum(1 for o in over if o.key in gone),
        removed_bytes=sum(o.size for o in removed),
        kept_objects=len(survivors),
        kept_bytes=sum(o.size for o in survivors),
        changed_meanwhile=changed,
        leftovers=leftovers,
    )


def _remove(store: Store, layout: Layout, doomed: list[Listed]) -> tuple[list[Listed], int]:
    """Delete each object unless it changed since the listing; entries go before outputs."""

    def one(item: Listed) -> bool:
        modified = store.last_modified(item.key)
        # A second of slack: S3 lists times in milliseconds but HEAD says whole seconds.
        if modified is None or modified > item.modified + 1.0:
            return False  # marked, rewritten or already gone meanwhile: leave it
        store.delete([item.key])
        return True

    removed: list[Listed] = []
    changed = 0
    entries = [o for o in doomed if o.key.startswith(layout.actions)]
    outputs = [o for o in doomed if not o.key.startswith(layout.actions)]
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="goci-cacheprog-gc") as pool:
        for batch in (entries, outputs):
            for item, went in zip(batch, pool.map(one, batch), strict=True):
                if went:
                    removed.append(item)
                else:
                    changed += 1
    return removed, changed
