"""What a newcomer trips over (issue 13): refusals up front, naming the right thing, one layout.

Each case is what a person typed while trying goci: a value out of range must be refused before
any step runs (nothing written, no test run), the error must name what was wrong where it came
from (a flag, an ``INPUT_*`` or ``PLUGIN_*`` variable, an input file and its line), and
everything goci writes by default lands under ``.goci/``, which stays out of git.
"""

from __future__ import annotations

import importlib.util
import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from goci.commands import COMMANDS
from goci.options import help_text
from support.goci_run import GociRun, actions_env
from support.gorepo import GoRepo
from support.refusal import refused


@pytest.fixture
def service(make_repo: Callable[..., GoRepo]) -> GoRepo:
    """One module with a service (cmd/api) and a tested library: enough for every command."""
    repo = make_repo()
    repo.module("", "example.com/svc")
    repo.write(
        "cmd/api/main.go",
        'package main\n\nimport "example.com/svc/lib"\n\nfunc main() { println(lib.V()) }\n',
    )
    repo.package("lib", "lib", "func V() int { return 1 }\n")
    repo.write(
        "lib/lib_test.go", 'package lib\n\nimport "testing"\n\nfunc TestV(t *testing.T) {}\n'
    )
    repo.commit("a service")
    return repo


def untracked(repo: GoRepo) -> list[str]:
    """What ``git status`` would show a person: files neither tracked nor ignored."""
    out = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=repo.root,
        env=repo.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.splitlines()


# ---- 1. every option is checked before anything runs ------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (
            ("ci", "--min-total", "101"),
            {},
            "--min-total: 101 is not valid; accepted: a number from 0 to 100",
        ),
        (("drone",), {"PLUGIN_MIN_TOTAL": "-5"}, "PLUGIN_MIN_TOTAL (min-total): -5 is not valid"),
        (("ci", "--parallel", "-1"), {}, "--parallel: -1 is not valid"),
        (("ci", "--store", "ftp://x"), {}, "--store: 'ftp://x' is not valid"),
        (("ci", "--platforms", "linux/notanarch"), {}, "--platforms: 'linux/notanarch'"),
        (("ci", "--go-versions", "1.2x"), {}, "go-versions: '1.2x' is not valid"),
        (("build", "--jobs", "0"), {}, "--jobs: 0 is not valid; accepted: a whole number >= 1"),
        (("changed", "--deepen-limit", "-5"), {}, "--deepen-limit: -5 is not valid"),
        (("test", "--timeout", "ten minutes"), {}, "--timeout: 'ten minutes' is not valid"),
        (("coverage", "merge", "--threshold", "x"), {}, "--threshold: 'x' is not valid"),
        (("artifact", "upload", "--keep", "-1"), {}, "--keep: -1 is not valid"),
        (("cache", "trim", "--max-size", "lots"), {}, "--max-size: 'lots'"),
        (
            ("promote", "--service", "api", "--from", "garbage", "--version", "1.0.0"),
            {},
            "--from: 'dev/garbage' is not valid",
        ),
        (("test", "--covermode", "bogus"), {}, "--covermode: 'bogus' is not one of '', set,"),
        (
            ("cache-key", "--build-cache", "tarball"),
            {},
            "--build-cache: 'tarball' is not one of actions, store, ''",
        ),
        (("cacheprog", "--store", "file://s", "--timeout", "soon"), {}, "--timeout: 'soon'"),
        (
            ("cacheprog", "--store", "file://s", "--flush-timeout", "1 minute"),
            {},
            "--flush-timeout: '1 minute'",
        ),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_a_bad_option_is_refused_before_any_step_runs(
    service: GoRepo,
    goci: Callable[..., GociRun],
    tmp_path: Path,
    args: tuple[str, ...],
    env: dict[str, str],
    named: str,
) -> None:
    """``goci ci --min-total 101`` used to run every test (~15 s) and fail only at the end."""
    run = goci(*args, env={**actions_env(tmp_path / "gha", service.env), **env}, cwd=service.root)
    refused(run, named)
    assert "[1/" not in run.stdout + run.stderr  # not one pipeline step started
    assert not (service.root / ".goci").exists()  # nothing written
    assert untracked(service) == []


# ---- 2. the error names the right thing -------------------------------------------------------


def test_a_value_from_the_environment_is_named_as_such(
    service: GoRepo, goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    env = actions_env(tmp_path / "gha", service.env)
    run = goci("matrix", "--offline", env={**env, "INPUT_SHARDS": "0"}, cwd=service.root)
    refused(run, "INPUT_SHARDS (shards): 0 is not valid; accepted: a whole number from 1 to 256")
    run = goci("matrix", "--offline", "--shards", "0", env=env, cwd=service.root)
    refused(run, "--shards: 0 is not valid")


def test_a_missing_dist_is_blamed_on_dist(
    service: GoRepo, goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    env = actions_env(tmp_path / "gha", service.env)
    for command in ("pack", "upload"):
        run = goci("artifact", command, "--dist", "nodist", env=env, cwd=service.root)
        line = refused(run, "--dist: 'nodist' is not valid; a folder holding what goci build")
        assert "--service" not in line and "--store" not in line


def test_an_unknown_flag_names_the_subcommand_and_the_closest_flag(
    goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    run = goci("artifact", "pack", "--servce", "api", env={}, cwd=tmp_path)
    assert run.code == 2
    assert "goci artifact pack: unrecognized arguments: --servce api" in run.stderr
    assert "did you mean '--service'?" in run.stderr and "Traceback" not in run.stderr
    run = goci("build", "--job", "2", env={}, cwd=tmp_path)  # never read as --jobs 2
    assert run.code == 2 and "goci build: unrecognized arguments: --job 2" in run.stderr


def test_a_group_without_its_subcommand_prints_its_own_usage(
    goci: Callable[..., GociRun],
) -> None:
    run = goci("artifact", env={})
    assert run.code == 2
    assert "usage: goci artifact [-h] SUBCOMMAND" in run.stderr
    assert "pack" in run.stderr and "upload" in run.stderr
    assert "changed" not in run.stderr  # not the top-level list of commands


def test_matrix_checks_the_platforms_before_fetching_go_versions(
    service: GoRepo, goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    """No Go versions given means 'stable' from the network: a bad platform is found first.

    The release list is at a closed port, so a fetch would fail with a network error."""
    env = actions_env(tmp_path / "gha", service.env)
    run = goci(
        "matrix", "--platforms", "linux/notanarch", "--releases-url", "http://127.0.0.1:9/dl",
        env=env, cwd=service.root,
    )  # fmt: skip
    refused(run, "platforms: 'linux/notanarch'")
    assert "127.0.0.1:9" not in run.stderr


# ---- 3. one layout: everything under .goci/, which git ignores --------------------------------


def test_build_pack_upload_with_no_paths_agree_and_stay_out_of_git(
    service: GoRepo, goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    env = actions_env(tmp_path / "gha", service.env)
    for args in (
        ("build", "--platforms", "linux/amd64"),
        ("artifact", "pack", "--timestamp", "20250102030405"),
        ("artifact", "upload"),
    ):
        run = goci(*args, env=env, cwd=service.root)
        assert run.code == 0, (args, run.stderr)
    # 8. a one-character secret (set by mistake) is not hidden in goci's own words, but named weak
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "***" not in summary and "\n::add-mask::" not in run.stderr
    weak = goci("artifact", "upload", env={**env, "AWS_SECRET_ACCESS_KEY": "y"}, cwd=service.root)
    assert weak.code == 0, weak.stderr
    assert "::add-mask::y\n" in weak.stderr
    assert "::warning::AWS_SECRET_ACCESS_KEY: a 1-character secret is weak" in weak.stderr
    assert "***" not in Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    goci_folder = service.root / ".goci"
    assert (goci_folder / "dist/api/linux-amd64/api").is_file()
    assert (goci_folder / "dist/dev/api-20250102030405/SHA256SUMS").is_file()
    assert (goci_folder / "store/dev/api-20250102030405/SHA256SUMS").is_file()
    assert sorted(p.name for p in service.root.iterdir()) == [
        ".git",
        ".goci",
        "cmd",
        "go.mod",
        "lib",
    ]
    assert untracked(service) == []


def test_test_and_coverage_merge_write_under_goci_by_default_as_the_umask_allows(
    service: GoRepo, goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    """The merged profile was written 0600: another tool of the job (a viewer, an uploader
    running as another user) could not read it. Files get what the umask allows, as open()."""
    env = actions_env(tmp_path / "gha", service.env)
    assert goci("test", env=env, cwd=service.root).code == 0
    previous = os.umask(0o027)
    try:
        run = goci("coverage", "merge", ".goci/coverage", env=env, cwd=service.root)
    finally:
        os.umask(previous)
    assert run.code == 0, run.stderr
    merged = service.root / ".goci" / "coverage.out"
    assert stat.S_IMODE(merged.stat().st_mode) == 0o640
    assert list((service.root / ".goci" / "coverage").glob("*.cover"))
    assert untracked(service) == []


def test_no_tracked_file_is_git_ignored() -> None:
    """.gitignore listed examples/README.md and examples/go.work, which are tracked."""
    root = Path(__file__).resolve().parent.parent
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--ignored", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout.splitlines() == []
    ignored = (root / ".gitignore").read_text().splitlines()
    assert "examples/README.md" not in ignored and "examples/go.work" not in ignored


# ---- 6. the demo shows a selective run, with the reasons --------------------------------------


def load_dev() -> Any:
    """dev.py, the script the README's first command runs, as a module."""
    path = Path(__file__).resolve().parent.parent / "dev.py"
    spec = importlib.util.spec_from_file_location("goci_dev_script", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_demo_selects_one_package_and_its_importers_and_says_why(
    goci: Callable[..., GociRun], go_env: dict[str, str], tmp_path: Path
) -> None:
    dev = load_dev()
    demo = tmp_path / "demo"
    base = dev.prepare_demo(demo)
    run = goci(
        "ci", str(demo), "--base", base, "--platforms", "linux/amd64", "--no-upload",
        env=go_env,
    )  # fmt: skip
    assert run.code == 0, run.stdout + run.stderr
    shown = run.stdout
    assert "2 changed files; 3 packages, 3 test packages, 2 services, 1 module" in shown
    for service in ("api", "worker"):
        assert (
            f"  example.com/services/cmd/{service}  <- services/internal/greet/greet.go: "
            f"example.com/services/internal/greet -> example.com/services/cmd/{service}"
        ) in shown
    assert "example.com/services/cmd/cli" not in shown and "example.com/platform" not in shown
    assert "matrix    ok" in shown and "1 job\n" in shown and "1 jobs" not in shown
    assert "2 binaries for 1 target" in shown
    assert "from 1 input ->" in shown and "1 inputs" not in shown
    # Without a base everything runs, and the report says so in words.
    first = goci("changed", env=go_env, cwd=demo)
    assert first.code == 0, first.stderr
    assert first.stdout.startswith("no base (first run): every package  head ")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_help_shows_every_default(command: Any) -> None:
    """A default is shown in words or as the value; an empty one means 'not set'."""
    for option in command.options:
        if option.positional or option.default in (None, "", ()):
            continue
        assert "default" in help_text(option), (command.name, option.name)
