"""Merging coverage profiles: many text coverprofiles and GOCOVERDIR folders into one.

Every shard and matrix job writes its own profiles; the report job merges them into one. The
merge is by block (file, start line.col, end line.col): ``set`` ORs, ``count``/``atomic`` add.
Two profiles that cut the same file differently (the same block with another statement count,
or overlapping blocks with other bounds) were made from different sources or toolchains, and
adding them would report numbers that mean nothing, so the merge refuses and names both.

Memory grows with the number of distinct blocks, not with the number of inputs: one input is
read at a time; a profile whose blocks come in an order already seen (every shard made with
the same -coverpkg lists the same blocks) is added to that layout's counts in bulk, anything
else is checked line by line, and at the end all layouts fold into one table keyed by block.
"""

from __future__ import annotations

import operator
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goci.coverage.profiles import (
    POSITION,
    Block,
    bad_position,
    check_name,
    collect,
    covdata_to_text,
    format_profile,
    parse_position,
    read_mode,
    split_line,
)
from goci.coverage.sidecars import Sidecar, read_marker, read_sidecar
from goci.errors import InputError, VerdictError
from goci.tools.atomic import atomic_target
from goci.tools.gotool import Go


@dataclass(frozen=True)
class Input:
    """One merged input: a text profile, or the text form of a GOCOVERDIR folder."""

    path: Path
    kind: str  # "text" | "covdata"
    mode: str
    blocks: int
    sidecar: Sidecar | None


@dataclass(frozen=True)
class MergeResult:
    """The merged profile and what went into it."""

    path: Path | None
    mode: str
    inputs: tuple[Input, ...]
    blocks: int
    lines_read: int
    shards: tuple[str, ...]
    commits: tuple[str, ...]
    go_versions: tuple[str, ...]
    blocks_by_file: Mapping[str, tuple[Block, ...]] = field(repr=False, default_factory=dict)

    @property
    def profiles(self) -> int:
        """How many coverage inputs (text profiles and GOCOVERDIRs) were merged."""
        return sum(1 for item in self.inputs if item.kind != "shard")


_MAX_LAYOUTS = 256


@dataclass
class _Layout:
    """Blocks in one order, as every profile made with the same -coverpkg lists them.

    Shards and jobs mostly write profiles of identical layout; recognising a layout again lets
    a whole input be added with a handful of list operations that run at C speed.
    """

    positions: list[str]
    statements: list[str]
    counts: list[int]
    lines: list[int]
    index: int


def _line_count(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


class _Merger:
    """The merge state: one entry per distinct block, remembering which input brought it."""

    def __init__(self) -> None:
        # position text -> [statements (as text), count, index of the input that brought it]
        self.blocks: dict[str, list[Any]] = {}
        self.layouts: list[_Layout] = []
        self.mode = ""
        self.mode_input = -1
        self.names: list[str] = []
        self.lines = 0
        self.names_checked: set[str] = set()

    def add(self, path: Path, label: str) -> tuple[str, int]:
        """Add one input; returns its mode and how many blocks it listed."""
        index = len(self.names)
        self.names.append(label)
        where = Path(label)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise InputError(f"{label}: cannot read ({exc.strerror or exc})") from exc
        head, _, rest = text.partition("\n")
        mode = read_mode(where, iter([head] if text else []))
        if not self.mode:
            self.mode, self.mode_input = mode, index
        elif mode != self.mode:
            raise InputError(
                f"{label}: mode {mode!r} differs from mode {self.mode!r} of "
                f"{self.names[self.mode_input]}; profiles of mixed modes cannot be merged "
                "(use the same -covermode everywhere)"
            )
        tokens = rest.split()
        positions = tokens[0::3]
        if len(tokens) % 3 == 0 and len(positions) == _line_count(rest):
            statements = tokens[1::3]
            for layout in self.layouts:
                if layout.positions != positions or layout.statements != statements:
                    continue
                if " -" in rest:
                    break  # a negative count: the exact path below names the line
                try:
                    values = list(map(int, tokens[2::3]))
                except ValueError:
                    break
                layout.counts = list(map(operator.add, layout.counts, values))
                self.lines += len(positions) + 1
                return mode, len(positions)
        layout = self._read_lines(where, rest.splitlines(), index)
        self.lines += _line_count(text)
        if len(self.layouts) < _MAX_LAYOUTS:
            self.layouts.append(layout)
        else:
            self._fold(layout)
        return mode, len(layout.positions)

    def _read_lines(self, where: Path, lines: list[str], index: int) -> _Layout:
        """Every line checked in full, so that an error names the file and the line."""
        layout = _Layout([], [], [], [], index)
        checked = self.names_checked
        for number, line in enumerate(lines, start=2):
            text = line.strip()
            if not text:
                continue
            position, n, c = split_line(where, number, text)
            match = POSITION.match(position)
            if match is None:
                raise bad_position(where, number, text)
            if match.group(1) not in checked:
                check_name(where, number, match.group(1))
                checked.add(match.group(1))
            layout.positions.append(position)
            layout.statements.append(str(n))
            layout.counts.append(c)
            layout.lines.append(number)
        return layout

    def _fold(self, layout: _Layout) -> None:
        blocks = self.blocks
        for position, n, c, line in zip(
            layout.positions, layout.statements, layout.counts, layout.lines, strict=True
        ):
            entry = blocks.get(position)
            if entry is None:
                blocks[position] = [n, c, layout.index]
            elif entry[0] != n and int(entry[0]) != int(n):
                raise InputError(
                    f"{self.names[layout.index]}:{line}: block {position} has {n} statements "
                    f"here but {entry[0]} in {self.names[entry[2]]}: the two profiles come "
                    "from different sources or Go versions"
                )
            else:
                entry[1] += c

    def finish(self) -> None:
        """Fold the layouts into the block table (in input order, for stable attributions)."""
        for layout in self.layouts:
            self._fold(layout)
        self.layouts = []
        if self.mode == "set":
            for entry in self.blocks.values():
                entry[1] = 1 if entry[1] else 0

    def sorted_blocks(self) -> dict[str, list[tuple[Block, int]]]:
        by_file: dict[str, list[tuple[Block, int]]] = {}
        for position, (n, c, index) in self.blocks.items():
            parsed = parse_position(position)
            assert parsed is not None  # checked when the block was first seen
            by_file.setdefault(parsed[0], []).append((Block(*parsed, int(n), int(c)), int(index)))
        for blocks in by_file.values():
            blocks.sort(key=lambda item: _order(item[0]))
        return dict(sorted(by_file.items()))

    def check_overlaps(self, by_file: Mapping[str, list[tuple[Block, int]]]) -> None:
        """Refuse blocks of different inputs that overlap with different bounds."""
        for name, blocks in by_file.items():
            reach: tuple[int, int] = (0, 0)
            owner: tuple[Block, int] | None = None
            for item in blocks:
                block, index = item
                start = (block.start_line, block.start_col)
                if owner is not None and start < reach and index != owner[1]:
                    raise InputError(
                        f"{self.names[index]}: block {_where(block)} of {name} overlaps "
                        f"block {_where(owner[0])} from {self.names[owner[1]]} with different "
                        "bounds: the profiles come from different sources or Go versions"
                    )
                end = (block.end_line, block.end_col)
                if end > reach:
                    reach, owner = end, item


def _order(block: Block) -> tuple[int, int, int, int]:
    return (block.start_line, block.start_col, block.end_line, block.end_col)


def _where(block: Block) -> str:
    return f"{block.start_line}.{block.start_col},{block.end_line}.{block.end_col}"


def _check_metadata(inputs: Sequence[Input], allow_mixed: bool) -> tuple[list[str], list[str]]:
    commits: dict[str, Input] = {}
    versions: dict[str, Input] = {}
    for item in inputs:
        if item.sidecar is None:
            continue
        if item.sidecar.commit:
            commits.setdefault(item.sidecar.commit, item)
        if item.sidecar.go_version:
            versions.setdefault(item.sidecar.go_version, item)
    if not allow_mixed:
        for what, seen in (("commit", commits), ("Go version", versions)):
            if len(seen) > 1:
                (a_value, a), (b_value, b) = list(seen.items())[:2]
                raise InputError(
                    f"{b.path}: {what} {b_value} differs from {what} {a_value} of {a.path}; "
                    f"profiles of different {what}s cut blocks differently "
                    "(pass --allow-mixed to merge them anyway)"
                )
    return sorted(commits), sorted(versions)


def check_shards(inputs: Sequence[Input], expect: int) -> tuple[str, ...]:
    """The shard labels present; a VerdictError naming the missing ones."""
    seen: dict[int, str] = {}
    totals: set[int] = set()
    for item in inputs:
        shard = item.sidecar.shard if item.sidecar else ""
        if not shard:
            continue
        index, _, total = shard.partition("/")
        if index.isdigit() and total.isdigit():
            seen[int(index)] = shard
            totals.add(int(total))
    if expect <= 0:
        return tuple(seen[i] for i in sorted(seen))
    if not seen:
        raise VerdictError(
            f"--expect-shards {expect}: no input says which shard it came from "
            "(profiles written by goci test carry it in their .json sidecar)"
        )
    wrong = sorted(t for t in totals if t != expect)
    if wrong:
        raise VerdictError(
            f"--expect-shards {expect}: inputs come from a run split into {wrong[0]} shards"
        )
    missing = [str(i) for i in range(1, expect + 1) if i not in seen]
    if missing:
        raise VerdictError(
            f"--expect-shards {expect}: shard(s) {', '.join(missing)} of {expect} are missing "
            f"(found {len(seen)}: {', '.join(seen[i] for i in sorted(seen))})"
        )
    return tuple(seen[i] for i in sorted(seen))


def merge(
    paths: Sequence[Path],
    *,
    out: Path | None,
    go: Go | None = None,
    allow_mixed: bool = False,
    expect_shards: int = 0,
    label_root: Path | None = None,
    skip: Sequence[Path] = (),
) -> MergeResult:
    """Merge every profile and GOCOVERDIR found in ``paths`` into ``out`` (sorted, atomic).

    Nothing is written unless every input was read and checked.
    """
    if not paths:
        raise InputError("coverage merge: no inputs; give profiles or folders holding them")
    found = collect(paths, skip)
    if not any(kind != "shard" for _, kind in found):
        shown = ", ".join(str(p) for p in paths)
        raise InputError(f"coverage merge: no coverage profile found in {shown}")
    merger = _Merger()
    inputs: list[Input] = []
    with tempfile.TemporaryDirectory(prefix="goci-covdata-") as scratch:
        for path, kind in found:
            label = _label(path, label_root)
            if kind == "shard":
                inputs.append(Input(path, kind, "", 0, read_marker(path)))
            elif kind == "covdata":
                if go is None:
                    raise InputError(f"{path}: binary coverage data needs go (go tool covdata)")
                text = covdata_to_text(path, go, Path(scratch))
                mode, count = merger.add(text, label)
                inputs.append(Input(path, kind, mode, count, None))
            else:
                mode, count = merger.add(path, label)
                inputs.append(Input(path, kind, mode, count, read_sidecar(path)))
    merger.finish()
    commits, versions = _check_metadata(inputs, allow_mixed)
    shards = check_shards(inputs, expect_shards)
    by_file = merger.sorted_blocks()
    merger.check_overlaps(by_file)
    plain = {name: tuple(b for b, _ in blocks) for name, blocks in by_file.items()}
    if out is not None:
        _write_profile(out, merger.mode, plain)
    return MergeResult(
        path=out,
        mode=merger.mode,
        inputs=tuple(inputs),
        blocks=len(merger.blocks),
        lines_read=merger.lines,
        shards=shards,
        commits=tuple(commits),
        go_versions=tuple(versions),
        blocks_by_file=plain,
    )


def _label(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def _write_profile(out: Path, mode: str, by_file: Mapping[str, Iterable[Block]]) -> None:
    with atomic_target(out) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(format_profile(mode, by_file))


def read_profile(path: Path) -> tuple[str, dict[str, tuple[Block, ...]]]:
    """A profile's mode and its blocks by file, duplicates merged as ``go tool cover`` does."""
    result = merge([path], out=None, allow_mixed=True)
    return result.mode, dict(result.blocks_by_file)
