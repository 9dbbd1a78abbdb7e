"""Cobertura and LCOV, written exactly, from a report built by hand (no go needed).

tests/test_coverage_merge.py writes both through ``goci coverage merge`` on a real module;
here the text is compared whole: line hits where blocks overlap (the highest count wins, a
block without statements counts for nothing), functions, names XML must escape, files reached
through a link, and a failed write that leaves the old file in place.
"""

from __future__ import annotations

import os
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goci.coverage import formats
from goci.coverage.blocks import FileBlocks, ints
from goci.coverage.report import CoverageReport, FileCoverage

SOURCE = "package a\n"
MODULE = "example.com/m/"


def blocks(name: str, spans: Sequence[tuple[int, int, int, int]]) -> FileBlocks:
    """Blocks of (start line, end line, statements, hits)."""
    bounds = [v for s, e, _, _ in spans for v in (s, 2, e, 9)]
    return FileBlocks(
        name, ints(bounds), ints([n for *_, n, _ in spans]), ints([h for *_, h in spans])
    )


def file(
    root: Path,
    name: str,
    spans: Sequence[tuple[int, int, int, int]],
    functions: Sequence[tuple[str, int, int, int]] = (),
    on_disk: str = "",
) -> FileCoverage:
    path = root / (on_disk or name.removeprefix(MODULE))
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(SOURCE)
    return FileCoverage(
        file=name,
        package=name.rpartition("/")[0],
        path=path,
        statements=sum(f[2] for f in functions),
        covered=sum(f[3] for f in functions),
        blocks=blocks(name, spans),
        function_names="\n".join(f[0] for f in functions),
        function_numbers=ints([v for f in functions for v in f[1:]]),
        counted_mask=bytes(len(spans)),
    )


def report(root: Path, *files: FileCoverage) -> CoverageReport:
    return CoverageReport(
        profile=root / "c.out",
        mode="count",
        statements=sum(f.statements for f in files),
        covered=sum(f.covered for f in files),
        files=files,
        packages=(),
        excluded=(),
    )


def test_a_line_gets_the_highest_count_of_the_blocks_with_statements_over_it() -> None:
    hits = formats.line_hits(
        blocks(
            "m/a.go",
            [
                (3, 5, 2, 4),  # lines 3-5
                (5, 6, 1, 9),  # overlaps on 5: the higher count wins there
                (6, 6, 1, 0),  # a lower count later does not lower line 6
                (8, 9, 0, 7),  # no statements: lines 8 and 9 are not lines of code
                (11, 11, 1, 0),  # never run: listed with 0
            ],
        )
    )
    assert list(hits.rows()) == [(3, 4), (4, 4), (5, 9), (6, 9), (11, 0)]
    assert hits.covered == 4


@given(
    st.lists(
        st.tuples(st.integers(1, 40), st.integers(0, 3), st.integers(0, 2), st.integers(0, 5)),
        max_size=30,
    )
)
def test_line_hits_equal_the_block_by_block_maximum(
    raw: list[tuple[int, int, int, int]],
) -> None:
    spans = [(start, start + length, n, h) for start, length, n, h in raw]
    expected: dict[int, int] = {}
    for start, end, n, h in spans:
        for line in range(start, end + 1) if n else ():
            expected[line] = max(expected.get(line, 0), h)
    assert list(formats.line_hits(blocks("m/a.go", spans)).rows()) == sorted(expected.items())


def two_files(root: Path) -> CoverageReport:
    return report(
        root,
        file(
            root,
            "example.com/m/a/a.go",
            [(3, 5, 2, 4), (5, 6, 1, 0), (9, 9, 1, 0)],
            [("Add", 3, 3, 2), ("(*T).Sub", 9, 1, 0)],
        ),
        file(root, 'example.com/m/b&"q"/b.go', [(4, 4, 1, 1)], [("Mul", 4, 1, 1)]),
    )


def test_cobertura_exactly(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    cov = two_files(root)
    out = formats.write_cobertura(
        tmp_path / "c.xml", cov, root, formats.all_line_hits(cov), timestamp=7
    )
    assert out.read_text() == (
        '<?xml version="1.0" ?>\n'
        '<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">\n'
        '<coverage line-rate="0.6667" branch-rate="0" lines-covered="4" lines-valid="6" '
        'branches-covered="0" branches-valid="0" complexity="0" version="goci" timestamp="7">\n'
        f"  <sources><source>{root.resolve()}</source></sources>\n"
        "  <packages>\n"
        '    <package name="example.com/m/a" line-rate="0.6000" branch-rate="0" complexity="0">\n'
        "      <classes>\n"
        '        <class name="a.go" filename="a/a.go" line-rate="0.6000" branch-rate="0" '
        'complexity="0">\n'
        "          <methods>\n"
        '            <method name="Add" signature="" line-rate="0.6667" branch-rate="0" '
        'complexity="0"><lines><line number="3" hits="1"/></lines></method>\n'
        '            <method name="(*T).Sub" signature="" line-rate="0.0000" branch-rate="0" '
        'complexity="0"><lines><line number="9" hits="0"/></lines></method>\n'
        "          </methods>\n"
        "          <lines>\n"
        '            <line number="3" hits="4"/>\n'
        '            <line number="4" hits="4"/>\n'
        '            <line number="5" hits="4"/>\n'
        '            <line number="6" hits="0"/>\n'
        '            <line number="9" hits="0"/>\n'
        "          </lines>\n"
        "        </class>\n"
        "      </classes>\n"
        "    </package>\n"
        '    <package name=\'example.com/m/b&amp;"q"\' line-rate="1.0000" '
        'branch-rate="0" complexity="0">\n'
        "      <classes>\n"
        '        <class name="b.go" filename=\'b&amp;"q"/b.go\' line-rate="1.0000" '
        'branch-rate="0" complexity="0">\n'
        "          <methods>\n"
        '            <method name="Mul" signature="" line-rate="1.0000" branch-rate="0" '
        'complexity="0"><lines><line number="4" hits="1"/></lines></method>\n'
        "          </methods>\n"
        "          <lines>\n"
        '            <line number="4" hits="1"/>\n'
        "          </lines>\n"
        "        </class>\n"
        "      </classes>\n"
        "    </package>\n"
        "  </packages>\n"
        "</coverage>\n"
    )
    parsed = ET.parse(out).getroot()  # noqa: S314 (our own file)
    assert [p.get("name") for p in parsed.iter("package")] == [
        "example.com/m/a",
        'example.com/m/b&"q"',
    ]


def test_lcov_exactly(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    cov = two_files(root)
    out = formats.write_lcov(tmp_path / "l.info", cov, root, formats.all_line_hits(cov))
    assert out.read_text() == (
        "TN:\nSF:a/a.go\nFN:3,Add\nFN:9,(*T).Sub\nFNDA:1,Add\nFNDA:0,(*T).Sub\nFNF:2\nFNH:1\n"
        "DA:3,4\nDA:4,4\nDA:5,4\nDA:6,0\nDA:9,0\nLF:5\nLH:3\nend_of_record\n"
        'TN:\nSF:b&"q"/b.go\nFN:4,Mul\nFNDA:1,Mul\nFNF:1\nFNH:1\n'
        "DA:4,1\nLF:1\nLH:1\nend_of_record\n"
    )


def test_files_are_named_from_the_root_through_links(tmp_path: Path) -> None:
    """A root reached through a link, a folder that is a link inside it, a file that is a link
    to another folder of the root, and one outside it (named as the profile found it)."""
    real = tmp_path / "real"
    (real / "lib").mkdir(parents=True)
    (real / "lib" / "x.go").write_text(SOURCE)
    (real / "alias").symlink_to(real / "lib", target_is_directory=True)
    (real / "cmd").mkdir()
    (real / "cmd" / "y.go").symlink_to(real / "lib" / "x.go")
    outside = tmp_path / "elsewhere" / "z.go"
    outside.parent.mkdir()
    outside.write_text(SOURCE)
    root = tmp_path / "root"
    root.symlink_to(real, target_is_directory=True)
    cov = report(
        root,
        file(root, MODULE + "lib/x.go", [(1, 1, 1, 1)]),
        file(root, MODULE + "alias/x.go", [(1, 1, 1, 1)]),
        file(root, MODULE + "cmd/y.go", [(1, 1, 1, 1)]),
        file(root, MODULE + "z.go", [(1, 1, 1, 1)], on_disk="../elsewhere/z.go"),
    )
    text = formats.write_lcov(tmp_path / "l.info", cov, root, formats.all_line_hits(cov))
    named = [line[3:] for line in text.read_text().splitlines() if line.startswith("SF:")]
    assert named == ["lib/x.go", "lib/x.go", "lib/x.go", str(root / "../elsewhere/z.go")]


def test_both_formats_are_streamed_not_held_whole(tmp_path: Path) -> None:
    """Python's peak while writing stays a small part of what is written: a 2,000,000-block
    profile makes half a gigabyte of Cobertura, which held as one string took 2.2 GB."""
    root = tmp_path / "repo"
    spans = [(3 * k + 1, 3 * k + 3, 1, k % 3) for k in range(250)]
    functions = [(f"F{k}", 3 * k + 1, 1, k % 3) for k in range(250)]
    cov = report(
        root, *(file(root, f"{MODULE}p{n // 10}/f{n}.go", spans, functions) for n in range(200))
    )
    hits = formats.all_line_hits(cov)
    for write, out in (
        (formats.write_cobertura, tmp_path / "c.xml"),
        (formats.write_lcov, tmp_path / "l.info"),
    ):
        tracemalloc.start()
        try:
            write(out, cov, root, hits)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < out.stat().st_size / 4, (out.name, peak, out.stat().st_size)


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    cov = two_files(root)
    target = tmp_path / "out" / "c.xml"
    target.parent.mkdir()
    target.write_text("the old report\n")

    def broken(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="No space left"):
        formats.write_cobertura(target, cov, root, formats.all_line_hits(cov))
    assert os.listdir(target.parent) == ["c.xml"]
    assert target.read_text() == "the old report\n"
