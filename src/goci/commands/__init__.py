"""The registry of subcommands; each lives in a module of its own under this package."""

from __future__ import annotations

from goci.command import Command
from goci.commands import (
    artifact,
    build,
    cache_key,
    cache_trim,
    changed,
    ci,
    coverage,
    gotest,
    matrix,
    promote,
)

COMMANDS: tuple[Command, ...] = (
    changed.COMMAND,
    matrix.COMMAND,
    build.COMMAND,
    cache_key.COMMAND,
    cache_trim.MARK,
    cache_trim.TRIM,
    gotest.COMMAND,
    coverage.COMMAND,
    artifact.PACK,
    artifact.UPLOAD,
    promote.COMMAND,
    ci.COMMAND,
    ci.DRONE_COMMAND,
)


def find(path: tuple[str, ...]) -> Command | None:
    """The command whose words are ``path``, or None."""
    return next((c for c in COMMANDS if c.path == path), None)
