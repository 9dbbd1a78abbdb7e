"""What a subcommand is: its options and outputs declared once, and a function that runs it.

The shells (CLI, Actions, Drone) only turn inputs into a values mapping and a
:class:`Result` into outputs, a report, a summary and an exit code.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from goci.options import Option
from goci.runtime import Runtime
from goci.tools.gittool import Git
from goci.tools.gotool import Go


@dataclass
class Context:
    """Where and with what a command runs: folder, environment, CI adapter, tool doors."""

    cwd: Path
    env: Mapping[str, str]
    runtime: Runtime

    @cached_property
    def go(self) -> Go:
        return Go(self.env, exe=self.env.get("GOCI_GO", "go"))

    @cached_property
    def git(self) -> Git:
        return Git(self.cwd, self.env)

    def path(self, value: str) -> Path:
        """A user-given path, relative to the command's folder."""
        return (self.cwd / value).resolve() if not os.path.isabs(value) else Path(value)


@dataclass
class Result:
    """What a command produced: outputs (named as the action's outputs), a report, a verdict."""

    outputs: dict[str, Any] = field(default_factory=dict)
    report: str = ""
    summary: str = ""
    exit_code: int = 0


Runner = Callable[[Mapping[str, Any], Context], Result]


@dataclass(frozen=True)
class Command:
    """A subcommand: ``path`` is its words after ``goci`` (``("cache", "trim")``)."""

    path: tuple[str, ...]
    help: str
    options: tuple[Option, ...]
    outputs: tuple[str, ...]
    run: Runner
    description: str = ""

    @property
    def name(self) -> str:
        return " ".join(self.path)
