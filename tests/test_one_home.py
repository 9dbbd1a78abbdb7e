"""Ideas several capabilities share have one home each: hashing, the build record's name,
atomic writes, durations, closing a store, and each command's typed options."""

from __future__ import annotations

import ast
import hashlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from goci.cache.units import parse_duration
from goci.command import Command
from goci.commands import COMMANDS
from goci.errors import InputError
from goci.options import Options, declared
from goci.release.stores import Store
from goci.release.stores.filestore import FileStore
from goci.release.stores.s3store import S3Store
from goci.tools.atomic import atomic_target
from goci.tools.hashing import Sha256, chunks, sha256_bytes, sha256_file
from support.goci_run import GociRun

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "goci"


def _modules() -> dict[str, ast.Module]:
    return {
        str(p.relative_to(PACKAGE)): ast.parse(p.read_text(encoding="utf-8"))
        for p in PACKAGE.rglob("*.py")
    }


def test_sha256_is_computed_in_one_module(tmp_path: Path) -> None:
    users = {
        name
        for name, tree in _modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "sha256"
        and isinstance(node.value, ast.Name)
        and node.value.id == "hashlib"
    }
    assert users == {"tools/hashing.py"}
    data = bytes(range(256)) * 9000  # more than one chunk
    (tmp_path / "f").write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert sha256_file(tmp_path / "f") == sha256_bytes(data) == expected
    streamed = Sha256()
    with (tmp_path / "f").open("rb") as handle:
        copied = b"".join(streamed.update(c) for c in chunks(handle, 1000))
    assert (copied, streamed.size, streamed.hexdigest()) == (data, len(data), expected)


def test_build_json_is_named_once() -> None:
    defined = {
        name
        for name, tree in _modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "BUILD_JSON" for t in node.targets)
    }
    assert defined == {"matrix/records.py"}


def test_temporary_files_are_made_by_tools_atomic_only() -> None:
    """coverage's profile and HTML, the file store, build records: one way to write at once
    (no ``tempfile.mkstemp`` of its own, no fixed ``.tmp``/``.staging`` name two writers share)."""
    users = set()
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "mkstemp":
                users.add(name)
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.endswith((".tmp", ".staging", ".partial"))
            ):
                users.add(name)
            if isinstance(node, ast.JoinedStr) and any(
                isinstance(v, ast.Constant) and str(v.value).endswith((".tmp", ".staging"))
                for v in node.values
            ):
                users.add(name)
    assert users == {"tools/atomic.py"}


def test_atomic_target_replaces_on_success_and_keeps_the_old_file_on_failure(
    tmp_path: Path,
) -> None:
    target = tmp_path / "out" / "report.html"
    with atomic_target(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".report.html.")
        tmp.write_text("first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError), atomic_target(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("the writer died")
    assert target.read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]


def test_every_store_speaks_the_whole_protocol_including_close() -> None:
    members = {n for n, v in vars(Store).items() if callable(v) and not n.startswith("_")}
    assert "close" in members
    for store in (FileStore, S3Store):
        assert members <= {n for n, _ in inspect.getmembers(store, callable)}, store


def test_one_duration_reader(goci: Callable[..., GociRun], tmp_path: Path) -> None:
    assert [parse_duration(t) for t in ("90", "90s", "30m", "2h", "1d", "0", "1.5h")] == [
        90,
        90,
        1800,
        7200,
        86400,
        0,
        5400,
    ]
    with pytest.raises(InputError, match=r"^--stale-after: 'soon' is not a duration"):
        parse_duration("soon", "--stale-after")
    run = goci("promote", "--service", "api", "--version", "1.0.0", "--stale-after", "soon",
               env={}, cwd=tmp_path)  # fmt: skip
    assert run.code == 2 and "--stale-after: 'soon' is not a duration" in run.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_each_command_reads_frozen_options_of_its_declared_options(
    command: Command[Any],
) -> None:
    settings = command.settings
    assert issubclass(settings, Options)  # frozen, with every annotated attribute an option()
    options = declared(settings)
    own = settings.__mro__[: settings.__mro__.index(Options)]
    fields = {name for cls in own for name in vars(cls).get("__annotations__", {})}
    assert len(options) == len(fields)  # every field is an option
    names = [n for o in options for n in (o.name, *o.aliases)]
    assert len(names) == len(set(names))
    assert inspect.signature(command.run).parameters


def test_options_arrive_typed_from_every_source() -> None:
    from goci.commands.coverage import COMMAND

    opts = COMMAND.parse(
        {"min_total": "70"},
        {"INPUT_EXCLUDE": "a/*, b/*", "PLUGIN_EXPECT_SHARDS": "3", "INPUT_ALLOW_MIXED": "yes"},
    )
    assert (opts.min_total, opts.exclude, opts.expect_shards, opts.allow_mixed) == (
        70.0,
        ("a/*", "b/*"),
        3,
        True,
    )
    assert (opts.out, opts.profiles, opts.min_package) == (".goci/coverage.out", None, None)
    with pytest.raises(AttributeError, match="frozen"):
        opts.out = "x"  # type: ignore[misc]
