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
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from goci.coverage.merge import read_profile
from goci.coverage.profiles import Block
from goci.coverage.sources import Extent, Source, check_blocks, locate, read_sources
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
    file: str  # as the profile names it: import path + file name
    package: str
    path: Path  # on disk
    statements: int
    covered: int
    functions: tuple[FuncCoverage, ...]
    lines: tuple[tuple[int, int], ...]  # (line, hits) for Cobertura and LCOV
    # The blocks go tool cover -func counts (inside function declarations): patch coverage
    # intersects these with the changed lines.
    counted: tuple[Block, ...] = ()

    @property
    def percent(self) -> float:
        return percent(self.covered, self.statements)


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


def _function_coverage(
    name: str, extents: Sequence[Extent], blocks: Sequence[Block]
) -> tuple[list[FuncCoverage], tuple[Block, ...]]:
    """cmd/cover's FuncExtent.coverage for each function, with a bisect to skip ahead; and
    the blocks it counted (function declarations never overlap, so none twice)."""
    starts = [(b.start_line, b.start_col) for b in blocks]
    result = []
    counted: list[Block] = []
    for fn in extents:
        i = bisect.bisect_left(starts, fn.start)
        while i > 0 and (blocks[i - 1].end_line, blocks[i - 1].end_col) > fn.start:
            i -= 1
        total = covered = 0
        for b in blocks[i:]:
            if (b.start_line, b.start_col) >= fn.end:
                break
            if (b.end_line, b.end_col) <= fn.start:
                continue
            total += b.statements
            counted.append(b)
            if b.hits > 0:
                covered += b.statements
        result.append(FuncCoverage(name, fn.name, fn.start[0], total, covered))
    return result, tuple(counted)


def _line_hits(blocks: Sequence[Block]) -> tuple[tuple[int, int], ...]:
    hits: dict[int, int] = {}
    for b in blocks:
        if b.statements == 0:
            continue
        for line in range(b.start_line, b.end_line + 1):
            hits[line] = max(hits.get(line, 0), b.hits)
    return tuple(sorted(hits.items()))


def report(
    profile: Path,
    *,
    root: Path,
    go: Go,
    exclude: Sequence[str] = (),
    display: Path | None = None,
) -> CoverageReport:
    """The coverage of a (merged) profile: per function, file and package, and the total."""
    mode, by_file = read_profile(profile)
    kept = {name: blocks for name, blocks in by_file.items() if not excluded(name, exclude)}
    dropped = tuple(name for name in by_file if name not in kept)
    paths = locate(kept, root, go, display or profile)
    sources = read_sources(sorted(set(paths.values())), go, root)
    files: list[FileCoverage] = []
    for name, blocks in kept.items():
        source = sources.get(paths[name], Source((), {}))
        check_blocks(name, blocks, source, paths[name])
        funcs, counted = _function_coverage(name, source.extents, blocks)
        files.append(
            FileCoverage(
                file=name,
                package=posixpath.dirname(name),
                path=paths[name],
                statements=sum(f.statements for f in funcs),
                covered=sum(f.covered for f in funcs),
                functions=tuple(funcs),
                lines=_line_hits(blocks),
                counted=counted,
            )
        )
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
