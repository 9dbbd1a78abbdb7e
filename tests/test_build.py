"""goci build: real go builds of real repositories, for two targets and two Go versions,
stripped, stamped, byte-for-byte reproducible, and all-or-nothing on failure."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from goci.errors import InputError
from goci.matrix.records import tag_version
from goci.tools.gittool import Git
from support.goci_run import GociRun
from support.gorepo import GoRepo
from support.gotools import go_exe, version_of
from support.refusal import refused

API = """
import "example.com/shop/internal/greet"

var version = "dev"

func main() { println(greet.Hello("api"), version) }
"""
WORKER = 'func main() { println("worker") }\n'


def _shop(make_repo: Callable[..., GoRepo], name: str = "") -> GoRepo:
    repo = make_repo(name)
    repo.module("", "example.com/shop", go="1.21")
    repo.package(
        "internal/greet", "greet", 'func Hello(who string) string { return "hi " + who }\n'
    )
    repo.package("cmd/api", "main", API)
    repo.package("cmd/worker", "main", WORKER)
    repo.commit("init")
    return repo


def _go(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [env["GOCI_GO"], *args], env=env, capture_output=True, text=True, check=True
    ).stdout


def test_stripped_stamped_binaries_for_two_targets(
    make_repo: Callable[..., GoRepo], gha_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = _shop(make_repo)
    head = repo.head()
    run = goci(
        "build", "--platforms", "linux/amd64 windows/amd64", "--strip",
        "--version", "v1.2.3", "--version-var", "main.version", "--json",
        env=gha_env, cwd=repo.root,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    out = run.json()
    assert out["binaries"] == [
        ".goci/dist/api/linux-amd64/api",
        ".goci/dist/worker/linux-amd64/worker",
        ".goci/dist/api/windows-amd64/api.exe",
        ".goci/dist/worker/windows-amd64/worker.exe",
    ]
    assert out["services"] == ["api", "worker"]
    assert out["version"] == "v1.2.3"
    binary = repo.root / ".goci/dist/api/linux-amd64/api"
    shown = subprocess.run([binary], capture_output=True, text=True, check=True)
    assert shown.stderr.strip() == "hi api v1.2.3"

    record = json.loads((repo.root / ".goci/dist/api/linux-amd64/build.json").read_text())
    go_version = "go" + version_of(gha_env["GOCI_GO"])
    assert record["unstripped_size"] > record["size"] == binary.stat().st_size
    assert {k: record[k] for k in record if k not in ("size", "unstripped_size", "sha256")} == {
        "schema": 1,
        "service": "api",
        "import_path": "example.com/shop/cmd/api",
        "module": "example.com/shop",
        "binary": "api",
        "target": "linux/amd64",
        "goos": "linux",
        "goarch": "amd64",
        "variant": "",
        "cgo": False,
        "go_version": go_version,
        "commit": head,
        "build_time": "2025-01-02T03:04:05Z",  # the commit's time, not the clock's
        "version": "v1.2.3",
        "version_var": "main.version",
        "stripped": True,
        "flags": [
            "-trimpath",
            "-buildvcs=auto",
            "-mod=readonly",
            "-ldflags=-s -w -X=main.version=v1.2.3",
        ],
    }
    assert (repo.root / ".goci/dist/worker/windows-amd64/worker.exe").read_bytes()[:2] == b"MZ"

    info = _go(gha_env, "version", "-m", str(binary))
    assert f"vcs.revision={head}" in info
    assert "vcs.modified=false" in info  # dist/ does not make the tree dirty
    assert "-trimpath=true" in info
    assert "CGO_ENABLED=0" in info
    assert repo.git("status", "--porcelain") == ""
    assert "| api | linux/amd64 |" in run.summary
    assert "unstripped" in run.summary


def test_reproducible_in_two_folders_and_two_runs(
    make_repo: Callable[..., GoRepo], go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    first, second = _shop(make_repo, "checkout-one"), _shop(make_repo, "elsewhere/two")
    assert first.head() == second.head()
    args = ("build", "--target", "linux/amd64", "--strip", "--version-var", "main.version")

    def build(repo: GoRepo) -> dict[str, bytes]:
        run = goci(*args, env=go_env, cwd=repo.root)
        assert run.code == 0, run.stderr
        names = ("api/linux-amd64/api", "worker/linux-amd64/worker", "api/linux-amd64/build.json")
        return {name: (repo.root / ".goci/dist" / name).read_bytes() for name in names}

    once = build(first)
    assert build(second) == once  # another folder, same commit: the same bytes
    assert build(first) == once  # a second run over an existing dist/: the same bytes


def test_two_go_versions_build_and_say_so(
    make_repo: Callable[..., GoRepo], go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = _shop(make_repo)
    seen = {}
    for version in ("1.25", None):
        env = {**go_env, "GOCI_GO": str(go_exe(version))}
        out = f"dist/{version or 'default'}"
        run = goci(
            "build", "--target", "linux/amd64", "--services", "./cmd/worker", "--out", out,
            env=env, cwd=repo.root,
        )  # fmt: skip
        assert run.code == 0, run.stderr
        binary = repo.root / out / "worker/linux-amd64/worker"
        record = json.loads((binary.parent / "build.json").read_text())
        seen[record["go_version"]] = _go(env, "version", str(binary)).split()[-1]
        assert record["stripped"] is False and record["unstripped_size"] is None
    default = version_of(go_exe())
    assert seen == {"go1.25.5": "go1.25.5", f"go{default}": f"go{default}"}
    assert default != "1.25.5"


def test_only_changed_skips_and_says_so(
    make_repo: Callable[..., GoRepo], gha_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = _shop(make_repo)
    repo.git("tag", "v0.9.0")
    run = goci(
        "build", "--target", "linux/amd64", "--only-changed", '["example.com/shop/cmd/api"]',
        "--strip", "--no-compare-size", "--version-var", "main.version",
        env=gha_env, cwd=repo.root,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    record = json.loads((repo.root / ".goci/dist/api/linux-amd64/build.json").read_text())
    assert (record["stripped"], record["unstripped_size"]) == (True, None)
    assert record["version"] == "v0.9.0"  # the tag on HEAD
    shown = subprocess.run(
        [repo.root / ".goci/dist/api/linux-amd64/api"], capture_output=True, text=True
    )
    assert shown.stderr.strip() == "hi api v0.9.0"
    assert not (repo.root / ".goci/dist/worker").exists()
    assert json.loads(run.outputs["skipped"]) == ["worker"]
    assert "::notice::skipped worker (example.com/shop/cmd/worker): not changed" in run.stderr


def test_bad_input_is_refused_before_anything_is_built(
    make_repo: Callable[..., GoRepo], gha_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = _shop(make_repo)
    cases = {
        ("--services", "example.com/shop/internal/greet"): "is not a main package",
        ("--services", "./internal/greet"): "'./internal/greet' is not a main package",
        ("--services", "../other/cmd"): "'../other/cmd' is not valid: it climbs out with '..'",
        ("--target", "linux/amd65"): "(did you mean 'linux/amd64'?)",
        ("--out", str(repo.root.parent / "elsewhere")): "is outside the workspace",
        ("--version-var", "version"): "version-var: 'version' is not valid",
    }
    for args, message in cases.items():
        run = goci("build", *args, env=gha_env, cwd=repo.root)
        assert run.code == 2, (args, run.stderr)
        assert message in run.stderr, (args, run.stderr)
        assert not (repo.root / ".goci/dist").exists()
        assert run.outputs == {}


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_a_main_package_named_like_a_release_folder_is_refused(
    name: str,
    make_repo: Callable[..., GoRepo],
    gha_env: dict[str, str],
    goci: Callable[..., GociRun],
) -> None:
    """``cmd/dev`` would be the service ``dev``, built into ``dist/dev/`` among the packed dev
    releases (pack then skipped it silently and upload refused the whole dist)."""
    repo = _shop(make_repo)
    repo.package(f"cmd/{name}", "main", WORKER)
    repo.commit(f"a service named {name}")
    for args in ((), ("--services", "api")):
        run = goci("build", "--target", "linux/amd64", *args, env=gha_env, cwd=repo.root)
        line = refused(
            run,
            f"{repo.root / 'cmd' / name}: the main package example.com/shop/cmd/{name} would be "
            f"the service '{name}', but dist/{name} is where goci packs the {name} releases",
        )
        assert "rename its folder" in line
        assert not (repo.root / ".goci/dist").exists()


def test_a_failing_target_leaves_nothing_half_built(
    make_repo: Callable[..., GoRepo], go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = _shop(make_repo)
    repo.write("cmd/api/broken_windows.go", "package main\n\nvar _ = undefinedOnWindows\n")
    repo.commit("break windows")
    run = goci("build", "--platforms", "linux/amd64,windows/amd64", env=go_env, cwd=repo.root)
    assert run.code == 1
    assert "undefinedOnWindows" in run.stderr
    assert sorted(os.listdir(repo.root / ".goci/dist")) == [".gitignore"]


def test_name_collisions_and_folder_services(
    make_repo: Callable[..., GoRepo], go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = _shop(make_repo)
    repo.package("tools/api", "main", WORKER)
    repo.commit("a second api")
    run = goci(
        "build", "--target", "linux/amd64", "--services", "./tools/api cmd/worker",
        "--json", env=go_env, cwd=repo.root,
    )  # fmt: skip
    assert run.code == 2  # 'cmd/worker' is neither an import path, nor a ./folder, nor a name
    assert "'cmd/worker' is not a main package of the modules in use" in run.stderr
    run = goci(
        "build", "--target", "linux/amd64", "--services", '["./tools/api", "worker"]',
        "--json", env=go_env, cwd=repo.root,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.json()["binaries"] == [
        ".goci/dist/tools-api/linux-amd64/api",
        ".goci/dist/worker/linux-amd64/worker",
    ]
    record = json.loads((repo.root / ".goci/dist/tools-api/linux-amd64/build.json").read_text())
    assert (record["service"], record["import_path"]) == ("tools-api", "example.com/shop/tools/api")


def test_toolexec_passes_through_and_profile_names_slow_steps(
    make_repo: Callable[..., GoRepo], go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = _shop(make_repo)
    log = repo.root.parent / "toolexec.log"
    script = repo.write(
        "tools/wrap.sh",
        f'#!/bin/sh\nbasename "$1" >> {log}\nexec "$@"\n',
    )
    script.chmod(0o755)
    repo.commit("toolexec wrapper")
    run = goci(
        "build", "--target", "linux/amd64", "--services", "worker",
        "--toolexec", "./tools/wrap.sh", "--profile", env=go_env, cwd=repo.root,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    tools = set(log.read_text().split())
    assert {"compile", "link"} <= tools
    assert "slowest steps" in run.stdout
    row = r"\d+\.\d\ds  link +example\.com/shop/cmd/worker +\[linux/amd64\]"
    assert re.search(row, run.stdout), run.stdout


def test_an_empty_service_list_builds_nothing(
    make_repo: Callable[..., GoRepo], gha_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = _shop(make_repo)
    run = goci("build", "--target", "linux/amd64", "--services", "[]", env=gha_env, cwd=repo.root)
    assert run.code == 0, run.stderr
    assert json.loads(run.outputs["binaries"]) == []
    assert not (repo.root / ".goci/dist").exists()


@pytest.fixture
def tagged(tmp_path: Path) -> Callable[..., str]:
    """A commit with the given tags; returns the version ``goci build`` stamps from them."""

    def stamp(*tags: str, env: dict[str, str] | None = None) -> str:
        root = tmp_path / "tags"
        if not root.exists():
            root.mkdir()
            for argv in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "one"]):
                subprocess.run(["git", *argv], cwd=root, check=True, env=GIT_ENV)
        subprocess.run(["git", "tag", "-d", *existing(root)], cwd=root, capture_output=True)
        for tag in tags:
            subprocess.run(["git", "tag", tag], cwd=root, check=True, env=GIT_ENV)
        return tag_version(Git(root, os.environ), env or {})

    return stamp


GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def existing(root: Path) -> list[str]:
    return subprocess.run(
        ["git", "tag"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()


def test_the_stamp_is_the_highest_version_tagged_or_the_one_pushed(
    tagged: Callable[..., str],
) -> None:
    """A release candidate's tag stays on the commit that becomes the release, and v1.10.0
    sorts before v1.9.0 as text: the version is chosen by semver, and a tag push names its own."""
    every = ("v2.0.0-rc.1", "v2.0.0", "v1.9.0", "v1.10.0")
    assert tagged(*every) == "v2.0.0"
    assert tagged("v1.9.0", "v1.10.0") == "v1.10.0"
    assert tagged("v2.0.0-rc.2", "v2.0.0-rc.10", "v2.0.0-beta") == "v2.0.0-rc.10"
    pushed = {"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/tags/v1.9.0"}
    assert tagged(*every, env=pushed) == "v1.9.0"
    assert tagged(*every, env={"DRONE": "true", "DRONE_TAG": "v2.0.0-rc.1"}) == "v2.0.0-rc.1"
    assert (
        tagged(*every, env={**pushed, "GITHUB_REF": "refs/tags/v9.9.9"}) == "v2.0.0"
    )  # not on HEAD
    assert tagged("release-7", "v1.2") == "v1.2"
    assert tagged("release-7") == "release-7"
    assert tagged() == ""


def test_a_tag_that_cannot_be_stamped_is_refused(tagged: Callable[..., str]) -> None:
    with pytest.raises(InputError, match="give --version"):
        tagged("v1.0.0'$(id)")
