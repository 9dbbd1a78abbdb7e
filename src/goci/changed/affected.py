"""What a change can break: the packages, test binaries, services and modules it affects.

The analysis errs on one side only. A file nobody owns follows an explicit policy, a failed
step answers "everything" with the reason, and the graph is the union of head and merge base
(and of every platform asked for), so a deleted package or a Windows-only import still marks
its importers. Precision comes from the graph itself: ``go list -deps -test`` says exactly what
each test binary links, and ``go list -m all`` says which dependency versions really moved.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import tempfile
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from goci.changed import diff
from goci.changed.diff import ChangeSet, FileChange
from goci.changed.pkggraph import (
    BuildList,
    Graph,
    Loader,
    Platform,
    base_path,
    discover_tree,
    parse_platform,
    worktree,
)
from goci.errors import GociError, InputError, ToolError
from goci.tools.gittool import Git
from goci.tools.gotool import Go
from goci.tools.workspace import Workspace

ORPHAN_POLICIES: tuple[str, ...] = ("nearest", "all", "ignore")
DEFAULT_GLOBAL_FILES: tuple[str, ...] = (".github/**", "Makefile", ".go-version")
_DEP_FIELDS = ("Require", "Replace", "Exclude")
_INERT_FIELDS = ("Retract",)
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
FileKind = Literal["go", "native", "data"]


@dataclass(frozen=True)
class Reason:
    """Why a package is listed: the first changed file and the import chain that reached it."""

    file: str
    via: tuple[str, ...]
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "via": list(self.via)}
        if self.note:
            out["note"] = self.note
        return out

    def text(self) -> str:
        chain = " -> ".join(self.via)
        note = f" [{self.note}]" if self.note else ""
        return f"{self.file}{note}: {chain}" if chain else f"{self.file}{note}"


@dataclass(frozen=True)
class AffectedSet:
    """The answer of one analysis; lists are sorted import paths (modules: module paths)."""

    base: str | None
    head: str
    merge_base: str | None
    packages: tuple[str, ...]
    test_packages: tuple[str, ...]
    services: tuple[str, ...]
    modules: tuple[str, ...]
    all: bool
    any: bool
    all_reasons: tuple[str, ...]
    reasons: Mapping[str, Reason]
    changed_files: tuple[FileChange, ...]
    skipped_files: tuple[tuple[str, str], ...] = ()
    source: str = "git"

    def reason_json(self) -> dict[str, Any]:
        return {pkg: self.reasons[pkg].as_dict() for pkg in self.packages if pkg in self.reasons}


@dataclass(frozen=True)
class _DepMove:
    """Dependencies whose version moved in one build list, and the main modules built with it:
    only their packages link what that list selects."""

    mains: frozenset[str]
    moved: Mapping[str, Reason]  # dependency module path -> why


@dataclass
class _Seeds:
    """Starting points of the propagation, each with its reason (first one wins)."""

    build: dict[str, Reason] = field(default_factory=dict)
    tests: dict[str, Reason] = field(default_factory=dict)
    all_reasons: list[str] = field(default_factory=list)
    everything: bool = False
    whole_modules: dict[str, Reason] = field(default_factory=dict)
    dep_moves: list[_DepMove] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add_build(self, pkg: str, reason: Reason) -> None:
        self.build.setdefault(pkg, reason)

    def add_tests(self, pkg: str, reason: Reason) -> None:
        self.tests.setdefault(pkg, reason)

    def all_of(self, why: str) -> None:
        """Everything in the workspace runs."""
        self.everything = True
        self._note(why)

    def module_all(self, module: str, reason: Reason) -> None:
        """Everything in one module (and what depends on it) runs."""
        self.whole_modules.setdefault(module, reason)
        self._note(reason.note)

    def _note(self, why: str) -> None:
        if why not in self.all_reasons:
            self.all_reasons.append(why)

    @property
    def all(self) -> bool:
        return self.everything or bool(self.whole_modules)


def glob_match(path: str, pattern: str) -> bool:
    """gitignore-like globs: ``dir/**`` is everything below, a pattern without ``/`` matches a
    file name anywhere only when it says so with ``**/``."""
    pattern = pattern.strip().lstrip("/")
    if not pattern:
        return False
    if pattern.endswith("/**"):
        prefix = pattern[:-3]
        return path == prefix or path.startswith(prefix + "/") or fnmatch.fnmatch(path, pattern)
    if PurePosixPath(path).match(pattern) and pattern.count("/") == path.count("/"):
        return True
    return fnmatch.fnmatchcase(path, pattern)


def analyse(
    root: Path,
    go: Go,
    git: Git,
    *,
    base: str | None = None,
    head: str | None = None,
    env: Mapping[str, str] | None = None,
    platforms: Sequence[str] = (),
    global_files: Sequence[str] = DEFAULT_GLOBAL_FILES,
    orphan_files: str = "nearest",
    ignore_comments: bool = False,
    deepen_limit: int = diff.DEFAULT_DEEPEN_LIMIT,
    token: str = "",
) -> AffectedSet:
    """Everything a change between ``base`` and ``head`` can break, for the Go code at ``root``.

    ``base``/``head`` default to the CI event in ``env`` (GitHub or Drone). Bad refs and bad
    options raise InputError; any other failure answers "everything" with the reason.
    """
    env = dict(env or {})
    if orphan_files not in ORPHAN_POLICIES:
        raise InputError(
            f"--orphan-files: {orphan_files!r} is not valid; use one of nearest, all, ignore"
        )
    wanted = tuple(parse_platform(p) for p in platforms)
    loader = Loader(go)
    loader.check_platforms(wanted, root)
    platform_list: tuple[Platform | None, ...] = wanted or (None,)
    repo_root = git.toplevel()
    refs = diff.refs_from_event(env, base, head)

    def compare(old: str, new: str) -> tuple[str | None, tuple[FileChange, ...]] | None:
        from goci.changed.compare_api import compare_files

        return compare_files(env, old, new, token=token)

    fallback = compare if env.get("GITHUB_REPOSITORY") else None
    change_set = diff.collect(git, refs, deepen_limit=deepen_limit, compare=fallback)
    analysis = _Analysis(
        root=root.resolve(),
        repo_root=repo_root,
        go=go,
        git=git,
        loader=loader,
        platforms=platform_list,
        global_files=tuple(global_files),
        orphan_policy=orphan_files,
        ignore_comments=ignore_comments,
        change_set=change_set,
    )
    return analysis.run()


@dataclass
class _Analysis:
    root: Path
    repo_root: Path
    go: Go
    git: Git
    loader: Loader
    platforms: tuple[Platform | None, ...]
    global_files: tuple[str, ...]
    orphan_policy: str
    ignore_comments: bool
    change_set: ChangeSet
    head_graph: Graph | None = None
    head_workspace: Workspace | None = None

    @property
    def subdir(self) -> str:
        rel = os.path.relpath(self.root, self.repo_root)
        return "" if rel == "." else Path(rel).as_posix()

    def run(self) -> AffectedSet:
        seeds = _Seeds()
        cs = self.change_set
        if cs.everything:
            seeds.all_of(cs.everything)
            return self._finish(seeds, self._head_only_graph(seeds), cs.files)
        try:
            files = self._relevant_files(seeds)
            return self._analyse_files(seeds, files)
        except InputError:
            raise
        except (GociError, OSError, ValueError, KeyError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            seeds.all_of(f"the analysis failed, so everything runs: {first}")
            return self._finish(seeds, self._head_only_graph(seeds), cs.files)

    # -- files -----------------------------------------------------------------------------

    def _relevant_files(self, seeds: _Seeds) -> list[FileChange]:
        """The changed files, minus comment-only Go edits when asked.

        Files outside ``--dir`` stay: a module there may be required through a replace
        directive, and its packages then appear in the graph with their own files.
        """
        files = list(self.change_set.files)
        if self.ignore_comments and self.change_set.merge_base and self.change_set.has_base_tree:
            from goci.changed.comments import comment_only

            candidates = [f.path for f in files if f.status == "M" and f.path.endswith(".go")]
            quiet = comment_only(
                self.git, self.go, self.change_set.merge_base, self.change_set.head, candidates
            )
            for path in sorted(quiet):
                seeds.skipped.append((path, "only comments or white space changed"))
            files = [f for f in files if f.path not in quiet]
        return files

    def _global_reason(self, path: str) -> str | None:
        """Why ``path`` means everything runs (the pattern it matched), or None."""
        pattern = next((g for g in self.global_files if glob_match(path, g)), None)
        if pattern is None:
            return None
        why = f"{path} changed and matches --global-files pattern {pattern.strip()!r}"
        if tuple(self.global_files) == DEFAULT_GLOBAL_FILES:
            why += f" (a default: {', '.join(DEFAULT_GLOBAL_FILES)}; set --global-files to narrow)"
        return why

    # -- the main path ---------------------------------------------------------------------

    def _analyse_files(self, seeds: _Seeds, files: list[FileChange]) -> AffectedSet:
        cs = self.change_set
        go_meta = [f for f in files if PurePosixPath(f.path).name in {"go.mod", "go.work"}]
        need_base = any(f.status == "D" for f in files) or bool(go_meta)
        for f in files:
            why = self._global_reason(f.path)
            if why is not None:
                seeds.all_of(why)
        if seeds.everything:
            return self._finish(seeds, self._head_only_graph(seeds), tuple(files))
        if need_base and not cs.has_base_tree:
            seeds.all_of(
                "files were deleted or go.mod/go.work changed, and the merge base is not on "
                "disk (compare API answer), so the old graph cannot be loaded"
            )
            return self._finish(seeds, self._head_only_graph(seeds), tuple(files))
        head_tree = self._head_tree_root()
        if need_base:
            assert cs.merge_base is not None
            # Deletions alone: only the modules holding changed files can differ; the head
            # graph already has every unchanged importer's edges. A go.mod or go.work change
            # can move any module's dependencies: then the whole graph.
            only = None if go_meta else files
            with (
                self._maybe_head(head_tree) as h,
                ThreadPoolExecutor(max_workers=1) as pool,
            ):
                # The head graph loads while the merge base is being checked out.
                head_future = pool.submit(self._load_tree, h, files)
                with worktree(self.git, cs.merge_base) as base_root:
                    try:
                        base_graph, base_ws = self._load_tree(base_root, files, only)
                    except InputError as exc:  # the change may be what repairs the base
                        raise ToolError(f"the merge base cannot be listed: {exc}") from exc
                    head_graph, head_ws = head_future.result()
                    self._module_files(seeds, go_meta, h, head_ws, base_root, base_ws)
            union = Graph()
            union.merge(base_graph)
            union.merge(head_graph)
        else:
            with self._maybe_head(head_tree) as h:
                head_graph, head_ws = self._load_tree(h, files)
            union = head_graph
        self.head_graph, self.head_workspace = head_graph, head_ws
        self._own_files(seeds, files, union)
        return self._finish(seeds, union, tuple(files), head_graph)

    def _head_tree_root(self) -> str | None:
        """None when the working tree is head; else head's commit, to check out aside."""
        current = self.git.resolve("HEAD")
        return None if current == self.change_set.head else self.change_set.head

    def _maybe_head(self, commit: str | None) -> Any:
        if commit is None:
            return contextlib.nullcontext(self.repo_root)
        return worktree(self.git, commit)

    def _tree_dir(self, tree_root: Path) -> Path:
        return tree_root / self.subdir if self.subdir else tree_root

    def _load_tree(
        self,
        tree_root: Path,
        files: Sequence[FileChange],
        only: Sequence[FileChange] | None = None,
    ) -> tuple[Graph, Workspace]:
        """The graph of one tree; with ``only``, of just the modules holding those files."""
        workspace = discover_tree(self._tree_dir(tree_root), self.go)
        listed = workspace
        if only is not None:
            roots = {_module_root(tree_root, f.path) for f in only}
            keep = {(tree_root / r).resolve() for r in roots if r is not None}
            modules = tuple(m for m in workspace.modules if m.dir.resolve() in keep)
            listed = Workspace(workspace.root, workspace.gowork, modules)
        in_use = {m.dir.resolve() for m in workspace.modules}
        extra: set[str] = set()
        inside = f"{self.subdir}/" if self.subdir else ""
        for f in files:
            folder = _module_root(tree_root, f.path)
            if folder is None or (tree_root / folder).resolve() in in_use:
                continue
            if not inside or f"{folder}/".startswith(inside):
                extra.add(folder)
        graph = self.loader.tree_graph(tree_root, listed, self.platforms, tuple(sorted(extra)))
        for module in workspace.modules:
            rel = os.path.relpath(module.dir, tree_root)
            graph.modules.setdefault(module.path, "" if rel == "." else Path(rel).as_posix())
        return graph, workspace

    def _head_only_graph(self, seeds: _Seeds) -> Graph | None:
        try:
            with self._maybe_head(self._head_tree_root()) as h:
                graph, workspace = self._load_tree(h, ())
            self.head_graph, self.head_workspace = graph, workspace
            return graph
        except InputError:
            raise  # head's go.mod or go.work is broken: exit 2 (GoListError), never "nothing"
        except GociError as exc:
            seeds.all_of(f"the package graph could not be loaded: {str(exc).splitlines()[0]}")
            return None

    # -- ownership -------------------------------------------------------------------------

    def _own_files(self, seeds: _Seeds, files: Iterable[FileChange], graph: Graph) -> None:
        owners: dict[str, list[tuple[str, bool]]] = {}
        by_dir: dict[str, list[str]] = {}
        for pkg in graph.packages.values():
            if not pkg.local:
                continue
            by_dir.setdefault(pkg.dir, []).append(pkg.path)
            for f in pkg.files:
                owners.setdefault(f, []).append((pkg.path, False))
            for f in pkg.test_files:
                owners.setdefault(f, []).append((pkg.path, True))
        for change in files:
            path = change.path
            name = PurePosixPath(path).name
            if name in {"go.mod", "go.work"}:
                continue
            if name in {"go.sum", "go.work.sum"}:
                seeds.skipped.append((path, "checksums only: go.mod decides what is built"))
                continue
            found = owners.get(path)
            if found:
                for pkg_path, test_only in found:
                    reason = Reason(path, (pkg_path,), "test file" if test_only else "")
                    if test_only:
                        seeds.add_tests(pkg_path, reason)
                    else:
                        seeds.add_build(pkg_path, reason)
                continue
            parts = PurePosixPath(path).parts
            if "testdata" in parts[:-1]:
                beside = "/".join(parts[: parts.index("testdata")])
                pkgs = by_dir.get(beside, [])
                for pkg_path in pkgs:
                    seeds.add_tests(pkg_path, Reason(path, (pkg_path,), "testdata"))
                if pkgs:
                    continue
            self._orphan(seeds, path, by_dir, graph)

    def _orphan(
        self, seeds: _Seeds, path: str, by_dir: Mapping[str, list[str]], graph: Graph
    ) -> None:
        """A changed file that no package compiles, embeds or keeps beside its tests.

        With ``nearest``, what can reach it decides: a file Go could compile elsewhere (another
        platform, other tags) is a build change of the nearest package above; a C, assembly or
        object file is also one of every package compiling C or assembly (an #include or -L
        can name any folder); any other file can only be read by a test, by path, from its
        own package folder, so it selects the tests of the nearest package above, not its
        importers.
        """
        if self.orphan_policy == "ignore":
            seeds.skipped.append((path, "owned by no package (--orphan-files ignore)"))
            return
        if self.orphan_policy == "all":
            seeds.all_of(f"{path} is owned by no package (--orphan-files all)")
            return
        kind = _file_kind(path)
        includers: list[str] = []
        if kind == "native":
            includers = sorted(p for p, pkg in graph.packages.items() if pkg.local and pkg.native)
            note = "C, assembly or object file: packages compiling C or assembly may include it"
            for pkg_path in includers:
                seeds.add_build(pkg_path, Reason(path, (pkg_path,), note))
        nearest = self._nearest_packages(path, by_dir)
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

    def _nearest_packages(self, path: str, by_dir: Mapping[str, list[str]]) -> list[str]:
        """The packages of the closest folder at or above ``path`` in its module that has one."""
        folder = PurePosixPath(path).parent
        while True:
            key = "" if str(folder) == "." else folder.as_posix()
            pkgs = by_dir.get(key)
            if pkgs:
                return sorted(pkgs)
            if (self.repo_root / key / "go.mod").is_file() or key == "":
                return []
            folder = folder.parent

    # -- go.mod, go.work, go.sum -----------------------------------------------------------

    def _module_files(
        self,
        seeds: _Seeds,
        changed: Sequence[FileChange],
        head_root: Path,
        head_ws: Workspace,
        base_root: Path,
        base_ws: Workspace,
    ) -> None:
        dep_files: list[str] = []  # go.mod and go.work files whose requirements changed
        for f in changed:
            name = PurePosixPath(f.path).name
            if f.status != "M":
                what = "appeared" if f.status == "A" else "disappeared"
                seeds.all_of(f"{f.path} {what} (the set of modules changed)")
                continue
            kind = "work" if name == "go.work" else "mod"
            old = _edit_json(self.go, base_root / f.path, kind)
            new = _edit_json(self.go, head_root / f.path, kind)
            if kind == "work" and _uses(old) != _uses(new):
                seeds.all_of(f"{f.path}: the modules in use changed")
            inert = {*_DEP_FIELDS, *_INERT_FIELDS, *(("Use",) if kind == "work" else ())}
            shape_old = {k: v for k, v in old.items() if k not in inert}
            shape_new = {k: v for k, v in new.items() if k not in inert}
            if shape_old != shape_new:
                keys = sorted(k for k in {*shape_old, *shape_new} if old.get(k) != new.get(k))
                why = f"{f.path}: {', '.join(keys)} changed"
                if kind == "work":
                    seeds.all_of(why)
                else:
                    module = str((new.get("Module") or {}).get("Path", ""))
                    seeds.module_all(module, Reason(f.path, (), why))
            if any(old.get(k) != new.get(k) for k in _DEP_FIELDS):
                dep_files.append(f.path)
        if dep_files:
            seeds.dep_moves.extend(
                self._dep_moves(dep_files, head_root, head_ws, base_root, base_ws)
            )

    def _dep_moves(
        self,
        changed: Sequence[str],
        head_root: Path,
        head_ws: Workspace,
        base_root: Path,
        base_ws: Workspace,
    ) -> list[_DepMove]:
        """What moved in each build list that can see the changed requirements.

        A build list belongs to a main module (or to the workspace): only packages built as
        that main module link the versions it selects, so a move is never applied to other
        modules. Lists compared: the workspace's (with a go.work), each changed module's own
        (GOWORK=off), and, without a go.work, each module whose go.mod has a replace
        directive, since its graph reads the go.mod of a local folder, changed or not.
        """
        places: dict[tuple[Path, Path, bool], str] = {}  # (head, base, gowork off) -> file
        first = sorted(changed)[0]
        if head_ws.gowork is not None or base_ws.gowork is not None:
            work_h = head_ws.gowork.parent if head_ws.gowork else self._tree_dir(head_root)
            work_b = base_ws.gowork.parent if base_ws.gowork else self._tree_dir(base_root)
            gowork = [c for c in changed if PurePosixPath(c).name == "go.work"]
            places[(work_h, work_b, False)] = gowork[0] if gowork else first
        else:
            for module in head_ws.modules:
                folder = Path(os.path.relpath(module.dir, head_root.resolve())).as_posix()
                texts = [root / folder / "go.mod" for root in (head_root, base_root)]
                if all(t.is_file() for t in texts) and any(
                    "=>" in t.read_text(encoding="utf-8", errors="replace") for t in texts
                ):
                    places[(head_root / folder, base_root / folder, True)] = first
        for path in changed:
            if PurePosixPath(path).name == "go.mod":
                folder = PurePosixPath(path).parent.as_posix()
                folder = "" if folder == "." else folder
                places[(head_root / folder, base_root / folder, True)] = path
        keys = sorted({(here, off) for here, _, off in places} | {(b, o) for _, b, o in places})
        with ThreadPoolExecutor(max_workers=max(1, min(self.loader.jobs, len(keys)))) as pool:
            lists = dict(
                zip(keys, pool.map(lambda k: self.loader.build_list(*k), keys), strict=True)
            )
        moves: list[_DepMove] = []
        for (here, there, off), path in sorted(places.items()):
            new, old = lists[(here, off)], lists[(there, off)]
            moved = _moved(old, new, path, "the workspace" if not off else "")
            if moved:
                moves.append(_DepMove(new.mains | old.mains, moved))
        return moves

    # -- propagation -----------------------------------------------------------------------

    def _finish(
        self,
        seeds: _Seeds,
        graph: Graph | None,
        files: tuple[FileChange, ...],
        head_graph: Graph | None = None,
    ) -> AffectedSet:
        cs = self.change_set
        head_graph = head_graph or self.head_graph or graph
        if graph is None or head_graph is None:
            patterns = self._fallback_patterns()
            return AffectedSet(
                base=cs.base,
                head=cs.head,
                merge_base=cs.merge_base,
                packages=patterns,
                test_packages=patterns,
                services=(),
                modules=tuple(p.removesuffix("/...") for p in patterns),
                all=True,
                any=True,
                all_reasons=tuple(seeds.all_reasons),
                reasons={},
                changed_files=files,
                skipped_files=tuple(seeds.skipped),
                source=cs.source,
            )
        existing = {p for p, pkg in head_graph.packages.items() if pkg.local}
        local = {p for p, pkg in graph.packages.items() if pkg.local}
        if seeds.everything:
            for name in sorted(existing):
                seeds.add_build(name, Reason("*", (name,), seeds.all_reasons[0]))
        for info in graph.packages.values():
            whole = seeds.whole_modules.get(info.module) if info.local else None
            if whole is not None:
                seeds.add_build(info.path, Reason(whole.file, (info.path,), whole.note))
        build = _propagate(graph, seeds.build)
        tests: dict[str, Reason] = {}
        for pkg, reason in seeds.tests.items():
            tests.setdefault(pkg, reason)
        for owner, reason in _test_binaries(graph, build).items():
            tests.setdefault(owner, reason)
        for name, reason in build.items():
            found = graph.packages.get(name)
            if found is not None and found.local and found.errors and found.test_files:
                tests.setdefault(name, reason)
        # Added after the propagation on purpose: importers in other modules build with
        # their own lists, and a list of theirs that moved is a move of its own.
        for move in seeds.dep_moves:
            move_build, move_tests = _dep_move_reach(graph, move)
            for name, reason in move_build.items():
                build.setdefault(name, reason)
            for name, reason in move_tests.items():
                tests.setdefault(name, reason)
        listed = sorted(p for p in (set(build) | set(tests)) & local & existing)
        test_listed = sorted(p for p in set(tests) & local & existing)
        services = sorted(
            p for p in set(build) & local & existing if head_graph.packages[p].is_main
        )
        modules = sorted({graph.packages[p].module for p in listed if graph.packages[p].module})
        reasons = {p: (build.get(p) or tests[p]) for p in listed}
        return AffectedSet(
            base=cs.base,
            head=cs.head,
            merge_base=cs.merge_base,
            packages=tuple(listed),
            test_packages=tuple(test_listed),
            services=tuple(services),
            modules=tuple(modules),
            all=seeds.all,
            any=bool(listed) or seeds.all,
            all_reasons=tuple(seeds.all_reasons),
            reasons=reasons,
            changed_files=files,
            skipped_files=tuple(seeds.skipped),
            source=cs.source,
        )

    def _fallback_patterns(self) -> tuple[str, ...]:
        workspace = self.head_workspace
        if workspace is None:
            try:
                workspace = discover_tree(self.root, self.go)
            except GociError:
                workspace = None
        if workspace is None or not workspace.modules:
            return ("./...",)
        return tuple(sorted(f"{m.path}/..." for m in workspace.modules))


def _propagate(graph: Graph, seeds: Mapping[str, Reason]) -> dict[str, Reason]:
    """Reverse-import closure of ``seeds``, each package with the shortest chain that reached
    it (breadth first, so the chain a person reads is the most direct one)."""
    importers: dict[str, list[str]] = {}
    for pkg in graph.packages.values():
        for imp in pkg.imports:
            importers.setdefault(imp, []).append(pkg.path)
    reached = dict(seeds)
    queue = deque(sorted(seeds))
    while queue:
        current = queue.popleft()
        reason = reached[current]
        for importer in sorted(importers.get(current, ())):
            if importer not in reached:
                reached[importer] = Reason(reason.file, (*reason.via, importer), reason.note)
                queue.append(importer)
    return reached


def _test_binaries(graph: Graph, build: Mapping[str, Reason]) -> dict[str, Reason]:
    """Test binaries that link an affected package, by owner, with the chain that reached them.

    A breadth-first walk up the test graph (mains and variants) from every node whose package
    is affected: this covers test-only imports, external ``_test`` packages and transitive
    test dependencies without reading each binary's full dependency list.
    """
    importers: dict[str, list[str]] = {}
    for node, imports in graph.test_nodes.items():
        for imp in imports:
            importers.setdefault(imp, []).append(node)
    reached: dict[str, Reason] = {}
    starts = [n for n in importers if base_path(n) in build]
    starts.sort(key=lambda n: (len(build[base_path(n)].via), n))
    for node in starts:
        reached[node] = build[base_path(node)]
    queue = deque(starts)
    while queue:
        current = queue.popleft()
        reason = reached[current]
        for importer in sorted(importers.get(current, ())):
            if importer in reached:
                continue
            name = base_path(importer)
            step = f"{name.removesuffix('.test')} (test)" if name.endswith(".test") else name
            via = reason.via if reason.via and reason.via[-1] == step else (*reason.via, step)
            reached[importer] = Reason(reason.file, via, reason.note)
            queue.append(importer)
    return {
        node.removesuffix(".test"): reason
        for node, reason in reached.items()
        if node.endswith(".test") and " [" not in node
    }


def _file_kind(path: str) -> FileKind:
    """What may read a file that no package claims: the Go toolchain, a C compiler or
    assembler, or only a test. Anything under a vendor folder feeds the build."""
    pure = PurePosixPath(path)
    if "vendor" in pure.parts[:-1] or pure.suffix in _GO_SOURCES:
        return "go"
    if pure.suffix in _NATIVE_SOURCES:
        return "native"
    return "data"


def _module_root(tree_root: Path, path: str) -> str | None:
    """The repository-relative folder of the innermost go.mod above ``path`` in a tree."""
    folder = PurePosixPath(path).parent
    while True:
        key = "" if str(folder) == "." else folder.as_posix()
        if (tree_root / key / "go.mod").is_file():
            return key
        if key == "":
            return None
        folder = folder.parent


def _edit_json(go: Go, path: Path, kind: str) -> dict[str, Any]:
    """``go mod edit -json`` / ``go work edit -json``: Go's own reading of the file."""
    with tempfile.TemporaryDirectory(prefix="goci-edit-") as scratch:
        copy = Path(scratch) / ("go.work" if kind == "work" else "go.mod")
        copy.write_bytes(path.read_bytes())
        result = go.with_env(GOWORK="off", GOFLAGS="").run(
            kind, "edit", "-json", str(copy), cwd=Path(scratch), check=False
        )
    if not result.ok:
        raise ToolError(f"{path.name} cannot be parsed: {result.stderr.strip()[:300]}")
    data = json.loads(result.stdout or "{}")
    return data if isinstance(data, dict) else {}


def _moved(old: BuildList, new: BuildList, path: str, scope: str) -> dict[str, Reason]:
    """Each dependency whose version or replacement differs between two build lists."""
    owner = scope or ", ".join(sorted(new.mains | old.mains))
    moved: dict[str, Reason] = {}
    for module in sorted(set(new.versions) | set(old.versions)):
        was, now = old.versions.get(module), new.versions.get(module)
        if was != now:
            note = f"{module} {was or '(none)'} -> {now or '(none)'} in {owner}'s build list"
            moved[module] = Reason(path, (), note)
    return moved


def _dep_move_reach(graph: Graph, move: _DepMove) -> tuple[dict[str, Reason], dict[str, Reason]]:
    """The packages of ``move``'s main modules whose build, and whose test binary, links a
    package of a moved module. The walk may pass through any package (a replaced local module
    is built with the main module's list), but only the main modules' packages are kept:
    other modules build with lists of their own."""
    starts: dict[str, Reason] = {}
    for pkg in graph.packages.values():
        why = move.moved.get(pkg.module)
        if why is not None and pkg.module not in move.mains:
            starts[pkg.path] = Reason(why.file, (pkg.path,), why.note)
    reach = _propagate(graph, starts)
    binaries = _test_binaries(graph, reach)

    def mine(name: str) -> bool:
        pkg = graph.packages.get(name)
        return pkg is not None and pkg.local and pkg.module in move.mains

    return (
        {p: r for p, r in reach.items() if mine(p)},
        {p: r for p, r in binaries.items() if mine(p)},
    )


def _uses(data: Mapping[str, Any]) -> list[str]:
    return sorted(str(u.get("DiskPath", "")) for u in data.get("Use") or ())
