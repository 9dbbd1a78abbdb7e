"""scripts/setup-goci.sh, the first step of every goci action, run for real on Linux.

The install test builds a real venv with the machine's own Python and installs goci from a copy
of this checkout (pip fetches goci's dependencies from the package index: the one test in the
suite that needs it). The copy keeps pip's build/ folder out of the shared working tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from goci import __version__

ROOT = Path(__file__).resolve().parents[1]


def system_python() -> str:
    """The runner's Python: the first python3 on PATH outside this test venv."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    found = shutil.which("python3", path=path)
    assert found, "no python3 on PATH"
    return found


@pytest.fixture
def action_copy(tmp_path: Path) -> Path:
    """What actions/checkout leaves in $GITHUB_ACTION_PATH: this repository's files."""
    copy = tmp_path / "action"
    copy.mkdir()
    for item in ("pyproject.toml", "README.md", "action.yml"):
        if (ROOT / item).exists():
            shutil.copy2(ROOT / item, copy / item)
    if not (copy / "README.md").exists():
        (copy / "README.md").write_text("# goci\n")
    shutil.copytree(ROOT / "scripts", copy / "scripts")
    shutil.copytree(
        ROOT / "src" / "goci",
        copy / "src" / "goci",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return copy


def run_setup(action: Path, tmp: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    runner = tmp / "runner"
    runner.mkdir(exist_ok=True)
    (runner / "github_path").touch()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp)),
        "RUNNER_TEMP": str(runner / "temp"),
        "GITHUB_PATH": str(runner / "github_path"),
        "GITHUB_ACTION_PATH": str(action),
        "GOCI_PYTHON": system_python(),
        **extra,
    }
    return subprocess.run(
        ["bash", str(action / "scripts" / "setup-goci.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_setup_installs_once_then_reuses_and_puts_goci_on_path(
    action_copy: Path, tmp_path: Path
) -> None:
    first = run_setup(action_copy, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    venv = tmp_path / "runner" / "temp" / "goci" / __version__
    assert f"installing goci {__version__} into {venv}" in first.stdout
    bin_dir = venv / "bin"
    assert (tmp_path / "runner" / "github_path").read_text().splitlines() == [str(bin_dir)]
    version = subprocess.run(
        [str(bin_dir / "goci"), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == f"goci {__version__}"
    assert not (action_copy / "build").exists()  # the checkout is left as it was
    marker = (venv / ".goci-source").read_text()

    second = run_setup(action_copy, tmp_path)

    assert second.returncode == 0, second.stdout + second.stderr
    assert f"reusing goci {__version__} in {venv}" in second.stdout
    assert "installing" not in second.stdout
    assert (venv / ".goci-source").read_text() == marker
    assert (tmp_path / "runner" / "github_path").read_text().splitlines() == [str(bin_dir)] * 2

    # RUNNER_TOOL_CACHE, where a self-hosted runner keeps tools between jobs, wins.
    tool_cache = tmp_path / "toolcache"
    shutil.copytree(tmp_path / "runner" / "temp" / "goci", tool_cache / "goci", symlinks=True)
    third = run_setup(action_copy, tmp_path, RUNNER_TOOL_CACHE=str(tool_cache))
    assert "reusing" in third.stdout and str(tool_cache) in third.stdout


def test_setup_refuses_a_python_older_than_3_10(action_copy: Path, tmp_path: Path) -> None:
    fake = tmp_path / "python3.8"
    fake.write_text('#!/bin/sh\ncase "$*" in *version_info*) exit 1 ;; *) echo "3.8.18" ;; esac\n')
    fake.chmod(0o755)
    run = run_setup(action_copy, tmp_path, GOCI_PYTHON=str(fake))
    assert run.returncode == 1
    assert f"::error title=goci setup::goci needs Python 3.10 or newer (found: {fake}=3.8.18)" in (
        run.stderr
    )
    assert not (tmp_path / "runner" / "temp" / "goci").exists()
    assert (tmp_path / "runner" / "github_path").read_text() == ""
