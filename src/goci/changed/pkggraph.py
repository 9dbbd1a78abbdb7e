"""The package graph of a source tree, as ``go list -e -deps -json`` reports it.

One graph per tree (head, or the merge base checked out in a temporary worktree), unioned
over modules and platforms: an import that exists only in a ``_windows.go`` file is an edge
when Windows is listed, and a package that exists only at the merge base still knows who
imported it. File paths are kept relative to the repository root so that the two trees and
the changed-file list all speak the same language.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cachetools

from goci.errors import ToolError
from goci.matrix.platforms import Platform
from goci.tools.gittool import Git
from goci.tools.gotool import Go, decode_json_stream
from goci.tools.workspace import NoModuleError, Workspace, discover

# Only the fields the analysis reads. Deps is left out on purpose: the transitive lists of
# every package are most of the JSON, and Imports give the same edges.
LIST_FIELDS = (
    "ImportPath,Name,Dir,DepOnly,Module,Standard,Imports,Error,GoFiles,CgoFiles,CFiles,"
    "CXXFiles,MFiles,HFiles,FFiles,SFiles,SwigFiles,SwigCXXFiles,SysoFiles,EmbedFiles,"
    "IgnoredGoFiles,IgnoredOtherFiles,TestGoFiles,XTestGoFiles,TestEmbedFiles,XTestEmbedFiles,"
    "TestImports,XTestImports"
)
# Files a C compiler or the assembler reads: their #include lines can name any file on disk.
_NATIVE_FILE_FIELDS = (
    "CgoFiles",
    "CFiles",
    "CXXFiles",
    "MFiles",
    "HFiles",
    "FFiles",
    "SFiles",
    "SwigFiles",
    "SwigCXXFiles",
)
_BUILD_FILE_FIELDS = (
    "GoFiles",
    *_NATIVE_FILE_FIELDS,
    "SysoFiles",
    "EmbedFiles",
    "IgnoredGoFiles",
    "IgnoredOtherFiles",
)
_TEST_FILE_FIELDS = ("TestGoFiles", "XTestGoFiles", "TestEmbedFiles", "XTestEmbedFiles")


@dataclass(frozen=True)
class BuildList:
    """``go list -m all`` of one main module (or workspace): its mains and each dependency's
    selected version or replacement, as text."""

    mains: frozenset[str]
    versions: Mapping[str, str]


def base_path(import_path: str) -> str:
    """``p [q.test]`` -> ``p``: test variants are the same package for ownership and edges."""
    cut = import_path.find(" [")
    return import_path if cut < 0 else import_path[:cut]


@dataclass
class Package:
    """One package of the repository (merged over platforms and trees)."""

    path: str
    name: str
    dir: str
    module: str
    local: bool
    imports: set[str] = field(default_factory=set)
    files: set[str] = field(default_factory=set)
    test_files: set[str] = field(default_factory=set)
    errors: set[str] = field(default_factory=set)
    native: bool = False  # compiles C, C++, Fortran or assembly: may #include files elsewhere

    @property
    def is_main(self) -> bool:
        return self.name == "main"


@dataclass
class Graph:
    """Packages by import path, the test binaries' own graph, and the modules seen.

    ``test_nodes`` maps each test binary (``p.test``) to what its test files import, p itself
    included: the binary links exactly what those reach through the packages' imports. (go's
    own test variants, ``q [p.test]``, are q built against p's test files: they link nothing
    that p and q do not reach already.)
    """

    packages: dict[str, Package] = field(default_factory=dict)
    test_nodes: dict[str, set[str]] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)  # module path -> repo-relative dir

    def merge(self, other: Graph) -> None:
        for path, pkg in other.packages.items():
            mine = self.packages.get(path)
            if mine is None:
                self.packages[path] = Package(
                    pkg.path,
                    pkg.name,
                    pkg.dir,
                    pkg.module,
                    pkg.local,
                    set(pkg.imports),
                    set(pkg.files),
                    set(pkg.test_files),
                    set(pkg.errors),
                    pkg.native,
                )
                continue
            mine.imports |= pkg.imports
            mine.files |= pkg.files
            mine.test_files |= pkg.test_files
            mine.errors |= pkg.errors
            mine.local = mine.local or pkg.local
            mine.native = mine.native or pkg.native
            if pkg.is_main:
                mine.name = "main"
        for node, imports in other.test_nodes.items():
            self.test_nodes.setdefault(node, set()).update(imports)
        for module, folder in other.modules.items():
            self.modules.setdefault(module, folder)


class _Relative:
    """Turn absolute paths that go prints into repository-relative ones (or None outside)."""

    def __init__(self, root: Path) -> None:
        prefixes = {str(root), os.path.realpath(root)}
        self.prefixes = tuple(sorted((p.rstrip("/") + "/" for p in prefixes), key=len))

    def __call__(self, path: str) -> str | None:
        if not path:
            return None
        for prefix in self.prefixes:
            if path.startswith(prefix):
                return path[len(prefix) :]
            if path + "/" == prefix:
                return ""
        return None


def parse_entries(entries: Iterable[Mapping[str, Any]], root: Path) -> Graph:
    """Build a graph from the ``go list -deps -json`` objects of one tree (:func:`list_graph`).

    A package that was asked for (not ``DepOnly``) and has test files gets its test binary's
    node, as ``go test`` would build one for it.
    """
    relative = _Relative(root)
    graph = Graph()
    for entry in entries:
        import_path = str(entry.get("ImportPath", ""))
        if entry.get("Standard") or not import_path:
            continue
        if not entry.get("DepOnly") and (entry.get("TestGoFiles") or entry.get("XTestGoFiles")):
            binary = graph.test_nodes.setdefault(f"{import_path}.test", {import_path})
            binary.update(_test_imports(entry))
        path = import_path
        folder = relative(str(entry.get("Dir", "")))
        module = entry.get("Module") or {}
        module_path = str(module.get("Path", ""))
        local = folder is not None and not _vendored(folder)
        if local and module_path:
            module_dir = relative(str(module.get("Dir", "")))
            if module_dir is not None:
                graph.modules.setdefault(module_path, module_dir)
        pkg = graph.packages.get(path)
        if pkg is None:
            pkg = Package(path, str(entry.get("Name", "")), folder or "", module_path, local)
            graph.packages[path] = pkg
        if entry.get("Name") == "main" and not path.endswith("_test"):
            pkg.name = "main"
        elif not pkg.name and entry.get("Name"):
            pkg.name = str(entry["Name"])
        pkg.imports.update(base_path(i) for i in entry.get("Imports") or ())
        error = entry.get("Error")
        if error:
            pkg.errors.add(str(error.get("Err", "")).strip()[:300])
        if folder is None:
            continue
        if any(entry.get(key) for key in _NATIVE_FILE_FIELDS):
            pkg.native = True
        prefix = f"{folder}/" if folder else ""
        for key in _BUILD_FILE_FIELDS:
            for name in entry.get(key) or ():
                target = pkg.test_files if name.endswith("_test.go") else pkg.files
                target.add(prefix + name)
        for key in _TEST_FILE_FIELDS:
            pkg.test_files.update(prefix + name for name in entry.get(key) or ())
    return graph


# Import paths go list would not read as one package's: "C" (cgo), go's pattern keywords. A test
# importing one of them (or a path like those _test_imports drops) does not build anyway.
_NOT_LISTABLE = frozenset({"C", "all", "cmd", "std", "tool", "work"})


def _test_imports(entry: Mapping[str, Any]) -> set[str]:
    """What a package's test files import, as go resolves it in module mode (the path as
    written), less what go list would not read as one package's path: relative or absolute
    paths, patterns, flags and :data:`_NOT_LISTABLE`."""
    imports = {
        str(i) for i in (*(entry.get("TestImports") or ()), *(entry.get("XTestImports") or ()))
    }
    return {
        i for i in imports - _NOT_LISTABLE if not i.startswith((".", "/", "-")) and "..." not in i
    }


def _vendored(folder: str) -> bool:
    return folder == "vendor" or folder.startswith("vendor/") or "/vendor/" in f"/{folder}"


class Loader:
    """Runs ``go list`` for trees, modules and platforms, remembering every answer in a run."""

    def __init__(self, go: Go, *, jobs: int = 4) -> None:
        self.go = go
        self.jobs = jobs
        self._graphs: cachetools.LRUCache[Any, Graph] = cachetools.LRUCache(maxsize=64)
        self._versions: cachetools.LRUCache[Any, BuildList] = cachetools.LRUCache(64)

    def _go_for(self, platform: Platform | None, gowork_off: bool) -> Go:
        extra = platform.overrides() if platform is not None else {}
        if gowork_off:
            extra["GOWORK"] = "off"
        return self.go.with_env(**extra) if extra else self.go

    def tree_graph(
        self,
        root: Path,
        workspace: Workspace,
        platforms: tuple[Platform | None, ...],
        extra_modules: tuple[str, ...] = (),
    ) -> Graph:
        """The union graph of every module in use under ``root`` for every platform.

        ``extra_modules`` are repository-relative folders of modules that the workspace does
        not use but that changed; they are listed on their own with ``GOWORK=off``.
        """
        calls: list[tuple[Path, tuple[str, ...], Platform | None, bool]] = []
        for platform in platforms:
            if workspace.gowork is not None and workspace.modules:
                base = workspace.gowork.parent
                patterns = tuple(_pattern(base, m.dir) for m in workspace.modules)
                calls.append((base, patterns, platform, False))
            elif workspace.gowork is None:
                for module in workspace.modules:
                    calls.append((module.dir, ("./...",), platform, False))
            for folder in extra_modules:
                calls.append((root / folder, ("./...",), platform, True))
        keys = [(str(root), *call) for call in calls]
        todo = [
            (key, call) for key, call in zip(keys, calls, strict=True) if key not in self._graphs
        ]
        if todo:
            with ThreadPoolExecutor(max_workers=max(1, min(self.jobs, len(todo)))) as pool:
                results = list(pool.map(lambda item: self._load(root, *item[1]), todo))
            for (key, _call), result in zip(todo, results, strict=True):
                self._graphs[key] = result
        graph = Graph()
        for key in keys:
            graph.merge(self._graphs[key])
        return graph

    def _load(
        self, root: Path, cwd: Path, patterns: tuple[str, ...], platform: Platform | None, off: bool
    ) -> Graph:
        return parse_entries(list_graph(self._go_for(platform, off), cwd, patterns), root)

    def build_list(self, cwd: Path, gowork_off: bool = False) -> BuildList:
        """``go list -m -json all`` in ``cwd``: the build list every package built there uses."""
        key = (str(cwd), gowork_off)
        cached = self._versions.get(key)
        if cached is not None:
            return cached
        go = self._go_for(None, gowork_off)
        result = go.run("list", "-m", "-e", "-json", "all", cwd=cwd, check=False)
        if not result.stdout.strip():
            raise ToolError(f"go list -m all failed in {cwd}: {result.stderr.strip()[:500]}")
        mains: set[str] = set()
        versions: dict[str, str] = {}
        for mod in decode_json_stream(result.stdout):
            if mod.get("Main"):
                mains.add(str(mod.get("Path", "")))
                continue
            replace = mod.get("Replace") or {}
            text = str(mod.get("Version", ""))
            if replace:
                text += f" => {replace.get('Path', '')} {replace.get('Version', '')}".rstrip()
            versions[str(mod.get("Path", ""))] = text
        answer = BuildList(frozenset(mains), versions)
        self._versions[key] = answer
        return answer


def _pattern(base: Path, module_dir: Path) -> str:
    rel = os.path.relpath(module_dir, base)
    return "./..." if rel == "." else f"./{Path(rel).as_posix()}/..."


def list_graph(go: Go, cwd: Path, patterns: tuple[str, ...]) -> list[dict[str, Any]]:
    """``go list -e -deps -json=FIELDS`` of ``patterns``, then of what only their tests import
    (a second, short list, and only when there is any): with ``-e`` broken packages are
    reported too.

    Not ``-test``: it makes go write a test main for every package into the build cache, and
    the plan job's is always empty, so that cost 0.43-0.75 s against 0.18 s without it (300
    packages, without go's package index, as the plan job lists), for edges the test files'
    imports give as well.
    A module go cannot load at all is a GoListError (exit 2) from the go door.
    """
    entries = go.list_json("-e", "-deps", *patterns, cwd=cwd, fields=LIST_FIELDS)
    listed = {str(e.get("ImportPath", "")) for e in entries}
    wanted: set[str] = set()
    for entry in entries:
        if not entry.get("DepOnly"):
            wanted |= _test_imports(entry)
    standard = _goroot_src(entries)
    if missing := sorted(p for p in wanted - listed if not _is_standard(p, standard)):
        for entry in go.list_json("-e", "-deps", *missing, cwd=cwd, fields=LIST_FIELDS):
            entries.append({**entry, "DepOnly": True})  # no test binary of theirs is built
    return entries


def _goroot_src(entries: Iterable[Mapping[str, Any]]) -> Path | None:
    """``$GOROOT/src``, from a standard package of the listing (its folder ends in its path),
    or None when the listing holds none."""
    for entry in entries:
        parts = tuple(str(entry.get("ImportPath", "")).split("/"))
        folder = Path(str(entry.get("Dir") or ""))
        if entry.get("Standard") and all(parts) and folder.parts[-len(parts) :] == parts:
            return folder.parents[len(parts) - 1]
    return None


def _is_standard(import_path: str, goroot_src: Path | None) -> bool:
    """Whether go resolves ``import_path`` to the standard library (``testing``, which nearly
    every test imports and the graph leaves out): no dot in its first element (a module
    path's has one) and a folder of that name in ``$GOROOT/src``."""
    if goroot_src is None or "." in import_path.split("/", 1)[0]:
        return False
    return (goroot_src / import_path).is_dir()


@contextlib.contextmanager
def worktree(git: Git, commit: str) -> Iterator[Path]:
    """The files of ``commit`` in a temporary folder, removed afterwards.

    A private index (``read-tree`` + ``checkout-index``) rather than ``git worktree add``:
    no worktree bookkeeping in the repository, no checkout hooks, and about twice as fast on a
    large tree, which is most of the cost of loading the merge-base graph.
    """
    # From the top: below it, checkout-index --all extracts that folder's files alone, and a
    # go.work or go.mod above the working directory would be missing from the tree.
    top = git.toplevel()
    parent = Path(tempfile.mkdtemp(prefix="goci-base-"))
    folder = parent / "tree"
    private = Git(top, {**git.env, "GIT_INDEX_FILE": str(parent / "index")}, git.exe)
    try:
        for args in (
            ("read-tree", commit),
            ("checkout-index", "--all", "--force", f"--prefix={folder}/"),
        ):
            result = private.run(*args, check=False)
            if not result.ok:
                raise ToolError(f"git {args[0]} {commit[:12]} failed: {result.stderr.strip()}")
        folder.mkdir(exist_ok=True)
        yield folder
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def discover_tree(root: Path, go: Go) -> Workspace:
    """The workspace of a tree; a tree with no Go module at all is an empty workspace."""
    try:
        return discover(root, go)
    except NoModuleError:
        return Workspace(root, None, ())
