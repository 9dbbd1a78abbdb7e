"""Merging coverage profiles: many text coverprofiles and GOCOVERDIR folders into one.

Every shard and matrix job writes its own profiles; the report job merges them into one. The
merge is by block (file, start line.col, end line.col): ``set`` ORs, ``count``/``atomic`` add.
Two profiles that cut the same file differently (the same block with another statement count,
or overlapping blocks with other bounds) were made from different sources or toolchains, and
adding them would report numbers that mean nothing, so the merge refuses and names both.

Memory grows with the number of distinct blocks, not with the number of inputs or lines: each
input is streamed a few megabytes at a time, and every file's blocks are kept as integer arrays
(:mod:`goci.coverage.blocks`), never one object per block. A profile lists a file's blocks
together, so a file listed again with the blocks already seen (every shard made with the same
-coverpkg) is added in bulk; anything else (another order, other blocks) goes block by block
through an index of that file only. A conflict is raised once every input was read, so a
malformed line in a later input is still named first.
"""

from __future__ import annotations

import operator
import tempfile
from array import array
from collections.abc import Iterable, Mapping, MutableSequence, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from goci.coverage.blocks import FileBlocks, Key, Section, SectionReader, ints
from goci.coverage.profiles import collect, covdata_to_text, read_mode
from goci.coverage.sidecars import Sidecar, read_marker, read_sidecar
from goci.errors import InputError, VerdictError
from goci.tools.atomic import atomic_text
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
    blocks_by_file: Mapping[str, FileBlocks] = field(repr=False, default_factory=dict)

    @property
    def profiles(self) -> int:
        """How many coverage inputs (text profiles and GOCOVERDIRs) were merged."""
        return sum(1 for item in self.inputs if item.kind != "shard")


@dataclass
class _File:
    """One file's merged blocks in the order first seen, and the input that brought each."""

    bounds: MutableSequence[int]
    statements: MutableSequence[int]
    counts: MutableSequence[int]
    origin: MutableSequence[int]
    index: dict[Key, int] | None = None  # built once an input lists the file another way


def _ascending(keys: list[Key]) -> bool:
    return all(map(operator.lt, keys, keys[1:]))


class _Merger:
    """The merge state: per file, its distinct blocks as arrays (see :mod:`.blocks`)."""

    def __init__(self) -> None:
        self.files: dict[str, _File] = {}
        self.mode = ""
        self.mode_input = -1
        self.names: list[str] = []
        self.lines = 0
        self.names_checked: set[str] = set()
        self.conflict = ""  # the first conflict, raised once every input was read
        # file -> a digest of the lines (counts aside) whose blocks the merge holds, in order
        self.layouts: dict[str, bytes] = {}

    def add(self, path: Path, label: str) -> tuple[str, int]:
        """Add one input; returns its mode and how many blocks it listed."""
        index = len(self.names)
        self.names.append(label)
        where = Path(label)
        count = 0
        try:
            with path.open(encoding="utf-8", errors="replace") as handle:
                head = handle.readline()
                mode = read_mode(where, iter([head] if head else []))
                self._check_mode(mode, label, index)
                reader = SectionReader(where, handle, self.names_checked, self.layouts)
                for section in reader:
                    count += len(section.statements)
                    self._add(section, index)
        except OSError as exc:
            raise InputError(f"{label}: cannot read ({exc.strerror or exc})") from exc
        self.lines += reader.number - 1
        return mode, count

    def _check_mode(self, mode: str, label: str, index: int) -> None:
        if not self.mode:
            self.mode, self.mode_input = mode, index
        elif mode != self.mode:
            raise InputError(
                f"{label}: mode {mode!r} differs from mode {self.mode!r} of "
                f"{self.names[self.mode_input]}; profiles of mixed modes cannot be merged "
                "(use the same -covermode everywhere)"
            )

    def _add(self, section: Section, index: int) -> None:
        """The common cases at C speed: a file seen first, or again with the same layout."""
        known = self.files.get(section.name)
        if section.known:  # the lines the merge holds: counts only
            assert known is not None
            known.counts = ints(list(map(operator.add, known.counts, section.counts)))
            return
        if known is None:
            if _ascending(section.keys()):  # no block twice
                if section.layout:
                    self.layouts[section.name] = section.layout
                self.files[section.name] = _File(
                    ints(section.bounds),
                    ints(section.statements),
                    ints(section.counts),
                    array("i", [index]) * len(section.statements),
                )
                return
            known = self.files[section.name] = _File([], [], [], [])
        elif known.bounds == section.bounds and known.statements == section.statements:
            known.counts = ints(list(map(operator.add, known.counts, section.counts)))
            if section.layout:
                self.layouts[section.name] = section.layout
            return
        self.layouts.pop(section.name, None)
        self._add_each(known, section, index)

    def _add_each(self, known: _File, section: Section, index: int) -> None:
        """Block by block: another order, other blocks, a conflict to name."""
        bounds, statements = list(known.bounds), list(known.statements)
        counts, origin = list(known.counts), list(known.origin)
        if known.index is None:
            known.index = {k: i for i, k in enumerate(zip(*[iter(bounds)] * 4, strict=True))}
        seen = known.index
        for key, n, c, line in zip(
            section.keys(), section.statements, section.counts, section.lines, strict=True
        ):
            i = seen.get(key)
            if i is None:
                seen[key] = len(statements)
                bounds.extend(key)
                statements.append(n)
                counts.append(c)
                origin.append(index)
            elif statements[i] != n:
                self.conflict = self.conflict or (
                    f"{self.names[index]}:{line}: block {section.name}:{_spelled(key)} has "
                    f"{n} statements here but {statements[i]} in {self.names[origin[i]]}: the "
                    "two profiles come from different sources or Go versions"
                )
            else:
                counts[i] += c
        known.bounds, known.statements = ints(bounds), ints(statements)
        known.counts, known.origin = ints(counts), ints(origin)

    def finish(self) -> None:
        """Refuse the first conflict; ``set`` counts become 0 or 1."""
        if self.conflict:
            raise InputError(self.conflict)
        for known in self.files.values():
            known.index = None
            if self.mode == "set":
                known.counts = ints([1 if c else 0 for c in known.counts])

    @property
    def blocks(self) -> int:
        return sum(len(known.statements) for known in self.files.values())

    def sorted_files(self) -> dict[str, FileBlocks]:
        """Every file's blocks in order, files by name; overlapping blocks refused."""
        result: dict[str, FileBlocks] = {}
        for name in sorted(self.files):
            known = self.files.pop(name)
            b = known.bounds
            keys = list(zip(b[0::4], b[1::4], b[2::4], b[3::4], strict=True))
            if not _ascending(keys):
                order = sorted(range(len(keys)), key=keys.__getitem__)
                keys = [keys[i] for i in order]
                known = _File(
                    ints([v for k in keys for v in k]),
                    ints([known.statements[i] for i in order]),
                    ints([known.counts[i] for i in order]),
                    ints([known.origin[i] for i in order]),
                )
            if known.origin.count(known.origin[0]) != len(known.origin):
                self._check_overlaps(name, keys, known.origin)
            result[name] = FileBlocks(name, known.bounds, known.statements, known.counts)
        return result

    def _check_overlaps(self, name: str, keys: list[Key], origin: Sequence[int]) -> None:
        """Refuse blocks of different inputs that overlap with different bounds."""
        reach: tuple[int, int] = (0, 0)
        owner = -1
        for i, key in enumerate(keys):
            if owner >= 0 and key[:2] < reach and origin[i] != origin[owner]:
                raise InputError(
                    f"{self.names[origin[i]]}: block {_spelled(key)} of {name} overlaps "
                    f"block {_spelled(keys[owner])} from {self.names[origin[owner]]} with "
                    "different bounds: the profiles come from different sources or Go versions"
                )
            if key[2:] > reach:
                reach, owner = (key[2], key[3]), i


def _spelled(key: Key) -> str:
    return f"{key[0]}.{key[1]},{key[2]}.{key[3]}"


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
    blocks = merger.blocks
    by_file = merger.sorted_files()
    if out is not None:
        _write_profile(out, merger.mode, by_file.values())
    return MergeResult(
        path=out,
        mode=merger.mode,
        inputs=tuple(inputs),
        blocks=blocks,
        lines_read=merger.lines,
        shards=shards,
        commits=tuple(commits),
        go_versions=tuple(versions),
        blocks_by_file=by_file,
    )


def _label(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def _write_profile(out: Path, mode: str, files: Iterable[FileBlocks]) -> None:
    with atomic_text(out) as handle:
        handle.write(f"mode: {mode}\n")
        for blocks in files:
            handle.writelines(blocks.lines())


def read_profile(path: Path) -> tuple[str, dict[str, FileBlocks]]:
    """A profile's mode and its blocks by file, duplicates merged as ``go tool cover`` does."""
    result = merge([path], out=None, allow_mixed=True)
    return result.mode, dict(result.blocks_by_file)
