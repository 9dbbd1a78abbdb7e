"""``goci changed``: the ownership rules a review found missing, each on a real module and git.

Every case changes one thing, checks with the real ``go test`` that it breaks what goci must
select, and compares the exact sets: what must run and what must be left out.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.goci_run import GociRun
from support.goproxy import GoProxy
from support.gorepo import GoRepo
from test_changed import changed, event_env, value_test

M = "ex.com/m"

READ_TEST = """
    package {pkg}

    import (
        "os"
        "strings"
        "testing"
    )

    func TestData(t *testing.T) {{
        raw, err := os.ReadFile("{file}")
        if err != nil || !strings.Contains(string(raw), "{want}") {{
            t.Fatalf("%s: %q %v", "{file}", raw, err)
        }}
    }}
    """


Picked = tuple[list[str], list[str], list[str], list[str]]


def selected(out: dict[str, Any]) -> Picked:
    """What goci selected: packages, test packages, services and modules."""
    return out["packages"], out["test-packages"], out["services"], out["modules"]


def test_a_module_under_testdata_is_a_fixture_of_the_tests_beside_it(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    """A go.mod under testdata/ is a fixture ``./...`` never reaches: CI cannot test its
    package, and the package whose tests read it is the one that breaks."""
    repo = make_repo()
    repo.module(".", M)
    repo.package("tool", "tool", "const T = 1\n")
    repo.write(
        "tool/tool_test.go",
        READ_TEST.format(pkg="tool", file="testdata/mod/go.mod", want="module ex.com/fixture"),
    )
    repo.module("tool/testdata/mod", "ex.com/fixture")
    repo.package("tool/testdata/mod", "main", "func main() {}\n", file="main.go")
    repo.package("other", "other", "const O = 1\n")
    repo.write("other/other_test.go", READ_TEST.format(pkg="other", file="other.go", want="O"))
    repo.commit("base")
    repo.write("tool/testdata/mod/go.mod", "module ex.com/renamed\n\ngo 1.21\n")
    repo.package("tool/testdata/mod", "main", "func main() { println() }\n", file="main.go")
    repo.commit("fixture")
    assert repo.go("test", "./...", check=False).returncode == 1
    out = changed(goci, repo, "--base", "HEAD~1")
    # Left out: the fixture module (never a package, service or module of the build), other.
    assert selected(out) == ([f"{M}/tool"], [f"{M}/tool"], [], [M])
    assert out["reason"][f"{M}/tool"]["note"] == "testdata"


def test_testdata_with_no_package_beside_it_selects_the_tests_below_its_folder(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    """A module-root testdata/ is read by tests below it as ``../../testdata``: with no package
    beside the folder, the tests of every package below the folder holding it, in its module,
    run; packages without tests, other folders and other modules do not."""
    repo = make_repo()
    repo.module(".", M)
    repo.write("testdata/golden.txt", "hello\n")
    repo.package("pkg/parse", "parse", "const P = 1\n")
    golden = "../../testdata/golden.txt"
    repo.write("pkg/parse/parse_test.go", READ_TEST.format(pkg="parse", file=golden, want="hello"))
    repo.package(
        "cmd/svc", "main", f'import "{M}/pkg/parse"\n\nfunc main() {{ println(parse.P) }}\n'
    )
    repo.write("internal/testdata/x.txt", "x\n")
    repo.package("internal/a", "a", "const A = 1\n")
    repo.write(
        "internal/a/a_test.go", READ_TEST.format(pkg="a", file="../testdata/x.txt", want="x")
    )
    repo.module("sub", "ex.com/sub")
    repo.package("sub/s", "s", "const S = 1\n")
    repo.write("sub/s/s_test.go", READ_TEST.format(pkg="s", file="s.go", want="S"))
    repo.commit("base")
    repo.write("testdata/golden.txt", "changed\n")
    repo.commit("root testdata")
    assert repo.go("test", "./pkg/parse", check=False).returncode == 1
    out = changed(goci, repo, "--base", "HEAD~1")
    # Left out: cmd/svc (no tests; its build did not change) and the module sub.
    both = [f"{M}/internal/a", f"{M}/pkg/parse"]
    assert selected(out) == (both, both, [], [M])
    assert out["reason"][f"{M}/pkg/parse"]["note"] == (
        "in testdata/, which no package sits beside: the tests below the module root may read it"
    )
    repo.write("internal/testdata/x.txt", "y\n")
    repo.commit("internal testdata")
    assert repo.go("test", "./internal/a", check=False).returncode == 1
    out = changed(goci, repo, "--base", "HEAD~1")
    # Left out: pkg/parse, which is not below internal/.
    assert selected(out) == ([f"{M}/internal/a"], [f"{M}/internal/a"], [], [M])
    assert "below internal may read it" in out["reason"][f"{M}/internal/a"]["note"]


def test_ignore_comments_keeps_example_output_and_go_files_that_are_data(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    """``// Output:`` is what go test compares an example with, and a .go file no package
    compiles (a golden file under testdata/, a ``_``-file) is read whole by a test: with
    --ignore-comments their comment edits still count; a real comment edit does not."""
    repo = make_repo()
    repo.module(".", M)
    repo.package("lib", "lib", "// V is one.\nfunc V() int { return 1 }\n")
    example = """
        package lib_test

        import (
            "fmt"

            "{m}/lib"
        )

        func ExampleV() {{
            fmt.Println(lib.V())
            // Output: {one}
        }}

        func ExampleV_twice() {{
            fmt.Println(lib.V())
            fmt.Println(lib.V() + 1)
            // Unordered output:
            // {two}
            // 1
        }}
        """
    repo.write("lib/example_test.go", example.format(m=M, one="1", two="2"))
    repo.package("app", "app", f'import "{M}/lib"\n\nfunc A() int {{ return lib.V() }}\n')
    repo.package("gen", "gen", "const G = 1\n")
    repo.write(
        "gen/testdata/out.golden.go", "// Code generated by gen. DO NOT EDIT.\n\npackage out\n"
    )
    repo.write("gen/_header.go", "// header v1\n\npackage gen\n")
    for name, file in (("Golden", "testdata/out.golden.go"), ("Header", "_header.go")):
        test = READ_TEST.format(pkg="gen", file=file, want="v1").replace("TestData", f"Test{name}")
        repo.write(f"gen/{name.lower()}_test.go", test)
    repo.write(
        "gen/testdata/out.golden.go", "// Code generated by gen v1. DO NOT EDIT.\n\npackage out\n"
    )
    repo.commit("base")
    lib: Picked = ([f"{M}/lib"], [f"{M}/lib"], [], [M])
    gen: Picked = ([f"{M}/gen"], [f"{M}/gen"], [], [M])
    cases = [
        ("lib/example_test.go", example.format(m=M, one="one", two="2"), "./lib", lib),
        ("lib/example_test.go", example.format(m=M, one="1", two="3"), "./lib", lib),
        (
            "gen/testdata/out.golden.go",
            "// Code generated by gen v2. DO NOT EDIT.\n\npackage out\n",
            "./gen",
            gen,
        ),
        ("gen/_header.go", "// header v2\n\npackage gen\n", "./gen", gen),
    ]
    for path, text, folder, want in cases:
        repo.write(path, text)
        repo.commit(f"edit {path}")
        assert repo.go("test", folder, check=False).returncode == 1, path
        out = changed(goci, repo, "--base", "HEAD~1", "--ignore-comments")
        # Left out: app, which imports lib but whose build did not change.
        assert selected(out) == want, path
        repo.git("revert", "--no-edit", "HEAD")
    # A plain doc-comment edit still counts for nothing.
    repo.package("lib", "lib", "// V is the number one.\nfunc V() int { return 1 }\n")
    repo.commit("doc")
    out = changed(goci, repo, "--base", "HEAD~1", "--ignore-comments")
    assert selected(out) == ([], [], [], []) and out["any"] is False


def test_a_header_a_package_owns_also_selects_every_package_compiling_c(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    """cdefs owns limits.h, but calc's cgo code includes it as ../cdefs/limits.h: an owned
    header selects its owner and every package compiling C, as an orphan one does."""
    repo = make_repo()
    repo.module(".", M)
    repo.write("cdefs/doc.go", "// Package cdefs holds the C constants.\npackage cdefs\n")
    repo.write("cdefs/limits.h", "#define LIMIT 10\n")
    repo.write(
        "calc/calc.go",
        'package calc\n\n// #include "../cdefs/limits.h"\nimport "C"\n\n'
        "func Limit() int { return int(C.LIMIT) }\n",
    )
    repo.write("calc/calc_test.go", value_test("calc", "Limit", 10))
    repo.package(
        "cmd/svc", "main", f'import "{M}/calc"\n\nfunc main() {{ println(calc.Limit()) }}\n'
    )
    repo.package("pure", "pure", "func P() int { return 1 }\n")
    repo.write("pure/pure_test.go", value_test("pure", "P", 1))
    repo.commit("base")
    repo.write("cdefs/limits.h", "#define LIMIT 20\n")
    repo.commit("raise the limit")
    cgo = {**repo.env, "CGO_ENABLED": "1"}
    test = subprocess.run(
        [cgo.get("GOCI_GO", "go"), "test", "-count=1", "./calc"],
        cwd=repo.root,
        env=cgo,
        check=False,
    )
    assert test.returncode == 1
    out = changed(goci, repo, "--base", "HEAD~1", env=cgo)
    # Left out: pure, which compiles no C.
    packages = [f"{M}/calc", f"{M}/cdefs", f"{M}/cmd/svc"]
    assert selected(out) == (packages, [f"{M}/calc"], [f"{M}/cmd/svc"], [M])
    assert out["reason"][f"{M}/calc"]["note"] == "C header: packages compiling C may include it"


def test_a_patched_vendored_file_selects_the_importers_of_its_package(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    """app vendors ex.com/dep (whose source is also a module of the repository): a patch to
    the vendored copy is a build change of ex.com/dep for app's importers of it, and never
    lists ex.com/dep itself nor the nearest package above the vendor folder."""
    repo = make_repo()
    repo.module("dep", "ex.com/dep")
    repo.package("dep", "dep", "func Answer() int { return 42 }\n")
    repo.write("dep/dep_test.go", value_test("dep", "Answer", 42))
    repo.module(
        "app", "ex.com/app", extra="require ex.com/dep v0.0.0\nreplace ex.com/dep => ../dep\n"
    )
    repo.package(
        "app/pkg/use", "use", 'import "ex.com/dep"\n\nfunc Get() int { return dep.Answer() }\n'
    )
    repo.write("app/pkg/use/use_test.go", value_test("use", "Get", 42))
    repo.package("app/pkg/other", "other", "func O() int { return 1 }\n")
    repo.write("app/pkg/other/other_test.go", value_test("other", "O", 1))
    repo.package(
        "app/cmd/svc", "main", 'import "ex.com/app/pkg/use"\n\nfunc main() { println(use.Get()) }\n'
    )
    repo.package("app", "main", "func main() {}\n", file="main.go")
    repo.go("mod", "vendor", cwd="app")
    repo.commit("base")
    repo.write("app/vendor/ex.com/dep/dep.go", "package dep\n\nfunc Answer() int { return 43 }\n")
    repo.commit("patch the vendored copy")
    assert repo.go("test", "./...", cwd="app", check=False).returncode == 1
    assert repo.go("test", "./...", cwd="dep", check=False).returncode == 0
    want: Picked = (
        ["ex.com/app/cmd/svc", "ex.com/app/pkg/use"],
        ["ex.com/app/pkg/use"],
        ["ex.com/app/cmd/svc"],
        ["ex.com/app"],
    )
    # Left out: ex.com/dep (vendored here, and its own module's tests still pass), app's
    # root main package above vendor/, and app/pkg/other, which does not import dep.
    out = changed(goci, repo, "--base", "HEAD~1")
    assert selected(out) == want
    assert out["reason"]["ex.com/app/pkg/use"] == {
        "file": "app/vendor/ex.com/dep/dep.go",
        "via": ["ex.com/dep", "ex.com/app/pkg/use"],
        "note": "vendored copy",
    }
    run = goci("changed", "--json", "--base", "HEAD~1", env=repo.env, cwd=repo.root / "app")
    assert run.code == 0, run.stderr
    assert selected(run.json()) == want


def test_checksums_removed_select_the_modules_using_the_file(
    make_repo: Callable[..., GoRepo], goproxy: GoProxy, goci: Callable[..., GociRun]
) -> None:
    """A go.sum line removed breaks every build that needed it ("missing go.sum entry"): the
    module beside it runs whole; go.work.sum's, every module of the workspace. Lines only
    added change nothing."""
    for version in ("v1.0.0", "v1.1.0"):
        goproxy.add("ex.com/dep", version, {"dep.go": "package dep\n\nfunc D() int { return 1 }\n"})
    repo = make_repo()
    repo.module(".", M, extra="require ex.com/dep v1.0.0\n")
    repo.package("usesdep", "usesdep", 'import "ex.com/dep"\n\nfunc U() int { return dep.D() }\n')
    repo.write("usesdep/usesdep_test.go", value_test("usesdep", "U", 1))
    repo.package("plain", "plain", "func P() int { return 1 }\n")
    repo.write("plain/plain_test.go", value_test("plain", "P", 1))
    repo.module("sub", "ex.com/sub")
    repo.package("sub/s", "s", "func S() int { return 1 }\n")
    repo.write("sub/s/s_test.go", value_test("s", "S", 1))
    repo.go("mod", "tidy")
    repo.commit("base")
    gosum = (repo.root / "go.sum").read_text()
    repo.write("go.sum", gosum + "ex.com/unused v1.0.0/go.mod h1:" + "A" * 43 + "=\n")
    repo.commit("add a checksum")
    out = changed(goci, repo, "--base", "HEAD~1")
    assert selected(out) == ([], [], [], []) and out["any"] is False
    assert out["all"] is False
    kept = "".join(line + "\n" for line in gosum.splitlines() if "/go.mod " in line)
    repo.write("go.sum", kept)
    repo.commit("remove dep's checksum")
    assert repo.go("test", "./...", check=False).returncode == 1
    out = changed(goci, repo, "--base", "HEAD~1")
    # Left out: the module sub, which does not use this go.sum.
    both = [f"{M}/plain", f"{M}/usesdep"]
    assert selected(out) == (both, both, [], [M])
    note = f"checksums were removed from go.sum: every build of {M} may need them"
    assert out["reason"][f"{M}/plain"]["note"] == note
    # A bump tidied: the old version's checksums go, but head's build list no longer
    # selects it; what the move reaches is precise. Left out: plain, and sub.
    repo.write("go.sum", gosum)
    repo.commit("checksums back")
    repo.go("get", "ex.com/dep@v1.1.0")
    repo.commit("bump dep")
    report = goci("changed", "--base", "HEAD~1", env=repo.env, cwd=repo.root).stdout
    assert "skipped go.sum: checksums only added: go.mod decides the build\n" in report
    repo.go("mod", "tidy")
    repo.commit("tidy")
    assert "v1.0.0" not in (repo.root / "go.sum").read_text()
    out = changed(goci, repo, "--base", "HEAD~2")
    assert selected(out) == ([f"{M}/usesdep"], [f"{M}/usesdep"], [], [M])
    assert out["all"] is False
    report = goci("changed", "--base", "HEAD~2", env=repo.env, cwd=repo.root).stdout
    assert "skipped go.sum: checksums removed only for versions head's build list no" in report
    repo.write("go.work", "go 1.21\n\nuse (\n\t.\n\t./sub\n)\n")
    repo.write("go.work.sum", "ex.com/unused v1.0.0/go.mod h1:" + "A" * 43 + "=\n")
    repo.commit("workspace")
    repo.write("go.work.sum", "")
    repo.commit("empty go.work.sum")
    out = changed(goci, repo, "--base", "HEAD~1")
    every = [f"{M}/plain", f"{M}/usesdep", "ex.com/sub/s"]
    assert selected(out) == (every, every, [], [M, "ex.com/sub"])


def test_a_submodule_bump_is_a_build_change_of_the_packages_inside_it(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun]
) -> None:
    """A gitlink's change is a new commit of every file inside the submodule: the packages in
    its folder (a module replaced into it) and their importers run; a submodule holding no
    package of the build is skipped with its name."""
    lib = make_repo("lib")
    lib.module(".", "ex.com/lib")
    lib.package(".", "lib", "func V() int { return 1 }\n", file="lib.go")
    lib.commit("v1")
    docs = make_repo("docs")
    docs.write("guide.md", "# v1\n")
    docs.commit("v1")
    repo = make_repo("app")
    repo.module(
        ".", M, extra="require ex.com/lib v0.0.0\nreplace ex.com/lib => ./third_party/lib\n"
    )
    repo.package("app", "app", 'import "ex.com/lib"\n\nfunc A() int { return lib.V() }\n')
    repo.write("app/app_test.go", value_test("app", "A", 1))
    repo.package("other", "other", "func O() int { return 1 }\n")
    repo.write("other/other_test.go", value_test("other", "O", 1))
    for sub, folder in ((lib, "third_party/lib"), (docs, "third_party/docs")):
        repo.git(
            "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub.root), folder
        )
    repo.commit("base")

    def bump(sub: GoRepo, folder: str, file: str, text: str) -> None:
        sub.write(file, text)
        sub.commit("v2")
        repo.git("-C", folder, "-c", "protocol.file.allow=always", "pull", "-q", "origin", "main")
        repo.commit(f"bump {folder}")

    bump(lib, "third_party/lib", "lib.go", "package lib\n\nfunc V() int { return 2 }\n")
    assert repo.go("test", "./...", check=False).returncode == 1
    out = changed(goci, repo, "--base", "HEAD~1")
    # Left out: other, which imports nothing inside the submodule.
    picked: Picked = (["ex.com/lib", f"{M}/app"], [f"{M}/app"], [], ["ex.com/lib", M])
    assert selected(out) == picked
    assert out["reason"][f"{M}/app"] == {
        "file": "third_party/lib",
        "via": ["ex.com/lib", f"{M}/app"],
        "note": "submodule moved",
    }
    bump(docs, "third_party/docs", "guide.md", "# v2\n")
    assert selected(changed(goci, repo, "--base", "HEAD~1")) == ([], [], [], [])
    run = goci("changed", "--base", "HEAD~1", env=repo.env, cwd=repo.root)
    assert run.code == 0, run.stderr
    assert "skipped third_party/docs: submodule third_party/docs: no package" in run.stdout
    assert "nothing Go-relevant changed" in run.stdout


def test_report_counts_comment_only_files_and_names_a_missing_base(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    """The report's count includes the files --ignore-comments skipped (it lists them), and a
    push whose base is gone (a force push) does not call itself a first run."""
    repo = make_repo()
    repo.module(".", M)
    repo.package("lib", "lib", "func V() int { return 1 }\n")
    repo.write("lib/lib_test.go", value_test("lib", "V", 1))
    repo.package("other", "other", "func O() int { return 1 }\n")
    repo.commit("base")
    repo.package("lib", "lib", "// V is one.\nfunc V() int { return 1 }\n")
    head = repo.commit("comment")
    run = goci("changed", "--base", "HEAD~1", "--ignore-comments", env=repo.env, cwd=repo.root)
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[1] == "1 changed file; 0 packages, 0 test packages, 0 services, 0 modules"
    assert lines[2:] == [
        "skipped lib/lib.go: only comments or white space changed",
        "nothing Go-relevant changed",
    ]
    forced = event_env(repo, tmp_path, "push", {"before": "1" * 40, "after": head})
    run = goci("changed", env=forced, cwd=repo.root)
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"base {'1' * 40} not found: every package  head {head}"
    assert lines[2].startswith(f"all: base {'1' * 40} from the event is not in the repository")
    out = changed(goci, repo, env=forced)
    assert selected(out) == ([f"{M}/lib", f"{M}/other"], [f"{M}/lib"], [], [M])
