"""Coverage written for other services: Cobertura XML, LCOV and ``go tool cover`` HTML.

All of them are written from the same numbers as the report (line hits from the blocks), to a
temporary name moved into place, so a reader never finds half a file. Cobertura and LCOV are
streamed to that file: a profile of two million blocks makes a Cobertura file of half a
gigabyte, which held in memory as text took 2.2 GB. Each file's line hits are worked out once
(two arrays) and serve both formats.
"""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Iterator, MutableSequence, Sequence
from itertools import repeat
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import quoteattr

from goci.coverage.blocks import FileBlocks, ints
from goci.coverage.report import CoverageReport, FileCoverage, percent
from goci.tools.atomic import atomic_target, atomic_text
from goci.tools.gotool import Go

# What quoteattr would change; names without any (Go identifiers, paths) are quoted as they are.
_XML_SPECIAL = re.compile(r"[&<>\"'\n\r\t]")


class LineHits:
    """A file's lines that hold statements, in order, and the most hits any block gave each:
    Cobertura and LCOV count lines, where Go's profile counts blocks."""

    __slots__ = ("hits", "lines")

    def __init__(self, lines: MutableSequence[int], hits: MutableSequence[int]) -> None:
        self.lines = lines
        self.hits = hits

    @property
    def covered(self) -> int:
        return len(self.hits) - self.hits.count(0)

    def rows(self) -> Iterator[tuple[int, int]]:
        return zip(self.lines, self.hits, strict=True)


def line_hits(blocks: FileBlocks) -> LineHits:
    """Every line a block with statements spans, with the highest count of those blocks.

    Blocks are visited from the fewest hits to the most, so each line's last write is its
    highest, and each block's lines are written in one dict update, not one step each.
    """
    bounds, statements, hits = blocks.bounds, blocks.statements, blocks.hits
    best: dict[int, int] = {}
    for i in sorted(range(len(hits)), key=hits.__getitem__):
        if statements[i]:
            best.update(zip(range(bounds[4 * i], bounds[4 * i + 2] + 1), repeat(hits[i])))
    lines = sorted(best)
    return LineHits(ints(lines), ints(list(map(best.__getitem__, lines))))


def all_line_hits(cov: CoverageReport) -> list[LineHits]:
    """:func:`line_hits` of every file of the report, in its order."""
    return [line_hits(file.blocks) for file in cov.files]


def _attr(text: str) -> str:
    return quoteattr(text) if _XML_SPECIAL.search(text) else f'"{text}"'


def _rate(covered: int, valid: int) -> str:
    return f"{(covered / valid) if valid else 0:.4f}"


class _Names:
    """Paths relative to the root as the formats name files: each folder resolved once (a
    report of 20,000 files sits in a few thousand folders), the file itself only when it
    is a link."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.folders: dict[Path, Path] = {}

    def __call__(self, path: Path) -> str:
        if path.is_symlink():
            real = path.resolve()
        else:
            folder = self.folders.get(path.parent)
            if folder is None:
                folder = self.folders[path.parent] = path.parent.resolve()
            real = folder / path.name
        try:
            return real.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


def write_cobertura(
    path: Path,
    cov: CoverageReport,
    root: Path,
    hits: Sequence[LineHits],
    *,
    timestamp: int | None = None,
) -> Path:
    """Cobertura XML (line based, as the format is), one class per Go file; ``hits`` are the
    report's files' :func:`line_hits`."""
    stamp = int(time.time() * 1000) if timestamp is None else timestamp
    valid = sum(len(h.lines) for h in hits)
    covered = sum(h.covered for h in hits)
    by_package: dict[str, list[tuple[FileCoverage, LineHits]]] = {}
    for file, file_hits in zip(cov.files, hits, strict=True):
        by_package.setdefault(file.package, []).append((file, file_hits))
    name = _Names(root)
    with atomic_text(path) as out:
        out.write(
            '<?xml version="1.0" ?>\n'
            '<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">\n'
            f'<coverage line-rate="{_rate(covered, valid)}" branch-rate="0" '
            f'lines-covered="{covered}" lines-valid="{valid}" '
            'branches-covered="0" branches-valid="0" complexity="0" version="goci" '
            f'timestamp="{stamp}">\n'
            f"  <sources><source>{quoteattr(str(root.resolve()))[1:-1]}</source></sources>\n"
            "  <packages>\n"
        )
        for package, files in sorted(by_package.items()):
            rate = _rate(sum(h.covered for _, h in files), sum(len(h.lines) for _, h in files))
            out.write(
                f'    <package name={_attr(package)} line-rate="{rate}" '
                'branch-rate="0" complexity="0">\n      <classes>\n'
            )
            for file, file_hits in files:
                _cobertura_class(out, file, file_hits, name(file.path))
            out.write("      </classes>\n    </package>\n")
        out.write("  </packages>\n</coverage>\n")
    return path


def _cobertura_class(out: TextIO, file: FileCoverage, hits: LineHits, filename: str) -> None:
    rate = _rate(hits.covered, len(hits.lines))
    out.write(
        f"        <class name={_attr(posixpath.basename(file.file))} "
        f'filename={_attr(filename)} line-rate="{rate}" branch-rate="0" complexity="0">\n'
        "          <methods>\n"
    )
    out.writelines(
        f'            <method name={_attr(fn)} signature="" '
        f'line-rate="{percent(done, total) / 100:.4f}" branch-rate="0" complexity="0">'
        f'<lines><line number="{line}" hits="{int(done > 0)}"/></lines></method>\n'
        for fn, line, total, done in _functions(file)
    )
    out.write("          </methods>\n          <lines>\n")
    out.writelines(
        f'            <line number="{line}" hits="{count}"/>\n' for line, count in hits.rows()
    )
    out.write("          </lines>\n        </class>\n")


def _functions(file: FileCoverage) -> Iterator[tuple[str, int, int, int]]:
    """(name, line, statements, covered) of each function, without an object each."""
    n = file.function_numbers
    if not n:
        return iter(())
    names = file.function_names.split("\n")
    return zip(names, n[0::3], n[1::3], n[2::3], strict=True)


def write_lcov(path: Path, cov: CoverageReport, root: Path, hits: Sequence[LineHits]) -> Path:
    """LCOV tracefile: one record per Go file, function and line counts; ``hits`` are the
    report's files' :func:`line_hits`."""
    name = _Names(root)
    with atomic_text(path) as out:
        for file, file_hits in zip(cov.files, hits, strict=True):
            functions = list(_functions(file))
            out.write(f"TN:\nSF:{name(file.path)}\n")
            out.writelines(f"FN:{line},{fn}\n" for fn, line, _, _ in functions)
            out.writelines(f"FNDA:{int(done > 0)},{fn}\n" for fn, _, _, done in functions)
            out.write(f"FNF:{len(functions)}\nFNH:{sum(1 for *_, done in functions if done)}\n")
            out.writelines(f"DA:{line},{count}\n" for line, count in file_hits.rows())
            out.write(f"LF:{len(file_hits.lines)}\nLH:{file_hits.covered}\nend_of_record\n")
    return path


def html(profile: Path, out: Path, *, go: Go, cwd: Path) -> Path:
    """The HTML view of ``go tool cover -html``, written to a temp name and moved."""
    with atomic_target(out) as tmp:
        go.run("tool", "cover", f"-html={profile}", "-o", str(tmp), cwd=cwd)
    return out
