"""Who owns a changed file: the package that compiles, embeds or tests it, or the policy for none.

A file no package claims on the platforms analysed is not harmless by default: Go may compile
it on another platform, a C compiler may include it from any folder, a test may read it by
path. ``--orphan-files`` says what such a file selects (``nearest``, ``all`` or ``ignore``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Literal

from goci.changed.diff import FileChange
from goci.changed.folders import never_built
from goci.changed.pkggraph import Graph
from goci.changed.seeds import Reason, Seeds

ORPHAN_POLICIES: tuple[str, ...] = ("nearest", "all", "ignore")
# Files that go/build hands to the Go toolchain. One that no package claims on the platforms
# analysed may still be compiled on another platform or with other tags.
_GO_SOURCES = frozenset({".go", ".syso"})
# Files a C compiler, the assembler or the linker of a cgo package may read through an
# #include or a -L flag from any folder: their users cannot be told from their location.
_NATIVE_SOURCES = frozenset(
    {".c", ".cc", ".cxx", ".cpp", ".m", ".h", ".hh", ".hpp", ".hxx", ".inc", ".f", ".F"}
    | {".for", ".f90", ".s", ".S", ".sx", ".swig", ".swigcxx", ".a", ".o", ".so", ".dylib"}
    | {".dll", ".lib"}
)
# Headers a package owns (HFiles) that another package's C code may #include by path.
_HEADERS = frozenset({".h", ".hh", ".hpp", ".hxx", ".inc"})
FileKind = Literal["go", "native", "data"]


def own_files(
    seeds: Seeds, files: Iterable[FileChange], graph: Graph, *, repo_root: Path, policy: str
) -> None:
    """Seed the packages that own each changed file; a file nobody owns follows ``policy``."""
    owners: dict[str, list[tuple[str, bool]]] = {}
    by_dir: dict[str, list[str]] = {}
    vendored: dict[str, list[str]] = {}
    for pkg in graph.packages.values():
        # A vendored copy's files (a local module of the same import path merges with it): a
        # patch to one is a build change of that import path, for its importers only.
        for f in pkg.files:
            if "vendor" in PurePosixPath(f).parts[:-1]:
                vendored.setdefault(f, []).append(pkg.path)
            elif pkg.local:
                owners.setdefault(f, []).append((pkg.path, False))
        if not pkg.local:
            continue
        by_dir.setdefault(pkg.dir, []).append(pkg.path)
        for f in pkg.test_files:
            owners.setdefault(f, []).append((pkg.path, True))
    for change in files:
        path = change.path
        name = PurePosixPath(path).name
        if name in {"go.mod", "go.work", "go.sum", "go.work.sum"}:
            continue  # depmoves.py and sums.py judge these
        if change.gitlink:
            _submodule(seeds, path, graph)
            continue
        found = owners.get(path)
        if found:
            for pkg_path, test_only in found:
                reason = Reason(path, (pkg_path,), "test file" if test_only else "")
                if test_only:
                    seeds.add_tests(pkg_path, reason)
                else:
                    seeds.add_build(pkg_path, reason)
            if PurePosixPath(path).suffix in _HEADERS:
                _includers(seeds, path, graph, "C header: packages compiling C may include it")
            continue
        if path in vendored:
            for pkg_path in vendored[path]:
                seeds.add_vendored(pkg_path, Reason(path, (pkg_path,), "vendored copy"))
            continue
        if _testdata(seeds, path, by_dir, graph):
            continue
        _orphan(seeds, path, by_dir, graph, repo_root, policy)


def _submodule(seeds: Seeds, path: str, graph: Graph) -> None:
    """A submodule moved to another commit: every file inside it may have changed, so it is
    a build change of every local package in its folder (a module replaced into it, say)."""
    inside = sorted(
        p.path
        for p in graph.packages.values()
        if p.local and (p.dir == path or p.dir.startswith(f"{path}/"))
    )
    for pkg_path in inside:
        seeds.add_build(pkg_path, Reason(path, (pkg_path,), "submodule moved"))
    if not inside:
        seeds.skipped.append((path, f"submodule {path}: no package of the build is inside it"))


def _testdata(seeds: Seeds, path: str, by_dir: Mapping[str, list[str]], graph: Graph) -> bool:
    """Seed the tests that may read a file under a ``testdata/`` folder; False when none.

    The package beside the folder is the one whose tests read it. With no package there (a
    module-root ``testdata/`` read as ``../../testdata``), a test can only reach it by a
    relative path from below the folder holding it: every local package below that folder,
    in its module, may read it. (A test reading a sibling's ``testdata/`` by path is not seen.)
    """
    parts = PurePosixPath(path).parts
    if "testdata" not in parts[:-1]:
        return False
    cut = parts.index("testdata")
    holder = "/".join(parts[:cut])
    pkgs = by_dir.get(holder, [])
    for pkg_path in pkgs:
        seeds.add_tests(pkg_path, Reason(path, (pkg_path,), "testdata"))
    if pkgs:
        return True
    module = _module_of(holder, graph)
    if module is None:
        return False
    below = f"{holder}/" if holder else ""
    readers = sorted(
        p.path
        for p in graph.packages.values()
        if p.local and p.module == module and p.test_files and f"{p.dir}/".startswith(below)
    )
    folder = "/".join(parts[: cut + 1])
    where = holder or "the module root"
    note = f"in {folder}/, which no package sits beside: the tests below {where} may read it"
    for pkg_path in readers:
        seeds.add_tests(pkg_path, Reason(path, (pkg_path,), note))
    return bool(readers)


def _module_of(folder: str, graph: Graph) -> str | None:
    """The local module whose folder is the innermost one holding ``folder``."""
    holding = [
        (len(root), module)
        for module, root in graph.modules.items()
        if root == "" or folder == root or folder.startswith(f"{root}/")
    ]
    return max(holding)[1] if holding else None


def _orphan(
    seeds: Seeds,
    path: str,
    by_dir: Mapping[str, list[str]],
    graph: Graph,
    repo_root: Path,
    policy: str,
) -> None:
    """A changed file that no package compiles, embeds or keeps beside its tests.

    With ``nearest``, what can reach it decides: a file Go could compile elsewhere (another
    platform, other tags) is a build change of the nearest package above; a C, assembly or
    object file is also one of every package compiling C or assembly (an #include or -L
    can name any folder); any other file can only be read by a test, by path, from its
    own package folder, so it selects the tests of the nearest package above, not its
    importers.
    """
    if policy == "ignore":
        seeds.skipped.append((path, "owned by no package (--orphan-files ignore)"))
        return
    if policy == "all":
        seeds.all_of(f"{path} is owned by no package (--orphan-files all)")
        return
    kind = _file_kind(path)
    includers: list[str] = []
    if kind == "native":
        note = "C, assembly or object file: packages compiling C or assembly may include it"
        includers = _includers(seeds, path, graph, note)
    nearest = _nearest_packages(path, by_dir, graph, repo_root)
    if not nearest:
        if not includers:
            seeds.skipped.append((path, "no package at or above it in its module"))
        return
    native_owner = any(graph.packages[p].native for p in nearest)
    if kind != "data" or native_owner:
        note = "nearest package above"
        if kind == "data":
            note += "; it compiles C, which may include the file"
        for pkg_path in nearest:
            seeds.add_build(pkg_path, Reason(path, (pkg_path,), note))
        return
    readers = [p for p in nearest if graph.packages[p].test_files]
    if not readers:
        why = f"not compiled or embedded, and {', '.join(nearest)} has no tests to read it"
        seeds.skipped.append((path, why))
        return
    note = "not compiled or embedded: only the tests of the nearest package above read it"
    for pkg_path in readers:
        seeds.add_tests(pkg_path, Reason(path, (pkg_path,), note))


def _includers(seeds: Seeds, path: str, graph: Graph, note: str) -> list[str]:
    """Seed, as a build change, every local package compiling C or assembly: an #include
    can name a file in any folder, so ``path``'s users cannot be told from where it lies."""
    includers = sorted(p for p, pkg in graph.packages.items() if pkg.local and pkg.native)
    for pkg_path in includers:
        seeds.add_build(pkg_path, Reason(path, (pkg_path,), note))
    return includers


def _nearest_packages(
    path: str, by_dir: Mapping[str, list[str]], graph: Graph, repo_root: Path
) -> list[str]:
    """The packages of the closest folder at or above ``path`` in its module that has one.

    A go.mod that is no module of the build (under testdata/, vendor/, ...) is no boundary.
    """
    modules = set(graph.modules.values())
    folder = PurePosixPath(path).parent
    while True:
        key = "" if str(folder) == "." else folder.as_posix()
        pkgs = by_dir.get(key)
        if pkgs:
            return sorted(pkgs)
        if key == "":
            return []
        if (repo_root / key / "go.mod").is_file() and (key in modules or not never_built(key)):
            return []
        folder = folder.parent


def _file_kind(path: str) -> FileKind:
    """What may read a file that no package claims: the Go toolchain, a C compiler or
    assembler, or only a test. Anything under a vendor folder feeds the build."""
    pure = PurePosixPath(path)
    if "vendor" in pure.parts[:-1] or pure.suffix in _GO_SOURCES:
        return "go"
    if pure.suffix in _NATIVE_SOURCES:
        return "native"
    return "data"
