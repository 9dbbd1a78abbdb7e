"""go.mod, go.work and their dependencies: which changes move what every package links.

A go.mod edit that only reorders lines changes nothing; one that moves a dependency's version
changes exactly the packages built with that build list. Go's own reading of the files
(``go mod edit -json``) and of the build lists (``go list -m all``) decides which.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from goci.changed.diff import FileChange
from goci.changed.pkggraph import BuildList, Loader
from goci.changed.seeds import DepMove, Reason, Seeds
from goci.errors import ToolError
from goci.tools.gotool import Go
from goci.tools.workspace import Workspace

_DEP_FIELDS = ("Require", "Replace", "Exclude")
_INERT_FIELDS = ("Retract",)


@dataclass(frozen=True)
class Tree:
    """One side of the comparison: a checked-out tree, the folder analysed in it, its modules."""

    root: Path
    dir: Path
    workspace: Workspace


def module_files(
    seeds: Seeds, changed: Sequence[FileChange], go: Go, loader: Loader, head: Tree, base: Tree
) -> None:
    """Seed what changed go.mod and go.work files touch: module shape, uses, dependencies."""
    dep_files: list[str] = []  # go.mod and go.work files whose requirements changed
    for f in changed:
        name = PurePosixPath(f.path).name
        if f.status != "M":
            what = "appeared" if f.status == "A" else "disappeared"
            seeds.all_of(f"{f.path} {what} (the set of modules changed)")
            continue
        kind = "work" if name == "go.work" else "mod"
        old = _edit_json(go, base.root / f.path, kind)
        new = _edit_json(go, head.root / f.path, kind)
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
        seeds.dep_moves.extend(_dep_moves(dep_files, loader, head, base))


def _dep_moves(changed: Sequence[str], loader: Loader, head: Tree, base: Tree) -> list[DepMove]:
    """What moved in each build list that can see the changed requirements.

    A build list belongs to a main module (or to the workspace): only packages built as
    that main module link the versions it selects, so a move is never applied to other
    modules. Lists compared: the workspace's (with a go.work), each changed module's own
    (GOWORK=off), and, without a go.work, each module whose go.mod has a replace
    directive, since its graph reads the go.mod of a local folder, changed or not.
    """
    places: dict[tuple[Path, Path, bool], str] = {}  # (head, base, gowork off) -> file
    first = sorted(changed)[0]
    head_root, base_root = head.root, base.root
    head_ws, base_ws = head.workspace, base.workspace
    if head_ws.gowork is not None or base_ws.gowork is not None:
        work_h = head_ws.gowork.parent if head_ws.gowork else head.dir
        work_b = base_ws.gowork.parent if base_ws.gowork else base.dir
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
    with ThreadPoolExecutor(max_workers=max(1, min(loader.jobs, len(keys)))) as pool:
        lists = dict(zip(keys, pool.map(lambda k: loader.build_list(*k), keys), strict=True))
    moves: list[DepMove] = []
    for (here, there, off), path in sorted(places.items()):
        new, old = lists[(here, off)], lists[(there, off)]
        moved = _moved(old, new, path, "the workspace" if not off else "")
        if moved:
            moves.append(DepMove(new.mains | old.mains, moved))
    return moves


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


def _uses(data: Mapping[str, Any]) -> list[str]:
    return sorted(str(u.get("DiskPath", "")) for u in data.get("Use") or ())
