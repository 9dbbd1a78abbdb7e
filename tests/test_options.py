"""One declaration per option, three sources: CLI flag > INPUT_* > PLUGIN_* > default."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goci.errors import InputError
from goci.options import Option, add_to_parser, convert, resolve, split_list
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
    for option in OPTIONS:
        add_to_parser(parser, option)
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
