"""Bad input never ends in a traceback, and a module go cannot load never hides packages.

Each case runs goci as the shells do and expects exit 2, one ``::error::`` line that names the
input and what to do, no outputs, and nothing half-written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from support.goci_run import GociRun, actions_env
from support.gorepo import GoRepo
from support.refusal import refused

BROKEN_GO_MOD = "module example.com/b\n\ngo 1.21\nthis is bad\n"


# ---- issue 10.5: a module go cannot load fails every command, with go's own message ----------


@pytest.fixture
def two_modules(make_repo: Callable[..., GoRepo]) -> tuple[GoRepo, str]:
    """Module a (service api) is healthy; module b's go.mod is broken in the last commit."""
    repo = make_repo()
    repo.module("a", "example.com/a")
    repo.package("a/cmd/api", "main", "func main() {}\n", file="main.go")
    repo.package("a/lib", "lib", "func V() int { return 1 }\n")
    repo.write(
        "a/lib/lib_test.go", 'package lib\n\nimport "testing"\n\nfunc TestV(t *testing.T) {}\n'
    )
    repo.module("b", "example.com/b")
    repo.package("b/cmd/web", "main", "func main() {}\n", file="main.go")
    base = repo.commit("two modules")
    repo.write("b/go.mod", BROKEN_GO_MOD)
    repo.package("a/lib", "lib", "func V() int { return 2 }\n")
    repo.commit("b's go.mod broken")
    return repo, base


@pytest.mark.parametrize(
    "args",
    [("build",), ("test",), ("changed", "--base", "BASE"), ("ci", "--base", "BASE")],
    ids=["build", "test", "changed", "ci"],
)
def test_a_module_go_cannot_load_is_exit_2_with_gos_message(
    two_modules: tuple[GoRepo, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
    args: tuple[str, ...],
) -> None:
    repo, base = two_modules
    env = actions_env(tmp_path / "gha", repo.env)
    run = goci(*(base if a == "BASE" else a for a in args), env=env, cwd=repo.root)
    # go's own words first, with the file made absolute so that the line names it exactly
    refused(run, f"{repo.root / 'b' / 'go.mod'}:4: unknown directive: this")
    # then the failing command line, once, with go's whole stderr, folded in a collapsed group
    assert (run.stdout + run.stderr).count("go list -json") == 1, run.stdout + run.stderr
    folded = run.stderr.partition("::group::details\n")[2].partition("::endgroup::")[0]
    assert "go list -json" in folded and "unknown directive: this" in folded
    assert "[3/" not in run.stdout + run.stderr  # goci ci stopped at its first step
    assert not (repo.root / "dist").exists() and not (repo.root / ".goci" / "dist").exists()
    assert not (repo.root / ".goci" / "coverage").exists()


def test_a_package_go_cannot_name_may_be_a_service_so_build_refuses(
    make_repo: Callable[..., GoRepo], gha_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = make_repo()
    repo.module("", "example.com/s")
    repo.package("cmd/api", "main", "func main() {}\n", file="main.go")
    repo.write("cmd/web/main.go", "packge main\n\nfunc main() {}\n")  # no package clause
    repo.commit("web cannot be parsed")
    run = goci("build", env=gha_env, cwd=repo.root)
    line = refused(run, f"{repo.root}/cmd/web/main.go:1:1: expected 'package', found packge")
    assert "whether example.com/s/cmd/web is a main package" in line
    assert not (repo.root / ".goci" / "dist").exists()


# ---- a go.mod that is not UTF-8, in every command that reads one ------------------------------


@pytest.fixture
def latin1(make_repo: Callable[..., GoRepo]) -> GoRepo:
    repo = make_repo()
    repo.module("", "example.com/u")
    repo.package("cmd/api", "main", "func main() {}\n", file="main.go")
    repo.commit("utf-8")
    (repo.root / "go.mod").write_bytes(b"module example.com/u\n\ngo 1.21\n// caf\xe9\n")
    repo.commit("latin-1 comment")
    (repo.root / "c.out").write_text("mode: set\nexample.com/u/cmd/api/main.go:3.13,3.14 0 1\n")
    return repo


@pytest.mark.parametrize(
    "args",
    [
        ("cache-key",),
        ("changed", "--base", "HEAD~1"),
        ("matrix", "--offline"),
        ("build",),
        ("test",),
        ("coverage", "merge", "c.out"),
        ("ci", "--base", "HEAD~1"),
    ],
    ids=lambda args: args[0] if args[0] != "coverage" else "coverage-merge",
)
def test_a_go_mod_that_is_not_utf8_is_one_clear_line(
    latin1: GoRepo, goci: Callable[..., GociRun], tmp_path: Path, args: tuple[str, ...]
) -> None:
    env = actions_env(tmp_path / "gha", latin1.env)
    run = goci(*args, env=env, cwd=latin1.root)
    refused(
        run,
        f"go.mod: {latin1.root / 'go.mod'} is not UTF-8 text (byte 0xe9 on line 4); "
        "Go reads go.mod and go.work as UTF-8: save the file as UTF-8",
    )


# ---- user and file inputs --------------------------------------------------------------------


def test_a_broken_json_service_list_is_refused_not_planned_as_a_job(
    gha_env: dict[str, str], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    run = goci(
        "matrix", "--offline", "--go-versions", "1.24.3", "--services", '["api",',
        env=gha_env, cwd=tmp_path,
    )  # fmt: skip
    refused(run, "--services: '[\"api\",' is not valid JSON (Expecting value)")
    words = goci(
        "matrix", "--offline", "--go-versions", "1.24.3", "--services", "api, web", "--json",
        env=gha_env, cwd=tmp_path,
    )  # fmt: skip
    assert words.code == 0, words.stderr
    assert [e["service"] for e in words.json()["matrix"]["include"]] == ["api", "web"]


@pytest.mark.parametrize("url", ["http://[::1", "http://example.com:port/", "ftp://example.com/"])
def test_a_releases_url_that_is_not_a_url_is_refused(
    gha_env: dict[str, str], goci: Callable[..., GociRun], tmp_path: Path, url: str
) -> None:
    run = goci(
        "matrix", "--go-versions", "stable", "--releases-url", url, env=gha_env, cwd=tmp_path
    )
    assert "accepted: an http(s) URL" in refused(run, f"--releases-url: {url!r} is not")


def test_a_file_store_that_is_a_file_is_refused_by_goci_ci_before_any_step(
    make_repo: Callable[..., GoRepo], gha_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = make_repo()
    repo.module("", "example.com/st")
    repo.package("cmd/api", "main", "func main() {}\n", file="main.go")
    repo.commit("one service")
    blocker = repo.root.parent / "store"
    blocker.write_text("not a folder\n")
    args = ("ci", "--no-test", "--platforms", "linux/amd64")
    for store in (f"file://{blocker}", f"file://{blocker / 'sub'}"):
        run = goci(*args, "--store", store, env=gha_env, cwd=repo.root)
        line = refused(run, f"--store: {store!r} needs the folder")
        assert line.endswith(f"but {blocker} is a file; give a folder (or remove the file)")
        assert not (repo.root / ".goci").exists()  # refused before any step wrote anything
    (repo.root / "work").write_text("")
    run = goci(*args, "--work-dir", "work", env=gha_env, cwd=repo.root)
    refused(run, "--work-dir: 'work' needs the folder")


def test_a_command_line_the_system_refuses_is_a_tool_error_not_a_traceback(
    tmp_path: Path,
) -> None:
    from goci.errors import ToolError
    from goci.tools import _proc

    with pytest.raises(ToolError, match="Argument list too long") as caught:
        _proc.run(["git", "x" * 3_000_000], cwd=tmp_path, env={}, timeout=10, check=True)
    assert len(str(caught.value)) < 400  # the message shows the command cut short
