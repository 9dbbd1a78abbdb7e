"""What one ``goci cacheprog`` did, said in one line at ``close`` and added up per job.

Each go command starts its own server, so a job runs many. Each appends one JSON line to the
``--stats`` file in a single write (appends do not interleave), and ``goci cacheprog report``
adds the lines up into the job summary's table. The server's own time per ``get`` (the store
round trips taken out) is kept as a histogram of 10-microsecond buckets, which adds up across
processes and still gives a median.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path

from goci.cache.units import format_size

BUCKET_US = 10
BUCKETS = 1000  # up to 10 ms; slower answers count in the last bucket


@dataclass
class Counts:
    """Counters of one server (or the sum of several)."""

    gets: int = 0
    local_hits: int = 0
    remote_hits: int = 0
    misses: int = 0
    puts: int = 0
    bytes_down: int = 0
    bytes_up: int = 0
    uploads: int = 0
    uploads_skipped: int = 0
    uploads_dropped: int = 0
    marks: int = 0
    bad_objects: int = 0
    timeouts: int = 0
    store_wait: float = 0.0
    processes: int = 1
    degraded: list[str] = field(default_factory=list)
    overhead: dict[str, int] = field(default_factory=dict)  # bucket -> gets

    @property
    def hits(self) -> int:
        return self.local_hits + self.remote_hits

    def median_overhead_ms(self) -> float | None:
        """The median of the server's own time per get, in milliseconds."""
        total = sum(self.overhead.values())
        if not total:
            return None
        seen = 0
        for bucket in sorted(self.overhead, key=int):
            seen += self.overhead[bucket]
            if seen * 2 >= total:
                return (int(bucket) + 0.5) * BUCKET_US / 1000
        return None  # pragma: no cover - the loop always reaches the middle

    def add(self, other: Counts) -> None:
        for item in fields(self):
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            if item.name == "degraded":
                mine.extend(t for t in theirs if t not in mine)
            elif item.name == "overhead":
                for bucket, count in theirs.items():
                    mine[bucket] = mine.get(bucket, 0) + count
            else:
                setattr(self, item.name, mine + theirs)

    def line(self, store: str) -> str:
        """The one line a server says at close."""
        wait = f"{self.store_wait:.1f}s waiting on {store}"
        state = (
            f"; store unavailable ({self.degraded[0]}): local cache only" if self.degraded else ""
        )
        return (
            f"goci cacheprog: {self.gets} gets, {self.hits} hits ({self.local_hits} local, "
            f"{self.remote_hits} remote), {self.misses} misses, {self.puts} puts; "
            f"{format_size(self.bytes_down)} down, {format_size(self.bytes_up)} up; {wait}{state}"
        )

    def table_row(self) -> list[str]:
        median = self.median_overhead_ms()
        return [
            str(self.gets),
            f"{self.hits} ({self.local_hits} local, {self.remote_hits} remote)",
            str(self.misses),
            str(self.puts),
            format_size(self.bytes_down),
            format_size(self.bytes_up),
            f"{self.store_wait:.1f}s",
            f"{median:.2f} ms" if median is not None else "-",
            "; ".join(self.degraded) or "ok",
        ]

    def to_json(self) -> str:
        return json.dumps({f.name: getattr(self, f.name) for f in fields(self)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Counts:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


TABLE_HEADERS = [
    "gets",
    "hits",
    "misses",
    "puts",
    "down",
    "up",
    "waiting on the store",
    "server time per get (median)",
    "store",
]


class Recorder:
    """Thread-safe counters of one running server."""

    def __init__(self) -> None:
        self.counts = Counts()
        self._lock = threading.Lock()

    def add(self, **deltas: float) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self.counts, name, getattr(self.counts, name) + delta)

    def overhead(self, seconds: float) -> None:
        bucket = str(min(int(seconds * 1_000_000) // BUCKET_US, BUCKETS - 1))
        with self._lock:
            self.counts.overhead[bucket] = self.counts.overhead.get(bucket, 0) + 1

    def degraded(self, reason: str) -> None:
        with self._lock:
            self.counts.degraded.append(reason)

    def snapshot(self) -> Counts:
        with self._lock:
            return Counts.from_json(self.counts.to_json())


def append(path: Path, counts: Counts) -> None:
    """Add one server's counts to a stats file (one line, one write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0), 0o644)
    try:
        os.write(fd, (counts.to_json() + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def total(lines: Iterable[str]) -> Counts:
    """The sum of a stats file's lines (a line cut short by a killed writer is skipped)."""
    summed = Counts(processes=0)
    for line in lines:
        try:
            summed.add(Counts.from_json(line))
        except (ValueError, TypeError):
            continue
    return summed
