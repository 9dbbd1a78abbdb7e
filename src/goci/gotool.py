"""The door to the ``go`` command: every call of ``go`` in goci goes through :class:`Go`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goci import _proc
from goci.errors import ToolError

DEFAULT_TIMEOUT = 1800.0


def decode_json_stream(text: str) -> Iterator[dict[str, Any]]:
    """Decode the concatenated JSON objects that ``go list -json`` and ``go test -json`` print."""
    decoder = json.JSONDecoder()
    index, end = 0, len(text)
    while True:
        while index < end and text[index].isspace():
            index += 1
        if index >= end:
            return
        obj, index = decoder.raw_decode(text, index)
        yield obj


@dataclass(frozen=True)
class Go:
    """A ``go`` executable with the environment it runs in (passed in, never read globally)."""

    env: Mapping[str, str]
    exe: str = "go"
    timeout: float = DEFAULT_TIMEOUT
    overrides: Mapping[str, str] = field(default_factory=dict)

    def with_env(self, **extra: str) -> Go:
        """The same ``go`` with some variables set (GOOS, GOWORK=off, ...)."""
        return Go(self.env, self.exe, self.timeout, {**self.overrides, **extra})

    def environment(self) -> dict[str, str]:
        return {**self.env, **self.overrides}

    def run(
        self,
        *args: str,
        cwd: Path,
        check: bool = True,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> _proc.Completed:
        """Run ``go ARGS`` in ``cwd``; with ``check`` a non-zero exit raises a ToolError."""
        full_env = {**self.environment(), **(env or {})}
        return _proc.run(
            [self.exe, *args],
            cwd=cwd,
            env=full_env,
            timeout=timeout or self.timeout,
            check=check,
        )

    def env_values(self, names: Sequence[str], *, cwd: Path) -> dict[str, str]:
        """``go env -json NAMES``: Go's own view of its settings, defaults included."""
        result = self.run("env", "-json", *names, cwd=cwd)
        values = json.loads(result.stdout or "{}")
        return {name: str(values.get(name, "")) for name in names}

    def version(self, *, cwd: Path) -> str:
        """The exact toolchain version, as ``go env GOVERSION`` prints it (``go1.26.8``)."""
        return self.env_values(["GOVERSION"], cwd=cwd)["GOVERSION"]

    def list_json(
        self, *args: str, cwd: Path, check: bool = True, env: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """``go list -json ARGS`` decoded; with ``-e`` broken packages come back with ``Error``."""
        result = self.run("list", "-json", *args, cwd=cwd, check=False, env=env)
        if check and not result.ok and not result.stdout.strip():
            raise _proc.failure(result, "go list")
        try:
            return list(decode_json_stream(result.stdout))
        except json.JSONDecodeError as exc:
            raise ToolError(f"go list printed output that is not JSON: {exc}") from exc
