"""The jobs using one Go build cache folder right now, so that a mark never undoes another's.

``goci cache mark`` moves restored mtimes back so that Go marks what it uses; on a GOCACHE
shared by concurrent jobs (a self-hosted runner, act) a second job's mark would also move back
what the first job has used since its own mark, and the first job's trim would then drop it.
So each mark registers its job here, as ``goci-marks/<moment>-<unique>`` holding the mark it
took (epoch seconds), and its trim removes the registration when it is done. A mark that finds
live registrations takes the earliest of their marks and its own moment as its mark, and moves
back nothing used at or after it: every trim then keeps everything used since the earliest
job that was using the cache when its own job started.

A registration's file name carries the moment its job started, its content the mark; it
expires :data:`LIFETIME` after that moment, so a crashed job's registration stops counting
(the next mark removes it). Registrations of equal marks protect the same files, so a trim
that was not told which one is its own (a shell, where ``GOCI_CACHE_MARK_ID`` is not set) may
remove any one holding its mark: as many stay as jobs that marked with it and have not trimmed.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from goci.tools.atomic import write_atomic

#: The folder, inside the build cache, of the registrations (Go ignores names it does not know).
REGISTRY = "goci-marks"
#: How long a registration counts after its job's mark: longer than any job should run.
LIFETIME = 24 * 3600
_NAME = re.compile(r"^(\d+)-([0-9a-f]{32})$")


@dataclass(frozen=True)
class Registration:
    """One job's registration: its file name, when its job marked, and the mark it took."""

    name: str
    moment: int
    mark: int


def _read(folder: Path) -> list[Registration]:
    """Every registration in the folder (none when it is not there); a file that vanished
    between the listing and the reading is not counted, an unreadable one counts its moment."""
    try:
        names = [n for n in os.listdir(folder) if _NAME.match(n)]
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for name in names:
        moment = int(name.split("-", 1)[0])
        try:
            text = (folder / name).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            continue
        except OSError:
            text = ""
        found.append(Registration(name, moment, int(text) if text.isdigit() else moment))
    return found


def live(root: Path, now: int) -> list[Registration]:
    """The registrations that still count at ``now``; expired ones are removed on the way."""
    folder = root / REGISTRY
    kept = []
    for registration in _read(folder):
        if registration.moment >= now - LIFETIME:
            kept.append(registration)
        else:
            (folder / registration.name).unlink(missing_ok=True)
    return kept


def register(root: Path, moment: int) -> tuple[str, int, int]:
    """Register a job marking at ``moment``: its registration's name, the mark it takes and
    how many other live registrations it found.

    Written first, read again after: of two marks running at once, the later reader sees the
    other's registration and takes a mark no later than the other's.
    """
    folder = root / REGISTRY
    mark = min([moment, *(r.mark for r in live(root, moment))])
    name = f"{moment}-{uuid.uuid4().hex}"
    write_atomic(folder / name, f"{mark}\n")
    others = [r for r in live(root, moment) if r.name != name]
    again = min([mark, *(r.mark for r in others)])
    if again < mark:
        mark = again
        write_atomic(folder / name, f"{mark}\n")
    return name, mark, len(others)


def release(root: Path, name: str | None, mark: int | None) -> str | None:
    """Remove this job's registration (``name``), or, when its name is not known, one holding
    ``mark``; which one went, or None when there was none to remove."""
    folder = root / REGISTRY
    found = _read(folder)
    if name:
        candidates = [r for r in found if r.name == name]
    else:
        candidates = sorted((r for r in found if r.mark == mark), key=lambda r: r.name)
    for registration in candidates:
        try:
            (folder / registration.name).unlink()
        except FileNotFoundError:
            continue  # another trim of the same mark took this one: the next is ours
        return registration.name
    return None
