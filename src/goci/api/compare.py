"""The API diff of a change: every touched package, old against new, and the verdict.

A breaking change is one a client of the package could stop compiling on. It blocks only
where semantic versioning promises compatibility: not in a module at v0 (no release tag of
v1 or later, and no ``/vN`` path), and not when the module path takes a new major version
(``example.com/m`` becoming ``example.com/m/v2``).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goci.api.trees import (
    Listed,
    Tree,
    api_free,
    base_overlay,
    list_tree,
    overlay_fits,
    touched_folders,
)
from goci.changed.diff import diff_files
from goci.changed.pkggraph import discover_tree, worktree
from goci.errors import ToolError
from goci.tools.gittool import Git
from goci.tools.gotool import GO_HELPERS, Go

HELPER = GO_HELPERS / "apidiff"
_MAJOR = re.compile(r"/v(\d+)$")
_SEMVER = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")


@dataclass(frozen=True)
class Change:
    """One exported identifier added, removed or changed, with both declarations."""

    name: str  # F, T, T.Field, T.Method, (*T).Method
    kind: str  # func, method, type, field, const, var
    change: str  # added, removed, changed
    old: str
    new: str
    compatible: bool
    why: str


@dataclass(frozen=True)
class PackageDiff:
    folder: str
    old_path: str  # '' when the package is new
    new_path: str  # '' when it is gone
    changes: tuple[Change, ...]
    excused: str = ""  # why breaking changes do not block: "v0 module", "new major version v2"
    error: str = ""

    @property
    def package(self) -> str:
        return self.new_path or self.old_path

    @property
    def breaking(self) -> int:
        return sum(1 for c in self.changes if not c.compatible)

    @property
    def compatible(self) -> int:
        return sum(1 for c in self.changes if c.compatible)

    @property
    def blocking(self) -> int:
        return 0 if self.excused else self.breaking

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "folder": self.folder,
            "old": self.old_path,
            "new": self.new_path,
            "excused": self.excused,
            "error": self.error,
            "changes": [c.__dict__ for c in self.changes],
        }


@dataclass(frozen=True)
class ApiDiff:
    merge_base: str
    packages: tuple[PackageDiff, ...]  # with changes or errors only
    compared: int  # touched packages with an API
    skipped: tuple[tuple[str, str], ...]  # (folder, why) of touched packages without an API

    @property
    def counts(self) -> dict[str, int]:
        return {
            "compatible": sum(p.compatible for p in self.packages),
            "breaking": sum(p.breaking for p in self.packages),
            "blocking": sum(p.blocking for p in self.packages),
        }


def major(module_path: str) -> int:
    """The major version a module path names: ``/v2`` is 2; no suffix is 0 or 1."""
    match = _MAJOR.search(module_path)
    return int(match.group(1)) if match else 0


def highest_tag(git: Git, module_dir: str) -> tuple[int, int, int] | None:
    """The highest release tag of the module in ``module_dir`` (``sub/v1.2.3`` for a nested one)."""
    prefix = f"{module_dir}/" if module_dir else ""
    found = []
    for tag in git.run("tag", "--list", f"{prefix}v*", check=False).stdout.split():
        match = _SEMVER.match(tag[len(prefix) :])
        if match:
            found.append((int(match.group(1)), int(match.group(2)), int(match.group(3))))
    return max(found) if found else None


def excuse(
    git: Git, old: Listed | None, new: Listed | None, tags: dict[str, Any] | None = None
) -> str:
    """Why breaking changes of this package may pass ('' when they block); ``tags`` keeps
    each module's highest tag for the next package of the same module."""
    if new is None:
        return ""
    if old is not None and major(new.module) > major(old.module):
        return f"new major version v{major(new.module)}"
    if major(new.module) >= 2:
        return ""
    tags = {} if tags is None else tags
    if new.module_dir not in tags:
        tags[new.module_dir] = highest_tag(git, new.module_dir)
    tag = tags[new.module_dir]
    if tag is None:
        return "v0 module (no release tag)"
    return "v0 module" if tag[0] == 0 else ""


def _change(item: Mapping[str, Any]) -> Change:
    return Change(
        name=str(item["name"]),
        kind=str(item["kind"]),
        change=str(item["change"]),
        old=str(item.get("old", "")),
        new=str(item.get("new", "")),
        compatible=bool(item["compatible"]),
        why=str(item.get("why", "")),
    )


def run_helper(
    go: Go, pairs: list[dict[str, str]], old: Tree, new: Tree, cwd: Path
) -> dict[str, Any]:
    """The helper's answer per pair label (changes, or an error)."""
    request = {"pairs": pairs, "old": dict(old.exports), "new": dict(new.exports)}
    result = go.run_helper(HELPER, stdin=json.dumps(request), cwd=cwd)
    answers = {}
    for line in result.stdout.splitlines():
        item = json.loads(line)
        answers[item["label"]] = item
    missing = [p["label"] for p in pairs if p["label"] not in answers]
    if missing:
        raise ToolError(f"the apidiff helper gave no answer for {missing[0]}")
    return answers


def analyse(go: Go, git: Git, root: Path, merge_base: str, head: str) -> ApiDiff:
    """Compare the API of every touched package between ``merge_base`` and the checkout.

    The merge base's tree is the checkout seen through a ``go -overlay`` of the changed files
    when only ``.go`` files changed (the usual case: nothing to extract, one workspace), and a
    full extraction otherwise.
    """
    changes = diff_files(git, merge_base, head)
    folders = touched_folders(changes)
    top = git.toplevel()
    if not folders:
        return ApiDiff(merge_base, (), 0, ())
    if overlay_fits(changes):
        with tempfile.TemporaryDirectory(prefix="goci-api-base-") as scratch:
            overlay = base_overlay(git, merge_base, top, changes, Path(scratch))
            workspace = discover_tree(root, go)
            with ThreadPoolExecutor(max_workers=2) as pool:
                old, new = pool.map(
                    lambda o: list_tree(go, top, workspace, folders, o), [overlay, None]
                )
            return _compare(go, git, root, merge_base, folders, old, new)
    with worktree(git, merge_base) as base_root:
        base_dir = base_root / root.resolve().relative_to(top.resolve())
        trees = [(base_dir, base_root), (root, top)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            old, new = pool.map(
                lambda t: list_tree(go, t[1], discover_tree(t[0], go), folders), trees
            )
        return _compare(go, git, root, merge_base, folders, old, new)


def _compare(
    go: Go, git: Git, root: Path, merge_base: str, folders: list[str], old: Tree, new: Tree
) -> ApiDiff:
    pairs: list[dict[str, str]] = []
    skipped: list[tuple[str, str]] = []
    for folder in folders:
        o, n = old.packages.get(folder), new.packages.get(folder)
        broken = [
            (side, tree.errors[folder])
            for side, tree in (("head", new), ("the merge base", old))
            if folder in tree.errors
        ]
        if broken:
            side, why = broken[0]
            skipped.append((folder, f"does not compile at {side}: {why.splitlines()[0]}"))
            continue
        if o is None and n is None:
            continue
        why = api_free(folder, (n or o).name)  # type: ignore[union-attr]
        if why:
            skipped.append((folder, why))
            continue
        pairs.append(
            {"label": folder, "old": o.import_path if o else "", "new": n.import_path if n else ""}
        )
    answers = run_helper(go, pairs, old, new, root) if pairs else {}
    packages = []
    tags: dict[str, Any] = {}
    for pair in pairs:
        answer = answers[pair["label"]]
        folder = pair["label"]
        diff = PackageDiff(
            folder=folder,
            old_path=pair["old"],
            new_path=pair["new"],
            changes=tuple(_change(c) for c in answer.get("changes") or ()),
            excused=excuse(git, old.packages.get(folder), new.packages.get(folder), tags),
            error=str(answer.get("error", "")),
        )
        if diff.changes or diff.error:
            packages.append(diff)
    return ApiDiff(merge_base, tuple(packages), len(pairs), tuple(skipped))
