"""Split packages across N matrix jobs so that each job takes about the same time.

Every shard computes the whole assignment from the same inputs and keeps its own part, so the
split must be deterministic: the same packages and timings give the same shards on every
runner. With timings of earlier runs, the longest package goes first onto the least-loaded
shard (LPT scheduling); without them, the number of tests stands in for the time.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from goci.errors import InputError
from goci.tools.atomic import write_atomic

_SHARD = re.compile(r"^\s*([0-9]{1,9})\s*/\s*([0-9]{1,9})\s*$")
# More shards than GitHub runs jobs in one matrix cannot be meant (and would cost memory).
MAX_SHARDS = 256


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``total``."""

    index: int
    total: int

    @property
    def label(self) -> str:
        return f"{self.index}/{self.total}"


def parse_shard(text: str, name: str = "--shard") -> Shard:
    match = _SHARD.match(text or "")
    if match:
        index, total = int(match.group(1)), int(match.group(2))
        if 1 <= index <= total <= MAX_SHARDS:
            return Shard(index, total)
    raise InputError(
        f"{name}: {text!r} is not valid; use I/N with 1 <= I <= N <= {MAX_SHARDS} "
        "(e.g. 2/4: the second of four)"
    )


@dataclass(frozen=True)
class Assignment:
    """Which shard each package goes to, and the expected load of each shard."""

    shards: tuple[tuple[str, ...], ...]
    loads: tuple[float, ...]
    by: str  # "timings" | "test count"

    def packages(self, shard: Shard) -> tuple[str, ...]:
        return self.shards[shard.index - 1]


def assign(
    packages: Sequence[str],
    total: int,
    *,
    timings: Mapping[str, float] | None = None,
    test_counts: Mapping[str, int] | None = None,
) -> Assignment:
    """Longest first onto the least-loaded shard; ties broken by name and shard number.

    Packages missing from ``timings`` are weighed as the mean of the known ones, so a new
    package neither lands everywhere nor makes one shard the slowest.
    """
    unique = sorted(set(packages))
    known = {p: float(timings[p]) for p in unique if timings and p in timings}
    if known:
        default = sum(known.values()) / len(known)
        weight = {p: known.get(p, default) for p in unique}
        by = "timings"
    else:
        counts = test_counts or {}
        weight = {p: float(counts.get(p, 0)) for p in unique}
        by = "test count"
    order = sorted(unique, key=lambda p: (-weight[p], p))
    loads = [0.0] * total
    sizes = [0] * total
    members: list[list[str]] = [[] for _ in range(total)]
    for package in order:
        target = min(range(total), key=lambda i: (loads[i], sizes[i], i))
        members[target].append(package)
        loads[target] += weight[package]
        sizes[target] += 1
    return Assignment(tuple(tuple(sorted(m)) for m in members), tuple(loads), by)


def read_timings(path: Path | None) -> dict[str, float]:
    """package -> seconds from an earlier run; a missing file is no timings, not an error."""
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise InputError(
            f"--timings: {path} is not a JSON object of package -> seconds ({exc})"
        ) from None
    if not isinstance(data, dict) or not all(_seconds(v) for v in data.values()):
        raise InputError(
            f"--timings: {path} is not a JSON object of package -> seconds "
            "(finite numbers >= 0); delete it and the next run writes it again"
        )
    return {str(k): float(v) for k, v in data.items()}


def _seconds(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value)) and value >= 0
    except OverflowError:
        return False


def write_timings(path: Path, measured: Mapping[str, float]) -> None:
    """Update the timings file with this run's measurements, keeping other packages' entries."""
    merged = {**read_timings(path), **{k: round(v, 3) for k, v in measured.items()}}
    write_atomic(path, json.dumps(dict(sorted(merged.items())), indent=2) + "\n")
