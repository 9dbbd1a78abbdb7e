"""Coverage numbers people read: totals exactly as ``go tool cover -func``, tables, thresholds.

``go tool cover -func`` counts only statements inside function declarations (blocks of
package-level closures do not count) and weighs each block by its statements. Matching it
exactly needs the functions' extents, which only Go's own parser gives reliably, so goci runs
a tiny Go helper (:mod:`goci.coverage.sources`) on the source files and does the same
arithmetic as cmd/cover/func.go. Thresholds (:mod:`goci.coverage.thresholds`) and the formats
other services read (:mod:`goci.coverage.formats`) start from the same numbers.
"""

from __future__ import annotations

import bisect
import fnmatch
import operator
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import accumulate
from pathlib import Path

from goci.coverage.blocks import FileBlocks, ints
from goci.coverage.merge import read_profile
from goci.coverage.profiles import Block
from goci.coverage.sources import NOTHING, Extent, Source, check_blocks, iter_sources, locate
from goci.errors import InputError
from goci.tools.gotool import Go


def percent(covered: int, total: int) -> float:
    """The same division as cmd/cover (a zero total reads as 0%, not an error)."""
    return 100.0 * covered / (total or 1)


def fmt(value: float) -> str:
    """A percentage spelled as ``go tool cover`` prints it: one decimal (``83.4``)."""
    return f"{value:.1f}"


@dataclass(frozen=True)
class FuncCoverage:
    file: str
    name: str
    line: int
    statements: int
    covered: int

    @property
    def percent(self) -> float:
        return percent(self.covered, self.statements)


@dataclass(frozen=True)
class FileCoverage:
    """One file's numbers; its functions, lines and counted blocks are built when asked for.

    A report of a large repository holds millions of functions and blocks: kept as one string
    and a few arrays per file, not as an object each.
    """

    file: str  # as the profile names it: import path + file name
    package: str
    path: Path  # on disk
    statements: int
    covered: int
    blocks: FileBlocks = field(repr=False, compare=False)
    function_names: str = field(repr=False, default="")  # joined by newlines
    # Per function: its line, statements, covered statements (three numbers each).
    function_numbers: Sequence[int] = field(repr=False, default=())
    # Per block: 1 where go tool cover -func counts it (inside a function declaration).
    counted_mask: bytes = field(repr=False, default=b"")

    @property
    def percent(self) -> float:
        return percent(self.covered, self.statements)

    @property
    def functions(self) -> tuple[FuncCoverage, ...]:
        n = self.function_numbers
        return tuple(
            FuncCoverage(self.file, name, n[3 * k], n[3 * k + 1], n[3 * k + 2])
            for k, name in enumerate(self.function_names.split("\n") if n else ())
        )

    @property
    def counted(self) -> tuple[Block, ...]:
        """The blocks go tool cover -func counts: patch coverage intersects them with the
        changed lines."""
        return tuple(b for b, on in zip(self.blocks, self.counted_mask, strict=True) if on)


@dataclass(frozen=True)
class PackageCoverage:
    package: str
    statements: int
    covered: int
    files: int

    @property
    def percent(self) -> float:
        return percent(self.covered, self.statements)


@dataclass(frozen=True)
class CoverageReport:
    profile: Path
    mode: str
    statements: int
    covered: int
    files: tuple[FileCoverage, ...]
    packages: tuple[PackageCoverage, ...]
    excluded: tuple[str, ...]

    @property
    def percent(self) -> float:
        return percent(self.covered, self.statements)

    @property
    def total(self) -> str:
        return fmt(self.percent)

    @property
    def functions(self) -> tuple[FuncCoverage, ...]:
        return tuple(f for file in self.files for f in file.functions)

    def least_covered(self, n: int = 10) -> list[FileCoverage]:
        files = [f for f in self.files if f.statements]
        files.sort(key=lambda f: (f.percent, -(f.statements - f.covered), f.file))
        return files[:n]


def excluded(name: str, globs: Sequence[str]) -> bool:
    package = posixpath.dirname(name)
    return any(fnmatch.fnmatchcase(name, g) or fnmatch.fnmatchcase(package, g) for g in globs)


def _function_coverage(source: Source, blocks: FileBlocks) -> tuple[list[int], bytes]:
    """cmd/cover's FuncExtent.coverage for each function (line, statements, covered), and
    which blocks it counted (function declarations never overlap, so none twice).

    Blocks are sorted by start, so a function's blocks are the slice between two bisections
    and its sums come from running totals, all at C speed; unless a block starts before a
    function and reaches into it (or ends before it starts), where cmd/cover's walk is taken.
    """
    b, statements = blocks.bounds, blocks.statements
    starts = blocks.starts()
    ends = list(zip(b[2::4], b[3::4], strict=True))
    hit = list(map(operator.mul, statements, map(bool, blocks.hits)))
    f = source.functions
    if not f:
        return [], bytes(len(starts))
    first = list(zip(f[0::4], f[1::4], strict=True))
    last = list(zip(f[2::4], f[3::4], strict=True))
    low = list(map(partial(bisect.bisect_left, starts), first))
    high = list(map(partial(bisect.bisect_left, starts), last))
    before = map([(0, 0), *ends].__getitem__, low)  # the end of the block before each slice
    if (
        all(map(operator.lt, starts, ends))
        and all(map(operator.le, last, first[1:]))  # functions in order, apart
        and not any(map(operator.gt, before, first))
    ):
        numbers = [0] * (3 * len(first))
        numbers[0::3] = f[0::4]
        for totals, offset in ((statements, 1), (hit, 2)):
            running = [0, *accumulate(totals)]
            numbers[offset::3] = map(
                operator.sub, map(running.__getitem__, high), map(running.__getitem__, low)
            )
        # A block is counted when it starts before the end of the last function starting
        # at or before it.
        owner_end = map(
            [(0, 0), *last].__getitem__, map(partial(bisect.bisect_right, first), starts)
        )
        return numbers, bytes(map(operator.lt, starts, owner_end))
    counted = bytearray(len(starts))
    walked: list[int] = []
    for fn, i in zip(source.extents, low, strict=True):
        walked += _walk(fn, i, starts, ends, statements, hit, counted)
    return walked, bytes(counted)


def _walk(
    fn: Extent,
    i: int,
    starts: Sequence[tuple[int, int]],
    ends: Sequence[tuple[int, int]],
    statements: Sequence[int],
    hit: Sequence[int],
    counted: bytearray,
) -> tuple[int, int, int]:
    """FuncExtent.coverage block by block, from the bisection at ``i``."""
    while i > 0 and ends[i - 1] > fn.start:
        i -= 1
    total = covered = 0
    for k in range(i, len(starts)):
        if starts[k] >= fn.end:
            break
        if ends[k] <= fn.start:
            continue
        total += statements[k]
        covered += hit[k]
        counted[k] = 1
    return fn.start[0], total, covered


def _file_coverage(name: str, path: Path, blocks: FileBlocks, source: Source) -> FileCoverage:
    check_blocks(name, blocks, source, path)
    numbers, counted = _function_coverage(source, blocks)
    return FileCoverage(
        file=name,
        package=posixpath.dirname(name),
        path=path,
        statements=sum(numbers[1::3]),
        covered=sum(numbers[2::3]),
        blocks=blocks,
        function_names=source.names,
        function_numbers=ints(numbers),
        counted_mask=counted,
    )


def report(
    profile: Path,
    *,
    root: Path,
    go: Go,
    exclude: Sequence[str] = (),
    display: Path | None = None,
    merged: tuple[str, Mapping[str, FileBlocks]] | None = None,
) -> CoverageReport:
    """The coverage of a (merged) profile: per function, file and package, and the total.

    ``merged`` is the profile's mode and blocks when the caller has them already (a merge just
    wrote ``profile``): the profile is then not read again.
    """
    mode, by_file = merged if merged is not None else read_profile(profile)
    kept = {name: blocks for name, blocks in by_file.items() if not excluded(name, exclude)}
    dropped = tuple(name for name in by_file if name not in kept)
    paths = locate(kept, root, go, display or profile)
    names_at: dict[Path, list[str]] = {}
    for name in kept:
        names_at.setdefault(paths[name], []).append(name)
    found: dict[str, FileCoverage] = {}
    wrong: dict[str, InputError] = {}
    for path, source in iter_sources(sorted(names_at), go, root):
        for name in names_at.pop(path, []):
            try:
                found[name] = _file_coverage(name, path, kept[name], source)
            except InputError as exc:  # the first file in the profile's order is named
                wrong[name] = exc
    for path, names in names_at.items():
        for name in names:
            try:
                found[name] = _file_coverage(name, path, kept[name], NOTHING)
            except InputError as exc:
                wrong[name] = exc
    if wrong:
        raise next(wrong[name] for name in kept if name in wrong)
    files = [found[name] for name in kept]
    packages: dict[str, list[FileCoverage]] = {}
    for file in files:
        packages.setdefault(file.package, []).append(file)
    return CoverageReport(
        profile=profile,
        mode=mode,
        statements=sum(f.statements for f in files),
        covered=sum(f.covered for f in files),
        files=tuple(files),
        packages=tuple(
            PackageCoverage(
                name, sum(f.statements for f in fs), sum(f.covered for f in fs), len(fs)
            )
            for name, fs in sorted(packages.items())
        ),
        excluded=dropped,
    )
