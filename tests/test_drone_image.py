"""The Drone plugin image (Dockerfile): nothing installed unchecked, goci run from what it copies.

The image runs with the store's and GitHub's credentials, so it is held to the setup action's
rule: goci's dependencies are the wheels requirements.lock pins, hashes checked, and nothing is
built (a build fetches setuptools, unpinned and unchecked). No Docker daemon runs here, so the
Dockerfile is read: its pip commands are checked, and its COPY and RUN lines are played into a
folder standing in for the image's root, with the test's own venv standing in for the one pip
fills (the real install is the setup action's, tested in test_setup_action.py).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from goci import __version__

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined as docker joins
    them, comments left out."""
    text = DOCKERFILE.read_text().replace("\\\n", "")
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def commands(run: str) -> list[str]:
    return [part.strip() for part in run.split("&&")]


def test_the_image_installs_the_locked_wheels_and_builds_nothing() -> None:
    installs = [
        command
        for word, run in instructions()
        if word == "RUN"
        for command in commands(run)
        if "pip install" in command
    ]
    assert len(installs) == 1, installs
    words = shlex.split(installs[0])
    assert "--require-hashes" in words
    assert "--only-binary=:all:" in words  # an sdist would build, fetching its build tools
    # The lock alone: no project folder, no other requirement, so no package is built.
    options = [w for w in words[words.index("install") + 1 :] if w.startswith("-")]
    arguments = [w for w in words[words.index("install") + 1 :] if not w.startswith("-")]
    assert options == ["--no-cache-dir", "--require-hashes", "--only-binary=:all:", "-r"]
    assert arguments == ["/opt/goci-src/requirements.lock"]


def test_the_image_runs_goci_from_its_sources_through_the_launcher(tmp_path: Path) -> None:
    image = tmp_path / "image"
    steps = instructions()
    for word, arguments in steps:
        if word == "COPY":
            *sources, destination = arguments.split()
            target = image / destination.lstrip("/")
            for source in sources:
                origin = ROOT / source
                place = target / origin.name if destination.endswith("/") else target
                place.parent.mkdir(parents=True, exist_ok=True)
                if origin.is_dir():
                    shutil.copytree(origin, place)
                else:
                    shutil.copy2(origin, place)
    # The venv pip fills: this test's own interpreter, which has the locked dependencies.
    python = image / "opt" / "goci" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    python.chmod(0o755)
    last_run = [run for word, run in steps if word == "RUN"][-1]
    rest = [
        command.replace("/opt/", f"{image}/opt/")
        for command in commands(last_run)
        if not command.startswith("python3 -m venv") and "pip install" not in command
    ]
    assert any("write_launchers" in command for command in rest), last_run
    played = subprocess.run(
        ["sh", "-c", " && ".join(rest)], capture_output=True, text=True, check=False
    )
    assert played.returncode == 0, played.stderr
    assert played.stdout.strip() == f"goci {__version__}"
    # What the launcher runs is the copied tree, not this checkout: goci_main.py puts its own
    # checkout's src/ first on the path.
    launcher = (image / "opt" / "goci" / "bin" / "goci").read_text()
    assert f"{image}/opt/goci-src/scripts/goci_main.py" in launcher
    assert (image / "opt" / "goci-src" / "src" / "goci" / "cli.py").is_file()
    assert ("ENTRYPOINT", '["goci", "drone"]') in steps
    env = next(arguments for word, arguments in steps if word == "ENV")
    assert 'PATH="/opt/goci/bin:${PATH}"' in env
