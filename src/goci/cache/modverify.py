"""``go mod verify`` over every module in use, for a module cache that came from a fallback key.

A module cache restored by its exact key was saved for exactly these go.sum files; one restored
by a prefix was saved by another run, for other dependencies, possibly on another branch.
``go mod verify`` checks that what is in it is what go.sum says, so a cache that was tampered
with (or broken by a half-finished save) fails the job instead of feeding the build.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from goci.errors import VerdictError
from goci.tools._proc import quote_stderr
from goci.tools.gotool import Go
from goci.tools.workspace import discover


@dataclass(frozen=True)
class Verified:
    """The folders ``go mod verify`` ran in (the go.work folder, or each module)."""

    folders: tuple[Path, ...]


def verify(root: Path, go: Go) -> Verified:
    """Run ``go mod verify`` once for a go.work workspace, else once per module in use."""
    workspace = discover(root, go)
    folders = (
        (workspace.gowork.parent,)
        if workspace.gowork is not None
        else tuple(m.dir for m in workspace.modules)
    )
    for folder in folders:
        result = go.run("mod", "verify", cwd=folder, check=False)
        if not result.ok:
            raise VerdictError(
                f"go mod verify failed in {folder}: the module cache restored from a fallback "
                "key does not match go.sum; delete that cache entry (Actions > Caches) and "
                f"run again\n{quote_stderr(result.stderr)}"
            )
    return Verified(folders)
