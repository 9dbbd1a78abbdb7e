"""Which packages a change touches, and their export data in the old and the new tree.

A package is touched when one of its non-test ``.go`` files was added, modified or deleted.
Main packages have no importable API and ``internal`` packages none outside their module, so
both are left out. Each tree is listed once with ``go list -e -export -deps`` (Go compiles what
its build cache lacks), per module or once for a go.work, like the package graph is.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goci.changed.diff import FileChange
from goci.tools.gittool import Git
from goci.tools.gotool import Go
from goci.tools.workspace import Workspace

FIELDS = "ImportPath,Name,Dir,Export,Module,Error,DepOnly"
_SKIPPED = {"testdata", "vendor"}


@dataclass(frozen=True)
class Listed:
    """One touched package as one tree's ``go list`` sees it."""

    import_path: str
    name: str
    module: str
    module_dir: str  # relative to the repository root ('' for the root)


@dataclass(frozen=True)
class Tree:
    """The touched packages of one tree by folder, and the export data of all they import."""

    packages: Mapping[str, Listed]
    exports: Mapping[str, str]
    errors: Mapping[str, str]  # folder -> why its package could not be compiled


@dataclass(frozen=True)
class Overlay:
    """A ``go -overlay`` file that shows the merge base's version of the changed files."""

    file: Path
    folders: frozenset[str]  # folders holding a file of the merge base (some maybe gone now)


def overlay_fits(changes: Iterable[FileChange]) -> bool:
    """Whether the merge base is the checkout with some ``.go`` files swapped: no module file,
    no embedded or assembly file changed (the overlay shows Go files; modules stay as read)."""
    return all(c.path.endswith(".go") for c in changes)


def base_overlay(git: Git, merge_base: str, top: Path, changes: Iterable[FileChange],
                 into: Path) -> Overlay:  # fmt: skip
    """Write the merge base's version of every changed file under ``into`` and the overlay
    mapping each to its checked-out path (an added file maps to '', Go's word for absent)."""
    # at the top: checkout-index reads the paths (repository-relative) against its folder
    private = Git(top, {**git.env, "GIT_INDEX_FILE": str(into / "index")}, git.exe)
    private.run("read-tree", merge_base)
    old = [c.path for c in changes if c.status != "A"]
    if old:
        private.run(
            "checkout-index", "--force", f"--prefix={into}/tree/", "-z", "--stdin",
            stdin="\0".join(old),
        )  # fmt: skip
    replace = {str(top / c.path): str(into / "tree" / c.path) for c in changes if c.status != "A"}
    replace.update({str(top / c.path): "" for c in changes if c.status == "A"})
    file = into / "overlay.json"
    file.write_text(json.dumps({"Replace": replace}), encoding="utf-8")
    return Overlay(file, frozenset(posixpath.dirname(p) for p in old))


def touched_folders(changes: Iterable[FileChange]) -> list[str]:
    """Folders (repository-relative) holding a changed non-test Go file, sorted."""
    folders = set()
    for change in changes:
        path = change.path
        if not path.endswith(".go") or path.endswith("_test.go"):
            continue
        folder = posixpath.dirname(path)
        parts = folder.split("/") if folder else []
        if any(p in _SKIPPED or p.startswith((".", "_")) for p in parts):
            continue
        folders.add(folder)
    return sorted(folders)


def api_free(folder: str, name: str) -> str:
    """Why a package has no API to compare ('' when it has one)."""
    if name == "main":
        return "a main package"
    if "internal" in folder.split("/"):
        return "an internal package"
    return ""


def _calls(root: Path, workspace: Workspace, present: list[str]) -> list[tuple[Path, list[str]]]:
    """(where to run go list, patterns) for the folders that exist in this tree."""
    if workspace.gowork is not None:
        base = workspace.gowork.parent
        patterns = ["./" + Path(os.path.relpath(root / f, base)).as_posix() for f in present]
        return [(base, patterns)] if patterns else []
    by_module: dict[Path, list[str]] = {}
    for folder in present:
        module = workspace.module_for(root / folder)
        if module is not None:
            rel = Path(os.path.relpath(root / folder, module.dir)).as_posix()
            by_module.setdefault(module.dir, []).append("./" + rel if rel != "." else ".")
    return sorted(by_module.items())


def list_tree(
    go: Go,
    root: Path,
    workspace: Workspace,
    folders: list[str],
    overlay: Overlay | None = None,
) -> Tree:
    """``go list -e -export -deps`` of the touched folders that exist in the tree at ``root``
    (seen through ``overlay`` when one is given).

    ``-trimpath`` keeps the folder out of the build cache's keys: a tree extracted into a new
    temporary folder on every run still finds its packages compiled.
    """
    packages: dict[str, Listed] = {}
    exports: dict[str, str] = {}
    errors: dict[str, str] = {}
    resolved = root.resolve()
    present = [f for f in folders if (root / f).is_dir() or (overlay and f in overlay.folders)]
    flags = [f"-overlay={overlay.file}"] if overlay else []
    for cwd, patterns in _calls(root, workspace, present):
        entries = go.list_json(
            "-e", "-export", "-deps", "-trimpath", *flags, *patterns, cwd=cwd, fields=FIELDS
        )
        for entry in entries:
            if entry.get("Export"):
                exports[str(entry["ImportPath"])] = str(entry["Export"])
            if not entry.get("DepOnly"):
                _add(entry, resolved, packages, errors)
    return Tree(packages, exports, errors)


def _add(
    entry: Mapping[str, Any], root: Path, packages: dict[str, Listed], errors: dict[str, str]
) -> None:
    folder_abs = Path(str(entry.get("Dir") or "")).resolve()
    try:
        folder = folder_abs.relative_to(root).as_posix()
    except ValueError:
        return
    folder = "" if folder == "." else folder
    error = (entry.get("Error") or {}).get("Err", "")
    if error and "no Go files" in error:
        return  # the folder holds no package on this side
    if error or not entry.get("Export"):
        errors[folder] = str(error or "no export data")
        return
    module = entry.get("Module") or {}
    module_dir = ""
    if module.get("Dir"):
        try:
            rel = Path(str(module["Dir"])).resolve().relative_to(root).as_posix()
        except ValueError:
            rel = "."
        module_dir = "" if rel == "." else rel
    packages[folder] = Listed(
        str(entry["ImportPath"]),
        str(entry.get("Name", "")),
        str(module.get("Path", "")),
        module_dir,
    )
