"""``goci changed``: affected packages from real git histories and the real ``go list``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from goci.changed.affected import analyse
from goci.changed.globs import glob_match
from goci.tools.gittool import Git
from goci.tools.gotool import Go
from support.affected_truth import publish_deps
from support.goci_run import GociRun
from support.goproxy import GoProxy
from support.gorepo import GoRepo

M = "ex.com/m"


ALL = [f"{M}/app", f"{M}/cmd/svc", f"{M}/lib", f"{M}/solo", f"{M}/util"]


def value_test(pkg: str, func: str, want: int) -> str:
    """A test file of ``pkg`` checking that ``func()`` returns ``want``."""
    return (
        f'package {pkg}\n\nimport "testing"\n\nfunc Test{func}(t *testing.T) {{\n'
        f'\tif {func}() != {want} {{\n\t\tt.Fatal("{func}")\n\t}}\n}}\n'
    )


def base_repo(make_repo: Callable[..., GoRepo]) -> GoRepo:
    """lib <- app <- cmd/svc (a service); util is used only by app's tests; solo (tested) is
    used by nobody, so an answer of "everything" never passes for a precise one; docs/ is
    prose."""
    repo = make_repo()
    repo.module(".", M)
    repo.package("lib", "lib", "func V() int { return 1 }\n")
    repo.write("lib/lib_test.go", value_test("lib", "V", 1))
    repo.write("lib/testdata/golden.txt", "1\n")
    repo.package("util", "util", "func Help() int { return 7 }\n")
    repo.package("app", "app", f'import "{M}/lib"\n\nfunc A() int {{ return lib.V() }}\n')
    repo.write(
        "app/app_test.go",
        f"""
        package app_test

        import (
            "testing"

            "{M}/app"
            "{M}/util"
        )

        func TestA(t *testing.T) {{
            if app.A()+util.Help() != 8 {{
                t.Fatal("A")
            }}
        }}
        """,
    )
    repo.package(
        "cmd/svc",
        "main",
        f'import "{M}/app"\n\nfunc main() {{ println(app.A()) }}\n',
        file="main.go",
    )
    repo.package("solo", "solo", "func S() int { return 3 }\n")
    repo.write("solo/solo_test.go", value_test("solo", "S", 3))
    repo.write("docs/guide.md", "# guide\n")
    repo.write("README.md", "# readme\n")
    repo.commit("base")
    return repo


def changed(goci: Callable[..., GociRun], repo: GoRepo, *args: str, **kw: Any) -> dict[str, Any]:
    run = goci("changed", "--json", *args, env=kw.get("env", repo.env), cwd=repo.root)
    assert run.code == 0, run.stderr
    result: dict[str, Any] = run.json()
    return result


def test_library_change_reaches_importers_services_and_tests(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.package("lib", "lib", "func V() int { return 2 }\n")
    repo.commit("lib")
    out = changed(goci, repo, "--base", base)
    assert out["packages"] == [f"{M}/app", f"{M}/cmd/svc", f"{M}/lib"]
    assert out["test-packages"] == [f"{M}/app", f"{M}/lib"]
    assert out["services"] == [f"{M}/cmd/svc"]
    assert out["modules"] == [M]
    assert out["all"] is False and out["any"] is True
    assert out["reason"][f"{M}/cmd/svc"] == {
        "file": "lib/lib.go",
        "via": [f"{M}/lib", f"{M}/app", f"{M}/cmd/svc"],
    }
    assert out["merge-base"] == base


def test_test_only_dependency_marks_tests_not_builds(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.package("util", "util", "func Help() int { return 8 }\n")
    repo.commit("util")
    out = changed(goci, repo, "--base", base)
    # app's external test imports util: app's test binary changes, app's build does not.
    assert out["test-packages"] == [f"{M}/app"]
    assert out["packages"] == [f"{M}/app", f"{M}/util"]
    assert out["services"] == []
    assert out["reason"][f"{M}/app"]["via"][-1] == f"{M}/app (test)"


@pytest.mark.parametrize("path", ["lib/lib_test.go", "lib/testdata/golden.txt"])
def test_own_test_files_affect_only_that_package(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun], path: str
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.write(path, (repo.root / path).read_text() + "\n// more\n")
    repo.commit("tests")
    out = changed(goci, repo, "--base", base)
    assert out["packages"] == [f"{M}/lib"]
    assert out["test-packages"] == [f"{M}/lib"]
    assert out["services"] == []


def test_docs_only_change_is_nothing(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.write("docs/guide.md", "# better guide\n")
    repo.write("README.md", "# better readme\n")
    repo.commit("docs")
    out = changed(goci, repo, "--base", base)
    assert out["any"] is False
    assert out["packages"] == [] and out["all"] is False


def test_orphan_policies(make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.write("app/notes.txt", "not embedded, not Go\n")
    repo.commit("orphan")
    nearest = changed(goci, repo, "--base", base)
    # Not compiled, not embedded: only app's own tests can read it, its importers cannot.
    assert nearest["packages"] == [f"{M}/app"]
    assert nearest["test-packages"] == [f"{M}/app"] and nearest["services"] == []
    assert nearest["reason"][f"{M}/app"]["note"].startswith("not compiled or embedded")
    ignore = changed(goci, repo, "--base", base, "--orphan-files", "ignore")
    assert ignore["any"] is False
    everything = changed(goci, repo, "--base", base, "--orphan-files", "all")
    assert everything["all"] is True
    assert everything["packages"] == ALL


def test_orphan_file_kinds(make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]) -> None:
    """A changed file no package claims selects what can read it, and nothing more."""
    repo = base_repo(make_repo)
    # A module-root package (lib imports it) whose test reads VERSIONING.md.
    repo.package(".", "m", 'const Version = "1"\n', file="version.go")
    repo.write("VERSIONING.md", "1\n")
    read_test = """
        package {pkg}

        import (
            "os"
            "strings"
            "testing"
        )

        func TestData(t *testing.T) {{
            raw, err := os.ReadFile("{file}")
            if err != nil || strings.TrimSpace(string(raw)) != "{want}" {{
                t.Fatalf("%s: %q %v", "{file}", raw, err)
            }}
        }}
        """
    repo.write("version_test.go", read_test.format(pkg="m", file="VERSIONING.md", want="1"))
    repo.write("lib/version.go", f'package lib\n\nimport m "{M}"\n\nvar _ = m.Version\n')
    # app's test reads golden.json from its own folder: testdata-like, not under testdata/.
    repo.write("app/golden.json", "8\n")
    repo.write("app/golden_test.go", read_test.format(pkg="app", file="golden.json", want="8"))
    # lib includes a header from a folder of its own; cbits compiles C as well.
    repo.write("lib/cgo.go", 'package lib\n\n// #include "include/helper.h"\nimport "C"\n')
    repo.write("lib/include/helper.h", "#define HELPER 1\n")
    repo.write("cbits/cbits.go", 'package cbits\n\n// int one(void) { return 1; }\nimport "C"\n')
    repo.write("lib/extra_windows.go", "package lib\n\nconst OnWindows = true\n")
    repo.write("cmd/svc/config.yaml", "port: 1\n")
    repo.commit("files of every kind")
    cgo = {**repo.env, "CGO_ENABLED": "1"}
    linux = ("--platform", "linux/amd64")
    lib = [f"{M}/app", f"{M}/cmd/svc", f"{M}/lib"]
    svc = [f"{M}/cmd/svc"]
    cases = [
        # Docs at a module root: only the root package's tests can read them, not the
        # importers of the root package (lib, app, cmd/svc).
        ("VERSIONING.md", repo.env, (), [M], [M], []),
        # Read by app's test from its own folder: app's tests, not cmd/svc's build.
        ("app/golden.json", repo.env, (), [f"{M}/app"], [f"{M}/app"], []),
        # A header beside cgo code: lib's build (nearest above) and every package compiling
        # C (cbits), with their importers.
        ("lib/include/helper.h", cgo, (), [f"{M}/app", f"{M}/cbits", *lib[1:]], lib[::2], svc),
        # A Windows file analysed for linux only: Go compiles it elsewhere, so still lib's.
        ("lib/extra_windows.go", repo.env, linux, lib, lib[::2], svc),
        # Beside a package without tests, nothing can read it.
        ("cmd/svc/config.yaml", repo.env, (), [], [], []),
    ]
    for path, env, args, packages, tests, services in cases:
        repo.write(path, (repo.root / path).read_text() + "\n")
        repo.commit(f"touch {path}")
        out = changed(goci, repo, "--base", "HEAD~1", *args, env=env)
        assert (out["packages"], out["test-packages"], out["services"]) == (
            packages,
            tests,
            services,
        ), path
        assert out["all"] is False, path
        if packages:
            assert out["reason"][packages[-1]]["file"] == path
    # The data files really are read: a wrong golden value fails app's test, which goci runs.
    repo.write("app/golden.json", "9\n")
    repo.commit("wrong golden value")
    assert repo.go("test", "./app", check=False).returncode == 1
    assert changed(goci, repo, "--base", "HEAD~1")["test-packages"] == [f"{M}/app"]


def test_global_files_mean_everything(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.write(".github/workflows/ci.yml", "on: push\n")
    repo.commit("ci")
    out = changed(goci, repo, "--base", base)
    assert out["all"] is True
    assert out["packages"] == ALL and out["services"] == [f"{M}/cmd/svc"]
    # The reason names the file and the pattern it matched, and how to narrow the defaults.
    report = goci("changed", "--base", base, env=repo.env, cwd=repo.root).stdout
    assert (
        "all: .github/workflows/ci.yml changed and matches --global-files pattern '.github/**'"
        " (a default: .github/**, Makefile, .go-version; set --global-files to narrow)\n"
    ) in report
    custom = changed(goci, repo, "--base", base, "--global-files", "Makefile")
    assert custom["all"] is False and custom["any"] is False
    repo.write("ci/deploy.yml", "steps: []\n")
    repo.commit("deploy")
    chosen = goci(
        "changed", "--base", base, "--global-files", "ci/*.yml", env=repo.env, cwd=repo.root
    )
    assert "all: ci/deploy.yml changed and matches --global-files pattern 'ci/*.yml'\n" in (
        chosen.stdout
    )


def test_embedded_file_change_and_deletion(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    repo.write(
        "lib/embed.go",
        """
        package lib

        import _ "embed"

        //go:embed assets/hello.txt
        var Hello string
        """,
    )
    repo.write("lib/assets/hello.txt", "hi\n")
    base = repo.commit("embed")
    repo.write("lib/assets/hello.txt", "hello\n")
    repo.commit("edit asset")
    lib_and_importers = [f"{M}/app", f"{M}/cmd/svc", f"{M}/lib"]
    out = changed(goci, repo, "--base", base)
    # Embedded: a build change of lib, so its importers too (a test-only file would not be).
    assert out["packages"] == lib_and_importers
    assert out["test-packages"] == [f"{M}/app", f"{M}/lib"]
    assert out["services"] == [f"{M}/cmd/svc"]
    assert out["reason"][f"{M}/lib"]["file"] == "lib/assets/hello.txt"
    # Deleting the embedded file (and the directive): only the merge-base graph knows the owner.
    repo.delete("lib/assets/hello.txt")
    repo.delete("lib/embed.go")
    repo.commit("drop asset")
    out = changed(goci, repo, "--base", "HEAD~1")
    assert out["packages"] == lib_and_importers
    assert out["test-packages"] == [f"{M}/app", f"{M}/lib"]
    assert out["services"] == [f"{M}/cmd/svc"]
    assert {"lib/assets/hello.txt", "lib/embed.go"} >= {out["reason"][f"{M}/lib"]["file"]}


def test_moved_package_marks_former_and_new_importers(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.git("mv", "util", "helpers")
    repo.write("helpers/util.go", "package helpers\n\nfunc Help() int { return 7 }\n")
    text = (repo.root / "app/app_test.go").read_text()
    text = text.replace(f'"{M}/util"', f'util "{M}/helpers"')
    repo.write("app/app_test.go", text)
    repo.commit("move")
    out = changed(goci, repo, "--base", base)
    assert f"{M}/util" not in out["packages"]  # gone at head: never listed
    assert f"{M}/helpers" in out["packages"]
    assert out["test-packages"] == [f"{M}/app", f"{M}/helpers"] or out["test-packages"] == [
        f"{M}/app"
    ]


def test_deleted_package_still_marks_its_importer(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.delete("util")  # app's test still imports it: its test binary is now broken
    repo.commit("delete util")
    out = changed(goci, repo, "--base", base)
    assert out["test-packages"] == [f"{M}/app"]
    assert f"{M}/util" not in out["packages"]


def test_build_constraints_and_platforms(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    repo.package("winonly", "winonly", "func W() int { return 1 }\n")
    repo.write(
        "app/app_windows.go",
        f'package app\n\nimport "{M}/winonly"\n\nvar _ = winonly.W\n',
    )
    base = repo.commit("windows")
    repo.package("winonly", "winonly", "func W() int { return 2 }\n")
    repo.write("lib/lib_windows.go", "package lib\n\nconst OnWindows = true\n")
    repo.commit("windows change")
    linux = changed(goci, repo, "--base", base, "--platform", "linux/amd64")
    # lib_windows.go is an ignored file on linux, still owned by lib; winonly is imported only
    # by a Windows file, so on linux alone app does not depend on it.
    assert linux["reason"][f"{M}/lib"]["file"] == "lib/lib_windows.go"
    assert linux["reason"][f"{M}/app"]["via"][0] == f"{M}/lib"
    both = changed(
        goci, repo, "--base", base, "--platform", "linux/amd64", "--platform", "windows/amd64"
    )
    assert set(both["packages"]) >= {f"{M}/winonly", f"{M}/app", f"{M}/cmd/svc"}


def test_broken_package_is_listed(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.package("lib", "lib", "func V() int { return 1 \n")  # syntax error
    repo.write("util/util.go", "package util\n\nimport (\n")  # broken import block
    repo.commit("broken")
    out = changed(goci, repo, "--base", base)
    # Broken packages are still listed (their build and tests fail: CI must say so), with
    # their importers; solo imports neither.
    assert out["packages"] == [f"{M}/app", f"{M}/cmd/svc", f"{M}/lib", f"{M}/util"]
    assert out["test-packages"] == [f"{M}/app", f"{M}/lib"]
    assert out["services"] == [f"{M}/cmd/svc"] and out["all"] is False


def test_import_cycle_keeps_edges(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    repo.package("c1", "c1", f'import _ "{M}/c2"\n')
    repo.package("c2", "c2", f'import _ "{M}/c1"\n')
    repo.package("top", "top", f'import _ "{M}/c1"\n')
    base = repo.commit("cycle")
    repo.package("c2", "c2", f'import _ "{M}/c1"\n\nconst X = 1\n')
    repo.commit("c2")
    out = changed(goci, repo, "--base", base)
    assert out["packages"] == [f"{M}/c1", f"{M}/c2", f"{M}/top"]
    assert out["test-packages"] == [] and out["services"] == [] and out["all"] is False
    assert out["reason"][f"{M}/top"]["via"] == [f"{M}/c2", f"{M}/c1", f"{M}/top"]


def test_go_directive_change_means_module_all(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.module(".", M, go="1.22")
    repo.commit("go 1.22")
    out = changed(goci, repo, "--base", base)
    assert out["all"] is True
    assert out["packages"] == ALL
    # A comment in go.mod changes nothing.
    repo.write("go.mod", (repo.root / "go.mod").read_text() + "// a comment\n")
    repo.commit("comment")
    out = changed(goci, repo, "--base", "HEAD~1")
    assert out["any"] is False


def changed_by_a_bump(
    goci: Callable[..., GociRun], repo: GoRepo, requires: str, bump: str
) -> dict[str, Any]:
    """``goci changed`` over one commit that moves a dependency: the module at the root
    requires ``requires`` (tidied) at the base, and ``go get bump`` makes the next commit."""
    repo.module(".", M, extra=requires)
    repo.go("mod", "tidy")
    base = repo.commit("dependencies")
    repo.go("get", bump)
    repo.commit(f"bump {bump}")
    return changed(goci, repo, "--base", base)


def test_dependency_version_change_is_precise(
    make_repo: Callable[..., GoRepo], goproxy: GoProxy, goci: Callable[..., GociRun]
) -> None:
    for version, value in (("v1.0.0", 1), ("v1.1.0", 2)):
        goproxy.add("ex.com/dep", version, {"dep.go": f"package dep\n\nconst D = {value}\n"})
        goproxy.add("ex.com/other", version, {"other.go": "package other\n\nconst O = 1\n"})
    repo = base_repo(make_repo)
    repo.package("usesdep", "usesdep", 'import "ex.com/dep"\n\nconst U = dep.D\n')
    repo.package("usesother", "usesother", 'import "ex.com/other"\n\nconst U = other.O\n')
    requires = "require (\n\tex.com/dep v1.0.0\n\tex.com/other v1.0.0\n)\n"
    out = changed_by_a_bump(goci, repo, requires, "ex.com/dep@v1.1.0")
    assert out["packages"] == [f"{M}/usesdep"]
    assert (
        out["reason"][f"{M}/usesdep"]["note"]
        == "ex.com/dep v1.0.0 -> v1.1.0 in ex.com/m's build list"
    )
    assert out["all"] is False


def test_a_dependency_only_tests_import_moves_only_those_tests(
    make_repo: Callable[..., GoRepo], goproxy: GoProxy, goci: Callable[..., GociRun]
) -> None:
    """A module that only test files import (testify's place): listing the packages never
    names it, yet its bump must reach the tests that import it, and nothing else."""
    for version, value in (("v1.0.0", 1), ("v1.1.0", 2)):
        goproxy.add("ex.com/check", version, {"check.go": f"package check\n\nconst C = {value}\n"})
    repo = base_repo(make_repo)
    repo.package("checked", "checked", "const K = 1\n")
    repo.write(
        "checked/checked_test.go",
        'package checked\n\nimport (\n\t"testing"\n\n\t"ex.com/check"\n)\n\n'
        "func TestK(t *testing.T) {\n\tif K+check.C == 0 {\n\t\tt.Fatal()\n\t}\n}\n",
    )
    out = changed_by_a_bump(goci, repo, "require ex.com/check v1.0.0\n", "ex.com/check@v1.1.0")
    assert out["test-packages"] == [f"{M}/checked"]
    assert out["packages"] == [f"{M}/checked"]
    assert out["services"] == []
    assert out["reason"][f"{M}/checked"]["note"] == (
        f"ex.com/check v1.0.0 -> v1.1.0 in {M}'s build list"
    )


def test_dependency_move_counts_only_in_the_build_list_that_moved(
    make_repo: Callable[..., GoRepo], goproxy: GoProxy, goci: Callable[..., GociRun]
) -> None:
    """One module's bump prunes its graph (tools v0.1.0 -> none there); modules that use
    other versions, unchanged at both commits, are not touched by it."""
    publish_deps(goproxy)
    repo = make_repo()
    # a bumps assert: check imports it, tested's test does, cmd/a links it through check.
    repo.module("a", "ex.com/a", extra="require ex.com/assert v1.0.0\n")
    repo.package("a/check", "check", 'import "ex.com/assert"\n\nconst C = assert.A\n')
    repo.package("a/tested", "tested", "const T = 1\n")
    repo.write(
        "a/tested/tested_test.go",
        'package tested\n\nimport (\n\t"testing"\n\n\t"ex.com/assert"\n)\n\n'
        "func TestT(t *testing.T) {\n\tif T+assert.A == 0 {\n\t\tt.Fatal()\n\t}\n}\n",
    )
    repo.package("a/cmd/a", "main", 'import "ex.com/a/check"\n\nfunc main() { println(check.C) }\n')
    repo.package("a/plain", "plain", "const P = 1\n")
    # b uses tools v0.2.0 and sys; c uses assert v1.1.0 already: unchanged at both commits.
    repo.module("b", "ex.com/b", extra="require (\n\tex.com/sys v0.1.0\n\tex.com/tools v0.2.0\n)\n")
    repo.package("b/usetools", "usetools", 'import "ex.com/tools"\n\nconst U = tools.T\n')
    repo.package("b/usesys", "usesys", 'import "ex.com/sys"\n\nconst U = sys.S\n')
    repo.module("c", "ex.com/c", extra="require ex.com/assert v1.1.0\n")
    repo.package("c/verify", "verify", 'import "ex.com/assert"\n\nconst V = assert.A\n')
    for module in "abc":
        repo.go("mod", "tidy", cwd=module)
    repo.write("go.work", "go 1.21\n\nuse (\n\t./a\n\t./b\n\t./c\n)\n")
    base = repo.commit("three modules")
    repo.env["GOWORK"] = "off"  # a's own graph, as `go get` in a would change it alone
    repo.go("get", "ex.com/assert@v1.1.0", cwd="a")
    repo.commit("bump assert in a")
    no_work = dict(repo.env)
    del repo.env["GOWORK"]
    # With the go.work (a's own list moved, the workspace's did not) and without it.
    for env in (repo.env, no_work):
        out = changed(goci, repo, "--base", base, env=env)
        assert out["packages"] == ["ex.com/a/check", "ex.com/a/cmd/a", "ex.com/a/tested"]
        assert out["test-packages"] == ["ex.com/a/tested"]
        assert out["services"] == ["ex.com/a/cmd/a"]
        assert out["reason"]["ex.com/a/check"] == {
            "file": "a/go.mod",
            "via": ["ex.com/assert", "ex.com/a/check"],
            "note": "ex.com/assert v1.0.0 -> v1.1.0 in ex.com/a's build list",
        }


def test_nested_modules_with_replace(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = make_repo()
    repo.module("core", "ex.com/core")
    repo.package("core/num", "num", "func N() int { return 1 }\n")
    repo.module(
        "api", "ex.com/api", extra="require ex.com/core v0.0.0\nreplace ex.com/core => ../core\n"
    )
    repo.package(
        "api/cmd/server", "main", 'import "ex.com/core/num"\n\nfunc main() { println(num.N()) }\n'
    )
    repo.module("tools", "ex.com/tools")
    repo.package("tools/gen", "gen", "const G = 1\n")
    base = repo.commit("nested")
    repo.package("core/num", "num", "func N() int { return 2 }\n")
    repo.commit("core")
    out = changed(goci, repo, "--base", base)
    assert out["packages"] == ["ex.com/api/cmd/server", "ex.com/core/num"]
    assert out["services"] == ["ex.com/api/cmd/server"]
    assert out["modules"] == ["ex.com/api", "ex.com/core"]
    # --dir api: core lives outside it, but api requires it through a replace directive.
    run = goci("changed", "--json", "--base", base, "--dir", str(repo.root / "api"), env=repo.env)
    assert run.code == 0, run.stderr
    assert run.json()["services"] == ["ex.com/api/cmd/server"]


def test_workspace_with_underscore_module_and_unused_module(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = make_repo()
    repo.module("_shared", "ex.com/shared")
    repo.package("_shared/text", "text", 'func T() string { return "a" }\n')
    repo.module("svc", "ex.com/svc", extra="require ex.com/shared v0.0.0\n")
    repo.package(
        "svc/cmd/svc", "main", 'import "ex.com/shared/text"\n\nfunc main() { println(text.T()) }\n'
    )
    repo.package("svc/cmd/other", "main", "func main() {}\n")  # imports nothing changed
    repo.package("_shared/num", "num", "const N = 1\n")
    repo.module("tools", "ex.com/tools")  # not used by go.work
    repo.package("tools/gen", "gen", "const G = 1\n")
    repo.package("tools/fmt", "fmt", "const F = 1\n")
    repo.write("go.work", "go 1.21\n\nuse (\n\t./_shared\n\t./svc\n)\n")
    base = repo.commit("workspace")
    repo.package("_shared/text", "text", 'func T() string { return "b" }\n')
    repo.package("tools/gen", "gen", "const G = 2\n")
    repo.commit("both")
    out = changed(goci, repo, "--base", base)
    # Left out: svc/cmd/other, shared/num and tools/fmt, which import nothing that changed.
    assert out["packages"] == ["ex.com/shared/text", "ex.com/svc/cmd/svc", "ex.com/tools/gen"]
    assert out["services"] == ["ex.com/svc/cmd/svc"]
    assert out["modules"] == ["ex.com/shared", "ex.com/svc", "ex.com/tools"]


def test_run_below_the_top_compares_with_the_whole_base_tree(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    """From a module folder whose go.work sits above it, the merge base must be extracted whole:
    with only that folder's files, the base has neither the go.work nor the other module."""
    repo = make_repo()
    repo.module("shared", "ex.com/shared")
    repo.package("shared/text", "text", 'func T() string { return "a" }\n')
    repo.write("shared/text/old.go", "package text\n\nconst Old = 1\n")
    repo.package("shared/num", "num", "const N = 1\n")
    repo.module("svc", "ex.com/svc", extra="require ex.com/shared v0.0.0\n")
    repo.package(
        "svc/cmd/svc", "main", 'import "ex.com/shared/text"\n\nfunc main() { println(text.T()) }\n'
    )
    repo.package("svc/cmd/other", "main", "func main() {}\n")
    repo.write("go.work", "go 1.21\n\nuse (\n\t./shared\n\t./svc\n)\n")
    base = repo.commit("workspace")
    (repo.root / "shared/text/old.go").unlink()
    gomod = repo.root / "svc/go.mod"  # go.mod changed: the whole base graph is loaded
    gomod.write_text(gomod.read_text() + "\n// a comment\n")
    repo.commit("text")
    run = goci("changed", "--json", "--base", base, env=repo.env, cwd=repo.root / "svc")
    assert run.code == 0, run.stderr
    out = run.json()
    assert out["all"] is False, out["reason"]
    # Left out: svc/cmd/other and shared/num, which import nothing that changed.
    assert out["packages"] == ["ex.com/shared/text", "ex.com/svc/cmd/svc"]
    assert out["services"] == ["ex.com/svc/cmd/svc"]


def test_ignore_comments(make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.package("lib", "lib", "// V is the value.\nfunc V() int {\n\treturn 1 // one\n}\n")
    repo.commit("comments")
    assert changed(goci, repo, "--base", base, "--ignore-comments")["any"] is False
    assert changed(goci, repo, "--base", base)["any"] is True
    repo.package("lib", "lib", "// V is the value.\n//go:noinline\nfunc V() int {\n\treturn 1\n}\n")
    repo.commit("directive")
    out = changed(goci, repo, "--base", "HEAD~1", "--ignore-comments")
    assert out["packages"] == [f"{M}/app", f"{M}/cmd/svc", f"{M}/lib"]


def event_env(repo: GoRepo, tmp_path: Path, name: str, payload: dict[str, Any]) -> dict[str, str]:
    path = tmp_path / f"event-{len(list(tmp_path.glob('event-*.json')))}.json"  # one per env
    path.write_text(json.dumps(payload))
    return {
        **repo.env,
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": name,
        "GITHUB_EVENT_PATH": str(path),
    }


def test_base_from_events(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.package("util", "util", "func Help() int { return 8 }\n")
    repo.commit("one")
    repo.write("README.md", "more\n")
    head = repo.commit("two")
    pr = event_env(repo, tmp_path, "pull_request", {"pull_request": {"base": {"sha": base}}})
    assert changed(goci, repo, env=pr)["packages"] == [f"{M}/app", f"{M}/util"]
    push = event_env(repo, tmp_path, "push", {"before": base, "after": head})
    assert changed(goci, repo, env=push)["merge-base"] == base
    new_branch = event_env(repo, tmp_path, "push", {"before": "0" * 40, "after": head})
    assert changed(goci, repo, env=new_branch)["all"] is True
    forced = event_env(repo, tmp_path, "push", {"before": "1" * 40, "after": head})
    out = changed(goci, repo, env=forced)
    assert out["all"] is True and out["packages"] == ALL
    nightly = event_env(repo, tmp_path, "schedule", {})
    assert changed(goci, repo, env=nightly)["all"] is True
    assert [changed(goci, repo, env=e)["trusted"] for e in (pr, push, nightly)] == [False] * 3
    main = {"before": base, "after": head, "repository": {"default_branch": "main"}}
    on_main = event_env(repo, tmp_path, "push", main) | {"GITHUB_REF": "refs/heads/main"}
    on_topic = on_main | {"GITHUB_REF": "refs/heads/topic"}
    tagged = on_main | {"GITHUB_REF": "refs/tags/v1.0.0"}
    trusted = [changed(goci, repo, env=e)["trusted"] for e in (on_main, on_topic, tagged)]
    assert trusted == [True, False, True]
    drone = {**repo.env, "DRONE": "true", "DRONE_BUILD_EVENT": "push"}
    drone |= {"DRONE_COMMIT_BEFORE": base, "DRONE_COMMIT_AFTER": head}
    assert changed(goci, repo, env=drone)["packages"] == [f"{M}/app", f"{M}/util"]


def test_bad_input_exits_2_and_writes_nothing(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun], gha_env: dict[str, str]
) -> None:
    repo = base_repo(make_repo)
    env = {**gha_env, "GITHUB_EVENT_NAME": "push"}
    cases = [
        (["--base", "no-such-ref"], "--base: 'no-such-ref'"),
        (["--base", "HEAD", "--head", "nope"], "--head: 'nope'"),
        (["--base", "HEAD", "--platform", "linux/amd46"], "did you mean 'linux/amd64'"),
        (["--base", "HEAD", "--platform", "linux"], "use os/arch"),
        (["--base", "HEAD", "--orphan-files", "closest"], "nearest, all, ignore"),
    ]
    for args, message in cases:
        run = goci("changed", *args, env=env, cwd=repo.root)
        assert run.code == 2, (args, run.stderr)
        assert message in run.stderr
        assert run.outputs == {}


def test_unrelated_base_is_bad_input(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    repo.git("checkout", "-q", "--orphan", "other")
    repo.commit("unrelated")
    other = repo.head()
    repo.git("checkout", "-q", "main")
    run = goci("changed", "--base", other, env=repo.env, cwd=repo.root)
    assert run.code == 2
    assert "shares no history" in run.stderr


def test_broken_go_mod_is_bad_input_and_a_broken_base_means_everything(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    good = (repo.root / "go.mod").read_text()
    repo.write("go.mod", f"module {M}\n\ngo 1.21\n\nrequire (\n")  # go cannot read it
    broken = repo.commit("broken go.mod")
    run = goci("changed", "--base", base, env=repo.env, cwd=repo.root)
    assert run.code == 2, run.stderr  # never a silently empty or partial answer
    assert run.stderr.startswith(f"error: {repo.root / 'go.mod'}:6: syntax error (unterminated")
    assert run.outputs == {}
    # The change that repairs it cannot be compared with its base: everything runs.
    repo.write("go.mod", good)
    repo.commit("repaired go.mod")
    out = changed(goci, repo, "--base", broken)
    assert out["all"] is True and out["any"] is True
    assert out["packages"] == ALL
    assert out["services"] == [f"{M}/cmd/svc"]


def test_outputs_and_spill_in_actions(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun], gha_env: dict[str, str]
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.package("lib", "lib", "func V() int { return 2 }\n")
    repo.commit("lib")
    run = goci("changed", "--base", base, env=gha_env, cwd=repo.root)
    assert run.code == 0, run.stderr
    assert json.loads(run.outputs["services"]) == [f"{M}/cmd/svc"]
    assert run.outputs["all"] == "false" and run.outputs["packages-file"] == ""
    assert "| `ex.com/m/cmd/svc` | service |" in run.summary
    small = goci("changed", "--base", base, "--output-limit", "40", env=gha_env, cwd=repo.root)
    assert small.code == 0, small.stderr
    assert small.outputs["packages"] == "null"
    spilled = Path(small.outputs["packages-file"])
    assert json.loads(spilled.read_text()) == [f"{M}/app", f"{M}/cmd/svc", f"{M}/lib"]
    assert json.loads(small.outputs["services"]) == [f"{M}/cmd/svc"]  # short: stays inline


def test_core_function_for_other_commands(
    make_repo: Callable[..., GoRepo], go_env: dict[str, str]
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.package("lib", "lib", "func V() int { return 2 }\n")
    repo.commit("lib")
    result = analyse(
        repo.root, Go(go_env, exe=go_env["GOCI_GO"]), Git(repo.root, go_env), base=base
    )
    assert result.services == (f"{M}/cmd/svc",)
    assert result.reasons[f"{M}/app"].via == (f"{M}/lib", f"{M}/app")


def test_glob_match() -> None:
    assert glob_match(".github/workflows/ci.yml", ".github/**")
    assert glob_match("Makefile", "Makefile")
    assert not glob_match("sub/Makefile", "Makefile")
    assert glob_match("sub/Makefile", "**/Makefile")
    assert glob_match("scripts/x.sh", "scripts/*.sh")


def test_assembly_syso_and_cgo_files_are_owned(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    repo.write("lib/add_amd64.s", '#include "textflag.h"\n\nTEXT ·add(SB),NOSPLIT,$0\n\tRET\n')
    repo.write("lib/add_decl.go", "//go:build amd64\n\npackage lib\n\nfunc add()\n")
    repo.write("lib/blob.syso", "not really an object\n")
    repo.write("lib/cgo.go", 'package lib\n\n// #include "helper.h"\nimport "C"\n')
    repo.write("lib/helper.h", "#define HELPER 1\n")
    base = repo.commit("low level files")
    for path in ("lib/add_amd64.s", "lib/blob.syso", "lib/helper.h"):
        repo.write(path, (repo.root / path).read_text() + "\n")
        repo.commit(f"touch {path}")
        # Owned by lib (with orphans ignored, nothing else could select it): a build change
        # of lib and its importers; util and solo are left out.
        out = changed(goci, repo, "--base", "HEAD~1", "--orphan-files", "ignore")
        assert out["packages"] == [f"{M}/app", f"{M}/cmd/svc", f"{M}/lib"], path
        assert out["test-packages"] == [f"{M}/app", f"{M}/lib"], path
        assert out["services"] == [f"{M}/cmd/svc"], path
        assert out["reason"][f"{M}/lib"]["file"] == path, out
    out = changed(goci, repo, "--base", base)
    assert out["packages"] == [f"{M}/app", f"{M}/cmd/svc", f"{M}/lib"]
    assert out["services"] == [f"{M}/cmd/svc"]


def test_go_sum_only_change_is_nothing(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.write(
        "go.sum", "ex.com/dep v1.0.0/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    )
    repo.commit("go.sum")
    out = changed(goci, repo, "--base", base)
    assert out["any"] is False


def test_go_work_go_line_means_everything(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = make_repo()
    repo.module("a", "ex.com/a")
    repo.package("a/x", "x", "const X = 1\n")
    repo.module("b", "ex.com/b")
    repo.package("b/y", "y", "const Y = 1\n")
    repo.write("go.work", "go 1.21\n\nuse (\n\t./a\n\t./b\n)\n")
    base = repo.commit("work")
    repo.write("go.work", "go 1.22\n\nuse (\n\t./a\n\t./b\n)\n")
    repo.commit("go 1.22")
    out = changed(goci, repo, "--base", base)
    assert out["all"] is True
    assert out["packages"] == ["ex.com/a/x", "ex.com/b/y"]


def test_base_on_a_side_branch_uses_the_merge_base(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    fork = repo.head()
    repo.git("checkout", "-q", "-b", "side")
    repo.package("util", "util", "func Help() int { return 9 }\n")
    side = repo.commit("side change")  # not an ancestor of head
    repo.git("checkout", "-q", "main")
    repo.package("lib", "lib", "func V() int { return 3 }\n")
    repo.commit("main change")
    out = changed(goci, repo, "--base", side)
    assert out["merge-base"] == fork
    assert f"{M}/util" not in out["packages"] and f"{M}/lib" in out["packages"]


def test_merge_group_event(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.package("util", "util", "func Help() int { return 8 }\n")
    head = repo.commit("queued")
    env = event_env(
        repo, tmp_path, "merge_group", {"merge_group": {"base_sha": base, "head_sha": head}}
    )
    assert changed(goci, repo, env=env)["packages"] == [f"{M}/app", f"{M}/util"]


def test_module_cycle_keeps_edges_both_ways(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = make_repo()
    repo.module("a", "ex.com/a", extra="require ex.com/b v0.0.0\nreplace ex.com/b => ../b\n")
    repo.module("b", "ex.com/b", extra="require ex.com/a v0.0.0\nreplace ex.com/a => ../a\n")
    repo.package("a/base", "base", "const One = 1\n")
    repo.package("b/mid", "mid", 'import "ex.com/a/base"\n\nconst Two = base.One + 1\n')
    repo.package("a/top", "top", 'import "ex.com/b/mid"\n\nconst Three = mid.Two + 1\n')
    repo.package(
        "b/cmd/tool", "main", 'import "ex.com/a/top"\n\nfunc main() { println(top.Three) }\n'
    )
    base = repo.commit("modules importing each other")
    repo.package("a/base", "base", "const One = 10\n")
    repo.commit("change the bottom")
    out = changed(goci, repo, "--base", base)
    assert out["packages"] == ["ex.com/a/base", "ex.com/a/top", "ex.com/b/cmd/tool", "ex.com/b/mid"]
    assert out["reason"]["ex.com/b/cmd/tool"]["via"] == [
        "ex.com/a/base",
        "ex.com/b/mid",
        "ex.com/a/top",
        "ex.com/b/cmd/tool",
    ]


def test_module_split_means_everything(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    repo = base_repo(make_repo)
    base = repo.head()
    repo.module("util", f"{M}/util")  # util becomes a module of its own
    repo.commit("split util out")
    out = changed(goci, repo, "--base", base)
    assert out["all"] is True
    assert set(out["packages"]) >= {f"{M}/lib", f"{M}/app", f"{M}/cmd/svc", f"{M}/util"}


def test_report_states_the_reason_for_everything_once(
    goci: Callable[..., GociRun], make_repo: Callable[..., GoRepo]
) -> None:
    repo = make_repo()
    repo.module(".", "example.com/all")
    repo.package("a", "a", "func A() int { return 1 }\n")
    repo.package("b", "b", "func B() int { return 2 }\n")
    repo.commit("two packages")
    run = goci("changed", env=repo.env, cwd=repo.root)
    assert run.code == 0
    assert run.stdout.count("no --base given") == 1
    assert "example.com/all/a  <- everything runs (see above)" in run.stdout


def test_a_cold_build_cache_lists_without_gos_package_index(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    """go-ci.yml's plan job restores no build cache: there every ``go list`` would first build
    go's package index of the standard library, each process its own, for nobody to keep. So
    the listing writes nothing there (nor test mains: no ``-test``), and the cache stays cold.
    On a cache go has opened, the index stays on; a GODEBUG of the user's still wins. The
    answer is the same every way."""
    repo = base_repo(make_repo)
    base = repo.head()
    repo.package("lib", "lib", "func V() int { return 2 }\n")
    repo.commit("lib")
    log = tmp_path / "go-calls.log"
    shim = tmp_path / "go-shim"
    shim.write_text(
        '#!/bin/sh\nprintf "%s|%s\\n" "$1" "${GODEBUG-}" >> "$GOCALLS"\n'
        f'exec "{repo.env["GOCI_GO"]}" "$@"\n'
    )
    shim.chmod(0o755)

    def listing_godebug(cache: Path, **extra: str) -> tuple[dict[str, Any], set[str]]:
        log.write_text("")
        env = {**repo.env, "GOCI_GO": str(shim), "GOCALLS": str(log), "GOCACHE": str(cache)}
        out = changed(goci, repo, "--base", base, env={**env, **extra})
        calls = [line.split("|", 1) for line in log.read_text().splitlines()]
        # One list: what only the tests import is the standard library's ("testing"), which
        # needs no second one.
        assert [word for word, _ in calls].count("list") == 1
        return out, {godebug for word, godebug in calls if word == "list"}

    cold = tmp_path / "fresh-runner-cache"  # no go command has opened it
    out_cold, cold_settings = listing_godebug(cold)
    assert cold_settings == {"goindex=0"}
    assert not cold.exists()  # the listing wrote nothing into it
    build = [repo.env["GOCI_GO"], "build", "./lib"]
    subprocess.run(build, cwd=repo.root, env={**repo.env, "GOCACHE": str(cold)}, check=True)
    assert (cold / "README").exists()  # a build opened it: from now on it is warm
    out_warm, warm_settings = listing_godebug(cold)
    assert warm_settings == {""}
    out_user, user_settings = listing_godebug(tmp_path / "another-cold", GODEBUG="goindex=1")
    assert user_settings == {"goindex=0,goindex=1"}  # go reads the last setting of a name
    for out in (out_cold, out_warm, out_user):
        assert out["packages"] == [f"{M}/app", f"{M}/cmd/svc", f"{M}/lib"]
        assert out["test-packages"] == [f"{M}/app", f"{M}/lib"]
