"""Coverage blocks kept compact: flat integer arrays per file, read from a profile in chunks.

A large repository's profile holds millions of blocks; one Python object per block costs
about a kilobyte once parsed, sorted and reported, so a 2,000,000-block profile took gigabytes.
Here a file's blocks are three arrays (bounds, statements, counts) and a profile is read about
a megabyte at a time, cut into tokens at C speed. A file whose lines (counts aside) hash to the
layout the merge already holds gives its counts only (shards of one -coverpkg list the same
blocks); other lines are checked whole by one regular expression, and anything unusual is read
again line by line, so that an error names its exact line.
"""

from __future__ import annotations

import hashlib
import operator
import re
from array import array
from collections.abc import Iterator, Mapping, MutableSequence, Sequence
from dataclasses import dataclass
from itertools import chain, groupby, repeat
from operator import methodcaller
from pathlib import Path
from typing import TextIO

from goci.coverage.profiles import POSITION, Block, bad_position, check_name, split_line

_CHUNK = 1 << 20  # characters read at a time
# A chunk of well-formed lines only, each cut by exactly two spaces; anything else (spaces in a
# name or around, signs, blank lines) takes the exact path. The name excludes every character
# str.splitlines() breaks on, so both paths agree on line numbers.
_WELL_FORMED = re.compile(
    r"(?:[^ \n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+:\d+\.\d+,\d+\.\d+ \d+ \d+(?:\n|\Z))*"
)

Key = tuple[int, int, int, int]


def ints(values: Sequence[int]) -> MutableSequence[int]:
    """32-bit where they fit, 64-bit else, a list for the absurd (a profile may say anything)."""
    for code in ("i", "q"):
        try:
            return array(code, values)
        except OverflowError:
            continue
    return list(values)


@dataclass
class Section:
    """Consecutive lines of one input naming the same file."""

    name: str
    bounds: MutableSequence[int]  # start line, start col, end line, end col per block
    statements: MutableSequence[int]
    counts: MutableSequence[int]
    lines: Sequence[int]  # the line number of each block in its input
    # A digest of the lines without their counts, and whether they are exactly the lines the
    # merge already holds for the file (then bounds and statements are left empty).
    layout: bytes = b""
    known: bool = False

    def extend(self, other: Section) -> None:
        """``other``'s blocks after these (the same file, the lines that follow)."""
        self.layout = b""  # a digest of part of the lines only: never compared
        self.bounds = _joined(self.bounds, other.bounds)
        self.statements = _joined(self.statements, other.statements)
        self.counts = _joined(self.counts, other.counts)
        if (
            isinstance(self.lines, range)
            and isinstance(other.lines, range)
            and self.lines.stop == other.lines.start
        ):
            self.lines = range(self.lines.start, other.lines.stop)
        else:
            self.lines = [*self.lines, *other.lines]

    def keys(self) -> list[Key]:
        b = self.bounds
        return list(zip(b[0::4], b[1::4], b[2::4], b[3::4], strict=True))


def _joined(first: MutableSequence[int], second: Sequence[int]) -> MutableSequence[int]:
    if isinstance(first, array) and isinstance(second, array) and first.typecode == second.typecode:
        first.extend(second)
        return first
    return ints([*first, *second])


class FileBlocks:
    """One file's blocks in order, as arrays; iterating yields :class:`Block` on demand."""

    __slots__ = ("bounds", "hits", "name", "statements")

    def __init__(
        self,
        name: str,
        bounds: MutableSequence[int],
        statements: MutableSequence[int],
        hits: MutableSequence[int],
    ) -> None:
        self.name = name
        self.bounds = bounds
        self.statements = statements
        self.hits = hits

    def __len__(self) -> int:
        return len(self.statements)

    def __iter__(self) -> Iterator[Block]:
        b, name = self.bounds, self.name
        for i, (n, c) in enumerate(zip(self.statements, self.hits, strict=True)):
            j = 4 * i
            yield Block(name, b[j], b[j + 1], b[j + 2], b[j + 3], n, c)

    def same(self, spans: Sequence[int]) -> bool:
        """Whether ``spans`` (four bounds and the statements per block, sorted) are these
        blocks exactly: two list comparisons at C speed."""
        if len(spans) != 5 * len(self):
            return False
        bounds = zip(spans[0::5], spans[1::5], spans[2::5], spans[3::5], strict=True)
        return list(self.statements) == list(spans[4::5]) and list(self.bounds) == list(
            chain.from_iterable(bounds)
        )

    def starts(self) -> list[tuple[int, int]]:
        b = self.bounds
        return list(zip(b[0::4], b[1::4], strict=True))

    def lines(self) -> list[str]:
        """The profile lines of these blocks."""
        b, name = self.bounds, self.name
        return [
            f"{name}:{a}.{c},{d}.{e} {n} {h}\n"
            for a, c, d, e, n, h in zip(
                b[0::4], b[1::4], b[2::4], b[3::4], self.statements, self.hits, strict=True
            )
        ]


class SectionReader:
    """The sections of a profile after its mode line (line 2 on), every line checked.

    ``number`` is the number of the next line, so ``number - 1`` lines were read at the end.
    """

    def __init__(
        self, where: Path, handle: TextIO, checked: set[str], layouts: Mapping[str, bytes]
    ) -> None:
        self.where, self.handle, self.checked = where, handle, checked
        self.layouts = layouts  # file -> the digest of the lines the merge holds for it
        self.number = 2

    def __iter__(self) -> Iterator[Section]:
        """Sections as the profile has them: one cut by a chunk's end is joined up again, so
        that a file listed again in another input compares equal and is added in bulk."""
        pending: Section | None = None
        for section in self._chunks():
            if pending is None:
                pending = section
            elif pending.name == section.name and not pending.known and not section.known:
                pending.extend(section)
            else:
                yield pending
                pending = section
        if pending is not None:
            yield pending

    def _chunks(self) -> Iterator[Section]:
        while True:
            chunk = self.handle.readlines(_CHUNK)
            if not chunk:
                return
            text = "".join(chunk)
            if _cut_in_three(chunk):
                yield from self._fast(text, chunk)
            else:
                lines = text.splitlines()
                yield from _exact(self.where, lines, self.number, self.checked)
                self.number += len(lines)

    def _fast(self, text: str, chunk: list[str]) -> Iterator[Section]:
        """Lines of three tokens cut at C speed. A file whose lines (counts aside) are the ones
        the merge holds for it gives its counts only; any other is checked whole, its bounds
        cut by ``.`` and ``,`` once its name is taken off the front."""
        tokens = text.replace("\n", " ").split(" ")
        positions, statements, counts = tokens[0::3], tokens[1::3], tokens[2::3]
        del positions[len(counts) :]  # the empty token after a final newline
        names = [position.rpartition(":")[0] for position in positions]
        start, number = 0, self.number
        for name, run in groupby(names):
            end = start + len(list(run))
            spots = "\n".join(positions[start:end])
            digest = _digest(spots, statements[start:end])
            lines = range(number + start, number + end)
            if self.layouts.get(name) == digest and all(map(str.isdecimal, counts[start:end])):
                yield Section(
                    name, [], [], ints(list(map(int, counts[start:end]))), lines, digest, True
                )
            elif _WELL_FORMED.fullmatch("".join(chunk[start:end])):
                if name not in self.checked:
                    check_name(self.where, number + start, name)
                    self.checked.add(name)
                bounds = spots.replace(name + ":", "").replace("\n", ",").replace(".", ",")
                yield Section(
                    name,
                    ints(list(map(int, bounds.split(",")))),
                    ints(list(map(int, statements[start:end]))),
                    ints(list(map(int, counts[start:end]))),
                    lines,
                    digest,
                )
            else:  # the rest of the chunk, as the exact path numbers lines
                rest = "".join(chunk[start:]).splitlines()
                yield from _exact(self.where, rest, number + start, self.checked)
                self.number = number + start + len(rest)
                return
            start = end
        self.number = number + len(chunk)


def _cut_in_three(chunk: list[str]) -> bool:
    """Whether every line holds exactly two spaces (and so three tokens)."""
    return all(map(operator.eq, map(methodcaller("count", " "), chunk), repeat(2)))


def _digest(positions: str, statements: list[str]) -> bytes:
    layout = hashlib.blake2b(positions.encode("utf-8", "surrogatepass"), digest_size=32)
    layout.update(b"\0" + " ".join(statements).encode("utf-8", "surrogatepass"))
    return layout.digest()


def _exact(where: Path, lines: list[str], number: int, checked: set[str]) -> Iterator[Section]:
    """Every line checked in full, so that an error names the file and the line."""
    current: Section | None = None
    for offset, line in enumerate(lines):
        text = line.strip()
        if not text:
            continue
        at = number + offset
        position, n, c = split_line(where, at, text)
        match = POSITION.match(position)
        if match is None:
            raise bad_position(where, at, text)
        name = match.group(1)
        if name not in checked:
            check_name(where, at, name)
            checked.add(name)
        if current is None or current.name != name:
            if current is not None:
                yield current
            at_lines: list[int] = []
            current = Section(name, [], [], [], at_lines)
        current.bounds.extend(int(match.group(k)) for k in range(2, 6))
        current.statements.append(n)
        current.counts.append(c)
        at_lines.append(at)
    if current is not None:
        yield current
