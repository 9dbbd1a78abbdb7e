"""One rule for paths that must stay inside the workspace (goci.tools.paths), used everywhere.

``..`` is refused outright, an absolute path only where it lands inside a root, and links are
followed before the check; every refusal names the option and the value. The commands' own
tests (build --out, test --out, artifact --dist, --services ./folder, coverage's profile
files, pack's dist/ files) show the same rule at work end to end; these pin the rule itself.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

from goci.errors import InputError
from goci.tools.paths import WorkspaceRoots, inside, workspace_path
from support.goci_run import GociRun, actions_env
from support.gorepo import GoRepo
from support.refusal import refused

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "goci"


@pytest.fixture
def roots(tmp_path: Path) -> WorkspaceRoots:
    (tmp_path / "ws").mkdir()
    (tmp_path / "runner-temp").mkdir()
    return WorkspaceRoots(tmp_path / "ws", (tmp_path / "runner-temp",))


def test_relative_and_absolute_paths_inside_a_root(roots: WorkspaceRoots, tmp_path: Path) -> None:
    assert workspace_path("out", "dist/x", roots) == tmp_path / "ws" / "dist" / "x"
    temp = tmp_path / "runner-temp" / "reports"
    assert workspace_path("out", str(temp), roots) == temp
    assert workspace_path("out", str(tmp_path / "ws"), roots) == tmp_path / "ws"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("../outside", "it climbs out with '..'"),
        ("dist/../../outside", "it climbs out with '..'"),
        ("dist/../dist", "it climbs out with '..'"),  # '..' is refused even when it comes back
        ("/etc", "it is outside the workspace"),
        ("", "give a path inside"),
    ],
)
def test_escapes_are_refused_naming_the_option_and_the_value(
    roots: WorkspaceRoots, value: str, why: str
) -> None:
    with pytest.raises(InputError) as caught:
        workspace_path("out", value, roots)
    assert str(caught.value).startswith(f"--out: {value!r} is not valid")
    assert why in str(caught.value) and "\n" not in str(caught.value)


def test_a_link_cannot_carry_a_path_out(roots: WorkspaceRoots, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (roots.cwd / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InputError, match="it is outside the workspace"):
        workspace_path("junit", "link/junit.xml", roots)
    assert not inside(roots.cwd / "link" / "x", [roots.cwd])
    assert inside(roots.cwd / "link" / "x", [tmp_path / "elsewhere"])


def test_a_folder_goci_replaces_may_not_be_a_root(roots: WorkspaceRoots, tmp_path: Path) -> None:
    for value in (".", str(tmp_path / "runner-temp")):
        with pytest.raises(InputError, match="it is the workspace itself"):
            workspace_path("out", value, roots, may_be_root=False)
    with pytest.raises(InputError, match="it does not exist"):
        workspace_path("timings", "t.json", roots, must_exist=True)


def test_one_rule_serves_every_command(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    """The same value is refused the same way by each command that takes a path."""
    repo = make_repo()
    repo.module(".", "example.com/paths")
    env = actions_env(tmp_path / "gha", repo.env)
    for args, option in (
        (("test", "--out", "../x"), "--out"),
        (("coverage", "merge", ".", "--out", "../x"), "--out"),
        (("artifact", "pack", "--dist", "../x"), "--dist"),
        (("artifact", "upload", "--dist", "../x"), "--dist"),
        (("build", "--out", "../x"), "--out"),
    ):
        refused(goci(*args, env=env, cwd=repo.root), f"{option}: '../x' is not valid: it climbs")
    assert not (repo.root.parent / "x").exists()


def test_no_other_module_checks_containment_its_own_way() -> None:
    """``is_relative_to`` and ``x in y.parents`` are how a second rule would start."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        if path.name == "paths.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "is_relative_to":
                found.add(f"{path.relative_to(PACKAGE)}:{node.lineno}")
            if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.In | ast.NotIn):
                right = node.comparators[0]
                if isinstance(right, ast.Attribute) and right.attr == "parents":
                    found.add(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == set()
