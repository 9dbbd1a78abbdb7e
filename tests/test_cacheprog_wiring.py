"""``build-cache: store`` wired through ``cache-key`` and ``goci ci``: the GOCACHEPROG it exports
is one the real go command starts and uses; untrusted events read only; a Go without
GOCACHEPROG (1.23) keeps the actions/cache tarball; ``''`` picks the store only with credentials.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

import pytest

from goci.cache.cacheprog.plan import plan
from support.goci_run import GociRun, actions_env, read_key_values
from support.goci_workflow import ROOT
from support.gorepo import GoRepo
from support.gotools import cache_root, go_bin

Event = tuple[str, str, dict[str, Any]]

PUSH: Event = (
    "push",
    "refs/heads/main",
    {"repository": {"default_branch": "main", "full_name": "o/r"}},
)
PULL: Event = ("pull_request", "refs/pull/7/merge", {"number": 7, **PUSH[2]})


def event_env(go_env: dict[str, str], tmp: Path, event: Event) -> dict[str, str]:
    env = actions_env(tmp, go_env)
    (tmp / "event.json").write_text(json.dumps(event[2]))
    env.update(
        GITHUB_EVENT_NAME=event[0],
        GITHUB_REF=event[1],
        GITHUB_EVENT_PATH=str(tmp / "event.json"),
        GITHUB_REPOSITORY="o/r",
        GITHUB_RUN_ID="1",
    )
    return env


@pytest.fixture
def repo(make_repo: Callable[..., GoRepo]) -> GoRepo:
    repo = make_repo("wired")
    repo.module(".", "example.com/wired")
    repo.package("lib", "lib", "func Answer() int { return 42 }\n")
    return repo


@pytest.mark.parametrize("event", [PUSH, PULL], ids=["push", "pull_request"])
def test_cache_key_store_mode_exports_a_gocacheprog_that_go_uses(
    event: Event,
    repo: GoRepo,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
) -> None:
    env = event_env(go_env, tmp_path / "gha", event)
    store = tmp_path / "store"
    run = goci(
        "cache-key", "--build-cache", "store", "--build-cache-store", store.as_uri(),
        env=env, cwd=repo.root,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.outputs["build-cache"] == "store"
    stats = Path(run.outputs["build-cache-stats"])
    gocacheprog = read_key_values(Path(env["GITHUB_ENV"]))["GOCACHEPROG"]
    trusted = event is PUSH
    assert ("--no-read-only" if trusted else "--read-only") in gocacheprog.split()

    go = {**go_env, "GOCACHE": str(tmp_path / "fresh-gocache"), "GOCACHEPROG": gocacheprog}
    built = subprocess.run(
        ["go", "build", "./lib"], cwd=repo.root, env=go, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    stored = sorted(p.relative_to(store).parts[:3] for p in store.rglob("*") if p.is_file())
    assert stored == ([("o", "r", "v1")] * len(stored) if trusted else [])
    assert bool(stored) is trusted
    report = goci("cacheprog", "report", "--stats", str(stats), env=env, cwd=repo.root)
    assert report.code == 0 and "### Shared build cache" in report.summary
    assert "1 go commands" in report.stdout + report.stderr


def test_under_the_launcher_go_starts_this_goci_and_never_the_repositorys(
    repo: GoRepo, go_env: dict[str, str], tmp_path: Path
) -> None:
    """As the setup action runs it: an interpreter whose venv holds no goci, goci from the
    checkout through scripts/goci_main.py. The exported GOCACHEPROG must start that same goci
    (``python -m goci`` found none, so every go command of the job failed) and never a
    ``goci`` package of the repository, which go's working folder would put first on the path
    (it would run with the store's credentials)."""
    bare = tmp_path / "venv-without-goci"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = bare / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # goci's dependencies, as the setup's venv has them: this venv's packages folder on the
    # path, its .pth files (the editable goci among them) not read.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    deps = sysconfig.get_paths()["purelib"]
    Path(site, "goci-dependencies.pth").write_text(deps + "\n")
    planted = repo.root / "goci"
    planted.mkdir()
    ran = tmp_path / "the repository's goci ran"
    (planted / "__main__.py").write_text(f"open({str(ran)!r}, 'w').close()\n")
    env = event_env(go_env, tmp_path / "gha", PUSH)
    store = tmp_path / "store"
    launcher = [str(python), str(ROOT / "scripts" / "goci_main.py"), str(tmp_path / "pycache")]
    args = ["cache-key", "--build-cache", "store", "--build-cache-store", store.as_uri()]
    keyed = subprocess.run(
        [*launcher, *args], cwd=repo.root, env=env, capture_output=True, text=True
    )
    assert keyed.returncode == 0, keyed.stderr
    gocacheprog = read_key_values(Path(env["GITHUB_ENV"]))["GOCACHEPROG"]
    go = {**go_env, "GOCACHE": str(tmp_path / "fresh-gocache"), "GOCACHEPROG": gocacheprog}
    built = subprocess.run(
        ["go", "build", "./lib"], cwd=repo.root, env=go, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    assert not ran.exists()
    assert any(p.is_file() for p in store.rglob("*"))


def test_go_without_gocacheprog_keeps_the_tarball(
    repo: GoRepo, go_env: dict[str, str], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    old_go = go_bin("1.23")
    env = event_env({**go_env, "GOCI_GO": str(old_go)}, tmp_path / "gha", PUSH)
    run = goci(
        "cache-key", "--build-cache", "store", "--build-cache-store", "s3://bucket/cache",
        env={**env, "AWS_ACCESS_KEY_ID": "key"}, cwd=repo.root,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.outputs["build-cache"] == "actions"
    assert "GOCACHEPROG" not in read_key_values(Path(env["GITHUB_ENV"]))
    assert "go1.23.9 has no GOCACHEPROG" in run.stdout + run.stderr


class PlanCommon(TypedDict):
    go_version: str
    read_only: bool


def test_an_empty_choice_takes_the_store_only_with_credentials() -> None:
    common: PlanCommon = {"go_version": "go1.26.1", "read_only": False}
    assert plan("", store="", **common).mode == "actions"
    without = plan("", store="s3://b/c", has_credentials=False, **common)
    assert (without.mode, without.reason.split(":")[0]) == (
        "actions",
        "no store credentials (AWS_ACCESS_KEY_ID) given",
    )
    assert plan("", store="s3://b/c", has_credentials=True, **common).mode == "store"
    assert plan("actions", store="s3://b/c", **common).mode == "actions"
    quoted = plan("store", store="file:///runner/my cache", local="", **common).gocacheprog
    assert "'file:///runner/my cache'" in quoted


def test_goci_ci_builds_through_the_shared_cache(
    make_repo: Callable[..., GoRepo],
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
) -> None:
    """A fresh GOCACHE each run; the store is kept across suite runs (content-addressed and
    checked by hash, like the suite's own GOCACHE), so after the first run the standard
    library comes from it rather than from the compiler."""
    repo = make_repo("ci")
    repo.module(".", "example.com/ci")
    repo.package("cmd/hello", "main", "func main() {}\n")
    repo.commit("a service")
    env = {**go_env, "GOCACHE": str(tmp_path / "fresh-gocache")}
    store = cache_root() / "cacheprog-ci-store"
    run = goci(
        "ci", str(repo.root), "--platforms", "linux/amd64", "--no-test", "--no-upload",
        "--build-cache", "store", "--build-cache-store", store.as_uri(), env=env,
    )  # fmt: skip
    assert run.code == 0, run.stderr + run.stdout
    assert "build cache: store: GOCACHEPROG serves the build cache" in run.stderr
    line = re.search(
        r"goci cacheprog: (\d+) gets, \d+ hits \(\d+ local, (\d+) remote\), \d+ misses, (\d+) puts",
        run.stdout + run.stderr,
    )
    assert line, run.stdout + run.stderr
    gets, remote, puts = (int(g) for g in line.groups())
    assert gets > 0 and remote + puts > 0  # the store served the build, or took its results
    stored = [p.relative_to(store).parts[:2] for p in store.rglob("*") if p.is_file()]
    assert stored and set(stored) == {("default", "v1")}  # a local run: the default namespace


def test_drone_reads_the_build_cache_settings() -> None:
    from goci.commands.ci import DRONE_COMMAND

    opts = DRONE_COMMAND.parse(
        {}, {"PLUGIN_BUILD_CACHE": "store", "PLUGIN_BUILD_CACHE_STORE": "s3://bucket/cache"}
    )
    assert (opts.build_cache, opts.build_cache_store) == ("store", "s3://bucket/cache")
