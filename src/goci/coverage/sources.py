"""The source files behind a profile: where they are, and the blocks Go's own parser makes.

A profile is only a claim. Each file it names must be a file of the repository (found as
cmd/cover finds it), and its blocks must be exactly the ones ``go tool cover`` makes from that
source, or the numbers would describe another commit, or nothing at all. Function extents and
blocks come from a tiny Go helper (``tools/gohelpers/funcextents``), built with the user's Go.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from goci.coverage.blocks import FileBlocks
from goci.coverage.profiles import Block
from goci.errors import InputError, ToolError
from goci.tools.gotool import GO_HELPERS, Go
from goci.tools.workspace import discover

HELPER = GO_HELPERS / "funcextents"


class Extent(NamedTuple):
    """One function declaration with a body (a named tuple: a monorepo has millions)."""

    name: str
    start: tuple[int, int]
    end: tuple[int, int]


Position = tuple[int, int, int, int]  # start line, start column, end line, end column


class SourceFileError(InputError):
    """A file a profile names that is not a file of the repository.

    ``name`` is the file as the profile spells it and ``detail`` the message without the place,
    so that a merge can name the input (and its line) that brought the file in, rather than
    the merged profile.
    """

    def __init__(self, where: str, name: str, detail: str) -> None:
        super().__init__(f"{where}: {detail}")
        self.name = name
        self.detail = detail


@dataclass(frozen=True)
class Source:
    """What Go's own parser says about one source file: its functions and coverage blocks."""

    # As the helper writes them (a monorepo has millions: no object each until asked for):
    # the names of the functions with a body, one a line; per function its start line, start
    # col, end line, end col; per block go tool cover makes (in order) its four bounds and
    # its statements.
    names: str
    functions: Sequence[int]
    spans: Sequence[int]
    unchecked: str = ""  # why the blocks cannot be compared with a profile ("" = they can)

    @property
    def extents(self) -> tuple[Extent, ...]:
        f = self.functions
        return tuple(
            Extent(name, (f[k], f[k + 1]), (f[k + 2], f[k + 3]))
            for name, k in zip(self.names.split("\n"), range(0, len(f), 4), strict=False)
        )

    @property
    def blocks(self) -> dict[Position, int]:
        """The blocks go tool cover makes -> their statements."""
        s = self.spans
        keys = zip(s[0::5], s[1::5], s[2::5], s[3::5], strict=True)
        return dict(zip(keys, s[4::5], strict=True))


NOTHING = Source("", (), ())  # a file the helper said nothing about


def locate(by_file: Mapping[str, Sized], root: Path, go: Go, profile: Path) -> dict[str, Path]:
    """Where each profile file is on disk, found like cmd/cover's findPkgs does.

    Files of the modules in use are found directly (this also works in a repository of
    several modules without a go.work); anything else is asked of ``go list`` in ``root``.
    Whatever is found must be a file inside the repository (``root`` or a module in use):
    a profile cannot make goci read or report anything else.
    """
    modules = sorted(discover(root, go).modules, key=lambda m: -len(m.path))
    folders = [root.resolve(), *(m.dir.resolve() for m in modules)]
    prefixes = [os.path.join(folder, "") for folder in folders]
    real_dirs: dict[str, str] = {}
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
                    raise SourceFileError(
                        f"{profile}:{_line_of(by_file, name)}",
                        name,
                        f"{name} is not a file of any module in use under {root} (is --dir "
                        "the repository the profile was made in?)",
                    )
                found[name] = candidate
    for name, path in found.items():
        if not _is_file(path) or not _inside(_real(path, real_dirs), prefixes):
            raise SourceFileError(
                f"{profile}:{_line_of(by_file, name)}",
                name,
                f"{name} is not a file inside the repository {root}; a profile names files "
                "of the modules in use only",
            )
    return found


def _real(path: Path, dirs: dict[str, str]) -> str:
    """``path`` with symbolic links resolved (as Path.resolve), each folder resolved once:
    a monorepo's profile names tens of thousands of files in a few thousand folders."""
    if os.path.islink(path):
        return os.path.realpath(path)
    folder = os.path.dirname(path)
    real = dirs.get(folder)
    if real is None:
        real = dirs[folder] = os.path.realpath(folder)
    return os.path.join(real, os.path.basename(path))


def _inside(real: str, prefixes: Sequence[str]) -> bool:
    """Whether the resolved ``real`` is one of the folders (each spelled with a final
    separator in ``prefixes``) or lies under one."""
    return any(real.startswith(prefix) or real + os.sep == prefix for prefix in prefixes)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _line_of(by_file: Mapping[str, Sized], name: str) -> int:
    line = 2
    for other, blocks in by_file.items():
        if other == name:
            return line
        line += len(blocks)
    return line


def iter_sources(paths: Sequence[Path], go: Go, cwd: Path) -> Iterator[tuple[Path, Source]]:
    """Every function with a body and every coverage block, per file, from Go's own parser.

    The helper's answer for a large repository is hundreds of megabytes of JSON: it is read
    one file at a time, while the helper parses the next ones.
    """
    if not paths:
        return
    listed = "".join(f"{p}\n" for p in paths)
    with go.stream_helper(HELPER, stdin=listed, cwd=cwd) as answer:
        for line in answer:
            item = json.loads(line)
            if item.get("error"):
                raise ToolError(f"cannot parse {item['file']}: {item['error']}")
            yield (
                Path(item["file"]),
                Source(item["names"], item["funcs"], item["blocks"], item.get("unchecked", "")),
            )


def check_blocks(name: str, blocks: Iterable[Block], source: Source, path: Path) -> None:
    """Refuse a profile whose blocks for ``name`` are not the ones go tool cover makes.

    Statement counts are what coverage is computed from; a profile that claims more (or other)
    statements than instrumenting this source gives would report numbers that are not true,
    such as one line claiming 100000 statements to lift the total to 100%.
    """
    if source.unchecked:
        return
    if isinstance(blocks, FileBlocks) and blocks.same(source.spans):
        return  # the common case, without a Block per block
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
