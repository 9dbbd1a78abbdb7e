"""go.sum and go.work.sum: what a change to the checksums can break.

go.mod decides what is built, so checksums that were only added break nothing. A checksum
that was removed is another matter: every build that needed it now fails with "missing go.sum
entry", and which builds needed it would take the module download to tell. So a removal
selects every package of the module(s) using that file (go.work.sum: every module of the
workspace); an addition is skipped. One exception keeps a dependency bump precise: when the
go.mod beside a go.sum changed too, a removed line counts only if head's build list still
selects that module version (``go mod tidy`` drops the checksums of versions no longer used,
and depmoves.py already judges what the moved versions reach).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from goci.changed.diff import ChangeSet, FileChange, file_at
from goci.changed.pkggraph import Graph, Loader
from goci.changed.seeds import Reason, Seeds
from goci.tools.gittool import Git
from goci.tools.workspace import Workspace

SUM_FILES = frozenset({"go.sum", "go.work.sum"})


def sum_files(
    seeds: Seeds,
    files: Iterable[FileChange],
    git: Git,
    change_set: ChangeSet,
    graph: Graph,
    workspace: Workspace | None,
    selected: Mapping[str, set[str]],
) -> None:
    """Seed the modules using each changed checksum file that lost lines; skip the others.

    ``selected`` maps a go.sum whose go.mod changed too to head's build list, as
    ``"module version"`` (:func:`selected_versions`).
    """
    for change in files:
        pure = PurePosixPath(change.path)
        if pure.name not in SUM_FILES:
            continue
        removed = _removed(git, change_set, change)
        if removed is not None and not removed:
            seeds.skipped.append((change.path, "checksums only added: go.mod decides the build"))
            continue
        kept = selected.get(change.path)
        if kept is not None and removed is not None and not removed & kept:
            why = "checksums removed only for versions head's build list no longer selects"
            seeds.skipped.append((change.path, why))
            continue
        folder = "" if str(pure.parent) == "." else pure.parent.as_posix()
        users = _users(pure.name, folder, graph, workspace)
        if not users:
            seeds.skipped.append((change.path, "checksums removed, but no module here uses it"))
            continue
        whose = "the workspace's modules" if pure.name == "go.work.sum" else users[0]
        note = f"checksums were removed from {change.path}: every build of {whose} may need them"
        for module in users:
            seeds.module_all(module, Reason(change.path, (), note))


def selected_versions(
    loader: Loader, tree_root: Path, files: Iterable[FileChange]
) -> dict[str, set[str]]:
    """For each changed go.sum whose go.mod changed as well, head's build list there (in the
    tree at ``tree_root``) as ``"module version"`` strings."""
    paths = {f.path for f in files}
    answer: dict[str, set[str]] = {}
    for path in paths:
        pure = PurePosixPath(path)
        if pure.name == "go.sum" and str(pure.with_name("go.mod")) in paths:
            versions = loader.build_list(tree_root / pure.parent).versions
            answer[path] = {f"{m} {v.split()[0]}" for m, v in versions.items() if v}
    return answer


def _removed(git: Git, change_set: ChangeSet, change: FileChange) -> set[str] | None:
    """The ``"module version"`` pairs of the lines gone at head; None when that cannot be told
    (no merge-base tree, a compare-API answer) or the file was deleted: assume the worst."""
    if change.status == "A":
        return set()
    if change.status == "D" or not change_set.has_base_tree or change_set.merge_base is None:
        return None
    old = file_at(git, change_set.merge_base, change.path)
    new = file_at(git, change_set.head, change.path)
    if old is None or new is None:
        return None
    return {_pair(line) for line in _lines(old) - _lines(new)}


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip()}


def _pair(line: str) -> str:
    """``mod v1.2.3/go.mod h1:...`` -> ``mod v1.2.3``."""
    fields = line.split()
    version = fields[1].removesuffix("/go.mod") if len(fields) > 1 else ""
    return f"{fields[0]} {version}"


def _users(name: str, folder: str, graph: Graph, workspace: Workspace | None) -> list[str]:
    """The local modules that read a checksum file: go.sum, the module beside it; go.work.sum,
    every module of the workspace in effect (or, with none, every module below it)."""
    if name == "go.sum":
        return sorted(m for m, d in graph.modules.items() if d == folder)
    if workspace is not None and workspace.gowork is not None and workspace.modules:
        return sorted(m.path for m in workspace.modules)
    below = f"{folder}/" if folder else ""
    return sorted(m for m, d in graph.modules.items() if f"{d}/".startswith(below))
