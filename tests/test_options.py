"""One declaration per option, three sources: CLI flag > INPUT_* > PLUGIN_* > default."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goci.errors import InputError
from goci.options import (
    Option,
    Options,
    add_to_parser,
    convert,
    declared,
    label_of,
    option,
    resolve,
    secret_values,
    split_list,
)
from goci.options import parse as parse_options
from support.goci_run import GociRun
from support.gorepo import GoRepo

OPTIONS = (
    Option(name="go-versions", kind="list", help="versions", default=["stable"]),
    Option(name="strip", kind="bool", help="strip", default=False),
    Option(name="shards", kind="int", help="shards", default=1),
    Option(name="min-total", kind="float", help="threshold"),
    Option(name="services", kind="json", help="services", default={}),
    Option(name="env", help="environment", choices=("dev", "prod"), default="dev"),
    Option(name="dir", aliases=("working-directory",), help="folder", default="."),
    Option(name="token", help="secret", secret=True),
)


def parse(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """What the CLI does: argparse (defaults None), then resolve across the three sources."""
    parser = argparse.ArgumentParser()
    for spec in OPTIONS:
        add_to_parser(parser, spec)
    return resolve(OPTIONS, vars(parser.parse_args(argv)), env)


def test_defaults_when_no_source_gives_a_value() -> None:
    values = parse([], {})
    assert values == {
        "go_versions": ["stable"],
        "strip": False,
        "shards": 1,
        "min_total": None,
        "services": {},
        "env": "dev",
        "dir": ".",
        "token": None,
    }


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["--shards", "4"], {"INPUT_SHARDS": "3", "PLUGIN_SHARDS": "2"}, 4),
        ([], {"INPUT_SHARDS": "3", "PLUGIN_SHARDS": "2"}, 3),
        ([], {"PLUGIN_SHARDS": "2"}, 2),
        ([], {"INPUT_SHARDS": "", "PLUGIN_SHARDS": "2"}, 2),  # GitHub passes '' when not given
        ([], {"INPUT_SHARDS": "   ", "PLUGIN_SHARDS": ""}, 1),
        ([], {}, 1),
    ],
)
def test_cli_then_input_then_plugin_then_default(
    argv: list[str], env: dict[str, str], expected: int
) -> None:
    assert parse(argv, env)["shards"] == expected


def test_aliases_are_read_from_every_source() -> None:
    assert parse(["--working-directory", "a"], {})["dir"] == "a"
    assert parse([], {"INPUT_WORKING_DIRECTORY": "b"})["dir"] == "b"
    assert parse([], {"PLUGIN_DIR": "c", "INPUT_WORKING_DIRECTORY": "b"})["dir"] == "b"
    assert parse([], {"PLUGIN_WORKING_DIRECTORY": "d"})["dir"] == "d"


@pytest.mark.parametrize(
    "raw",
    [
        "1.24 1.25 stable",
        "1.24,1.25,stable",
        "1.24, 1.25 ,stable",
        "1.24\n1.25\nstable\n",
        "\n  1.24\r\n  1.25,\n  stable",
        '["1.24", "1.25", "stable"]',
        ' [ "1.24","1.25" , "stable" ] ',
    ],
)
def test_lists_as_spaces_commas_newlines_or_json(raw: str) -> None:
    assert parse([], {"INPUT_GO_VERSIONS": raw})["go_versions"] == ["1.24", "1.25", "stable"]
    assert parse([], {"PLUGIN_GO_VERSIONS": raw})["go_versions"] == ["1.24", "1.25", "stable"]


def test_list_flags_repeat_and_split() -> None:
    argv = ["--go-versions", "1.24,1.25", "--go-versions", "stable"]
    assert parse(argv, {})["go_versions"] == ["1.24", "1.25", "stable"]
    assert parse(["--go-versions", '["a b"]'], {})["go_versions"] == ["a b"]


def test_json_list_items_that_are_not_strings_stay_json() -> None:
    value = parse([], {"INPUT_GO_VERSIONS": '[1.25, {"os": "linux"}]'})["go_versions"]
    assert value == ["1.25", '{"os": "linux"}']


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('["1.24", ', "INPUT_GO_VERSIONS (go-versions): not a valid JSON array"),
        ("[]]", "INPUT_GO_VERSIONS (go-versions): not a valid JSON array"),
    ],
)
def test_bad_json_lists_name_the_input(raw: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse([], {"INPUT_GO_VERSIONS": raw})


WORDS = st.text(
    alphabet=st.characters(whitelist_categories=("L", "N", "Pd"), whitelist_characters="._/:=@+"),
    min_size=1,
)


@given(st.lists(WORDS, max_size=6), st.sampled_from([" ", ",", "\n", ", ", " ,\n", "\r\n"]))
def test_split_list_round_trips(items: list[str], separator: str) -> None:
    assert split_list(separator.join(items)) == items
    assert split_list(json.dumps(items)) == items


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("true", True),
        ("True", True),
        (" YES ", True),
        ("1", True),
        ("on", True),
        ("false", False),
        ("FALSE", False),
        ("no", False),
        ("0", False),
        ("off", False),
    ],
)
def test_booleans(raw: str, value: bool) -> None:
    assert parse([], {"INPUT_STRIP": raw})["strip"] is value
    assert parse([], {"PLUGIN_STRIP": raw})["strip"] is value


def test_boolean_flags_beat_the_environment() -> None:
    assert parse(["--no-strip"], {"INPUT_STRIP": "true"})["strip"] is False
    assert parse(["--strip"], {"INPUT_STRIP": "false"})["strip"] is True


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"INPUT_STRIP": "maybe"},
            "INPUT_STRIP (strip): 'maybe' is not a boolean; use true or false",
        ),
        ({"PLUGIN_SHARDS": "four"}, "PLUGIN_SHARDS (shards): 'four' is not a valid int"),
        ({"INPUT_MIN_TOTAL": "high"}, "INPUT_MIN_TOTAL (min-total): 'high' is not a valid float"),
        ({"INPUT_SERVICES": "{oops"}, "INPUT_SERVICES (services): '{oops' is not a valid json"),
        (
            {"INPUT_ENV": "prd"},
            "INPUT_ENV (env): 'prd' is not one of dev, prod (did you mean 'prod'?)",
        ),
    ],
)
def test_bad_values_name_the_source_the_value_and_what_is_accepted(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(InputError) as caught:
        parse([], env)
    assert str(caught.value) == message
    assert caught.value.exit_code == 2


def test_bad_cli_values_name_the_flag() -> None:
    with pytest.raises(InputError, match=r"^--shards: 'x' is not a valid int$"):
        parse(["--shards", "x"], {})


def test_numbers_and_json() -> None:
    values = parse([], {"INPUT_MIN_TOTAL": "85.5%", "INPUT_SERVICES": '{"api": "./cmd/api"}'})
    assert values["min_total"] == 85.5
    assert values["services"] == {"api": "./cmd/api"}
    assert convert(OPTIONS[2], " 7 ", "INPUT_SHARDS") == 7


def test_a_required_option_says_how_to_give_it() -> None:
    required = Option(name="base-ref", help="base", required=True)
    with pytest.raises(
        InputError, match=r"--base-ref is required \(or INPUT_BASE_REF / PLUGIN_BASE_REF\)"
    ):
        resolve((required,), {}, {})
    assert resolve((required,), {}, {"PLUGIN_BASE_REF": "main"}) == {"base_ref": "main"}


def test_the_three_sources_reach_a_real_command(
    make_repo: Callable[..., GoRepo], go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = make_repo()
    repo.module(".", "example.com/opts")

    def prefix(*argv: str, **env: str) -> str:
        run = goci("cache-key", "--json", *argv, env={**go_env, **env}, cwd=repo.root)
        assert run.code == 0, run.stderr
        return str(run.json()["mod-key"]).split("-mod-")[0]

    both = {"INPUT_PREFIX": "input", "PLUGIN_PREFIX": "plugin"}
    assert prefix("--prefix", "cli", **both) == "cli"
    assert prefix(**both) == "input"
    assert prefix(PLUGIN_PREFIX="plugin") == "plugin"
    assert prefix() == "goci"


def test_a_bad_drone_setting_exits_2_naming_it(
    go_env: dict[str, str], goci: Callable[..., GociRun], tmp_path: Any
) -> None:
    run = goci("cache", "trim", env={**go_env, "PLUGIN_JSON": "perhaps"}, cwd=tmp_path)
    assert run.code == 2
    assert "PLUGIN_JSON (json): 'perhaps' is not a boolean" in run.stderr


# ---- the Options base: what a frozen keyword-only dataclass gave, without dataclasses ----------


class _Base(Options):
    alpha: str = option(help="a", default="x")
    shared: int = option(kind="int", default=1, help="s")


class _Secret(Options):
    token: str = option(help="t", default="", secret=True)


class _Child(_Secret, _Base):
    items: tuple[str, ...] = option(kind="list", default=["a", "b"], help="i")
    source: str | None = option(name="from", help="f")
    shared: int = option(kind="int", default=2, help="s again")


def test_options_are_declared_in_the_order_a_dataclass_gives_its_fields() -> None:
    """Inherited first, the last base of the MRO first; one redeclared keeps its place."""
    assert [o.name for o in declared(_Child)] == ["alpha", "shared", "token", "items", "from"]
    assert [o.name for o in declared(_Base)] == ["alpha", "shared"]
    assert declared(_Child)[1] == Option(name="shared", kind="int", default=2, help="s again")
    with pytest.raises(TypeError, match=r"does not derive from goci\.options\.Options"):
        declared(dict)


def test_defaults_fill_what_is_not_given_and_a_list_default_becomes_a_tuple() -> None:
    opts = _Child(alpha="given")
    assert (opts.alpha, opts.shared, opts.token, opts.items, opts.source) == (
        "given",
        2,
        "",
        ("a", "b"),
        None,
    )
    assert _Child.items == ("a", "b") and _Base.shared == 1  # the class keeps the default
    assert declared(_Child)[3].default == ["a", "b"]  # the declaration keeps what was written
    with pytest.raises(TypeError, match=r"_Child\(\) has no option nope"):
        _Child(nope=1)  # type: ignore[call-arg]


def test_options_are_frozen_and_compared_hashed_and_shown_by_value() -> None:
    opts = _Child()
    with pytest.raises(AttributeError, match="frozen"):
        opts.alpha = "y"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="frozen"):
        del opts.alpha
    assert opts == _Child() and hash(opts) == hash(_Child())
    assert opts != _Child(alpha="y")
    assert _Base() != _Child() and _Base() != ("x", 1)
    assert repr(_Base(shared=3)) == "_Base(alpha='x', shared=3)"


def test_parse_keeps_where_each_value_came_from_beside_the_options() -> None:
    env = {"INPUT_TOKEN": "s3cret", "PLUGIN_FROM": "main", "INPUT_ITEMS": "c d"}
    opts = parse_options(_Child, {"alpha": "cli"}, env)
    assert opts == _Child(alpha="cli", token="s3cret", source="main", items=("c", "d"))
    assert label_of(opts, "source") == "PLUGIN_FROM (from)"
    assert label_of(opts, "alpha") == "--alpha"
    assert secret_values(opts) == [("INPUT_TOKEN (token)", "s3cret")]
    assert secret_values(_Child()) == []


def test_an_options_class_refuses_what_would_not_be_an_option() -> None:
    with pytest.raises(TypeError, match=r"_Plain\.count is not made by option\(\)"):

        class _Plain(Options):
            count: int = 3

    with pytest.raises(TypeError, match=r"_Bare\.word: an option needs a type annotation"):

        class _Bare(Options):
            word = option(help="w")


def test_importing_the_options_does_not_import_dataclasses() -> None:
    """Start-up: ``dataclasses`` costs about 18 ms to import (cache-key starts every job)."""
    src = Path(__file__).resolve().parent.parent / "src"
    probe = "import sys, goci.options; print({'dataclasses', 'typing_extensions'} & {*sys.modules})"
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == "set()"
