"""Coverage profiles read in chunks into per-file arrays: the result never depends on where a
chunk ends, on the order blocks are listed in, or on which path (fast or exact) read a line.

Unit tests on written profiles (no go needed): tests/test_coverage_merge.py runs the same merge
with real go and compares totals with ``go tool cover -func``.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goci.coverage import blocks as blocks_module
from goci.coverage.blocks import FileBlocks, ints
from goci.coverage.merge import merge
from goci.coverage.report import _function_coverage
from goci.coverage.sources import Source
from goci.errors import InputError

A = "example.com/m/a/a.go"
B = "example.com/m/b/b.go"


def write(path: Path, mode: str, lines: list[str]) -> Path:
    path.write_text(f"mode: {mode}\n" + "".join(line + "\n" for line in lines))
    return path


def line(name: str, n: int, statements: int = 1, count: int = 1) -> str:
    return f"{name}:{n}.2,{n + 1}.9 {statements} {count}"


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk of about two lines, so that every file straddles chunk boundaries."""
    monkeypatch.setattr(blocks_module, "_CHUNK", 40)


def test_a_layout_seen_in_two_orders_and_split_across_chunks_sums_exactly(
    tmp_path: Path, tiny_chunks: None
) -> None:
    listed = [(name, n) for name in (A, B) for n in range(1, 120, 2)]
    shuffled = listed[:]
    random.Random(7).shuffle(shuffled)  # noqa: S311 - a fixed order, not a secret
    one = write(tmp_path / "one.out", "count", [line(f, n, 2, n) for f, n in listed])
    # Another order, a block listed twice, and a line only the exact path reads (spaces).
    two_lines = [line(f, n, 2, 1) for f, n in shuffled] + [f"  {line(A, 1, 2, 5)}  "]
    two = write(tmp_path / "two.out", "count", two_lines)
    result = merge([one, two], out=tmp_path / "merged.out")
    expected = {(f, n): n + 1 for f, n in listed}
    expected[(A, 1)] += 5
    want = ["mode: count"] + [line(f, n, 2, expected[(f, n)]) for f, n in sorted(expected)]
    assert (tmp_path / "merged.out").read_text().splitlines() == want
    assert result.blocks == len(listed)
    assert result.lines_read == (1 + len(listed)) + (1 + len(listed) + 1)
    assert [len(b) for b in result.blocks_by_file.values()] == [60, 60]


def test_chunk_size_does_not_change_the_merge(tmp_path: Path) -> None:
    lines = [line(B if n % 3 else A, n, 1, n % 4) for n in range(1, 400)]
    write(tmp_path / "p.out", "set", lines)
    merge([tmp_path / "p.out"], out=tmp_path / "big.out")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(blocks_module, "_CHUNK", 50)
        merge([tmp_path / "p.out"], out=tmp_path / "small.out")
    assert (tmp_path / "small.out").read_text() == (tmp_path / "big.out").read_text()


def test_a_conflict_beyond_the_first_chunk_names_both_files_and_the_line(
    tmp_path: Path, tiny_chunks: None
) -> None:
    lines = [line(A, n) for n in range(1, 100, 2)]
    one = write(tmp_path / "one.out", "set", lines)
    lines[30] = line(A, 61, statements=3)  # line 32 of the file (the mode line is 1)
    two = write(tmp_path / "two.out", "set", lines)
    with pytest.raises(InputError) as caught:
        merge([one, two], out=tmp_path / "m.out")
    assert str(caught.value) == (
        f"{two}:32: block {A}:61.2,62.9 has 3 statements here but 1 in {one}: the two "
        "profiles come from different sources or Go versions"
    )
    assert not (tmp_path / "m.out").exists()


def test_a_block_listed_twice_in_one_input_with_other_counts_is_refused(tmp_path: Path) -> None:
    one = write(tmp_path / "one.out", "set", [line(A, 1), line(A, 5), line(A, 1, statements=2)])
    with pytest.raises(InputError, match=rf"^{one}:4: block {A}:1\.2,2\.9 has 2 statements"):
        merge([one], out=None)


def test_a_bad_line_in_a_later_input_is_named_before_an_earlier_conflict(
    tmp_path: Path, tiny_chunks: None
) -> None:
    one = write(tmp_path / "one.out", "set", [line(A, 1)])
    two = write(tmp_path / "two.out", "set", [line(A, 1, statements=2)])
    three = write(tmp_path / "three.out", "set", [line(B, 1), "", line(B, 3), f"{B}:5.2,6.9 1 -1"])
    with pytest.raises(InputError, match=rf"^{three}:5: negative number"):
        merge([one, two, three], out=None)


def _reference(
    functions: list[Sequence[Any]], blocks: Sequence[tuple[int, ...]]
) -> tuple[list[int], set[int]]:
    """What report.py did before, one Block at a time: cmd/cover's FuncExtent.coverage."""
    starts = [(b[0], b[1]) for b in blocks]
    result: list[int] = []
    counted: set[int] = set()
    for _, sl, sc, el, ec in functions:
        start, end = (sl, sc), (el, ec)
        i = bisect.bisect_left(starts, start)
        while i > 0 and (blocks[i - 1][2], blocks[i - 1][3]) > start:
            i -= 1
        total = covered = 0
        for k, (a, b, c, d, n, hits) in enumerate(blocks[i:], start=i):
            if (a, b) >= end:
                break
            if (c, d) <= start:
                continue
            counted.add(k)
            total += n
            covered += n if hits > 0 else 0
        result += (sl, total, covered)
    return result, counted


POSITIONS = st.tuples(st.integers(1, 30), st.integers(1, 4), st.integers(0, 6), st.integers(1, 4))


@settings(max_examples=100, deadline=None)
@given(
    raw=st.lists(st.tuples(POSITIONS, st.integers(0, 3), st.integers(0, 2)), max_size=15),
    cuts=st.lists(st.integers(1, 40), min_size=0, max_size=8),
)
def test_function_sums_equal_the_block_by_block_walk(
    raw: list[tuple[tuple[int, int, int, int], int, int]], cuts: list[int]
) -> None:
    table = {(sl, sc, sl + dl, ec): (n, hits) for (sl, sc, dl, ec), n, hits in raw}
    blocks = sorted((*key, *value) for key, value in table.items())
    # Functions never overlap: consecutive cuts make disjoint extents.
    edges = sorted(set(cuts))
    functions: list[Sequence[Any]] = [
        [f"f{i}", a, 1, b, 1]
        for i, (a, b) in enumerate(zip(edges[0::2], edges[1::2], strict=False))
    ]
    store = FileBlocks(
        A,
        ints([v for b in blocks for v in b[:4]]),
        ints([b[4] for b in blocks]),
        ints([b[5] for b in blocks]),
    )
    names = "\n".join(str(f[0]) for f in functions)
    flat = [int(v) for f in functions for v in f[1:]]
    numbers, mask = _function_coverage(Source(names, flat, ()), store)
    assert (numbers, {k for k, on in enumerate(mask) if on}) == _reference(functions, blocks)


def test_inputs_of_one_layout_add_up_wherever_chunks_end(tmp_path: Path) -> None:
    """Shards list the same files in the same order: counts are added in bulk for a file read
    whole in one chunk, block by block for one cut by a chunk's end; either way the sums."""
    files = [f"example.com/m/p{k}/f.go" for k in range(12)]
    listed = [(name, n) for name in files for n in range(1, 3 + files.index(name) % 5 * 3, 2)]
    rng = random.Random(3)  # noqa: S311 - fixed counts, not a secret
    inputs = [[rng.randrange(4) for _ in listed] for _ in range(5)]
    paths = []
    for i, counts in enumerate(inputs):
        lines = [line(f, n, 1, c) for (f, n), c in zip(listed, counts, strict=True)]
        if i == 4:
            lines[3] = lines[3].replace(" 1 ", " 1 +", 1)  # "+1": only the exact path reads it
        paths.append(write(tmp_path / f"s{i}.out", "count", lines))
    sums = [sum(column) for column in zip(*inputs, strict=True)]
    want = ["mode: count"] + [
        line(f, n, 1, c) for (f, n), c in sorted(zip(listed, sums, strict=True))
    ]
    for chunk in (60, 170, 1 << 20):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(blocks_module, "_CHUNK", chunk)
            result = merge(paths, out=tmp_path / "m.out")
        assert (tmp_path / "m.out").read_text().splitlines() == want, chunk
        assert result.blocks == len(listed)
    bad = [line(f, n, 1, 1) for f, n in listed]
    bad[7] = bad[7][: -len(" 1")] + " -1"
    negative = write(tmp_path / "neg.out", "count", bad)
    with pytest.raises(InputError, match=rf"^{negative}:9: negative number"):
        merge([paths[0], negative], out=None)
