"""What a subcommand is: its options and outputs declared once, and a function that runs it.

The shells (CLI, Actions, Drone) only turn inputs into the command's options (an
:class:`goci.options.Options`) and a :class:`Result` into outputs, a report, a summary and an
exit code.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from goci.ci_env import CiEnv
from goci.options import Option, declared, parse
from goci.runtime import Runtime
from goci.tools.gotool import Go

if TYPE_CHECKING:  # loaded when first used: a command that never asks git starts faster
    from goci.tools.gittool import Git
    from goci.tools.paths import WorkspaceRoots


class Context:
    """Where and with what a command runs: folder, environment, CI adapter, tool doors.

    This module's classes are plain classes, not dataclasses: every command loads them, and
    ``goci cache-key``, which starts every CI job, loads nothing that imports dataclasses
    (~18 ms, then ~1.5 ms a class; see :class:`goci.runtime.Runtime`).
    """

    def __init__(
        self, cwd: Path, env: Mapping[str, str], runtime: Runtime, json_output: bool = False
    ) -> None:
        self.cwd = cwd
        self.env = env
        self.runtime = runtime
        #: ``--json``: the outputs go to stdout as one object, so logs must stay on stderr.
        self.json_output = json_output

    @cached_property
    def go(self) -> Go:
        return Go(self.env, exe=self.env.get("GOCI_GO", "go"))

    @cached_property
    def git(self) -> Git:
        from goci.tools.gittool import Git

        return Git(self.cwd, self.env)

    @cached_property
    def ci(self) -> CiEnv:
        """What the CI system says about this run, read from ``env`` once."""
        return CiEnv.from_env(self.env)

    @cached_property
    def workspace(self) -> WorkspaceRoots:
        """Where user-given paths may point: this folder, its repository, the CI's folders."""
        from goci.tools.paths import WorkspaceRoots

        top = self.git.toplevel_or_none()
        return WorkspaceRoots(self.cwd, (*((top,) if top else ()), *self.ci.roots))

    def path(self, value: str) -> Path:
        """A user-given path to read, relative to the command's folder."""
        return (self.cwd / value).resolve() if not os.path.isabs(value) else Path(value)

    def workspace_path(self, option: str, value: str, **rule: bool) -> Path:
        """A user-given path that must stay inside the workspace (see :mod:`goci.tools.paths`)."""
        from goci.tools.paths import workspace_path

        return workspace_path(option, value, self.workspace, **rule)


class Result:
    """What a command produced: outputs (named as the action's outputs), a report, a verdict."""

    def __init__(
        self,
        outputs: dict[str, Any] | None = None,
        report: str = "",
        summary: str = "",
        exit_code: int = 0,
    ) -> None:
        self.outputs = {} if outputs is None else outputs
        self.report = report
        self.summary = summary
        self.exit_code = exit_code


OptionsT = TypeVar("OptionsT")


class Command(Generic[OptionsT]):
    """A subcommand: ``path`` is its words after ``goci`` (``("cache", "trim")``).

    ``settings`` is its options class (see :class:`goci.options.Options`); ``run`` receives
    it filled. A ``cli_only`` command takes its options from its command line alone: another
    program starts it (the go command starts ``goci cacheprog``) in an environment whose
    ``INPUT_*``/``PLUGIN_*`` belong to some other step.
    """

    __slots__ = ("cli_only", "description", "help", "outputs", "path", "run", "settings")

    def __init__(
        self,
        path: tuple[str, ...],
        help: str,
        settings: type[OptionsT],
        outputs: tuple[str, ...],
        run: Callable[[OptionsT, Context], Result],
        description: str = "",
        cli_only: bool = False,
    ) -> None:
        self.path = path
        self.help = help
        self.settings = settings
        self.outputs = outputs
        self.run = run
        self.description = description
        self.cli_only = cli_only

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def options(self) -> tuple[Option, ...]:
        return declared(self.settings)

    def parse(self, cli: Mapping[str, Any], env: Mapping[str, str]) -> OptionsT:
        """The options from CLI flags, then ``INPUT_*``, then ``PLUGIN_*``, then defaults."""
        return parse(self.settings, cli, {} if self.cli_only else env)
