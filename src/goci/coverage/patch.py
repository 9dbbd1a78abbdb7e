"""Patch coverage: of the statements a change adds or edits, how many did the tests run?

The changed lines come from ``git diff`` between the merge base and the checked-out tree
(renames followed, so a moved file counts only the lines it changed; files Go marks as
generated are skipped). A block of the merged profile is changed when any line it spans, start
line to end line, was added or modified; patch coverage is the covered statements of changed
blocks over all statements of changed blocks. Only the blocks ``go tool cover -func`` counts
(inside function declarations) take part, so the patch figure and the total speak one unit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from goci.coverage.report import CoverageReport, fmt, percent
from goci.tools.gittool import Git

# The marker Go itself looks for (go/ast.IsGenerated, https://go.dev/s/generatedcode).
_GENERATED = re.compile(r"^// Code generated .* DO NOT EDIT\.$")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


@dataclass(frozen=True)
class ChangedLines:
    """Lines added or modified at head, per repository-relative ``.go`` file."""

    files: Mapping[str, frozenset[int]]
    generated: tuple[str, ...] = ()  # skipped: marked "// Code generated ... DO NOT EDIT."
    renamed: Mapping[str, str] = field(default_factory=dict)  # new path -> old path


@dataclass(frozen=True)
class FilePatch:
    """One file's changed statements, and the changed lines the tests did not run."""

    path: str  # relative to the repository root, as GitHub annotations want it
    statements: int
    covered: int
    uncovered: tuple[tuple[int, int], ...]  # (first line, last line) ranges

    @property
    def percent(self) -> float:
        return percent(self.covered, self.statements)


@dataclass(frozen=True)
class PatchCoverage:
    """The patch figure of a merged profile against the lines a change touched."""

    merge_base: str
    files: tuple[FilePatch, ...]  # files with changed statements, by path
    changed_files: int  # .go files with added or modified lines (generated ones left out)
    generated: tuple[str, ...]

    @property
    def statements(self) -> int:
        return sum(f.statements for f in self.files)

    @property
    def covered(self) -> int:
        return sum(f.covered for f in self.files)

    @property
    def percent(self) -> float:
        return percent(self.covered, self.statements)

    @property
    def shown(self) -> str:
        """``87.2`` (as the total is printed), or '' when no changed line holds a statement."""
        return fmt(self.percent) if self.statements else ""

    @property
    def uncovered(self) -> list[tuple[str, int, int]]:
        """Every uncovered changed range as (file, first line, last line), file by file."""
        return [(f.path, a, b) for f in self.files for a, b in f.uncovered]


def unquote_path(raw: str) -> str:
    """A path as ``git diff`` prints it: C-quoted (``"a\\tb.go"``) when it holds odd bytes."""
    if not (raw.startswith('"') and raw.endswith('"')):
        return raw
    out = bytearray()
    text, index = raw[1:-1], 0
    while index < len(text):
        char = text[index]
        if char != "\\":
            out += char.encode("utf-8")
            index += 1
        elif text[index + 1 : index + 2].isdigit():
            out.append(int(text[index + 1 : index + 4], 8))
            index += 4
        else:
            out.append(_ESCAPES.get(text[index + 1 : index + 2], ord("?")))
            index += 2
    return out.decode("utf-8", errors="replace")


def parse_diff(text: str) -> tuple[dict[str, set[int]], dict[str, str]]:
    """Added lines per new path from ``git diff --unified=0``, and renames (new -> old)."""
    added: dict[str, set[int]] = {}
    renamed: dict[str, str] = {}
    current: str | None = None
    source = ""
    for line in text.splitlines():
        if line.startswith("diff --git "):
            current, source = None, ""
        elif line.startswith("rename from "):
            source = unquote_path(line[len("rename from ") :])
        elif line.startswith("rename to "):
            renamed[unquote_path(line[len("rename to ") :])] = source
        elif line.startswith("+++ "):
            name = unquote_path(line[4:])
            current = None if name == "/dev/null" else name.removeprefix("b/")
        elif line.startswith("@@") and current is not None:
            match = _HUNK.match(line)
            if match:
                start, count = int(match.group(1)), int(match.group(2) or "1")
                added.setdefault(current, set()).update(range(start, start + count))
    return added, renamed


def is_generated(text: str) -> bool:
    """Go's rule: a ``// Code generated ... DO NOT EDIT.`` line before the package clause."""
    for line in text.splitlines():
        stripped = line.rstrip("\r")
        if stripped.startswith("package "):
            return False
        if _GENERATED.match(stripped):
            return True
    return False


def changed_lines(git: Git, merge_base: str, top: Path) -> ChangedLines:
    """The ``.go`` lines added or modified from ``merge_base`` to the checked-out tree."""
    out = git.run(
        "-c",
        "core.quotePath=false",
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--unified=0",
        "--find-renames",
        "--diff-filter=AMR",
        merge_base,
        "--",
        "*.go",
    ).stdout
    added, renamed = parse_diff(out)
    files: dict[str, frozenset[int]] = {}
    generated: list[str] = []
    for name, lines in sorted(added.items()):
        try:
            text = (top / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue  # gone from the tree since: nothing of it can be in the profile
        if is_generated(text):
            generated.append(name)
        elif lines:
            files[name] = frozenset(lines)
    return ChangedLines(files, tuple(generated), renamed)


def _ranges(lines: Iterable[int]) -> tuple[tuple[int, int], ...]:
    ranges: list[list[int]] = []
    for line in sorted(set(lines)):
        if ranges and line == ranges[-1][1] + 1:
            ranges[-1][1] = line
        else:
            ranges.append([line, line])
    return tuple((a, b) for a, b in ranges)


def _relative(path: Path, top: Path) -> str | None:
    try:
        return path.resolve().relative_to(top).as_posix()
    except ValueError:
        return None


def patch_coverage(
    report: CoverageReport, changed: ChangedLines, top: Path, merge_base: str
) -> PatchCoverage:
    """Intersect the counted blocks of every profiled file with the lines the change touched."""
    top = top.resolve()
    files: list[FilePatch] = []
    for item in report.files:
        name = _relative(item.path, top)
        lines = changed.files.get(name or "")
        if not lines or name is None:
            continue
        statements = covered = 0
        missed: set[int] = set()
        for block in item.counted:
            spanned = range(block.start_line, block.end_line + 1)
            touched = [line for line in spanned if line in lines]
            if not touched or not block.statements:
                continue
            statements += block.statements
            if block.hits:
                covered += block.statements
            else:
                missed.update(touched)
        if statements:
            files.append(FilePatch(name, statements, covered, _ranges(missed)))
    files.sort(key=lambda f: f.path)
    return PatchCoverage(merge_base, tuple(files), len(changed.files), changed.generated)
