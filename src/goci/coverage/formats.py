"""Coverage written for other services: Cobertura XML, LCOV and ``go tool cover`` HTML.

All of them are written from the same numbers as the report (line hits from the blocks), to a
temporary name moved into place, so a reader never finds half a file.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

from goci.coverage.report import CoverageReport, FileCoverage
from goci.tools.atomic import atomic_target, write_atomic
from goci.tools.gotool import Go


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
    with atomic_target(out) as tmp:
        go.run("tool", "cover", f"-html={profile}", "-o", str(tmp), cwd=cwd)
    return out
