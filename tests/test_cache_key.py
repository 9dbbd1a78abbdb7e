"""``goci cache-key`` on real repositories: which keys move when what changes.

The module cache holds source zips, the same for every target and Go version; the build cache
holds compiled code for one Go version and one target. Each test changes one thing and checks
that exactly the keys that depend on it move.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from goci.cache import keys as cachekey
from goci.ci_env import CiEnv
from goci.errors import InputError
from support.goci_run import GociRun, actions_env, read_key_values
from support.goproxy import GoProxy
from support.gorepo import GoRepo
from support.gotools import go_exe

ROOT = Path(__file__).resolve().parents[1]
Keys = dict[str, Any]
MOD_KEYS = ("mod-key", "mod-restore-keys", "mod-path")
BUILD_KEYS = ("build-key", "build-restore-keys")


def keys(goci: Callable[..., GociRun], env: dict[str, str], repo: Path, *args: str) -> Keys:
    run = goci("cache-key", "--json", *args, env=env, cwd=repo)
    assert run.code == 0, run.stderr
    value: Keys = run.json()
    return value


def moved(before: Keys, after: Keys) -> set[str]:
    return {name for name in before if before[name] != after[name]}


@pytest.fixture
def single(make_repo: Callable[..., GoRepo]) -> GoRepo:
    repo = make_repo("single")
    repo.module(".", "example.com/single")
    repo.package("lib", "lib", "func Answer() int { return 42 }\n")
    repo.package(
        ".", "main", 'import "example.com/single/lib"\n\nfunc main() { _ = lib.Answer() }\n'
    )
    repo.commit("single module")
    return repo


def test_a_module_without_go_sum_gets_a_stable_key_that_ignores_the_checkout_path(
    make_repo: Callable[..., GoRepo],
    single: GoRepo,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
) -> None:
    first = keys(goci, go_env, single.root)
    assert keys(goci, go_env, single.root) == first
    elsewhere = make_repo("elsewhere/deeper/single")
    elsewhere.module(".", "example.com/single")
    assert keys(goci, go_env, elsewhere.root)["deps-hash"] == first["deps-hash"]

    version = single.go("env", "GOVERSION").stdout.strip()
    assert first["mod-key"] == f"goci-mod-{CiEnv.from_env(go_env).runner_os}-{first['deps-hash']}"
    assert first["mod-restore-keys"] == f"goci-mod-{CiEnv.from_env(go_env).runner_os}-"
    assert first["build-key"].startswith(
        f"goci-build-{CiEnv.from_env(go_env).runner_os}-{version}-"
    )
    goos, goarch = single.go("env", "GOOS", "GOARCH").stdout.split()
    assert f"-{goos}-{goarch}-" in first["build-key"]
    assert first["build-key"].endswith(f"{first['deps-hash']}-local")
    restore = first["build-restore-keys"].split("\n")
    assert restore == [first["build-key"].removesuffix("local"), restore[1]]
    assert restore[0].startswith(restore[1]) and restore[1].endswith("-")
    assert first["mod-path"] == go_env["GOMODCACHE"]
    assert first["build-path"] == go_env["GOCACHE"]
    assert first["save"] is False


def test_go_sum_moves_every_key_and_a_go_file_moves_none(
    make_repo: Callable[..., GoRepo],
    goproxy: GoProxy,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
) -> None:
    for version in ("v1.0.0", "v1.1.0"):
        goproxy.add(
            "example.com/dep", version, {"dep.go": f'package dep\n\nconst V = "{version}"\n'}
        )
    repo = make_repo()
    repo.module(".", "example.com/app")
    repo.package(".", "main", 'import "example.com/dep"\n\nfunc main() { println(dep.V) }\n')
    repo.go("get", "example.com/dep@v1.0.0")
    repo.commit("dep 1.0")
    before = keys(goci, go_env, repo.root)

    repo.package(".", "main", 'import "example.com/dep"\n\nfunc main() { print(dep.V) }\n')
    repo.package("extra", "extra", "func X() {}\n")
    assert keys(goci, go_env, repo.root) == before

    go_sum = (repo.root / "go.sum").read_text()
    repo.go("get", "example.com/dep@v1.1.0")
    assert (repo.root / "go.sum").read_text() != go_sum
    after = keys(goci, go_env, repo.root)
    assert moved(before, after) == {"mod-key", "build-key", "build-restore-keys", "deps-hash"}
    # Restore keys walk back: same deps first (moved), then any deps for this Go/target (kept).
    old_restore, new_restore = (k["build-restore-keys"].split("\n") for k in (before, after))
    assert old_restore[0] != new_restore[0] and old_restore[1] == new_restore[1]
    assert after["mod-restore-keys"] == before["mod-restore-keys"]
    assert before["mod-key"].startswith(after["mod-restore-keys"])


def test_only_go_sum_content_counts_not_its_line_of_text_elsewhere(
    single: GoRepo, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """go.sum and go.mod both count, by path and content: swapping two files moves the hash."""
    single.write("tools/go.mod", "module example.com/tools\n\ngo 1.21\n")
    single.write("go.sum", "example.com/a v1.0.0 h1:aaa=\n")
    single.write("tools/go.sum", "example.com/b v1.0.0 h1:bbb=\n")
    before = keys(goci, go_env, single.root)
    single.write("go.sum", "example.com/b v1.0.0 h1:bbb=\n")
    single.write("tools/go.sum", "example.com/a v1.0.0 h1:aaa=\n")
    assert keys(goci, go_env, single.root)["deps-hash"] != before["deps-hash"]


def test_nested_modules_count_and_vendor_or_testdata_modules_do_not(
    single: GoRepo, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    single.module("tools", "example.com/single/tools")
    single.write("tools/go.sum", "example.com/x v1.0.0/go.mod h1:one=\n")
    single.module("lib/testdata/fixture", "example.com/fixture")
    single.module("vendor/example.com/v", "example.com/v")
    single.module(".hidden", "example.com/hidden")
    before = keys(goci, go_env, single.root)

    for ignored in ("lib/testdata/fixture", "vendor/example.com/v", ".hidden"):
        single.write(f"{ignored}/go.sum", "example.com/x v9.9.9 h1:ignored=\n")
    assert keys(goci, go_env, single.root) == before

    single.write("tools/go.sum", "example.com/x v1.0.0/go.mod h1:two=\n")
    after = keys(goci, go_env, single.root)
    assert moved(before, after) == {"mod-key", "build-key", "build-restore-keys", "deps-hash"}


@pytest.fixture
def workspace(make_repo: Callable[..., GoRepo]) -> GoRepo:
    repo = make_repo("work")
    repo.write("go.work", "go 1.21\n\nuse (\n\t./a\n\t./b\n)\n")
    for name in ("a", "b", "unused"):
        repo.module(name, f"example.com/{name}")
        repo.package(name, name, "func F() {}\n")
        repo.write(f"{name}/go.sum", f"example.com/dep-{name} v1.0.0 h1:{name}=\n")
    repo.commit("workspace")
    return repo


def test_a_go_work_workspace_counts_its_modules_and_ignores_a_module_not_in_use(
    workspace: GoRepo, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    before = keys(goci, go_env, workspace.root)
    run = goci("cache-key", env=go_env, cwd=workspace.root)
    assert "5 files" in run.stdout  # go.work, a/go.mod, a/go.sum, b/go.mod, b/go.sum

    workspace.write("unused/go.sum", "example.com/dep-unused v2.0.0 h1:changed=\n")
    workspace.write("unused/go.mod", "module example.com/unused\n\ngo 1.22\n")
    assert keys(goci, go_env, workspace.root) == before

    workspace.write("b/go.sum", "example.com/dep-b v1.0.1 h1:b2=\n")
    after_b = keys(goci, go_env, workspace.root)
    assert moved(before, after_b) == {"mod-key", "build-key", "build-restore-keys", "deps-hash"}

    workspace.write("go.work.sum", "example.com/tool v1.0.0 h1:t=\n")
    assert keys(goci, go_env, workspace.root)["deps-hash"] != after_b["deps-hash"]

    # Using the third module brings it in.
    workspace.write("go.work", "go 1.21\n\nuse (\n\t./a\n\t./b\n\t./unused\n)\n")
    assert keys(goci, go_env, workspace.root)["deps-hash"] != after_b["deps-hash"]


def test_the_dependency_hash_is_exactly_the_files_in_use_by_name_and_content(
    workspace: GoRepo, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """The hash, worked out here from its definition: SHA-256 over (name relative to the root,
    length, content) of each file in use, sorted by name; a file not there is left out, a large
    one is read to its end, and a module in the tree but not in use counts for nothing."""
    big = "".join(f"example.com/dep{i} v1.0.{i} h1:{'x' * 60}=\n" for i in range(4000))
    workspace.write("a/go.sum", big)  # ~300 kB: more than any one read
    (workspace.root / "b" / "go.sum").unlink()
    workspace.write("go.work.sum", "example.com/tool v1.0.0 h1:t=\n")
    workspace.write("unused/go.mod", "module example.com/unused\n\ngo 1.22\n")
    workspace.write("unused/go.sum", "example.com/dep-unused v2.0.0 h1:u=\n")
    digest = hashlib.sha256()
    for name in ("a/go.mod", "a/go.sum", "b/go.mod", "go.work", "go.work.sum"):
        content = (workspace.root / name).read_bytes()
        digest.update(f"{name}\0{len(content)}\0".encode() + content)
    assert keys(goci, go_env, workspace.root)["deps-hash"] == digest.hexdigest()[:32]
    assert "5 files" in goci("cache-key", env=go_env, cwd=workspace.root).stdout


def test_the_go_version_moves_the_build_key_only(
    single: GoRepo, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    before = keys(goci, go_env, single.root)
    other_go = go_exe("1.25")
    after = keys(goci, {**go_env, "GOCI_GO": str(other_go)}, single.root)
    assert moved(before, after) == {"build-key", "build-restore-keys"}
    assert "-go1.25." in after["build-key"]
    for restore in after["build-restore-keys"].split("\n"):
        assert not before["build-key"].startswith(restore)


def cross(a: Keys, b: Keys) -> bool:
    """Whether a restore key of one build could match the other's key (it never should)."""
    return any(b["build-key"].startswith(r) for r in a["build-restore-keys"].split("\n")) or any(
        a["build-key"].startswith(r) for r in b["build-restore-keys"].split("\n")
    )


def test_the_target_moves_the_build_key_not_the_module_key(
    single: GoRepo, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    amd64 = keys(goci, {**go_env, "GOOS": "linux", "GOARCH": "amd64"}, single.root)
    arm64 = keys(
        goci, {**go_env, "GOOS": "linux", "GOARCH": "amd64"}, single.root, "--target", "linux/arm64"
    )
    arm64_env = keys(goci, {**go_env, "GOOS": "linux", "GOARCH": "arm64"}, single.root)
    windows = keys(goci, go_env, single.root, "--target", "windows/amd64")
    assert arm64 == arm64_env
    assert moved(amd64, arm64) == {"build-key", "build-restore-keys"}
    assert "-linux-arm64-" in arm64["build-key"] and "-linux-amd64-" in amd64["build-key"]
    assert "-windows-amd64-" in windows["build-key"]
    assert windows["mod-key"] == amd64["mod-key"]
    for one, other in ((amd64, arm64), (amd64, windows), (arm64, windows)):
        assert not cross(one, other)
    # The architecture variant is part of the target.
    v3 = keys(goci, {**go_env, "GOARCH": "amd64", "GOAMD64": "v3"}, single.root)
    assert moved(amd64, v3) == {"build-key", "build-restore-keys"} and not cross(amd64, v3)
    arm = keys(
        goci, {**go_env, "GOARCH": "arm", "GOARM": "6"}, single.root, "--target", "linux/arm"
    )
    arm7 = keys(goci, {**go_env, "GOARM": "7"}, single.root, "--target", "linux/arm")
    assert not cross(arm, arm7) and not cross(arm, arm64)


def test_a_target_with_a_variant_or_cgo_is_a_target_of_its_own(
    single: GoRepo, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """The words goci matrix emits as matrix.platform, which go-ci.yml passes on as target:
    each names its own build cache, the same one its variables in the environment name."""
    env = {**go_env, "GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0", "GOARM": "6"}
    by_word = {
        word: keys(goci, env, single.root, "--target", word)
        for word in (
            "linux/arm/v7", "linux/arm/v6", "linux/arm", "linux/amd64/v3", "linux/amd64",
            "linux/amd64+cgo",
        )
    }  # fmt: skip
    assert by_word.pop("linux/arm") == by_word["linux/arm/v6"]  # GOARM=6 of the environment
    labels = {
        word: re.findall(r"-(linux-[a-z0-9-]+-cgo\d)-", k["build-key"])
        for word, k in by_word.items()
    }
    assert labels == {
        "linux/arm/v7": ["linux-arm-7-cgo0"],
        "linux/arm/v6": ["linux-arm-6-cgo0"],
        "linux/amd64/v3": ["linux-amd64-v3-cgo0"],
        "linux/amd64": ["linux-amd64-v1-cgo0"],
        "linux/amd64+cgo": ["linux-amd64-v1-cgo1"],
    }
    found = list(by_word.values())
    for index, one in enumerate(found):
        assert one["mod-key"] == found[0]["mod-key"]
        for other in found[index + 1 :]:
            assert moved(one, other) == {"build-key", "build-restore-keys"}
            assert not cross(one, other)
    assert (
        keys(goci, {**env, "GOARCH": "arm", "GOARM": "7"}, single.root) == by_word["linux/arm/v7"]
    )
    assert keys(goci, {**env, "CGO_ENABLED": "1"}, single.root) == by_word["linux/amd64+cgo"]
    assert keys(goci, {**env, "GOAMD64": "v3"}, single.root) == by_word["linux/amd64/v3"]


def test_the_runner_os_separates_both_caches(
    single: GoRepo, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    linux = keys(goci, {**go_env, "RUNNER_OS": "Linux"}, single.root)
    macos = keys(goci, {**go_env, "RUNNER_OS": "macOS"}, single.root)
    assert moved(linux, macos) == {"mod-key", "mod-restore-keys", "build-key", "build-restore-keys"}
    assert not macos["mod-key"].startswith(linux["mod-restore-keys"])
    assert not linux["mod-key"].startswith(macos["mod-restore-keys"])
    assert not cross(linux, macos)


@pytest.mark.parametrize(
    ("goflags", "moves"),
    [
        ("-trimpath", True),
        ("--trimpath", True),
        ("-tags=integration", True),
        ("-race", True),
        ("-mod=mod", False),
        ("-modcacherw -v", False),
    ],
)
def test_build_relevant_goflags_move_the_build_key(
    single: GoRepo, go_env: dict[str, str], goci: Callable[..., GociRun], goflags: str, moves: bool
) -> None:
    plain = keys(goci, {**go_env, "GOFLAGS": "-modcacherw"}, single.root)
    flagged = keys(goci, {**go_env, "GOFLAGS": goflags}, single.root)
    assert moved(plain, flagged) == ({"build-key", "build-restore-keys"} if moves else set())
    if moves:
        assert not cross(plain, flagged)


def test_trimpath_spelled_two_ways_is_one_key(
    single: GoRepo, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    one = keys(goci, {**go_env, "GOFLAGS": "-trimpath -tags=a"}, single.root)
    two = keys(goci, {**go_env, "GOFLAGS": "-tags=a -trimpath"}, single.root)
    assert one == two


def test_cgo_moves_the_build_key(
    single: GoRepo, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    off = keys(goci, {**go_env, "CGO_ENABLED": "0"}, single.root)
    on = keys(goci, {**go_env, "CGO_ENABLED": "1"}, single.root)
    assert moved(off, on) == {"build-key", "build-restore-keys"}
    assert "-cgo1-" in on["build-key"] and "-cgo0-" in off["build-key"]
    assert not cross(off, on)


def event_env(
    base: dict[str, str], tmp: Path, event: str, ref: str, payload: dict[str, Any]
) -> dict[str, str]:
    env = actions_env(tmp, base)
    path = tmp / f"event-{event}-{len(list(tmp.glob('event-*')))}.json"
    path.write_text(json.dumps(payload))
    env.update(
        GITHUB_EVENT_NAME=event,
        GITHUB_REF=ref,
        GITHUB_EVENT_PATH=str(path),
        GITHUB_RUN_ID="123456",
        GITHUB_RUN_ATTEMPT="2",
    )
    return env


REPO_PAYLOAD = {"repository": {"default_branch": "main", "full_name": "o/r"}}


@pytest.mark.parametrize(
    ("event", "ref", "payload", "save"),
    [
        ("push", "refs/heads/main", REPO_PAYLOAD, True),
        ("push", "refs/tags/v1.2.3", REPO_PAYLOAD, True),
        ("push", "refs/heads/feature", REPO_PAYLOAD, False),
        ("pull_request", "refs/pull/7/merge", {**REPO_PAYLOAD, "number": 7}, False),
        (
            "pull_request",
            "refs/pull/8/merge",
            {
                **REPO_PAYLOAD,
                "pull_request": {"head": {"repo": {"fork": True, "full_name": "evil/r"}}},
            },
            False,
        ),
        ("pull_request_target", "refs/heads/main", REPO_PAYLOAD, False),
        ("push", "refs/heads/main", {}, False),  # default branch unknown: do not save
    ],
)
def test_save_is_true_only_for_a_push_to_the_default_branch_or_a_tag(
    single: GoRepo,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
    event: str,
    ref: str,
    payload: dict[str, Any],
    save: bool,
) -> None:
    env = event_env(go_env, tmp_path / "gha", event, ref, payload)
    run = goci("cache-key", env=env, cwd=single.root)
    assert run.code == 0, run.stderr
    assert run.outputs["save"] == ("true" if save else "false")
    assert run.outputs["build-key"].endswith("-123456-2")
    # Every output is written, multi-line ones in the delimiter form.
    assert set(run.outputs) == {
        "mod-key", "mod-restore-keys", "mod-path", "build-key",
        "build-restore-keys", "build-path", "deps-hash", "save", "mod-save",
        "build-cache", "build-cache-stats",
    }  # fmt: skip
    assert run.outputs["build-cache"] == "actions"
    assert run.outputs["mod-save"] == "false"  # no go.sum: nothing to save in any event
    assert len(run.outputs["build-restore-keys"].split("\n")) == 2
    assert "### Go cache keys" in run.summary


def test_keys_keep_the_cache_service_rules(
    single: GoRepo, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    out = keys(goci, go_env, single.root, "--prefix", "p" * 64)
    for which in ("mod", "build"):
        all_keys = [out[f"{which}-key"], *out[f"{which}-restore-keys"].split("\n")]
        assert len(all_keys) <= cachekey.MAX_KEYS
        assert all(len(k) <= cachekey.MAX_KEY_LENGTH and "," not in k for k in all_keys)


def test_the_key_rules_are_enforced() -> None:
    cachekey.check_keys("k" * 512, ("k",) * 9, "x")
    with pytest.raises(InputError, match="longer than 512"):
        cachekey.check_keys("k" * 513, (), "build cache key")
    with pytest.raises(InputError, match="comma"):
        cachekey.check_keys("a,b", (), "build cache key")
    with pytest.raises(InputError, match="11 keys, the cache service accepts at most 10"):
        cachekey.check_keys("k", ("k",) * 10, "build cache key")
    assert (
        cachekey.key_part("devel go1.27-abc Tue Nov 3, 2026") == "devel_go1.27-abc_Tue_Nov_3_2026"
    )


def assert_bad_input(run: GociRun, *phrases: str) -> None:
    assert run.code == 2, run.stdout + run.stderr
    for phrase in phrases:
        assert phrase in run.stderr, run.stderr
    assert run.outputs == {}
    assert "Traceback" not in run.stderr


def test_bad_input_exits_2_and_writes_no_outputs(
    make_repo: Callable[..., GoRepo],
    single: GoRepo,
    gha_env: dict[str, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
) -> None:
    empty = tmp_path / "not-go"
    empty.mkdir()
    (empty / "README.md").write_text("no Go here\n")
    assert_bad_input(goci("cache-key", env=gha_env, cwd=empty), "not a Go repository", "::error::")

    dangling = make_repo("dangling")
    dangling.module(".", "example.com/dangling")
    (dangling.root / "go.sum").symlink_to(dangling.root / "missing.sum")
    assert_bad_input(goci("cache-key", env=gha_env, cwd=dangling.root), "go.sum", "cannot read")

    folder = make_repo("folder")
    folder.module(".", "example.com/folder")
    (folder.root / "go.sum").mkdir()
    assert_bad_input(goci("cache-key", env=gha_env, cwd=folder.root), "go.sum", "cannot read")

    work = make_repo("missing-use")
    work.module("a", "example.com/a")
    work.write("go.work", "go 1.21\n\nuse (\n\t./a\n\t./gone\n)\n")
    assert_bad_input(
        goci("cache-key", env=gha_env, cwd=work.root), "go.work", "'./gone'", "no go.mod"
    )

    assert_bad_input(
        goci("cache-key", "--target", "linux/amd46", env=gha_env, cwd=single.root),
        "--target: 'linux/amd46'",
        "did you mean 'linux/amd64'?",
    )
    assert_bad_input(
        goci("cache-key", "--target", "lunix/arm64", env=gha_env, cwd=single.root),
        "did you mean 'linux/arm64'?",
    )
    assert_bad_input(
        goci("cache-key", "--target", "linux", env=gha_env, cwd=single.root), "not os/arch"
    )
    assert_bad_input(
        goci("cache-key", env={**gha_env, "GOARCH": "amd46"}, cwd=single.root),
        "GOOS/GOARCH: 'linux/amd46'",
        "did you mean 'linux/amd64'?",
    )
    assert_bad_input(
        goci("cache-key", env={**gha_env, "INPUT_PREFIX": "my,cache"}, cwd=single.root),
        "INPUT_PREFIX (prefix): 'my,cache'",
    )


def test_inputs_reach_cache_key_from_the_action_environment(
    single: GoRepo, gha_env: dict[str, str], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    env = {
        **gha_env,
        "INPUT_TARGET": "linux/arm64",
        "INPUT_PREFIX": "team",
        "INPUT_WORKING_DIRECTORY": str(single.root),
    }
    run = goci("cache-key", env=env, cwd=None)
    assert run.code == 0, run.stderr
    assert run.outputs["mod-key"].startswith("team-mod-")
    assert "-linux-arm64-" in run.outputs["build-key"]


def play_cache_key_action(
    repo: Path, env: dict[str, str], tmp: Path, restored: Callable[[str], str]
) -> tuple[dict[str, str], str]:
    """Play actions/cache-key/action.yml's own scripts, in order, as the runner would.

    ``${{ inputs.* }}`` and ``${{ steps.*.outputs.* }}`` in ``env:`` are filled the way the
    runner fills them; each actions/cache/restore step answers with ``restored(key)`` as its
    cache-matched-key ("" for a miss); the setup step is replaced by putting this venv's goci
    on PATH. Returns the action's outputs and what the mark step printed.
    """
    action = yaml.safe_load((ROOT / "actions" / "cache-key" / "action.yml").read_text())
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs.update({"working-directory": str(repo), "target": "linux/arm64"})
    outputs: dict[str, dict[str, str]] = {}
    workspace = tmp / "runner"
    workspace.mkdir(parents=True)
    base = {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"}
    mark_log = ""

    def fill(text: str) -> str:
        def value(match: re.Match[str]) -> str:
            expr = match.group(1).strip()
            if expr.startswith("inputs."):
                return inputs[expr.removeprefix("inputs.")]
            step_id, _, name = expr.removeprefix("steps.").partition(".outputs.")
            return outputs.get(step_id, {}).get(name, "")

        return re.sub(r"\$\{\{(.*?)\}\}", value, text)

    # After goci's set-up (its four steps, the same in every action: test_action_contract),
    # goci is this interpreter's on PATH.
    for index, step in enumerate(action["runs"]["steps"][4:]):
        step_id = step.get("id", f"step{index}")
        if "uses" in step:
            assert step["uses"].startswith("actions/cache/restore@")
            matched = restored(fill(step["with"]["key"]))
            outputs[step_id] = {"cache-hit": "false", "cache-matched-key": matched}
            continue
        step_env = actions_env(workspace / step_id, base)
        step_env.update({k: fill(str(v)) for k, v in (step.get("env") or {}).items()})
        proc = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=workspace,
            env=step_env,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outputs[step_id] = read_key_values(Path(step_env["GITHUB_OUTPUT"]))
        if step_id == "mark":
            assert "GOCI_CACHE_MARK" in Path(step_env["GITHUB_ENV"]).read_text()
            mark_log = proc.stdout
    return {name: fill(spec["value"]) for name, spec in action["outputs"].items()}, mark_log


def test_the_cache_key_action_runs_end_to_end(
    single: GoRepo, go_env: dict[str, str], tmp_path: Path
) -> None:
    """The module cache comes from a fallback key, the build cache misses."""

    def restored(key: str) -> str:
        return "goci-mod-Linux-from-another-branch" if "-mod-" in key else ""

    result, mark_log = play_cache_key_action(single.root, go_env, tmp_path, restored)
    assert result.pop("build-cache-stats") == ""  # actions mode: no shared-cache servers
    assert all(result.values()), result
    assert "go mod verify passed" in mark_log
    assert "-linux-arm64-" in result["build-key"]
    assert result["mod-cache-hit"] == "false" and result["build-cache-hit"] == "false"
    assert result["save"] == "false" and result["mod-save"] == "false"


def save_step_conditions() -> dict[str, tuple[str, str]]:
    """The ``if:`` of the steps that save the module cache: go-ci.yml's and the README's
    one-by-one example's, with the id of the cache-key step each one reads."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "go-ci.yml").read_text())
    steps = [s for job in workflow["jobs"].values() for s in job.get("steps", [])]
    in_workflow = next(s for s in steps if s.get("name") == "Save the module cache")
    readme = (ROOT / "README.md").read_text()
    example = next(
        yaml.safe_load(block)
        for block in re.findall(r"```yaml\n(.*?)```", readme, re.S)
        if "actions/cache/save@" in block and "mod-path" in block
    )
    in_readme = next(s for s in example if "mod-path" in str(s.get("with", {})))
    return {"go-ci.yml": (in_workflow["if"], "keys"), "README.md": (in_readme["if"], "cache")}


def saves_module_cache(outputs: dict[str, str]) -> set[str]:
    """Where the module cache save step would run after the cache-key action gave ``outputs``."""
    from support.expressions import Evaluator

    ran = set()
    for where, (condition, step_id) in save_step_conditions().items():
        contexts = {"steps": {step_id: {"outputs": outputs, "outcome": "success"}}}
        if Evaluator(contexts).condition(condition):
            ran.add(where)
    return ran


def with_a_dependency(
    make_repo: Callable[..., GoRepo],
    goproxy: GoProxy,
    go_env: dict[str, str],
    tmp: Path,
    name: str,
) -> GoRepo:
    """A module that requires one "third-party" module (go.sum written by go mod tidy)."""
    go_env["GOMODCACHE"] = str(tmp / "modcache")  # the session's may hold another dep v1.0.0
    goproxy.add("example.com/dep", "v1.0.0", {"dep.go": "package dep\n\nconst N = 1\n"})
    repo = make_repo(name)
    repo.module(".", f"example.com/{name}", extra="require example.com/dep v1.0.0")
    repo.package(".", "main", 'import "example.com/dep"\n\nfunc main() { println(dep.N) }\n')
    repo.go("mod", "tidy")
    return repo


def test_no_module_cache_save_for_a_repository_that_downloads_no_module(
    make_repo: Callable[..., GoRepo],
    single: GoRepo,
    goproxy: GoProxy,
    go_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """A push to main, caches missed: the module cache is saved only when Go downloads into it.

    Each repository gets its own empty GOMODCACHE and really builds and tests: the save steps
    of go-ci.yml and of the README run exactly when Go downloaded a module (with none, the
    folder is missing and actions/cache warns "Path Validation Error"; Go 1.24+ may still
    leave its note of the repository's own version there, nothing worth a cache), and not after
    an exact hit (even one the cache service returns in lower case, as act does).
    """
    deps = with_a_dependency(make_repo, goproxy, go_env, tmp_path, "deps")
    deps.commit("with a dependency")
    push = {"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main"}
    event = tmp_path / "event.json"
    event.write_text(json.dumps(REPO_PAYLOAD))

    def job(repo: GoRepo, name: str, restored: Callable[[str], str]) -> tuple[set[str], set[str]]:
        modcache = tmp_path / name / "modcache"
        env = {**go_env, **push, "GITHUB_EVENT_PATH": str(event), "GOMODCACHE": str(modcache)}
        outputs, _log = play_cache_key_action(repo.root, env, tmp_path / name, restored)
        assert outputs["save"] == "true" and outputs["mod-path"] == str(modcache)
        for args in (("build", "./..."), ("test", "./...")):
            subprocess.run([env["GOCI_GO"], *args], cwd=repo.root, env=env, check=True)
        downloaded = {p.name for p in modcache.glob("cache/download/**/@v/*.zip")}
        return saves_module_cache(outputs), downloaded

    def miss(key: str) -> str:
        return ""

    assert job(single, "no-deps", miss) == (set(), set())
    assert job(deps, "deps", miss) == ({"go-ci.yml", "README.md"}, {"v1.0.0.zip"})
    saved, _downloaded = job(deps, "hit", lambda key: key.lower() if "-mod-" in key else "")
    assert saved == set()


def test_vendored_modules_and_pull_requests_save_no_module_cache(
    make_repo: Callable[..., GoRepo],
    goproxy: GoProxy,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
) -> None:
    repo = with_a_dependency(make_repo, goproxy, go_env, tmp_path, "vendored")
    push = event_env(go_env, tmp_path / "push", "push", "refs/heads/main", REPO_PAYLOAD)
    assert keys(goci, push, repo.root)["mod-save"] is True

    repo.go("mod", "vendor")
    assert keys(goci, push, repo.root)["mod-save"] is False
    assert keys(goci, {**push, "GOFLAGS": "-mod=mod"}, repo.root)["mod-save"] is True

    pull = event_env(
        go_env, tmp_path / "pr", "pull_request", "refs/pull/7/merge", {**REPO_PAYLOAD, "number": 7}
    )
    (repo.root / "vendor").rename(repo.root / "not-vendor")
    out = keys(goci, pull, repo.root)
    assert out["save"] is False and out["mod-save"] is False


def test_a_gowork_of_another_name_counts_its_own_sum_file(
    make_repo: Callable[..., GoRepo],
    goproxy: GoProxy,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
) -> None:
    """``GOWORK=ci.work``: go reads ``ci.work.sum`` (the go.work file's name plus ``.sum``),
    never ``go.work.sum``; the module key must follow the file go really uses."""
    repo = with_a_dependency(make_repo, goproxy, go_env, tmp_path, "named")
    (repo.root / "go.sum").rename(repo.root / "ci.work.sum")  # the dependency's sums, only there
    repo.write("ci.work", "go 1.22\n\nuse .\n")
    env = event_env(
        {**go_env, "GOWORK": str(repo.root / "ci.work")},
        tmp_path / "push",
        "push",
        "refs/heads/main",
        REPO_PAYLOAD,
    )
    before = keys(goci, env, repo.root)
    assert before["mod-save"] is True  # go downloads the dependency, checked by ci.work.sum:
    subprocess.run([env["GOCI_GO"], "build", "./..."], cwd=repo.root, env=env, check=True)
    assert list(Path(env["GOMODCACHE"]).glob("cache/download/example.com/dep/@v/v1.0.0.zip"))

    repo.write("go.work.sum", "example.com/other v1.0.0 h1:decoy=\n")  # go never reads it
    assert keys(goci, env, repo.root) == before
    subprocess.run([env["GOCI_GO"], "build", "./..."], cwd=repo.root, env=env, check=True)

    sums = (repo.root / "ci.work.sum").read_text()
    repo.write("ci.work.sum", sums + "example.com/tool v1.0.0 h1:t=\n")
    assert moved(before, keys(goci, env, repo.root)) == {
        "mod-key",
        "build-key",
        "build-restore-keys",
        "deps-hash",
    }


def test_an_alternate_modfile_in_goflags_counts_with_its_sum_file(
    make_repo: Callable[..., GoRepo],
    goproxy: GoProxy,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
) -> None:
    """``GOFLAGS=-modfile=alt.mod``: go reads alt.mod for the requirements and alt.sum for
    their sums (go.mod only says where the module is): the module key follows both."""
    repo = with_a_dependency(make_repo, goproxy, go_env, tmp_path, "alt")
    (repo.root / "go.mod").rename(repo.root / "alt.mod")
    (repo.root / "go.sum").rename(repo.root / "alt.sum")
    repo.module(".", "example.com/alt")  # a go.mod that requires nothing
    env = event_env(
        {**go_env, "GOFLAGS": f"{go_env.get('GOFLAGS', '')} -modfile=alt.mod".strip()},
        tmp_path / "push",
        "push",
        "refs/heads/main",
        REPO_PAYLOAD,
    )
    before = keys(goci, env, repo.root)
    assert before["mod-save"] is True  # go downloads the dependency alt.mod requires:
    subprocess.run([env["GOCI_GO"], "build", "./..."], cwd=repo.root, env=env, check=True)
    assert list(Path(env["GOMODCACHE"]).glob("cache/download/example.com/dep/@v/v1.0.0.zip"))

    every = {"mod-key", "build-key", "build-restore-keys", "deps-hash"}
    sums = (repo.root / "alt.sum").read_text()
    repo.write("alt.sum", sums + "example.com/tool v1.0.0 h1:t=\n")
    after_sum = keys(goci, env, repo.root)
    assert moved(before, after_sum) == every
    repo.write("alt.mod", (repo.root / "alt.mod").read_text() + "\n// edited\n")
    assert moved(after_sum, keys(goci, env, repo.root)) == every
