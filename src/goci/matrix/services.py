"""Which services a repository has: its ``main`` packages, each with a stable, unique name.

A service is named by its folder (``cmd/api`` -> ``api``), made unique over every main package
of the modules in use, so a service keeps its name (and its ``dist/{service}`` folder) whichever
subset a job builds; ``--services`` may name one by import path, ``./folder`` or that name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from goci.errors import InputError, closest
from goci.tools.gotool import Go
from goci.tools.paths import WorkspaceRoots, inside, workspace_path
from goci.tools.workspace import Workspace

_MAJOR = re.compile(r"^v\d+$")
_MAIN_FIELDS = "Name,ImportPath,Dir,Module,Error"


@dataclass(frozen=True)
class MainPackage:
    """A ``main`` package: what gets built, and the service name its folder is filed under."""

    import_path: str
    dir: Path
    module: str
    module_dir: Path
    service: str

    @property
    def binary(self) -> str:
        """``go build``'s own naming: the last element, a ``/vN`` major suffix skipped."""
        parts = self.import_path.split("/")
        if len(parts) > 1 and _MAJOR.match(parts[-1]):
            return parts[-2]
        return parts[-1]


def _service_names(packages: Sequence[tuple[str, Path, str, Path]]) -> dict[str, str]:
    """Folder base names, made unique by prefixing parent folders (``cmd-api``, ``tools-api``).

    Names are decided over every main package of the modules in use, so a service keeps its
    name whichever subset a job builds.
    """

    def words(path: str) -> list[str]:
        parts = path.split("/")
        if len(parts) > 1 and _MAJOR.match(parts[-1]):
            parts = parts[:-1]
        return parts

    depth = dict.fromkeys((p[0] for p in packages), 1)
    while True:
        names = {ip: "-".join(words(ip)[-depth[ip] :]) for ip in depth}
        groups: dict[str, list[str]] = {}
        for ip, name in names.items():
            groups.setdefault(name, []).append(ip)
        clashing = [ips for ips in groups.values() if len(ips) > 1]
        grown = False
        for ips in clashing:
            for ip in ips:
                if depth[ip] < len(words(ip)):
                    depth[ip] += 1
                    grown = True
        if not clashing or not grown:
            return names


RELEASE_FOLDERS = ("dev", "prod")
"""``dist/dev`` and ``dist/prod`` hold packed releases (:mod:`goci.release.names`), so no
service may be filed under those names."""


def _refuse_release_folders(
    names: dict[str, str], found: dict[str, tuple[str, Path, str, Path]]
) -> None:
    """Bad input when a main package would be the service ``dev`` or ``prod``.

    ``goci build`` would write its binaries into ``dist/dev/``, the folder of the packed dev
    releases: pack skipped it without a word and upload refused the whole dist. Renaming is
    the package's owner's call (a parent folder in the name, ``cmd-dev``, only comes when two
    packages share a base name), so it is refused here, where services get their names.
    """
    for import_path, name in sorted(names.items()):
        if name in RELEASE_FOLDERS:
            raise InputError(
                f"{found[import_path][1]}: the main package {import_path} would be the service "
                f"{name!r}, but dist/{name} is where goci packs the {name} releases; rename its "
                "folder (cmd/dev -> cmd/devserver, say)"
            )


def main_packages(workspace: Workspace, go: Go) -> tuple[MainPackage, ...]:
    """Every ``main`` package of the modules in use (``go list ./...`` per module).

    A module go cannot load fails here (GoListError) rather than building the others' services
    only; so does a package whose files go cannot even name, since it may be a service.
    """
    found: dict[str, tuple[str, Path, str, Path]] = {}
    for module in workspace.modules:
        listed = go.list_json("-e", "./...", cwd=module.dir, fields=_MAIN_FIELDS)
        for item in listed:
            if item.get("Error") and not item.get("Name"):
                error = item["Error"]
                pos = str(error.get("Pos") or "")
                where = f"{module.dir / pos if pos else ''}: " if pos else ""
                raise InputError(
                    f"{where}{str(error.get('Err', '')).strip()} (go list cannot tell whether "
                    f"{item.get('ImportPath')} is a main package, so it might be a service "
                    "that would not be built; fix the package)"
                )
            mod = item.get("Module") or {}
            path = str(item.get("ImportPath", ""))
            if item.get("Name") == "main" and mod.get("Dir") and path not in found:
                found[path] = (path, Path(item["Dir"]), str(mod["Path"]), Path(mod["Dir"]))
    names = _service_names(list(found.values()))
    _refuse_release_folders(names, found)
    return tuple(
        MainPackage(ip, folder, mod, mod_dir, names[ip])
        for ip, folder, mod, mod_dir in sorted(found.values())
    )


def select(
    words: Sequence[str], mains: Sequence[MainPackage], root: Path, input_name: str = "services"
) -> tuple[MainPackage, ...]:
    """Main packages named by import path, ``./folder`` or service name."""
    chosen: dict[str, MainPackage] = {}
    by_path = {m.import_path: m for m in mains}
    by_dir = {m.dir.resolve(): m for m in mains}
    by_name = {m.service: m for m in mains}
    for word in words:
        text = word.strip()
        if text.startswith((".", "/")) or os.path.isabs(text) or ".." in text.split("/"):
            folder = workspace_path(input_name, text, WorkspaceRoots(root))
            package = by_dir.get(folder)
            if package is None:
                what = "is not a folder" if not folder.is_dir() else "is not a main package"
                raise InputError(
                    f"{input_name}: {text!r} {what}; main packages here: "
                    + ", ".join(
                        "./" + str(m.dir.relative_to(root)) for m in mains if inside(m.dir, [root])
                    )
                )
        else:
            package = by_path.get(text) or by_name.get(text)
            if package is None:
                hint = closest(text, [*by_path, *by_name])
                raise InputError(
                    f"{input_name}: {text!r} is not a main package of the modules in use{hint}; "
                    f"main packages: {', '.join(by_path) or 'none'}"
                )
        chosen[package.import_path] = package
    return tuple(chosen.values())
