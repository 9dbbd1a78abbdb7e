"""What a change can break: the packages, test binaries, services and modules it affects.

The analysis errs on one side only. A file nobody owns follows an explicit policy, a failed
step answers "everything" with the reason, and the graph is the union of head and merge base
(and of every platform asked for), so a deleted package or a Windows-only import still marks
its importers. Precision comes from the graph itself: ``go list -deps`` and the test files'
imports say exactly what each test binary links, and ``go list -m all`` says which dependency
versions really moved.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from goci.changed import diff
from goci.changed.depmoves import Tree, module_files
from goci.changed.diff import ChangeSet, FileChange
from goci.changed.folders import module_root
from goci.changed.globs import DEFAULT_GLOBAL_FILES, global_reason
from goci.changed.orphans import ORPHAN_POLICIES, own_files
from goci.changed.pkggraph import Graph, Loader, discover_tree, worktree
from goci.changed.propagate import dep_move_reach, propagate, test_binaries
from goci.changed.seeds import Reason, Seeds
from goci.changed.sums import selected_versions, sum_files
from goci.ci_env import CiEnv
from goci.errors import GociError, InputError, ToolError
from goci.matrix.platforms import Platform, dist_list, parse_all
from goci.tools.gittool import Git
from goci.tools.gotool import Go
from goci.tools.workspace import Workspace


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
    missing_base: str = ""  # the base asked for that is gone (a force push), when so

    def reason_json(self) -> dict[str, Any]:
        return {pkg: self.reasons[pkg].as_dict() for pkg in self.packages if pkg in self.reasons}


def analyse(
    root: Path,
    go: Go,
    git: Git,
    *,
    base: str | None = None,
    head: str | None = None,
    ci: CiEnv | None = None,
    platforms: Sequence[str] = (),
    global_files: Sequence[str] = DEFAULT_GLOBAL_FILES,
    orphan_files: str = "nearest",
    ignore_comments: bool = False,
    deepen_limit: int = diff.DEFAULT_DEEPEN_LIMIT,
    token: str = "",
) -> AffectedSet:
    """Everything a change between ``base`` and ``head`` can break, for the Go code at ``root``.

    ``base``/``head`` default to the CI event in ``ci`` (GitHub or Drone). Bad refs and bad
    options raise InputError; any other failure answers "everything" with the reason.
    """
    ci = ci or CiEnv()
    if orphan_files not in ORPHAN_POLICIES:
        raise InputError(
            f"--orphan-files: {orphan_files!r} is not valid; use one of nearest, all, ignore"
        )
    wanted = parse_all(platforms, dist_list(go, root), input_name="--platform") if platforms else ()
    platform_list: tuple[Platform | None, ...] = wanted or (None,)
    repo_root = git.toplevel()
    refs = diff.refs_from_event(ci, base, head)

    def compare(old: str, new: str) -> tuple[str | None, tuple[FileChange, ...]] | None:
        from goci.changed.compare_api import compare_files

        return compare_files(ci.repository, old, new, api_url=ci.api_url, token=token)

    fallback = compare if ci.repository else None
    change_set = diff.collect(git, refs, deepen_limit=deepen_limit, compare=fallback)
    loader = Loader(go.lister(cwd=root))
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
    quiet: tuple[FileChange, ...] = ()  # changed only in comments (--ignore-comments)

    @property
    def subdir(self) -> str:
        rel = os.path.relpath(self.root, self.repo_root)
        return "" if rel == "." else Path(rel).as_posix()

    def run(self) -> AffectedSet:
        seeds = Seeds()
        cs = self.change_set
        if cs.everything:
            seeds.all_of(cs.everything)
            return self._finish(seeds, self._head_only_graph(seeds), cs.files)
        try:
            files = self._relevant_files()
            return self._analyse_files(seeds, files)
        except InputError:
            raise
        except (GociError, OSError, ValueError, KeyError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            seeds.all_of(f"the analysis failed, so everything runs: {first}")
            return self._finish(seeds, self._head_only_graph(seeds), cs.files)

    # -- files -----------------------------------------------------------------------------

    def _relevant_files(self) -> list[FileChange]:
        """The changed files, minus comment-only Go edits when asked (kept in ``quiet`` until
        the graph says whether a package compiles them, see :meth:`_quiet_data`).

        Files outside ``--dir`` stay: a module there may be required through a replace
        directive, and its packages then appear in the graph with their own files.
        """
        files = list(self.change_set.files)
        if self.ignore_comments and self.change_set.merge_base and self.change_set.has_base_tree:
            from goci.changed.comments import comment_only

            # A .go file under testdata/ is data (a golden file): its comments are content.
            candidates = [
                f.path
                for f in files
                if f.status == "M"
                and f.path.endswith(".go")
                and "testdata" not in PurePosixPath(f.path).parts[:-1]
            ]
            quiet = comment_only(
                self.git, self.go, self.change_set.merge_base, self.change_set.head, candidates
            )
            self.quiet = tuple(f for f in files if f.path in quiet)
            files = [f for f in files if f.path not in quiet]
        return files

    def _quiet_data(self, seeds: Seeds, graph: Graph) -> list[FileChange]:
        """The comment-only files no package compiles: data a test or tool may read whole, so
        they count as changed; the others are skipped."""
        compiled: set[str] = set()
        for pkg in graph.packages.values():
            if pkg.local:
                compiled |= pkg.files | pkg.test_files
        data = [f for f in self.quiet if f.path not in compiled]
        for f in sorted(self.quiet, key=lambda f: f.path):
            if f.path in compiled:
                seeds.skipped.append((f.path, "only comments or white space changed"))
        return data

    # -- the main path ---------------------------------------------------------------------

    def _analyse_files(self, seeds: Seeds, files: list[FileChange]) -> AffectedSet:
        cs = self.change_set
        go_meta = [f for f in files if PurePosixPath(f.path).name in {"go.mod", "go.work"}]
        need_base = any(f.status == "D" for f in files) or bool(go_meta)
        for f in files:
            why = global_reason(f.path, self.global_files)
            if why is not None:
                seeds.all_of(why)
        if seeds.everything:
            return self._finish(seeds, self._head_only_graph(seeds), cs.files)
        if need_base and not cs.has_base_tree:
            seeds.all_of(
                "files were deleted or go.mod/go.work changed, and the merge base is not on "
                "disk (compare API answer), so the old graph cannot be loaded"
            )
            return self._finish(seeds, self._head_only_graph(seeds), cs.files)
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
                    head = Tree(h, self._tree_dir(h), head_ws)
                    base = Tree(base_root, self._tree_dir(base_root), base_ws)
                    module_files(seeds, go_meta, self.go, self.loader, head, base)
                    sums = selected_versions(self.loader, h, files)
            union = Graph()
            union.merge(base_graph)
            union.merge(head_graph)
        else:
            with self._maybe_head(head_tree) as h:
                head_graph, head_ws = self._load_tree(h, files)
            union, sums = head_graph, {}
        self.head_graph, self.head_workspace = head_graph, head_ws
        files += self._quiet_data(seeds, union)
        sum_files(seeds, files, self.git, cs, union, head_ws, sums)
        own_files(seeds, files, union, repo_root=self.repo_root, policy=self.orphan_policy)
        return self._finish(seeds, union, cs.files, head_graph)  # comment-only ones too

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
        in_use = {m.dir.resolve() for m in workspace.modules}
        inside = f"{self.subdir}/" if self.subdir else ""
        if only is not None:
            roots = {module_root(tree_root, f.path, in_use, inside) for f in only}
            keep = {(tree_root / r).resolve() for r in roots if r is not None}
            modules = tuple(m for m in workspace.modules if m.dir.resolve() in keep)
            listed = Workspace(workspace.root, workspace.gowork, modules)
        # Changed modules the workspace does not use, listed on their own. A go.mod under
        # testdata/ or vendor/ (or a folder starting with _ or .) is no module of the build:
        # module_root passes over it, and its files belong to the module around it.
        extra: set[str] = set()
        for f in files:
            folder = module_root(tree_root, f.path, in_use, inside)
            if folder is None or (tree_root / folder).resolve() in in_use:
                continue
            if not inside or f"{folder}/".startswith(inside):
                extra.add(folder)
        graph = self.loader.tree_graph(tree_root, listed, self.platforms, tuple(sorted(extra)))
        for module in workspace.modules:
            rel = os.path.relpath(module.dir, tree_root)
            graph.modules.setdefault(module.path, "" if rel == "." else Path(rel).as_posix())
        return graph, workspace

    def _head_only_graph(self, seeds: Seeds) -> Graph | None:
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

    # -- propagation -----------------------------------------------------------------------

    def _finish(
        self,
        seeds: Seeds,
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
                missing_base=cs.missing_base,
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
        build = propagate(graph, seeds.build)
        tests: dict[str, Reason] = {}
        for pkg, reason in seeds.tests.items():
            tests.setdefault(pkg, reason)
        for owner, reason in test_binaries(graph, build).items():
            tests.setdefault(owner, reason)
        for name, reason in build.items():
            found = graph.packages.get(name)
            if found is not None and found.local and found.errors and found.test_files:
                tests.setdefault(name, reason)
        # Added after the propagation on purpose: importers in other modules build with
        # their own lists, and a list of theirs that moved is a move of its own.
        for move in seeds.dep_moves:
            move_build, move_tests = dep_move_reach(graph, move)
            for name, reason in move_build.items():
                build.setdefault(name, reason)
            for name, reason in move_tests.items():
                tests.setdefault(name, reason)
        shown = (local & existing) - seeds.unlisted
        listed = sorted(p for p in (set(build) | set(tests)) & shown)
        test_listed = sorted(p for p in set(tests) & shown)
        services = sorted(p for p in set(build) & shown if head_graph.packages[p].is_main)
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
            missing_base=cs.missing_base,
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
