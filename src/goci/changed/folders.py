"""Which folders of a tree hold modules of the build, and which module a changed file is in.

``go`` never reaches a folder named ``testdata`` or ``vendor``, nor one whose name starts with
``_`` or ``.``, through ``./...``; workspace discovery (``goci.tools.workspace``) skips them
too. A go.mod there is a test fixture or a vendored copy, not a module CI can build or test:
a file below it belongs to the module around that folder (and so, under ``testdata``, to the
tests beside it), unless a go.work names that folder explicitly.
"""

from __future__ import annotations

from collections.abc import Set
from pathlib import Path, PurePosixPath

_NEVER_BUILT = frozenset({"testdata", "vendor", "node_modules"})


def never_built(folder: str) -> bool:
    """Whether ``./...`` skips ``folder`` (``/``-separated, relative to where it is run)."""
    return any(p in _NEVER_BUILT or p.startswith(("_", ".")) for p in PurePosixPath(folder).parts)


def module_root(
    tree_root: Path, path: str, in_use: Set[Path] = frozenset(), within: str = ""
) -> str | None:
    """The repository-relative folder of the innermost go.mod above ``path`` in a tree.

    A go.mod in a folder ``./...`` skips (judged below ``within``, the analysed folder) is
    passed over unless its folder is in ``in_use`` (resolved folders of the modules a go.work
    uses): such a module is a fixture of the module around it.
    """
    folder = PurePosixPath(path).parent
    while True:
        key = "" if str(folder) == "." else folder.as_posix()
        if (tree_root / key / "go.mod").is_file():
            rel = key.removeprefix(within) if key.startswith(within) else key
            if (tree_root / key).resolve() in in_use or not never_built(rel):
                return key
        if key == "":
            return None
        folder = folder.parent
