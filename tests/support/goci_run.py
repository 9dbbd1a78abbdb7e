"""Run goci the way the shells do, and read back what it wrote for GitHub Actions."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goci.cli import main

_HEREDOC = re.compile(
    r"^(?P<name>[^\n<=]+)<<(?P<delim>\S+)\n(?P<value>.*?)\n(?P=delim)\n", re.S | re.M
)


def read_key_values(path: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT / GITHUB_ENV file (delimiter form and plain ``k=v`` lines)."""
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    values: dict[str, str] = {}
    rest = text
    for match in _HEREDOC.finditer(text):
        values[match.group("name")] = match.group("value")
        rest = rest.replace(match.group(0), "")
    for line in rest.splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            values[key] = value
    return values


@dataclass
class GociRun:
    """One finished goci invocation."""

    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""

    def json(self) -> Any:
        return json.loads(self.stdout)


def actions_env(tmp: Path, base: Mapping[str, str]) -> dict[str, str]:
    """An environment that looks like a GitHub Actions step, with its files under ``tmp``."""
    tmp.mkdir(parents=True, exist_ok=True)
    env = dict(base)
    for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY", "GITHUB_PATH"):
        path = tmp / name.lower()
        path.touch()
        env[name] = str(path)
    env["GITHUB_ACTIONS"] = "true"
    env.setdefault("RUNNER_OS", "Linux")
    env.setdefault("RUNNER_TEMP", str(tmp))
    return env


def run_goci(
    *args: str, env: Mapping[str, str], cwd: Path | None = None, subprocess_: bool = False
) -> GociRun:
    """Run ``goci ARGS`` (in-process by default; as ``python -m goci`` with ``subprocess_``)."""
    full = dict(env)
    if subprocess_:
        proc = subprocess.run(
            [sys.executable, "-m", "goci", *args],
            cwd=cwd,
            env=full,
            capture_output=True,
            text=True,
            check=False,
        )
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    else:
        out_buf, err_buf = io.StringIO(), io.StringIO()
        argv = list(args)
        if cwd is not None and "--dir" not in argv:
            argv += ["--dir", str(cwd)]
        with contextlib.redirect_stdout(out_buf), contextlib.redirect_stderr(err_buf):
            code = main(argv, env=full)
        out, err = out_buf.getvalue(), err_buf.getvalue()
    outputs = read_key_values(Path(full["GITHUB_OUTPUT"])) if full.get("GITHUB_OUTPUT") else {}
    summary_path = full.get("GITHUB_STEP_SUMMARY")
    summary = (
        Path(summary_path).read_text() if summary_path and os.path.exists(summary_path) else ""
    )
    return GociRun(code, out, err, outputs, summary)
