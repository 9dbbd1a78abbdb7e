"""Which packages to test: ``./...`` of every module in use, or exactly what ``--packages`` names.

``go list`` of each module decides (from the module's own folder, so a repository of several
modules without a go.work is listed whole), and a package go cannot load is bad input, never a
package silently left out. Test functions are counted, so shards can be balanced without timings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from goci.errors import InputError
from goci.gotest.results import Package
from goci.tools.gotool import Go
from goci.tools.paths import within
from goci.tools.workspace import Module, Workspace, discover

_TEST_FUNC = re.compile(r"^func\s+(?:Test|Example|Fuzz)\w*\s*\(", re.MULTILINE)

_LIST_FIELDS = "ImportPath,Dir,Name,TestGoFiles,XTestGoFiles,GoFiles,Module,Error"


def _count_tests(folder: Path, files: Iterable[str]) -> int:
    total = 0
    for name in files:
        try:
            text = (folder / name).read_bytes().decode("utf-8", "replace")  # go says if invalid
            total += len(_TEST_FUNC.findall(text))
        except OSError:
            continue
    return total


def _package(item: Mapping[str, Any], workspace: Workspace) -> Package | None:
    folder = Path(item.get("Dir") or "")
    module_info = item.get("Module") or {}
    module: Module | None = None
    if module_info.get("Dir"):
        module = Module(str(module_info["Path"]), Path(module_info["Dir"]))
    elif item.get("Dir"):
        module = workspace.module_for(folder)
    if module is None or not item.get("Dir"):
        return None
    tests = [*(item.get("TestGoFiles") or []), *(item.get("XTestGoFiles") or [])]
    return Package(
        str(item["ImportPath"]), folder, module.path, module.dir, _count_tests(folder, tests)
    )


def _modules_of_pattern(pattern: str, workspace: Workspace, root: Path) -> list[tuple[Module, str]]:
    """A ``./dir/...`` above the modules (a go.work root) means every module below it."""
    if pattern.startswith(".") and pattern.endswith("/..."):
        folder = (root / pattern[: -len("/...")]).resolve()
        if workspace.module_for(folder) is None:
            below = [m for m in workspace.modules if m.dir != folder and within(m.dir, folder)]
            if below:
                return [(m, "./...") for m in below]
    return [_module_of_pattern(pattern, workspace, root)]


def _module_of_pattern(pattern: str, workspace: Workspace, root: Path) -> tuple[Module, str]:
    """The module a --packages entry belongs to, and the entry as seen from that module."""
    if pattern.startswith((".", "/")):
        base = pattern[: -len("/...")] if pattern.endswith("/...") else pattern
        folder = (root / base).resolve()
        module = workspace.module_for(folder)
        if module is None:
            raise InputError(
                f"--packages: {pattern!r} is not in any module in use; modules: "
                + ", ".join(m.path for m in workspace.modules)
            )
        rel = os.path.relpath(folder, module.dir).replace(os.sep, "/")
        local = "./" + ("" if rel == "." else rel)
        return module, (local.rstrip("/") or ".") + ("/..." if pattern.endswith("/...") else "")
    best: Module | None = None
    for module in workspace.modules:
        if (pattern == module.path or pattern.startswith(module.path + "/")) and (
            best is None or len(module.path) > len(best.path)
        ):
            best = module
    if best is None:
        raise InputError(
            f"--packages: {pattern!r} is not in any module in use; accepted: import paths or "
            "./folders of the modules " + ", ".join(m.path for m in workspace.modules)
        )
    return best, pattern


def module_patterns(
    root: Path, workspace: Workspace, patterns: Sequence[str] | None
) -> list[tuple[Module, list[str]]]:
    """Each module to test with the patterns it gets, as seen from its folder (no go call)."""
    jobs: dict[Path, tuple[Module, list[str]]] = {}
    if patterns is None:
        for module in workspace.modules:
            jobs[module.dir] = (module, ["./..."])
    else:
        for pattern in patterns:
            for module, local in _modules_of_pattern(pattern, workspace, root):
                jobs.setdefault(module.dir, (module, []))[1].append(local)
    return list(jobs.values())


def list_packages(
    root: Path,
    go: Go,
    patterns: Sequence[str] | None,
    *,
    tags: Sequence[str] = (),
    workspace: Workspace | None = None,
) -> list[Package]:
    """The packages to test: ``./...`` of every module in use, or exactly ``patterns``."""
    workspace = workspace or discover(root, go)
    flags = ["-tags=" + ",".join(tags)] if tags else []
    found: dict[str, Package] = {}
    for module, args in module_patterns(root, workspace, patterns):
        for item in go.list_json("-e", *flags, *args, cwd=module.dir, fields=_LIST_FIELDS):
            if item.get("Error") and not (item.get("Dir") and Path(item["Dir"]).is_dir()):
                raise InputError(
                    f"--packages: {item.get('ImportPath')!r} cannot be tested: "
                    f"{item['Error'].get('Err', '').strip()}"
                )
            package = _package(item, workspace)
            if package is not None:
                found.setdefault(package.import_path, package)
    return sorted(found.values(), key=lambda p: p.import_path)
