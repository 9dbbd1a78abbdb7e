"""Bad input never ends in a traceback, and a module go cannot load never hides packages.

Each case runs goci as the shells do and expects exit 2, one ``::error::`` line that names the
input and what to do, no outputs, and nothing half-written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from support.cover_repo import make_monorepo, module_env, unsharded_profile
from support.goci_run import GociRun, actions_env
from support.gorepo import GoRepo

BROKEN_GO_MOD = "module example.com/b\n\ngo 1.21\nthis is bad\n"


def refused(run: GociRun, first_line: str) -> str:
    """Exit 2 with one ``::error::`` annotation that starts with ``first_line``; no outputs."""
    assert run.code == 2, (run.code, run.stdout, run.stderr)
    errors = [line for line in run.stderr.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, run.stderr
    assert errors[0].startswith("::error::" + first_line), errors[0]
    assert "Traceback" not in run.stderr
    assert run.outputs == {}
    return errors[0]


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
    assert not (repo.root / "dist").exists() and not (repo.root / ".goci" / "dist").exists()
    assert not (repo.root / "coverage").exists()


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
    assert not (repo.root / "dist").exists()


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
    refused(run, "services: '[\"api\",' is not valid JSON (Expecting value)")
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


# ---- coverage profiles and sidecars -----------------------------------------------------------


@pytest.fixture(scope="module")
def covered(
    tmp_path_factory: pytest.TempPathFactory, go_binary: Path, shared_go_dirs: dict[str, Path]
) -> tuple[GoRepo, Path]:
    root = tmp_path_factory.mktemp("badcov")
    repo = make_monorepo(root / "repo", module_env(go_binary, shared_go_dirs))
    return repo, unsharded_profile(repo, root / "unsharded.out")


def merge(goci: Callable[..., GociRun], repo: GoRepo, tmp_path: Path, text: str) -> GociRun:
    """Merge ``text`` as one profile into ``in/<test>/m.out`` of the shared repository."""
    work = repo.root / "in" / tmp_path.name
    work.mkdir(parents=True)
    (work / "p.out").write_text(text)
    env = actions_env(tmp_path / "gha", repo.env)
    out = f"--out=in/{tmp_path.name}/m.out"
    return goci("coverage", "merge", str(work / "p.out"), out, env=env, cwd=repo.root)


def merged(repo: GoRepo, tmp_path: Path) -> Path:
    return repo.root / "in" / tmp_path.name / "m.out"


def test_a_statement_count_the_source_contradicts_is_refused(
    covered: tuple[GoRepo, Path], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    repo, unsharded = covered
    lines = unsharded.read_text().splitlines()
    hits: dict[str, int] = {}  # mathx.go's blocks -> hit in any test binary
    for line in lines:
        if "lib/mathx/mathx.go:" in line:
            position, _, count = line.rsplit(" ", 2)
            hits[position] = max(hits.get(position, 0), int(count))
    add = next(p for p, hit in hits.items() if hit and ":3." in p)  # Add's body: 1 statement
    # Every test binary's line for that block claims 100000: the total would read ~100%.
    lifted = [f"{add} 100000 1" if x.startswith(add + " ") else x for x in lines]
    run = merge(goci, repo, tmp_path, "\n".join(lifted) + "\n")
    refused(
        run,
        f"example.com/lib/mathx/mathx.go: block {add.split(':')[1]} claims 100000 "
        "statements, but go tool cover counts 1 there in",
    )
    assert not merged(repo, tmp_path).exists()
    # A block go tool cover never makes (inside the file, with a plausible count) is refused
    # too, and so is a file whose uncovered blocks were left out.
    invented = merge(goci, repo, tmp_path / "x", "\n".join([*lines, A_FAKE_BLOCK]) + "\n")
    line = refused(invented, "example.com/lib/mathx/mathx.go: block 5.1,5.5 claims 1 statements")
    assert "go tool cover makes no block there" in line
    uncovered = [p for p, hit in hits.items() if not hit]
    assert uncovered  # Mul's zero branch: no test binary reaches it
    trimmed = [x for x in lines if x.rsplit(" ", 2)[0] not in uncovered]
    partial = merge(goci, repo, tmp_path / "y", "\n".join(trimmed) + "\n")
    refused(partial, "example.com/lib/mathx/mathx.go: the profile lists")
    # the real profile is accepted
    ok = merge(goci, repo, tmp_path / "z", unsharded.read_text())
    assert ok.code == 0, ok.stderr


A_FAKE_BLOCK = "example.com/lib/mathx/mathx.go:5.1,5.5 1 1"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("/etc/hostname", "is an absolute path"),
        ("C:/go/src/fmt/print.go", "is an absolute path"),
        ("example.com/lib/../../../etc/passwd", "climbs out with '..'"),
        ("./../outside.go", "climbs out with '..'"),
        ("example.com/lib/" + "x" * 200_000 + ".go", "is too long for a file name"),
        ("example.com/lib/x\tz.go", "holds control characters"),
    ],
    ids=["absolute", "drive", "dotdot", "dot-dotdot", "enametoolong", "control"],
)
def test_profiles_name_files_inside_the_repository_only(
    covered: tuple[GoRepo, Path],
    goci: Callable[..., GociRun],
    tmp_path: Path,
    name: str,
    problem: str,
) -> None:
    repo, _ = covered
    run = merge(goci, repo, tmp_path, f"mode: set\n{name}:1.1,2.2 1 1\n")
    line = refused(run, f"in/{tmp_path.name}/p.out:2: the file name ")
    assert problem in line
    assert len(line) < 400  # one readable line, not 200k characters
    assert not merged(repo, tmp_path).exists()


def test_a_profile_naming_a_go_file_outside_the_repository_is_refused(
    covered: tuple[GoRepo, Path], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    """A symbolic link inside a module that points out of the repository reads nothing."""
    repo, _ = covered
    outside = tmp_path / "outside.go"
    outside.write_text("package mathx\n\nfunc Secret() int { return 1 }\n")
    link = repo.root / "lib" / "mathx" / "secret.go"
    link.symlink_to(outside)
    try:
        run = merge(
            goci, repo, tmp_path, "mode: set\nexample.com/lib/mathx/secret.go:3.20,3.30 1 1\n"
        )
    finally:
        link.unlink()
    refused(
        run, f"{merged(repo, tmp_path)}:2: example.com/lib/mathx/secret.go is not a file inside"
    )


@pytest.mark.parametrize(
    ("sidecar", "message"),
    [
        ({"tags": 5}, "'tags' is 5, not a list of strings"),
        ({"commit": ["a"]}, "'commit' is [\"a\"], not a string"),
        ({"coverpkg": [1]}, "'coverpkg' is [1], not a list of strings"),
    ],
)
def test_a_sidecar_with_fields_of_the_wrong_type_is_refused(
    covered: tuple[GoRepo, Path],
    goci: Callable[..., GociRun],
    tmp_path: Path,
    sidecar: dict[str, object],
    message: str,
) -> None:
    repo, unsharded = covered
    work = repo.root / "in" / tmp_path.name
    work.mkdir(parents=True)
    (work / "p.out").write_text(unsharded.read_text())
    (work / "p.out.json").write_text(json.dumps(sidecar))
    env = actions_env(tmp_path / "gha", repo.env)
    run = goci("coverage", "merge", str(work), "--out=m.out", env=env, cwd=repo.root)
    refused(run, f"{work / 'p.out.json'}: {message}")
    assert re.search(r"remove it or run goci test again$", run.stderr.splitlines()[0])
