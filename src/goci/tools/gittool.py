"""The door to ``git``: every call of ``git`` in goci goes through :class:`Git`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from goci.errors import InputError
from goci.tools import _proc

DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class Git:
    """``git`` run in one repository (any folder inside it), with an environment passed in."""

    cwd: Path
    env: Mapping[str, str]
    exe: str = "git"
    timeout: float = DEFAULT_TIMEOUT

    def run(
        self, *args: str, check: bool = True, stdin: str | None = None, timeout: float | None = None
    ) -> _proc.Completed:
        """Run ``git ARGS``; prompts are disabled so CI never hangs on credentials."""
        env = {**self.env, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        return _proc.run(
            [self.exe, *args],
            cwd=self.cwd,
            env=env,
            timeout=timeout or self.timeout,
            check=check,
            stdin=stdin,
        )

    def output(self, *args: str) -> str:
        """Stripped stdout of a git command that must succeed."""
        return self.run(*args).stdout.strip()

    def toplevel(self) -> Path:
        """The repository's root; an InputError when ``cwd`` is not inside a git repository."""
        top = self.toplevel_or_none()
        if top is None:
            raise InputError(f"{self.cwd} is not inside a git repository (git rev-parse failed)")
        return top

    def toplevel_or_none(self) -> Path | None:
        """The repository's root, or None outside a git repository."""
        result = self.run("rev-parse", "--show-toplevel", check=False)
        return Path(result.stdout.strip()) if result.ok and result.stdout.strip() else None

    def resolve(self, ref: str) -> str | None:
        """The full commit SHA of ``ref``, or None when the repository does not have it."""
        result = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return result.stdout.strip() if result.ok else None

    def commit_time(self, ref: str = "HEAD") -> int:
        """The committer timestamp of ``ref`` (seconds since the epoch): stable across reruns."""
        return int(self.output("log", "-1", "--format=%ct", ref))
