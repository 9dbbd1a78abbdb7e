"""The registry of subcommands; each lives in a module of its own under this package.

Command modules are imported only when their command runs (or ``--help`` lists options), so
``goci --version`` and ``goci cache-key`` do not pay for the imports of every other command.
Commands never import one another: what several need lives in ``_shared``, and ``_pipeline``
holds the steps of ``goci ci``; modules whose names start with ``_`` are not commands.
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

from goci.command import Command


class Entry(NamedTuple):
    """Where a command is defined: its words, its module and the module attribute.

    A named tuple, not a dataclass: the registry is built on every start, and a frozen
    dataclass costs about three times as much to define (bench/cache_key.py)."""

    path: tuple[str, ...]
    module: str
    attribute: str
    help: str

    def load(self) -> Command[Any]:
        command: Command[Any] = getattr(
            importlib.import_module(f"goci.commands.{self.module}"), self.attribute
        )
        return command


ENTRIES: tuple[Entry, ...] = (
    Entry(("cache-key",), "cache_key", "COMMAND", "cache keys for the module and build caches"),
    Entry(("cache", "mark"), "cache_trim", "MARK", "record the restore time of the build cache"),
    Entry(
        ("cache", "trim"), "cache_trim", "TRIM", "drop unused build-cache entries, keep a budget"
    ),
    Entry(("changed",), "changed", "COMMAND", "packages, services and modules a change affects"),
    Entry(("matrix",), "matrix", "COMMAND", "Go versions x platforms as a strategy.matrix"),
    Entry(("build",), "build", "COMMAND", "stripped, reproducible binaries of the services"),
    Entry(("test",), "gotest", "COMMAND", "go test per package in parallel, with coverage"),
    Entry(("coverage", "merge"), "coverage", "COMMAND", "merge coverage of every job and shard"),
    Entry(("artifact", "pack"), "artifact", "PACK", "dist/dev|prod releases with SHA256SUMS"),
    Entry(("artifact", "upload"), "artifact", "UPLOAD", "upload releases to a store"),
    Entry(("promote",), "promote", "COMMAND", "promote a dev build to prod; roll back"),
    Entry(("api-diff",), "api_diff", "COMMAND", "exported API changes, compatible or breaking"),
    Entry(("pr-comment",), "pr_comment", "COMMAND", "the report as one pull-request comment"),
    Entry(("cacheprog",), "cacheprog", "COMMAND", "GOCACHEPROG server: one build cache for all"),
    Entry(("ci",), "ci", "COMMAND", "the whole pipeline on one machine"),
    Entry(("drone",), "ci", "DRONE_COMMAND", "the pipeline as a Drone/Woodpecker plugin"),
)


def find_entry(path: tuple[str, ...]) -> Entry | None:
    return next((e for e in ENTRIES if e.path == path), None)


def find(path: tuple[str, ...]) -> Command[Any] | None:
    """The command whose words are ``path``, or None."""
    entry = find_entry(path)
    return entry.load() if entry else None


def all_commands() -> tuple[Command[Any], ...]:
    """Every command, loaded (tests and documentation want them all)."""
    return tuple(entry.load() for entry in ENTRIES)


def __getattr__(name: str) -> tuple[Command[Any], ...]:
    if name == "COMMANDS":
        return all_commands()
    raise AttributeError(name)
