"""The Actions I/O adapter: file commands in the delimiter form, masks, annotations, summary."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from goci.runtime import MIN_SECRET_LENGTH, Runtime, markdown_table, output_text
from support.goci_run import actions_env, read_key_values

_DELIMITED = re.compile(r"^([\w-]+)<<(ghadelimiter_[0-9a-f-]{36})\n(.*?)\n\2\n", re.S)


def records(path: Path) -> list[tuple[str, str]]:
    """Every ``name<<delimiter`` record of a file command, checked to use the delimiter form."""
    text = path.read_text(encoding="utf-8")
    found = []
    while text:
        match = _DELIMITED.match(text)
        assert match, f"not in the delimiter form: {text[:80]!r}"
        found.append((match.group(1), match.group(3)))
        text = text[match.end() :]
    return found


@pytest.fixture
def actions(tmp_path: Path) -> tuple[Runtime, io.StringIO, dict[str, str]]:
    env = actions_env(tmp_path, {})
    stream = io.StringIO()
    return Runtime(env, stream=stream), stream, env


def test_outputs_use_the_delimiter_form_and_survive_any_value(
    actions: tuple[Runtime, io.StringIO, dict[str, str]],
) -> None:
    runtime, _stream, env = actions
    tricky = "line one\nEOF\nname=value\n::error::not a command\n"
    runtime.set_outputs(
        {
            "multi": tricky,
            "flag": True,
            "off": False,
            "count": 3,
            "matrix": {"include": [{"go": "1.25", "os": "linux"}]},
            "empty": "",
        }
    )
    assert records(Path(env["GITHUB_OUTPUT"])) == [
        ("multi", tricky),
        ("flag", "true"),
        ("off", "false"),
        ("count", "3"),
        ("matrix", '{"include":[{"go":"1.25","os":"linux"}]}'),
        ("empty", ""),
    ]
    # Each record has its own random delimiter.
    text = Path(env["GITHUB_OUTPUT"]).read_text()
    assert len(set(re.findall(r"ghadelimiter_[0-9a-f-]{36}", text))) == 6


def test_env_exports_paths_and_summary(
    actions: tuple[Runtime, io.StringIO, dict[str, str]],
) -> None:
    runtime, _stream, env = actions
    runtime.export_env("GOCI_CACHE_MARK", "1764249600")
    runtime.export_env("MULTI", "a\nb")
    runtime.add_path("/opt/goci/bin")
    runtime.summary("### Title\n\n| a |\n")
    runtime.summary("more")
    assert records(Path(env["GITHUB_ENV"])) == [
        ("GOCI_CACHE_MARK", "1764249600"),
        ("MULTI", "a\nb"),
    ]
    assert read_key_values(Path(env["GITHUB_ENV"]))["MULTI"] == "a\nb"
    assert Path(env["GITHUB_PATH"]).read_text() == "/opt/goci/bin\n"
    assert Path(env["GITHUB_STEP_SUMMARY"]).read_text() == "### Title\n\n| a |\n\nmore\n\n"


def test_annotations_inside_actions_are_workflow_commands(
    actions: tuple[Runtime, io.StringIO, dict[str, str]],
) -> None:
    runtime, stream, _env = actions
    runtime.error("build failed: 100%\nsee log", file="cmd/api/main.go", line=12)
    runtime.warning("slow", title="cache")
    runtime.notice("done")
    with runtime.group("go test"):
        runtime.log("ok  example.com/x")
    assert stream.getvalue().splitlines() == [
        "::error file=cmd/api/main.go,line=12::build failed: 100%25%0Asee log",
        "::warning title=cache::slow",
        "::notice::done",
        "::group::go test",
        "ok  example.com/x",
        "::endgroup::",
    ]


def test_masks_register_the_secret_itself_and_redact_logs(
    actions: tuple[Runtime, io.StringIO, dict[str, str]],
) -> None:
    runtime, stream, _env = actions
    runtime.mask("s3cr3t-token")
    runtime.mask("s3cr3t-token")  # once is enough
    runtime.mask("")
    runtime.log("using s3cr3t-token now")
    runtime.error("denied for s3cr3t-token")
    assert stream.getvalue().splitlines() == [
        "::add-mask::s3cr3t-token",
        "using *** now",
        "::error::denied for ***",
    ]


def test_a_secret_too_short_to_hide_is_registered_but_not_hidden_in_gocis_text(
    actions: tuple[Runtime, io.StringIO, dict[str, str]],
) -> None:
    """AWS_SECRET_ACCESS_KEY=y once turned the summary's "everything" into "ever***thing"."""
    runtime, stream, env = actions
    runtime.mask("y", name="AWS_SECRET_ACCESS_KEY")
    runtime.mask("y", name="AWS_SECRET_ACCESS_KEY")  # warned once
    runtime.log("everything is ready")
    runtime.summary("everything is ready")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "::add-mask::y"  # the runner still decides for its own log
    assert lines[1].startswith("::warning::AWS_SECRET_ACCESS_KEY: a 1-character secret is weak")
    assert f"shorter than {MIN_SECRET_LENGTH} characters" in lines[1]
    assert lines[2:] == ["everything is ready"]
    assert Path(env["GITHUB_STEP_SUMMARY"]).read_text() == "everything is ready\n\n"


def test_a_secret_is_hidden_line_by_line_and_as_json_and_url_encoded(
    actions: tuple[Runtime, io.StringIO, dict[str, str]],
) -> None:
    """As the runner registers a multi-line secret line by line; goci hides the forms its own
    text may quote it in (a JSON string, a URL), and the summary as well as the log."""
    runtime, stream, env = actions
    runtime.mask('first-line-secret\nsecond/line "quoted"')
    assert stream.getvalue().splitlines() == [
        '::add-mask::first-line-secret%0Asecond/line "quoted"',
        "::add-mask::first-line-secret",
        '::add-mask::second/line "quoted"',
    ]
    stream.truncate(0)
    stream.seek(0)
    runtime.log('{"key": "second/line \\"quoted\\""} ?k=second%2Fline%20%22quoted%22')
    runtime.summary("token first-line-secret here")
    assert stream.getvalue() == '{"key": "***"} ?k=***\n'
    assert Path(env["GITHUB_STEP_SUMMARY"]).read_text() == "token *** here\n\n"


def test_outside_actions_nothing_special_happens(tmp_path: Path) -> None:
    stream = io.StringIO()
    output = tmp_path / "output"
    runtime = Runtime({}, stream=stream)
    runtime.error("broken", file="go.mod", line=3)
    runtime.warning("careful", file="go.sum")
    runtime.notice("fyi")
    runtime.mask("hunter2hunter2")
    runtime.log("password hunter2hunter2")
    with runtime.group("step"):
        pass
    runtime.set_outputs({"a": "b"})
    runtime.export_env("X", "y")
    runtime.summary("# nothing")
    assert stream.getvalue().splitlines() == [
        "error: go.mod:3: broken",
        "warning: go.sum: careful",
        "notice: fyi",
        "password ***",
        "== step",
    ]
    assert not output.exists()
    assert "::" not in stream.getvalue()


def test_drone_has_no_github_output_but_still_gets_redaction(tmp_path: Path) -> None:
    stream = io.StringIO()
    runtime = Runtime({"DRONE": "true", "GITHUB_OUTPUT": ""}, stream=stream)
    runtime.mask("drone-token")
    runtime.set_outputs({"a": "b"})
    runtime.log("drone-token")
    assert stream.getvalue() == "***\n"


def test_markdown_tables_escape_pipes_and_newlines() -> None:
    table = markdown_table(["pkg", "cover"], [["a|b", "50%"], ["multi\nline", "1"]])
    assert table.splitlines() == [
        "| pkg | cover |",
        "| --- | --- |",
        "| a\\|b | 50% |",
        "| multi line | 1 |",
    ]


def test_output_text() -> None:
    assert output_text("x") == "x"
    assert output_text(None) == "null"
    assert output_text([1, "a"]) == '[1,"a"]'
