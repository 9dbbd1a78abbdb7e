"""actions/changed-packages/action.yml: wired to ``goci changed`` input by input, output by output,
and its goci step really runs (as bash would run it) against a real repository."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from goci.commands import changed
from support.goci_run import actions_env, read_key_values
from support.gorepo import GoRepo

ACTION = Path(__file__).resolve().parent.parent / "actions" / "changed-packages" / "action.yml"
EXPR = re.compile(r"^\$\{\{\s*inputs\.([a-z0-9-]+)\s*\}\}$")


def load() -> dict[str, Any]:
    data = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def goci_step(data: dict[str, Any]) -> dict[str, Any]:
    steps = [s for s in data["runs"]["steps"] if "goci changed" in s.get("run", "")]
    assert len(steps) == 1
    step: dict[str, Any] = steps[0]
    return step


def test_contract() -> None:
    data = load()
    steps = data["runs"]["steps"]
    assert data["runs"]["using"] == "composite"
    step = goci_step(data)
    names = {n for o in changed.COMMAND.options for n in (o.name, *o.aliases)}
    names |= {"working-directory"}
    env = step["env"]
    for name in data["inputs"]:
        assert name in names, name
        key = "INPUT_" + name.upper().replace("-", "_")
        assert EXPR.match(env[key]).group(1) == name  # type: ignore[union-attr]
    assert all("${{" not in s.get("run", "") for s in steps)
    assert set(data["outputs"]) == set(changed.OUTPUTS)
    for name, spec in data["outputs"].items():
        assert spec["value"] == f"${{{{ steps.{step['id']}.outputs.{name} }}}}"


def test_step_runs_like_actions_would(make_repo: Callable[..., GoRepo], tmp_path: Path) -> None:
    repo = make_repo()
    repo.module(".", "ex.com/m")
    repo.package("lib", "lib", "func V() int { return 1 }\n")
    repo.package("cmd/svc", "main", 'import "ex.com/m/lib"\n\nfunc main() { println(lib.V()) }\n')
    base = repo.commit("base")
    repo.package("lib", "lib", "func V() int { return 2 }\n")
    repo.commit("change")
    data = load()
    step = goci_step(data)
    values = {name: str(spec.get("default", "")) for name, spec in data["inputs"].items()}
    values.update({"base": base, "github-token": "", "working-directory": str(repo.root)})
    env = actions_env(tmp_path / "gha", repo.env)
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    for key, expr in step["env"].items():
        env[key] = values[EXPR.match(expr).group(1)]  # type: ignore[union-attr]
    proc = subprocess.run(
        ["bash", "-c", step["run"]], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    outputs = read_key_values(Path(env["GITHUB_OUTPUT"]))
    assert set(outputs) == set(data["outputs"])
    assert outputs["services"] == '["ex.com/m/cmd/svc"]'
    assert outputs["test-packages"] == "[]"
    assert outputs["any"] == "true"
