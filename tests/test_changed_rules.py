"""``goci changed``: the ownership rules a review found missing, each on a real module and git.

Every case changes one thing, checks with the real ``go test`` that it breaks what goci must
select, and compares the exact sets: what must run and what must be left out.
"""

from __future__ import annotations

from collections.abc import Callable

from support.goci_run import GociRun
from support.gorepo import GoRepo
from test_changed import changed

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


def selected(out: dict[str, object]) -> tuple[object, object, object, object]:
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
