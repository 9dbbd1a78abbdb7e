"""Go's text coverprofile: its lines read and checked, found in folders, and written back.

A profile names files by import path and counts statements per block; a malformed line, a
negative number or a file name that could leave the repository is bad input naming the file
and the line. A GOCOVERDIR folder (binary coverage) is read through ``go tool covdata``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from goci.coverage.sidecars import SHARD_MARKER_PREFIX, SIDECAR_SUFFIX
from goci.errors import InputError
from goci.tools.gotool import Go

MODES = ("set", "count", "atomic")
PROFILE_SUFFIXES = (".cover", ".out", ".cov", ".coverprofile", ".profile")

POSITION = re.compile(r"^(.+):(\d+)\.(\d+),(\d+)\.(\d+)$")


class Block(NamedTuple):
    """One coverage block of a profile, positions as Go's cover tool writes them.

    A named tuple, not a dataclass: a merge creates one per distinct block, and that is
    hundreds of thousands in a large repository.
    """

    file: str
    start_line: int
    start_col: int
    end_line: int
    end_col: int
    statements: int
    hits: int  # the count (set mode: 0 or 1)


def parse_position(position: str) -> tuple[str, int, int, int, int] | None:
    match = POSITION.match(position)
    if not match:
        return None
    name, a, b, c, d = match.groups()
    return name, int(a), int(b), int(c), int(d)


def read_mode(path: Path, handle: Iterator[str]) -> str:
    """The profile's mode from its first line; an InputError naming ``path:1`` otherwise."""
    first = next(handle, None)
    if first is None:
        raise InputError(
            f"{path}: empty profile; a coverprofile starts with 'mode: set|count|atomic'"
        )
    first = first.strip()
    if not first.startswith("mode:"):
        raise InputError(
            f"{path}:1: {first[:60]!r} is not a mode line; expected 'mode: set|count|atomic'"
        )
    mode = first[5:].strip()
    if mode not in MODES:
        raise InputError(f"{path}:1: unknown mode {mode!r}; accepted: {', '.join(MODES)}")
    return mode


def split_line(path: Path, number: int, text: str) -> tuple[str, int, int]:
    parts = text.rsplit(" ", 2)
    if len(parts) != 3:
        raise InputError(
            f"{path}:{number}: truncated line {text[:80]!r}; "
            "expected 'file:line.col,line.col statements count'"
        )
    position, statements, count = parts
    try:
        n = int(statements)
    except ValueError:
        raise InputError(
            f"{path}:{number}: statement count {statements!r} is not a number"
        ) from None
    try:
        c = int(count)
    except ValueError:
        raise InputError(f"{path}:{number}: count {count!r} is not a number") from None
    if n < 0 or c < 0:
        raise InputError(f"{path}:{number}: negative number in {text[:80]!r}")
    return position, n, c


_MAX_NAME = 255  # bytes in one path element (NAME_MAX)
_MAX_PATH = 4096  # bytes in a whole path (PATH_MAX)


def name_problem(name: str) -> str:
    """Why a profile's file name cannot name a file inside the repository ('' when it can).

    Go writes import path + file name (``example.com/m/pkg/file.go``); an absolute path, a
    ``..`` or a name no file system accepts would make goci read something else or fail.
    """
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path"
    if ".." in name.replace("\\", "/").split("/"):
        return "climbs out with '..'"
    if not name.isprintable():
        return "holds control characters"
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > _MAX_PATH or any(
        len(part.encode("utf-8", "surrogatepass")) > _MAX_NAME for part in name.split("/")
    ):
        return f"is too long for a file name ({len(name)} characters)"
    return ""


def check_name(path: Path, number: int, name: str) -> None:
    problem = name_problem(name)
    if problem:
        raise InputError(
            f"{path}:{number}: the file name {name[:60]!r} {problem}; a profile names files "
            "by import path and file name (example.com/m/pkg/file.go) inside the repository"
        )


def bad_position(path: Path, number: int, text: str) -> InputError:
    return InputError(
        f"{path}:{number}: truncated or malformed line {text[:80]!r}; "
        "expected 'file:line.col,line.col statements count'"
    )


def _looks_like_profile(path: Path) -> bool:
    if path.name.endswith(PROFILE_SUFFIXES):
        return True
    if path.name.endswith(SIDECAR_SUFFIX):
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(5) == b"mode:"
    except OSError:
        return False


def collect(paths: Sequence[Path], skip: Sequence[Path] = ()) -> list[tuple[Path, str]]:
    """Expand the inputs: files as they are, folders walked for profiles and GOCOVERDIRs.

    A folder holding ``covmeta.*`` files is binary coverage (one input); anything else is
    searched for text profiles (by suffix, or by a ``mode:`` first line). The order is sorted
    so the merge (and its error messages) do not depend on the file system.
    """
    found: list[tuple[Path, str]] = []
    skipped = {p.resolve() for p in skip}
    for path in paths:
        if path.is_file():
            found.append((path, "text"))
            continue
        if not path.is_dir():
            raise InputError(f"coverage input {str(path)!r} does not exist")
        for folder, dirs, files in os.walk(path):
            dirs.sort()
            here = Path(folder)
            if any(f.startswith("covmeta.") for f in files):
                found.append((here, "covdata"))
                continue
            for name in sorted(files):
                candidate = here / name
                if candidate.resolve() in skipped:
                    continue
                if name.startswith(SHARD_MARKER_PREFIX) and name.endswith(".json"):
                    found.append((candidate, "shard"))
                elif not name.startswith(".") and _looks_like_profile(candidate):
                    found.append((candidate, "text"))
    return found


def covdata_to_text(folder: Path, go: Go, scratch: Path) -> Path:
    """The text form of a GOCOVERDIR (``go tool covdata textfmt``), written under ``scratch``."""
    out = scratch / f"covdata-{len(list(scratch.iterdir()))}.txt"
    result = go.run(
        "tool", "covdata", "textfmt", f"-i={folder}", f"-o={out}", cwd=scratch, check=False
    )
    if not result.ok:
        first = (result.stderr.strip().splitlines() or ["(no output)"])[0]
        raise InputError(f"{folder}: not readable binary coverage data (go tool covdata: {first})")
    return out


def format_profile(mode: str, by_file: Mapping[str, Iterable[Block]]) -> Iterator[str]:
    yield f"mode: {mode}\n"
    for name, blocks in by_file.items():
        for b in blocks:
            yield (
                f"{name}:{b.start_line}.{b.start_col},{b.end_line}.{b.end_col} "
                f"{b.statements} {b.hits}\n"
            )
