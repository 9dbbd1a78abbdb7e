"""The ``goci`` command line: version, help, dispatch, exit codes, ``python -m goci``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from goci import __version__
from goci.cli import run_command
from goci.command import Command, Context, Result
from goci.commands import COMMANDS
from goci.options import Options, option
from goci.runtime import Runtime
from support.goci_run import GociRun, actions_env


def test_version(goci: Callable[..., GociRun]) -> None:
    run = goci("--version", env={})
    assert run.code == 0
    assert run.stdout.strip() == f"goci {__version__}"


def test_python_dash_m_goci_and_the_console_script(tmp_path: Path) -> None:
    module = subprocess.run(
        [sys.executable, "-m", "goci", "--version"], capture_output=True, text=True, check=False
    )
    assert (module.returncode, module.stdout.strip()) == (0, f"goci {__version__}")
    script = Path(sys.executable).parent / "goci"
    console = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, check=False
    )
    assert (console.returncode, console.stdout.strip()) == (0, f"goci {__version__}")
    unknown = subprocess.run(
        [sys.executable, "-m", "goci", "no-such-command"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert unknown.returncode == 2
    assert "no-such-command" in unknown.stderr and "Traceback" not in unknown.stderr


def test_help_lists_every_command(goci: Callable[..., GociRun]) -> None:
    run = goci("--help", env={})
    assert run.code == 0
    for command in COMMANDS:
        assert command.path[0] in run.stdout
    from goci.commands import ENTRIES

    for entry in (e for e in ENTRIES if len(e.path) == 2):
        sub = goci(entry.path[0], "--help", env={})
        listed = " ".join(sub.stdout.split())
        assert sub.code == 0 and entry.path[1] in listed
        assert " ".join(entry.help.split())[:30] in listed


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_each_command_has_help_with_its_options_and_the_common_ones(
    goci: Callable[..., GociRun], command: Command[Any]
) -> None:
    run = goci(*command.path, "--help", env={})
    assert run.code == 0
    help_text = " ".join(run.stdout.split())
    for declared in command.options:
        if not declared.positional:
            assert f"--{declared.name}" in help_text
    assert "--dir" in help_text and "--working-directory" in help_text and "--json" in help_text


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["cache", "frob"], "invalid choice: 'frob'"),
        (["cache-key", "--colour", "red"], "unrecognized arguments: --colour red"),
        (["cache-key", "--target"], "expected one argument"),
        (
            ["coverage", "merge", "--profiles", "x"],
            "unrecognized arguments: --profiles (give DIR_OR_FILE without a flag)",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    goci: Callable[..., GociRun], argv: list[str], phrase: str
) -> None:
    run = goci(*argv, env={})
    assert run.code == 2
    assert phrase in run.stderr
    assert "Traceback" not in run.stderr


def test_no_command_prints_help_and_exits_2(goci: Callable[..., GociRun]) -> None:
    run = goci(env={})
    assert run.code == 2
    assert "usage: goci" in run.stderr


def test_a_missing_dir_is_bad_input_and_annotated_in_actions(
    goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    env = actions_env(tmp_path / "gha", {})
    run = goci("cache-key", "--dir", str(tmp_path / "nope"), env=env)
    assert run.code == 2
    assert run.stderr.startswith("::error::--dir: ")
    assert run.outputs == {}


class FakeOptions(Options):
    word: str = option(help="w", default="hi")


def fake(outputs: tuple[str, ...], result: Result) -> Command[FakeOptions]:
    def runner(opts: FakeOptions, ctx: Context) -> Result:
        ctx.runtime.log(f"running with {opts.word}")
        return result

    return Command(
        path=("fake",),
        help="a test command",
        settings=FakeOptions,
        outputs=outputs,
        run=runner,
    )


def test_json_mode_prints_exactly_the_outputs_and_logs_go_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = actions_env(tmp_path, {})
    command = fake(("a", "b"), Result(outputs={"a": "x", "b": [1]}, report="the report"))
    code = run_command(command, {"json": True, "dir": str(tmp_path)}, env, Runtime(env))
    out, err = capsys.readouterr()
    assert code == 0
    assert json.loads(out) == {"a": "x", "b": [1]}
    assert "running with hi" in err and "the report" in err


def test_a_command_that_forgets_a_declared_output_is_a_bug_not_a_silent_gap(
    tmp_path: Path,
) -> None:
    env = actions_env(tmp_path, {})
    command = fake(("a", "b"), Result(outputs={"a": "x"}))
    with pytest.raises(AssertionError, match=r"did not produce outputs \['b'\]"):
        run_command(command, {"dir": str(tmp_path)}, env, Runtime(env))
    assert Path(env["GITHUB_OUTPUT"]).read_text() == ""


def test_a_verdict_exit_code_is_passed_through(tmp_path: Path) -> None:
    env = actions_env(tmp_path, {})
    command = fake(("a",), Result(outputs={"a": "1"}, exit_code=1))
    assert run_command(command, {"dir": str(tmp_path)}, env, Runtime(env)) == 1
    assert "a<<" in Path(env["GITHUB_OUTPUT"]).read_text()


def test_registry_entries_name_their_commands() -> None:
    from goci.commands import ENTRIES

    for entry in ENTRIES:
        assert entry.load().path == entry.path


def test_an_os_error_is_one_line_then_the_traceback_folded(
    goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    """A file where the store needs a folder (a disk full, a permission: any OSError) reads
    as one error line naming the command, exit 1, with the traceback in a collapsed group
    after it. (A store that is itself a file is bad input, refused before it is opened: here
    the file sits inside the store, where only a write finds it.)"""
    from support import releases

    ws = tmp_path / "ws"
    releases.packed(ws, "api", b"api build")
    (ws / "out").mkdir()
    (ws / "out" / "prod").write_text("a file, not a folder")
    env = actions_env(tmp_path / "gha", {})
    run = goci("artifact", "upload", "--store", "file://out", "--dir", str(ws), env=env)
    assert run.code == 1
    lines = run.stderr.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("::error::")]
    assert len(errors) == 1, run.stderr
    first, *rest = lines[errors[0] :]
    assert first.startswith("::error::goci artifact: [Errno 20] Not a directory: ")
    assert rest[0] == "::group::details" and rest[1] == "Traceback (most recent call last):"
    assert rest[-1] == "::endgroup::" and rest[-2].startswith("NotADirectoryError: ")
