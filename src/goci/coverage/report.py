"""Coverage numbers people read: totals exactly as ``go tool cover -func``, tables, thresholds.

``go tool cover -func`` counts only statements inside function declarations (blocks of
package-level closures do not count) and weighs each block by its statements. Matching it
exactly needs the functions' extents, which only Go's own parser gives reliably, so goci runs
a tiny Go helper (``tools/gohelpers/funcextents``) on the source files and does the same arithmetic
as cmd/cover/func.go. Other services get Cobertura XML and LCOV written from the same numbers.
"""

from __future__ import annotations

import bisect
import fnmatch
import json
import posixpath
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from goci.coverage.merge import Block, read_profile
from goci.errors import InputError, ToolError
from goci.tools.atomic import write_atomic
from goci.tools.gotool import GO_HELPERS, Go
from goci.tools.workspace import discover

HELPER = GO_HELPERS / "funcextents"


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


@dataclass(frozen=True)
class Extent:
    name: str
    start: tuple[int, int]
    end: tuple[int, int]


Position = tuple[int, int, int, int]  # start line, start column, end line, end column


@dataclass(frozen=True)
class Source:
    """What Go's own parser says about one source file: its functions and coverage blocks."""

    extents: tuple[Extent, ...]
    blocks: Mapping[Position, int]  # the blocks go tool cover makes -> their statements
    unchecked: str = ""  # why the blocks cannot be compared with a profile ("" = they can)


def excluded(name: str, globs: Sequence[str]) -> bool:
    package = posixpath.dirname(name)
    return any(fnmatch.fnmatchcase(name, g) or fnmatch.fnmatchcase(package, g) for g in globs)


def locate(
    by_file: Mapping[str, Sequence[Block]], root: Path, go: Go, profile: Path
) -> dict[str, Path]:
    """Where each profile file is on disk, found like cmd/cover's findPkgs does.

    Files of the modules in use are found directly (this also works in a repository of
    several modules without a go.work); anything else is asked of ``go list`` in ``root``.
    Whatever is found must be a file inside the repository (``root`` or a module in use):
    a profile cannot make goci read or report anything else.
    """
    modules = sorted(discover(root, go).modules, key=lambda m: -len(m.path))
    inside = _Inside([root, *(m.dir for m in modules)])
    found: dict[str, Path] = {}
    ask: dict[str, list[str]] = {}
    for name in by_file:
        if name.startswith("."):
            found[name] = root / name
            continue
        package = posixpath.dirname(name)
        for module in modules:
            if package == module.path or package.startswith(module.path + "/"):
                folder = module.dir / package[len(module.path) :].lstrip("/")
                if _is_file(folder / posixpath.basename(name)):
                    found[name] = folder / posixpath.basename(name)
                break
        if name not in found:
            ask.setdefault(package, []).append(name)
    if ask:
        listed = go.list_json("-e", *sorted(ask), cwd=root, fields="ImportPath,Dir")
        dirs = {p.get("ImportPath", ""): p.get("Dir", "") for p in listed}
        for package, names in ask.items():
            for name in names:
                folder = dirs.get(package, "")
                candidate = Path(folder) / posixpath.basename(name) if folder else Path()
                if not folder or not _is_file(candidate):
                    line = _line_of(by_file, name)
                    raise InputError(
                        f"{profile}:{line}: {name} is not a file of any module in use under "
                        f"{root} (is --dir the repository the profile was made in?)"
                    )
                found[name] = candidate
    for name, path in found.items():
        if not _is_file(path) or not inside(path):
            raise InputError(
                f"{profile}:{_line_of(by_file, name)}: {name} is not a file inside the "
                f"repository {root}; a profile names files of the modules in use only"
            )
    return found


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


class _Inside:
    """Whether a path, symbolic links resolved, lies under one of the given folders."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = [f.resolve() for f in folders]

    def __call__(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved == f or f in resolved.parents for f in self.folders)


def _line_of(by_file: Mapping[str, Sequence[Block]], name: str) -> int:
    line = 2
    for other, blocks in by_file.items():
        if other == name:
            return line
        line += len(blocks)
    return line


def read_sources(paths: Sequence[Path], go: Go, cwd: Path) -> dict[Path, Source]:
    """Every function with a body and every coverage block, per file, from Go's own parser."""
    if not paths:
        return {}
    result = go.run_helper(HELPER, stdin="".join(f"{p}\n" for p in paths), cwd=cwd)
    sources: dict[Path, Source] = {}
    for line in result.stdout.splitlines():
        item = json.loads(line)
        if item.get("error"):
            raise ToolError(f"cannot parse {item['file']}: {item['error']}")
        sources[Path(item["file"])] = Source(
            tuple(
                Extent(f["name"], (f["start_line"], f["start_col"]), (f["end_line"], f["end_col"]))
                for f in item["funcs"]
            ),
            {(b[0], b[1], b[2], b[3]): b[4] for b in item["blocks"]},
            item.get("unchecked", ""),
        )
    return sources


def check_blocks(name: str, blocks: Sequence[Block], source: Source, path: Path) -> None:
    """Refuse a profile whose blocks for ``name`` are not the ones go tool cover makes.

    Statement counts are what coverage is computed from; a profile that claims more (or other)
    statements than instrumenting this source gives would report numbers that are not true,
    such as one line claiming 100000 statements to lift the total to 100%.
    """
    if source.unchecked:
        return
    claimed: dict[Position, int] = {}
    for b in blocks:
        position = (b.start_line, b.start_col, b.end_line, b.end_col)
        claimed[position] = b.statements
        made = source.blocks.get(position)
        if made != b.statements:
            there = (
                "go tool cover makes no block there"
                if made is None
                else f"go tool cover counts {made} there"
            )
            raise InputError(
                f"{name}: block {_spelled(position)} claims {b.statements} statements, but "
                f"{there} in {path}; the profile does not match this source (was it made "
                "at another commit or with a much older Go?)"
            )
    missing = [p for p in source.blocks if p not in claimed]
    if missing:
        raise InputError(
            f"{name}: the profile lists {len(claimed)} of the {len(source.blocks)} blocks go "
            f"tool cover makes in {path} (block {_spelled(missing[0])} is missing); the "
            "profile does not match this source (was it made at another commit?)"
        )


def _spelled(position: Position) -> str:
    return f"{position[0]}.{position[1]},{position[2]}.{position[3]}"


def _function_coverage(
    name: str, extents: Sequence[Extent], blocks: Sequence[Block]
) -> list[FuncCoverage]:
    """cmd/cover's FuncExtent.coverage for each function, with a bisect to skip ahead."""
    starts = [(b.start_line, b.start_col) for b in blocks]
    result = []
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
            if b.hits > 0:
                covered += b.statements
        result.append(FuncCoverage(name, fn.name, fn.start[0], total, covered))
    return result


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
        funcs = _function_coverage(name, source.extents, blocks)
        files.append(
            FileCoverage(
                file=name,
                package=posixpath.dirname(name),
                path=paths[name],
                statements=sum(f.statements for f in funcs),
                covered=sum(f.covered for f in funcs),
                functions=tuple(funcs),
                lines=_line_hits(blocks),
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


# ---- thresholds -------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    glob: str
    minimum: float


@dataclass(frozen=True)
class Shortfall:
    kind: str  # "total" | "package" | "file"
    name: str
    actual: float
    required: float

    @property
    def message(self) -> str:
        what = "total coverage" if self.kind == "total" else f"{self.kind} {self.name}"
        gap = self.required - self.actual
        return (
            f"{what}: {fmt(self.actual)}% is below the required {fmt(self.required)}% "
            f"(short by {fmt(gap) if gap >= 0.05 else f'{gap:.2f}'} points)"
        )


def parse_threshold(text: str) -> Threshold:
    """``GLOB=PERCENT`` (``example.com/m/internal/*=60``) -> a per-path minimum."""
    glob, sep, value = text.rpartition("=")
    try:
        minimum = float(value.strip().rstrip("%"))
    except ValueError:
        minimum = -1.0
    if not sep or not glob.strip() or not 0 <= minimum <= 100:
        raise InputError(
            f"--threshold: {text!r} is not valid; use GLOB=PERCENT, "
            "e.g. 'example.com/m/internal/*=60'"
        )
    return Threshold(glob.strip(), minimum)


def check_thresholds(
    cov: CoverageReport,
    *,
    min_total: float | None = None,
    min_package: float | None = None,
    overrides: Sequence[Threshold] = (),
) -> tuple[Shortfall, ...]:
    """Every minimum that was missed: the total, each package, and files or packages by glob.

    A package matched by an override glob uses the override's minimum instead of
    ``min_package`` (the last matching glob wins); a file matched by a glob must meet it too.
    """
    short: list[Shortfall] = []
    if min_total is not None and cov.percent < min_total and _real(cov.statements):
        short.append(Shortfall("total", "", cov.percent, min_total))
    for package in cov.packages:
        required = min_package
        for rule in overrides:
            if fnmatch.fnmatchcase(package.package, rule.glob):
                required = rule.minimum
        if required is not None and package.statements and package.percent < required:
            short.append(Shortfall("package", package.package, package.percent, required))
    for file in cov.files:
        rules = [r for r in overrides if fnmatch.fnmatchcase(file.file, r.glob)]
        if rules and file.statements and file.percent < rules[-1].minimum:
            short.append(Shortfall("file", file.file, file.percent, rules[-1].minimum))
    return tuple(short)


def _real(statements: int) -> bool:
    return statements > 0


# ---- other formats ---------------------------------------------------------------------


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def cobertura(cov: CoverageReport, root: Path, *, timestamp: int | None = None) -> str:
    """Cobertura XML (line based, as the format is), one class per Go file."""
    stamp = int(time.time() * 1000) if timestamp is None else timestamp
    all_lines = [hits for f in cov.files for _, hits in f.lines]
    out = [
        '<?xml version="1.0" ?>',
        '<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">',
        f'<coverage line-rate="{_rate(all_lines)}" branch-rate="0" '
        f'lines-covered="{sum(1 for h in all_lines if h)}" lines-valid="{len(all_lines)}" '
        f'branches-covered="0" branches-valid="0" complexity="0" version="goci" '
        f'timestamp="{stamp}">',
        f"  <sources><source>{_esc(str(root.resolve()))}</source></sources>",
        "  <packages>",
    ]
    by_package: dict[str, list[FileCoverage]] = {}
    for file in cov.files:
        by_package.setdefault(file.package, []).append(file)
    for package, files in sorted(by_package.items()):
        lines = [h for f in files for _, h in f.lines]
        out.append(
            f'    <package name={quoteattr(package)} line-rate="{_rate(lines)}" '
            'branch-rate="0" complexity="0">'
        )
        out.append("      <classes>")
        for file in files:
            rate = _rate([h for _, h in file.lines])
            out.append(
                f"        <class name={quoteattr(posixpath.basename(file.file))} "
                f'filename={quoteattr(_relative(file.path, root))} line-rate="{rate}" '
                'branch-rate="0" complexity="0">'
            )
            out.append("          <methods>")
            for fn in file.functions:
                out.append(
                    f'            <method name={quoteattr(fn.name)} signature="" '
                    f'line-rate="{fn.percent / 100:.4f}" branch-rate="0" complexity="0">'
                    f'<lines><line number="{fn.line}" hits="{int(fn.covered > 0)}"/></lines>'
                    "</method>"
                )
            out.append("          </methods>")
            out.append("          <lines>")
            out.extend(
                f'            <line number="{line}" hits="{hits}"/>' for line, hits in file.lines
            )
            out.append("          </lines>")
            out.append("        </class>")
        out.append("      </classes>")
        out.append("    </package>")
    out += ["  </packages>", "</coverage>", ""]
    return "\n".join(out)


def _rate(hits: Sequence[int]) -> str:
    return f"{(sum(1 for h in hits if h) / len(hits)) if hits else 0:.4f}"


def _esc(text: str) -> str:
    return quoteattr(text)[1:-1]


def lcov(cov: CoverageReport, root: Path) -> str:
    """LCOV tracefile: one record per Go file, function and line counts."""
    out: list[str] = []
    for file in cov.files:
        out += ["TN:", f"SF:{_relative(file.path, root)}"]
        for fn in file.functions:
            out.append(f"FN:{fn.line},{fn.name}")
        for fn in file.functions:
            out.append(f"FNDA:{int(fn.covered > 0)},{fn.name}")
        out.append(f"FNF:{len(file.functions)}")
        out.append(f"FNH:{sum(1 for fn in file.functions if fn.covered)}")
        for line, hits in file.lines:
            out.append(f"DA:{line},{hits}")
        out.append(f"LF:{len(file.lines)}")
        out.append(f"LH:{sum(1 for _, h in file.lines if h)}")
        out.append("end_of_record")
    return "\n".join(out) + ("\n" if out else "")


def write_text(path: Path, text: str) -> Path:
    write_atomic(path, text)
    return path


def html(profile: Path, out: Path, *, go: Go, cwd: Path) -> Path:
    """The HTML view of ``go tool cover -html``, written to a temp name and moved."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        go.run("tool", "cover", f"-html={profile}", "-o", str(tmp), cwd=cwd)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
