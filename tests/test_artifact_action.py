"""actions/artifact-upload/action.yml: its goci step runs as bash would run it, in both modes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import artifacts
from support.artifacts import STAMP
from support.goci_run import actions_env, read_key_values

ACTION = Path(__file__).resolve().parent.parent / "actions" / "artifact-upload" / "action.yml"
EXPR = re.compile(r"^\$\{\{\s*inputs\.([a-z0-9-]+)\s*\}\}$")


def load() -> dict[str, Any]:
    data = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def run_step(
    inputs: dict[str, str], base_env: dict[str, str], gha: Path
) -> tuple[int, str, dict[str, str]]:
    data = load()
    (step,) = [s for s in data["runs"]["steps"] if s.get("id") == "goci"]
    values = {n: str(spec.get("default", "")) for n, spec in data["inputs"].items()}
    values["github-token"] = ""  # ${{ github.token }} outside Actions
    values.update(inputs)
    env = actions_env(gha, base_env)
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    for key, expr in step["env"].items():
        match = EXPR.match(expr)
        assert match is not None, expr
        env[key] = values[match.group(1)]
    proc = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", step["run"]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr, read_key_values(Path(env["GITHUB_OUTPUT"]))


@pytest.fixture
def ws(tmp_path: Path, go_env: dict[str, str]) -> Path:
    return artifacts.workspace(tmp_path / "ws", go_env)


def test_upload_mode_packs_and_uploads_then_promote_mode_promotes(
    ws: Path, go_env: dict[str, str], tmp_path: Path
) -> None:
    store = f"file://{tmp_path / 'store'}"
    code, log, outputs = run_step(
        {"mode": "upload", "service": "api", "store": store, "working-directory": str(ws)},
        go_env,
        tmp_path / "gha1",
    )
    assert code == 0, log
    assert (
        outputs["manifest-url"] == f"{(tmp_path / 'store').as_uri()}/dev/api-{STAMP}/manifest.json"
    )
    assert outputs["version"] == STAMP
    assert "path" not in outputs  # pack's own outputs stay out of the action's
    assert (tmp_path / "store" / f"dev/api-{STAMP}/SHA256SUMS").is_file()
    code, log, outputs = run_step(
        {
            "mode": "promote",
            "service": "api",
            "version": "1.0.0",
            "store": store,
            "working-directory": str(ws),
        },
        {**go_env, "GITHUB_ACTOR": "octocat"},
        tmp_path / "gha2",
    )
    assert code == 0, log
    assert outputs["current"] == "prod/api-v1.0.0"
    assert outputs["version"] == "1.0.0"
    assert (tmp_path / "store" / "prod/api/current").is_file()


def test_unknown_mode_is_refused(ws: Path, go_env: dict[str, str], tmp_path: Path) -> None:
    code, log, outputs = run_step(
        {"mode": "publish", "working-directory": str(ws)}, go_env, tmp_path / "gha"
    )
    assert code == 2
    assert "::error::mode: 'publish' is not valid; accepted: upload or promote" in log
    assert outputs == {}


def test_a_mode_cannot_forge_a_workflow_command(
    ws: Path, go_env: dict[str, str], tmp_path: Path
) -> None:
    """A mode from an expression may hold a line break: the runner would read what follows
    it as a command of its own (a forged notice here, an add-mask or a summary elsewhere)."""
    forged = "x\n::notice title=forged::all clear\r%"
    code, log, _outputs = run_step(
        {"mode": forged, "working-directory": str(ws)}, go_env, tmp_path / "gha"
    )
    assert code == 2
    commands = [line for line in log.splitlines() if line.startswith("::")]
    assert commands == [
        "::error::mode: 'x%0A::notice title=forged::all clear%0D%25' is not valid; "
        "accepted: upload or promote"
    ]
