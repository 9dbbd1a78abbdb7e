"""The one rule for paths that must stay inside the workspace.

A name a user gives (``--out``, ``--dist``, a ``./folder`` service) and a name a repository
gives (a file a coverage profile names, a file in ``dist/``) may both try to reach outside:
through ``..``, an absolute path, or a symbolic link. Every such check in goci goes through
:func:`inside` (is this path, links resolved, under one of these folders?) and, for names a
user gives, :func:`workspace_path`, whose refusal names the option and the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from goci.errors import InputError

#: Where everything goci writes goes by default: ``.goci/dist``, ``.goci/coverage``,
#: ``.goci/store``. Go and goci skip folders whose names start with a dot.
GOCI_FOLDER = ".goci"
_IGNORE_ALL = "# written by goci: nothing goci writes here belongs in git\n*\n"


def ignore_goci_folders(path: Path) -> None:
    """Make every ``.goci`` folder on the way to ``path`` ignore itself in git (a ``.gitignore``
    holding ``*``), before goci writes there: goci's output never shows as untracked."""
    for folder in (path, *path.parents):
        if folder.name == GOCI_FOLDER:
            ignore_folder(folder)


def ignore_folder(folder: Path) -> None:
    """Keep ``folder`` and everything in it out of git: a ``.gitignore`` holding ``*`` (an
    existing one is left as it is; two writers at once write it once)."""
    from goci.tools.atomic import write_once  # its imports are slow; few callers write

    write_once(folder / ".gitignore", _IGNORE_ALL)


def within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it, as written (no link is followed):
    for trees goci itself resolved, such as which module holds a package folder."""
    return path == folder or folder in path.parents


def inside(path: Path, folders: Iterable[Path]) -> bool:
    """Whether ``path``, symbolic links resolved, is one of ``folders`` or lies under one."""
    resolved = path.resolve()
    return any(within(resolved, folder.resolve()) for folder in folders)


@dataclass(frozen=True)
class WorkspaceRoots:
    """Where user-given paths may point: the working folder first, then the other roots
    (the repository, ``GITHUB_WORKSPACE``, the runner's temporary folder)."""

    cwd: Path
    others: tuple[Path, ...] = ()

    @property
    def roots(self) -> tuple[Path, ...]:
        return tuple(dict.fromkeys(p.resolve() for p in (self.cwd, *self.others)))


def workspace_path(
    option: str,
    value: str,
    workspace: WorkspaceRoots,
    *,
    must_exist: bool = False,
    may_be_root: bool = True,
) -> Path:
    """``value`` as a resolved path inside the workspace, or bad input naming ``option``.

    Relative paths are taken from the working folder; ``..`` is refused outright (it is how
    a name climbs out), an absolute path only where it lands inside a root, and symbolic
    links are followed before the check, so a link cannot carry the path out either.
    ``may_be_root=False`` refuses a root itself (a folder goci replaces must not be the
    workspace). ``must_exist`` also refuses a path that is not there.
    """
    name = f"--{option}" if re.fullmatch(r"[a-z][a-z0-9-]*", option) else option
    given = Path(value)
    accepted = "give a path inside the working directory (or the repository, or RUNNER_TEMP)"
    if not value.strip():
        raise InputError(f"{name}: {value!r} is not valid; {accepted}")
    if ".." in given.parts:
        raise InputError(f"{name}: {value!r} is not valid: it climbs out with '..'; {accepted}")
    resolved = (given if given.is_absolute() else workspace.cwd / given).resolve()
    roots = workspace.roots
    if not inside(resolved, roots):
        raise InputError(f"{name}: {value!r} is not valid: it is outside the workspace; {accepted}")
    if not may_be_root and resolved in roots:
        raise InputError(
            f"{name}: {value!r} is not valid: it is the workspace itself; give a folder in it"
        )
    if must_exist and not resolved.exists():
        raise InputError(f"{name}: {value!r} is not valid: it does not exist")
    return resolved
