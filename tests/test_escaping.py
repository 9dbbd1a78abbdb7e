"""Nothing a repository holds can become a workflow command in goci's output (issue 10.11).

File names, package names, test output and go's stderr reach goci's logs; the runner would
execute any line of them that looks like ``::add-mask::…`` or holds ``##[add-mask]…``. Every
line goci prints passes through :func:`goci.runtime.guard`; these tests read goci's output
the way the runner does (support/runner_commands.py) and find only goci's own commands.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from goci.runtime import GUARD, guard, json_text, shown
from support.goci_run import GociRun, actions_env
from support.gorepo import GoRepo
from support.runner_commands import commands

HOSTILE_GO_FILE = "lib/x\n::add-mask::example.com\n.go"
HOSTILE_FILES = (
    HOSTILE_GO_FILE,
    "::add-mask::secret2",
    "##[add-mask]legacy.txt",
    "docs/a\r::set-output name=x::y.md",
    "docs/\u00ad::add-mask::soft.md",
)

PIECES = st.sampled_from(
    [
        "::", ":", "add-mask", "set-output name=a", "stop-commands", "error", "ERROR", "##[",
        "#", "[", "]", " ", "\t", "\n", "\r", "\r\n", "\u00ad", "\u200b", "\ufeff", "\u2028",
        "\x1b[31m", "x", "::add-mask::s", "##[add-mask]s",
    ]
)  # fmt: skip
HOSTILE_TEXT = st.lists(PIECES | st.text(max_size=3), max_size=30).map("".join)


# ---- the guard itself -------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(HOSTILE_TEXT)
def test_no_guarded_line_is_a_command_in_either_reading_of_the_runner(text: str) -> None:
    safe = guard(text)
    assert commands(safe) == []
    assert commands(safe, culture=True) == []


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters=":#\r\n\u2028\u2029\x85")))
def test_ordinary_text_is_printed_as_it_came(text: str) -> None:
    assert guard(text) == text


def test_what_the_guard_does_to_each_hostile_form() -> None:
    assert guard("ok\n::add-mask::x") == f"ok\n{GUARD}::add-mask::x"
    assert guard("  ::error::y") == f"{GUARD}  ::error::y"
    assert guard("a\r::set-output name=a::b") == f"a\n{GUARD}::set-output name=a::b"
    assert guard("see ##[add-mask]z") == "see ## [add-mask]z"
    assert guard("\u200b::add-mask::w") == f"{GUARD}\u200b::add-mask::w"
    assert guard("std::vector and a::b") == "std::vector and a::b"  # "::" inside a line is text


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_a_single_line_field_is_shown_on_one_printable_line(value: str) -> None:
    text = shown(value)
    assert text.isprintable() and len(text.splitlines()) <= 1
    if value.isprintable():
        assert text == value


def test_hostile_names_are_shown_escaped() -> None:
    assert shown(HOSTILE_GO_FILE) == "lib/x\\n::add-mask::example.com\\n.go"
    assert shown("a\rb\x1bc\u2028d") == "a\\rb\\x1bc\\u2028d"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(HOSTILE_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(JSON)
def test_json_output_reads_back_the_same_and_runs_nothing(value: object) -> None:
    text = json_text(value)
    assert json.loads(text) == value
    assert guard(text) == text  # the guard never alters a JSON document
    assert commands(text) == [] and commands(text, culture=True) == []


# ---- through real git, go and goci ------------------------------------------------------------


def own_commands(run: GociRun) -> list[str]:
    """The commands the runner would execute in everything goci printed (either reading)."""
    log = run.stdout + run.stderr
    found = commands(log) + commands(log, culture=True)
    return sorted({name for name, _ in found})


def hostile_repo(make_repo: Callable[..., GoRepo]) -> tuple[GoRepo, str]:
    repo = make_repo()
    repo.module("", "example.com/h")
    repo.package("lib", "lib", "func V() int { return 1 }\n")
    base = repo.commit("base")
    for name in HOSTILE_FILES:
        repo.write(name, "package lib\n" if name.endswith(".go") else "hi\n")
    repo.commit("hostile names")
    assert repo.git("ls-files", "-z").count("add-mask") == 4  # really committed
    return repo, base


def test_goci_changed_never_lets_a_file_name_run_a_command(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    repo, base = hostile_repo(make_repo)
    env = actions_env(tmp_path / "gha", repo.env)
    text = goci("changed", "--base", base, env=env, cwd=repo.root)
    assert text.code == 0, text.stderr
    assert own_commands(text) == []
    # the file name is still there for a person to read, escaped on its one line
    assert "lib/x\\n::add-mask::example.com\\n.go" in text.stdout
    assert "skipped ## [add-mask]legacy.txt" in text.stdout
    as_json = goci("changed", "--base", base, "--json", env=env, cwd=repo.root)
    assert as_json.code == 0, as_json.stderr
    assert own_commands(as_json) == []
    assert as_json.json()["packages"] == ["example.com/h/lib"]
    assert json.loads(as_json.outputs["packages"]) == ["example.com/h/lib"]


HOSTILE_TEST = """
package lib

import (
    "fmt"
    "testing"
)

func TestHostile(t *testing.T) {
    fmt.Println("::add-mask::x")
    fmt.Print("ok\\r::set-output name=a::b\\n")
    fmt.Println("see ##[add-mask]y")
    t.Log("::add-mask::z")
    t.Fatal("boom ::add-mask::w")
}
"""


def test_goci_test_never_lets_test_output_or_compiler_output_run_a_command(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    repo = make_repo()
    repo.module("", "example.com/t")
    repo.package("lib", "lib", "func V() int { return 1 }\n")
    repo.write("lib/lib_test.go", HOSTILE_TEST)
    repo.package("broken", "broken", "func B() int { return 1 }\n")
    repo.write("broken/b\n::add-mask::compiler\n.go", "package broken\n\nfunc C() int {\n")
    repo.commit("hostile output")
    env = actions_env(tmp_path / "gha", repo.env)
    run = goci("test", "--no-cover", env=env, cwd=repo.root)
    assert run.code == 1, run.stderr
    # goci's own: one annotation per failure, and a foldable group for the compiler output
    assert own_commands(run) == ["endgroup", "error", "group"]
    log = run.stdout + run.stderr
    assert not [c for c in commands(log) if c[0] not in ("error", "group", "endgroup")]
    # what the test printed is still shown, each hostile line defused
    assert f"{GUARD}::add-mask::x" in run.stdout
    assert f"{GUARD}::set-output name=a::b" in run.stdout
    assert "see ## [add-mask]y" in run.stdout
    assert "::add-mask::compiler" in log and "\n::add-mask::compiler" not in log
