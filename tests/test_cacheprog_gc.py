"""``goci cacheprog gc``: what no build used lately goes, what a build used stays, even when the
use lands while the trim runs; ``--max-size`` drops the least recently used first.

Entries are written through the real remote tier (as a server's uploads do), ages are set with
the file store's modification times (what its listing reports), and the "use" is a real read
by another server's remote tier, which marks the entry.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from goci.cache.cacheprog.entries import INLINE_MAX, Layout
from goci.cache.cacheprog.gc import collect
from goci.cache.cacheprog.local import LocalTier
from goci.cache.cacheprog.remote import RemoteTier
from goci.cache.cacheprog.stats import Recorder
from goci.release.stores import Store, open_store
from goci.release.stores.filestore import FileStore
from support.goci_run import GociRun
from support.seaweed import BUCKET, Seaweed

LAYOUT = Layout.of("acme/app")
DAY = 86400.0
BIG = INLINE_MAX + 1000  # an output stored apart from its entry


def action(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def store_entry(store: Store, tmp: Path, name: str, body: bytes, *, at: float) -> list[str]:
    """Upload one entry as a server would at time ``at``; its keys in the store."""
    output = hashlib.sha256(body).hexdigest()
    local = LocalTier(tmp / f"writer-{name}")
    local.put_output(output, body)
    tier = RemoteTier(store, LAYOUT, Recorder(), read_only=False, warn=print, clock=lambda: at)
    tier.upload(action(name), output, int(at * 1e9), local)
    local.close()
    keys = [LAYOUT.action_key(action(name))]
    return keys + ([LAYOUT.output_key(output)] if len(body) > INLINE_MAX else [])


def age(root: Path, keys: list[str], when: float) -> None:
    for key in keys:
        os.utime(root / key, (when, when))


def use(store: Store, tmp: Path, name: str) -> None:
    """Another job's build reads the entry now (a hit, which marks it)."""
    local = LocalTier(tmp / f"reader-{name}-{uuid.uuid4().hex[:6]}")
    tier = RemoteTier(store, LAYOUT, Recorder(), read_only=False, warn=print)
    assert tier.fetch(action(name), local) is not None
    local.close()


def test_gc_drops_the_unused_and_keeps_the_recently_used(
    goci: Callable[..., GociRun], go_env: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "store"
    store = FileStore(root)
    now = time.time()
    month_ago = now - 30 * DAY
    stale = store_entry(store, tmp_path, "stale", os.urandom(BIG), at=month_ago)
    used = store_entry(store, tmp_path, "used", os.urandom(BIG), at=month_ago)
    fresh = store_entry(store, tmp_path, "fresh", b"small and new", at=now)
    age(root, stale + used, month_ago)
    use(store, tmp_path, "used")  # a month old, but a build hit it today

    run = goci(
        "cacheprog", "gc", "--store", root.as_uri(), "--namespace", "acme/app",
        "--unused-since", "7d", env=go_env, cwd=tmp_path,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert store.list_keys(LAYOUT.root) == sorted(used + fresh)
    assert "2 unused" in run.stdout and "0 over budget" in run.stdout


def test_an_entry_used_while_gc_runs_stays(tmp_path: Path) -> None:
    """The trim lists, then a build marks an entry, then the trim reaches it: it stays."""
    root = tmp_path / "store"
    month_ago = time.time() - 30 * DAY

    class ReadDuringTrim(FileStore):
        def last_modified(self, key: str) -> float | None:
            if key == LAYOUT.action_key(action("b")) and not marked:
                marked.append(key)
                use(self, tmp_path, "b")  # the mark lands between listing and deletion
            return super().last_modified(key)

    marked: list[str] = []
    store = ReadDuringTrim(root)
    a = store_entry(store, tmp_path, "a", b"first", at=month_ago)
    b = store_entry(store, tmp_path, "b", b"second", at=month_ago)
    age(root, a + b, month_ago)
    result = collect(store, LAYOUT, unused_for=7 * DAY, max_size=None, now=time.time())
    assert marked and store.list_keys(LAYOUT.root) == b
    assert (result.removed_unused, result.changed_meanwhile) == (1, 1)


def test_max_size_drops_the_least_recently_used_first(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = FileStore(root)
    now = time.time()
    keys: dict[str, list[str]] = {}
    for n, name in enumerate(["oldest", "middle", "newest"]):
        keys[name] = store_entry(store, tmp_path, name, os.urandom(BIG), at=now)
        age(root, keys[name], now - (3 - n) * 3600)
    sizes = {o.key: o.size for o in store.list_objects(LAYOUT.root)}
    budget = sum(sizes[k] for k in keys["middle"] + keys["newest"])
    result = collect(store, LAYOUT, unused_for=None, max_size=budget, now=now)
    assert store.list_keys(LAYOUT.root) == sorted(keys["middle"] + keys["newest"])
    assert result.removed_over_budget == 2 and result.kept_bytes == budget


def test_gc_on_s3_keeps_what_is_recent_and_trims_to_the_budget(
    seaweed: Seaweed, tmp_path: Path
) -> None:
    url = f"s3://{BUCKET}/cacheprog-gc/{uuid.uuid4().hex[:8]}"
    store = open_store(url, endpoint_url=seaweed.endpoint, env=seaweed.env(), cwd=tmp_path)
    now = time.time()
    written = store_entry(store, tmp_path, "x", os.urandom(BIG), at=now)
    written += store_entry(store, tmp_path, "y", b"tiny", at=now)
    kept = collect(store, LAYOUT, unused_for=3600.0, max_size=None, now=time.time())
    assert (kept.removed_unused, kept.kept_objects) == (0, 3)
    assert store.list_keys(LAYOUT.root) == sorted(written)
    emptied = collect(store, LAYOUT, unused_for=None, max_size=0, now=time.time())
    assert emptied.removed_over_budget == 3 and store.list_keys(LAYOUT.root) == []
    store.close()


def test_max_size_never_drops_an_output_a_kept_entry_points_at(tmp_path: Path) -> None:
    """An output is refreshed at most once a day, so it can look older than the entry pointing
    at it: here older than another entry and its output. By its own time it would go first,
    leaving the newest entry pointing at nothing; its age is its entry's, so the other goes."""
    root = tmp_path / "store"
    store = FileStore(root)
    now = time.time()
    entry, output = store_entry(store, tmp_path, "newest", os.urandom(BIG), at=now)
    other = store_entry(store, tmp_path, "other", os.urandom(BIG), at=now)
    age(root, [output], now - 3 * 3600)  # last touched before the other was used
    age(root, other, now - 2 * 3600)
    age(root, [entry], now - 3600)  # used since, the newest of all
    sizes = {o.key: o.size for o in store.list_objects(LAYOUT.root)}

    result = collect(store, LAYOUT, unused_for=None, max_size=sizes[entry] + sizes[output], now=now)

    assert store.list_keys(LAYOUT.root) == sorted([entry, output])
    assert (result.removed_over_budget, result.kept_objects) == (2, 2)


def test_unused_since_never_drops_an_output_a_kept_entry_points_at(tmp_path: Path) -> None:
    """A new entry can come to point at an output stored a day before (the upload leaves an
    output touched within the day alone): by its own time past --unused-since, by its entry's
    in use. It stays; a pair unused by both times goes."""
    root = tmp_path / "store"
    store = FileStore(root)
    now = time.time()
    entry, output = store_entry(store, tmp_path, "recent", os.urandom(BIG), at=now)
    stale = store_entry(store, tmp_path, "stale", os.urandom(BIG), at=now)
    age(root, stale, now - 30 * DAY)
    age(root, [output], now - 8.5 * DAY)  # past the cutoff: 7 days, and a day for the marks
    age(root, [entry], now - 7.5 * DAY)  # within it

    result = collect(store, LAYOUT, unused_for=7 * DAY, max_size=None, now=now)

    assert store.list_keys(LAYOUT.root) == sorted([entry, output])
    assert (result.removed_unused, result.kept_objects) == (2, 2)
