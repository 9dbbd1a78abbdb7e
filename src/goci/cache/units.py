"""Sizes, durations and times as people write them for ``goci cache trim`` (and read them back).

``--max-size 1GiB``, ``--keep-within 7d`` and ``--unused-since 2026-11-27T13:00:00Z`` each say
one thing several ways; one reading here keeps the three options and the report in agreement.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

from goci.errors import InputError

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


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, name: str = "--keep-within") -> float:
    """``7d``, ``12h``, ``30m``, ``90s``, ``90`` (seconds) or ``0`` -> seconds.

    Every duration option (``--keep-within``, ``--stale-after``) is read here."""
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
