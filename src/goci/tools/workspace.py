"""Which Go modules are in use in a repository: one module, nested modules, or a go.work.

Cache keys, affected-package analysis and test runs all need the same answer, and "modules in
use" has a precise meaning: with a go.work in effect, exactly its ``use`` folders; without one,
every go.mod below the root that ``./...`` would reach (not under ``vendor``, ``testdata`` or
folders starting with ``.`` or ``_``).

It lives in :mod:`goci.tools`, beside the go door it reads through, because it is Go's own view
of the repository and every capability asks it; none of them owns it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from goci.errors import InputError
from goci.tools.gotool import Go

_SKIPPED_DIRS = {"vendor", "testdata", "node_modules"}
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_MODULE_LINE = re.compile(r'^\s*module\s+(?:"([^"]+)"|`([^`]+)`|(\S+))', re.MULTILINE)
# go_directive's, compiled by re at its first use: cache-key loads this module, rarely needs them.
_GO_LINE = r"^\s*go\s+(\d+\.\d+(?:\.\d+)?(?:(?:rc|beta)\d+)?)\s*(?://.*)?$"
_TOOLCHAIN_LINE = r"^\s*toolchain\s+(go\S+)\s*(?://.*)?$"
# What a plainly written go.work may hold (see plain_uses): printable ASCII but quotes, and
# versions in a form go surely accepts; anything else is for `go work edit` to read and judge.
_PLAIN_CODE = re.compile(r"[ \t!#-&(-_a-~]*")
_PLAIN_GO = re.compile(r"1\.(?:0|[1-9]\d{0,3})(?:\.(?:0|[1-9]\d{0,3})|(?:rc|beta)[1-9]\d{0,3})?")


class Module(NamedTuple):
    """One module in use: its import path, folder and go.mod."""

    path: str
    dir: Path

    @property
    def gomod(self) -> Path:
        return self.dir / "go.mod"

    @property
    def gosum(self) -> Path:
        return self.dir / "go.sum"


class ModuleFolders(NamedTuple):
    """The modules in use as :func:`find_modules` finds them: folders as plain strings.

    What cache-key needs and nothing more: a go.work of 500 modules would otherwise build
    thousands of pathlib objects, which cost more than reading the files (bench/cache_key.py).
    """

    root: Path
    gowork: Path | None
    #: Real folders of the modules, sorted; ``paths`` holds their module paths in that order.
    folders: tuple[str, ...]
    paths: tuple[str, ...]
    #: The go.mod files read for their module lines, by path: cache-key hashes these bytes
    #: instead of reading every go.mod a second time.
    gomods_read: Mapping[str, bytes]


class Workspace(NamedTuple):
    """The modules in use under ``root``, and the go.work that chose them (if any)."""

    root: Path
    gowork: Path | None
    modules: tuple[Module, ...]

    def module_for(self, path: Path) -> Module | None:
        """The innermost module in use whose folder contains ``path``."""
        from goci.tools.paths import within  # not loaded by commands that never ask (cache-key)

        best: Module | None = None
        for module in self.modules:
            if within(path, module.dir) and (
                best is None or len(module.dir.parts) > len(best.dir.parts)
            ):
                best = module
        return best


class NoModuleError(InputError):
    """The folder holds no Go module at all (a tree that may legitimately have none)."""


def file_in(folder: str, name: str) -> str:
    """``os.path.join(folder, name)`` for a plain ``name``, at a fraction of its cost: cache-key
    names two files in each of 500 module folders."""
    return folder + name if folder.endswith(("/", os.sep)) else folder + os.sep + name


def read_whole(path: str) -> bytes:
    """A file's bytes, read as ``FileIO.readall`` does (its size as a hint, then up to the end)
    without building a file object: cache-key reads a thousand small files in a row."""
    fd = os.open(path, os.O_RDONLY | _O_BINARY)
    try:
        chunks = [os.read(fd, os.fstat(fd).st_size + 1)]
        while chunks[-1]:  # the first read may stop short (a pipe, a file still growing)
            chunks.append(os.read(fd, 1 << 16))
    finally:
        os.close(fd)
    return b"".join(chunks) if len(chunks) > 2 else chunks[0]


def read_bytes(path: str | Path, what: str) -> bytes:
    """Read a Go metadata file whole, or an InputError that names it and says why."""
    try:
        return read_whole(os.fspath(path))
    except OSError as exc:
        raise InputError(f"{what}: cannot read {path} ({exc.strerror or exc})") from exc


def read_text(path: str | Path, what: str, data: bytes | None = None) -> str:
    """A Go metadata file's text (``data``, if already read), or an InputError that names it
    and says why it cannot be read or is not UTF-8."""
    if data is None:
        data = read_bytes(path, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{what}: {path} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "Go reads go.mod and go.work as UTF-8: save the file as UTF-8"
        ) from None


def module_path(gomod: str | Path, data: bytes | None = None) -> str:
    """The module path declared by a go.mod (its ``module`` line); ``data`` is its content,
    if already read."""
    match = _MODULE_LINE.search(read_text(gomod, "go.mod", data))
    if not match:
        raise InputError(f"go.mod: {gomod} has no module line")
    path = next(group for group in match.groups() if group)
    if path.split() != [path]:  # white space anywhere in it
        raise InputError(f"go.mod: {gomod} declares module {path!r}; a module path has no spaces")
    return path


def go_directive(gomod: Path) -> tuple[str | None, str | None]:
    """The ``go`` and ``toolchain`` versions a go.mod (or go.work) declares, if any."""
    text = read_text(gomod, gomod.name)
    go_match = re.search(_GO_LINE, text, re.MULTILINE)
    toolchain_match = re.search(_TOOLCHAIN_LINE, text, re.MULTILINE)
    return (
        go_match.group(1) if go_match else None,
        toolchain_match.group(1) if toolchain_match else None,
    )


def _walk_gomods(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith((".", "_")))
        if "go.mod" in files:
            found.append(Path(folder) / "go.mod")
    return found


def _gowork_in_effect(root: Path, go: Go) -> Path | None:
    setting = go.environment().get("GOWORK", "")
    if setting == "off":
        return None
    if setting:
        return Path(setting)
    for folder in (root, *root.parents):
        candidate = folder / "go.work"
        if candidate.is_file():
            return candidate
    return None


class _RealFolders:
    """``(base / use).resolve()`` for every ``use`` of a go.work, each parent's real folder and
    the links in it found once: a go.work of 500 modules under ``modules/`` would otherwise
    follow the same links 500 times and ask of every module folder whether it is a link.

    The parent's real folder joined with a last part that is no link is already real; a path
    with ``..`` in it, or a link, is resolved the slow way (``..`` after a link goes elsewhere).
    """

    def __init__(self, base: str) -> None:
        self.base = base
        self.known: dict[str, tuple[str, frozenset[str] | None]] = {}

    def resolve(self, use: str) -> str:
        joined = os.path.join(self.base, use)  # an absolute use stands on its own
        parent, name = os.path.split(os.path.normpath(joined))
        if not name or (".." in joined and ".." in joined.replace("\\", "/").split("/")):
            return os.path.realpath(joined)  # either separator: the safe side
        if parent not in self.known:
            real = os.path.realpath(parent)
            self.known[parent] = (real, _links_in(real))
        real, links = self.known[parent]
        candidate = os.path.join(real, name)
        maybe_link = os.path.islink(candidate) if links is None else name.casefold() in links
        return os.path.realpath(candidate) if maybe_link else candidate


def _links_in(folder: str) -> frozenset[str] | None:
    """The names of the links in ``folder``, casefolded (a file system that ignores case may
    spell a name otherwise than the go.work: a false match costs only a slower resolve), or
    None if the folder cannot be listed."""
    try:
        with os.scandir(folder) as entries:
            return frozenset(e.name.casefold() for e in entries if e.is_symlink())
    except OSError:
        return None


def _plain_version(directive: str, value: str) -> bool:
    """``go 1.22.3``, ``toolchain go1.22.3`` or ``toolchain default``, in a form go accepts."""
    if directive == "toolchain":
        return value == "default" or (
            value.startswith("go") and _PLAIN_GO.fullmatch(value[2:]) is not None
        )
    return _PLAIN_GO.fullmatch(value) is not None


def plain_uses(data: bytes) -> list[str] | None:
    """The ``use`` folders of a go.work written plainly, as ``go work init``/``use`` write it,
    in file order; None for anything else (quotes, ``replace``, odd versions, bad syntax).

    Saves a ``go work edit -json`` on every cache-key. Whatever it is not sure about is left
    to go, whose answer and errors then stand: the two must never disagree, and
    tests/test_workspace_gowork.py holds them side by side on real go.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    uses: list[str] = []
    seen: set[str] = set()
    in_use_block = False
    for line in text.split("\n"):
        code = line.removesuffix("\r").partition("//")[0]
        if not _PLAIN_CODE.fullmatch(code) or "/*" in code:
            return None
        words = code.split()
        if not words:
            continue
        if in_use_block:
            if words == [")"]:
                in_use_block = False
            elif len(words) == 1 and words[0] not in "()":
                uses.append(words[0])
            else:
                return None
        elif words == ["use", "("]:
            in_use_block = True
        elif len(words) == 2 and words[0] == "use" and words[1] not in "()":
            uses.append(words[1])
        elif len(words) == 2 and words[0] in ("go", "toolchain") and words[0] not in seen:
            seen.add(words[0])
            if not _plain_version(words[0], words[1]):
                return None
        else:
            return None
    return None if in_use_block else uses


def _gowork_uses(gowork: Path, root: Path, go: Go) -> list[str]:
    """The ``use`` folders of a go.work as written, read by :func:`plain_uses` when it can."""
    try:
        uses = plain_uses(gowork.read_bytes()) if gowork.name == "go.work" else None
    except OSError:
        uses = None
    if uses is not None:
        return uses
    result = go.run("work", "edit", "-json", str(gowork), cwd=root, check=False)
    if not result.ok:
        raise InputError(f"go.work: {gowork} cannot be parsed: {result.stderr.strip()}")
    return [use["DiskPath"] for use in json.loads(result.stdout).get("Use") or []]


def _module_path(folder: str, read: dict[str, bytes]) -> str:
    """The module path of the module in ``folder``, its go.mod's content kept in ``read``."""
    gomod = file_in(folder, "go.mod")
    data = read_bytes(gomod, "go.mod")
    read[gomod] = data
    return module_path(gomod, data)


def _used_modules(
    gowork: Path, root: Path, go: Go, read: dict[str, bytes]
) -> list[tuple[str, str]]:
    """(real folder, module path) of each folder a go.work uses, in its order."""
    real_folders = _RealFolders(str(gowork.parent))
    used = []
    for use in _gowork_uses(gowork, root, go):
        folder = real_folders.resolve(use)
        try:
            used.append((folder, _module_path(folder, read)))
        except InputError:
            # Asked only once reading failed (one file system call fewer a module): a go.mod
            # that is no file at all (none, a folder, a dangling link) is named as such.
            if not os.path.isfile(file_in(folder, "go.mod")):
                raise InputError(
                    f"go.work: {gowork} uses {use!r}, but {folder} has no go.mod"
                ) from None
            raise
    return used


def find_modules(root: Path, go: Go) -> ModuleFolders:
    """The modules in use under ``root``, as folders; an InputError when there are none."""
    root = root.resolve()
    gowork = _gowork_in_effect(root, go)
    read: dict[str, bytes] = {}
    if gowork is not None:
        used = _used_modules(gowork, root, go, read)
    else:
        gomods = _walk_gomods(root)
        if not gomods:
            for above in root.parents:
                if (above / "go.mod").is_file():
                    gomods = [above / "go.mod"]
                    break
        if not gomods:
            raise NoModuleError(
                f"--dir: {root} is not a Go repository: no go.mod or go.work in it or above it"
            )
        used = [(str(gomod.parent), _module_path(str(gomod.parent), read)) for gomod in gomods]
    used.sort(key=lambda pair: pair[0])  # by folder; stable, so a folder used twice stays twice
    folders = tuple(folder for folder, _ in used)
    return ModuleFolders(root, gowork, folders, tuple(path for _, path in used), read)


def discover(root: Path, go: Go) -> Workspace:
    """Find the modules in use under ``root``; an InputError when there are none."""
    found = find_modules(root, go)
    modules = tuple(Module(p, Path(f)) for p, f in zip(found.paths, found.folders, strict=True))
    return Workspace(found.root, found.gowork, modules)
