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
