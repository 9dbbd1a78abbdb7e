"""goci reads a plainly written go.work itself (one ``go`` call fewer on every cache-key) and
leaves every other go.work to ``go work edit -json``: the two must never disagree.

Each text below goes to real go: where goci's reader answers, its ``use`` list is exactly go's,
and go accepted the file; where it declines, discovery still gives go's answer (or go's error).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from goci.errors import InputError
from goci.tools.gotool import Go
from goci.tools.workspace import discover, plain_uses, read_whole
from support.gotools import hermetic_env

# (go.work text, what goci's own reader says: its use list, or None for "ask go")
CASES: list[tuple[bytes, list[str] | None]] = [
    (b"go 1.21\n\nuse (\n\t./a\n\t./b\n)\n", ["./a", "./b"]),
    (b"go 1.22.3\ntoolchain go1.23.1\n\nuse ./a\nuse ./b\n", ["./a", "./b"]),
    (b"go 1.21rc1\nuse a\n", ["a"]),
    (b"go 1.2beta1\ntoolchain default\n", []),
    (b"", []),
    (b"use ./a\r\nuse ./b\r\n", ["./a", "./b"]),
    (b"go 1.21 // comment\nuse ./a // the first\n// use ./b\n", ["./a"]),
    (b"go 1.21\nuse ./a//b\n", ["./a"]),
    (b"go 1.21\nuse ./a\nuse ./a\n", ["./a", "./a"]),
    (b"go 1.21\nuse ./a/\n", ["./a/"]),
    (b"go 1.21\nuse (\n)\n", []),
    (b"go 1.21\nuse ./missing\n", ["./missing"]),
    (b'go 1.21\nuse "./a"\n', None),
    (b"go 1.21\nuse `./b`\n", None),
    (b"go 1.21\nuse ( ./a )\n", None),
    (b"go 1.21\nuse ./a ./b\n", None),
    (b"go 1.21\nuse\n", None),
    (b"go 1.21\nuse ./a\n)\n", None),
    (b"go 1.21\nuse (\n./a\n", None),
    (b"go abc\nuse ./a\n", None),
    (b"go 1\nuse ./a\n", None),
    (b"go default\n", None),
    (b"go 1.21\ngo 1.22\n", None),
    (b"go 1.21.0rc1\n", None),
    (b"go 1.21\ntoolchain foo\n", None),
    (b"go 1.21\ntoolchain 1.22.0\n", None),
    (b"go 1.21\nreplace example.com/x => ./b\nuse ./a\n", None),
    (b"go 1.21\ngodebug default=go1.21\n", None),
    (b"go 1.21\n/* use ./b */\nuse ./a\n", None),
    (b"go 1.21\nuse ./caf\xc3\xa9\n", None),
    (b"go 1.21\nuse ./a\xff\n", None),
    (b"go 1.21\nunknown ./a\n", None),
]


def go_uses(go: Go, root: Path) -> list[str] | None:
    """What go itself reads from root/go.work: its use list, or None when it refuses the file."""
    result = go.run("work", "edit", "-json", str(root / "go.work"), cwd=root, check=False)
    if not result.ok:
        return None
    return [use["DiskPath"] for use in json.loads(result.stdout).get("Use") or []]


@pytest.fixture(scope="module")
def workspace_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gowork")
    for name in ("a", "b"):
        (root / name).mkdir()
        (root / name / "go.mod").write_text(f"module example.com/{name}\n\ngo 1.21\n")
    return root


@pytest.fixture(scope="module")
def real_go(go_binary: Path, shared_go_dirs: dict[str, Path]) -> Go:
    env = hermetic_env(go_binary, shared_go_dirs)
    return Go({**env, "GOWORK": ""}, exe=env["GOCI_GO"])


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_goci_reads_a_plain_go_work_as_go_does_and_leaves_the_rest_to_go(
    text: bytes, expected: list[str] | None, workspace_root: Path, real_go: Go
) -> None:
    assert plain_uses(text) == expected
    (workspace_root / "go.work").write_bytes(text)
    if expected is not None:
        assert go_uses(real_go, workspace_root) == expected


def test_a_go_work_goci_does_not_read_itself_is_read_by_go(
    workspace_root: Path, real_go: Go
) -> None:
    (workspace_root / "go.work").write_text('go 1.21\n\nuse (\n\t"./b"\n\t"./a"\n)\n')
    workspace = discover(workspace_root, real_go)
    assert [m.path for m in workspace.modules] == ["example.com/a", "example.com/b"]
    (workspace_root / "go.work").write_text("go 1.21\nuse ./a ./b\n")
    with pytest.raises(
        InputError, match=r"(?s)cannot be parsed: .*go.work:2: usage: use local/dir"
    ):
        discover(workspace_root, real_go)


PIECES = st.lists(
    st.sampled_from(
        [b"go 1.21", b"go 1.2x", b"toolchain go1.22.1", b"toolchain default", b"use", b" ",
         b"\t", b"./a", b"./b", b"a", b"(", b")", b"\n", b"\r\n", b"//", b"/*", b'"', b"`",
         b"'", b"\\", b"=>", b"replace", b"\xc3\xa9"]
    ),
    max_size=14,
).map(b"".join)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@example(data=b"use (\n./a\n./b\n)\n")
@given(data=PIECES)
def test_whenever_goci_reads_a_go_work_go_reads_the_same(
    data: bytes, workspace_root: Path, real_go: Go
) -> None:
    ours = plain_uses(data)
    if ours is None:
        return
    (workspace_root / "go.work").write_bytes(data)
    assert go_uses(real_go, workspace_root) == ours, data


@pytest.mark.parametrize("kind", ["no folder", "no go.mod", "go.mod is a folder", "dangling link"])
def test_a_used_folder_without_a_go_mod_is_named(tmp_path: Path, kind: str, real_go: Go) -> None:
    """Whatever stands where the go.mod should be, the error names the go.work's use line."""
    (tmp_path / "go.work").write_text("go 1.22\n\nuse (\n\t./a\n\t./b\n)\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "go.mod").write_text("module example.com/a\n\ngo 1.22\n")
    if kind != "no folder":
        (tmp_path / "b").mkdir()
    if kind == "go.mod is a folder":
        (tmp_path / "b" / "go.mod").mkdir()
    elif kind == "dangling link":
        (tmp_path / "b" / "go.mod").symlink_to(tmp_path / "gone.mod")
    with pytest.raises(InputError) as caught:
        discover(tmp_path, real_go)
    assert str(caught.value) == (
        f"go.work: {tmp_path / 'go.work'} uses './b', but {tmp_path / 'b'} has no go.mod"
    )


def test_used_folders_resolve_through_links_as_the_file_system_does(
    tmp_path: Path, real_go: Go
) -> None:
    """Each parent's links are looked up once, not each folder's: every way a use can pass
    through a link still ends at the folder ``Path.resolve`` names, and nowhere else."""
    real = tmp_path / "real"
    for folder in ("modules/a", "modules/b", "elsewhere/c", "elsewhere/d", "elsewhere/e"):
        (real / folder).mkdir(parents=True)
        name = folder.rsplit("/", 1)[1]
        (real / folder / "go.mod").write_text(f"module example.com/{name}\n\ngo 1.22\n")
    repo = tmp_path / "repo"
    (repo / "modules").mkdir(parents=True)
    (repo / "modules" / "a").symlink_to(real / "modules" / "a")  # the module folder a link
    (repo / "modules" / "B").symlink_to(real / "elsewhere")  # a link named like a folder, cased
    (repo / "modules" / "b").mkdir()  # ... beside a real folder (a case-blind match is harmless)
    (repo / "modules" / "b" / "go.mod").write_text("module example.com/plain\n\ngo 1.22\n")
    (repo / "linked").symlink_to(real / "modules")  # the parent a link
    uses = [
        "./modules/a",
        "./modules/b",
        "./linked/b",
        "./modules/B/c",
        "./modules/B/../elsewhere/d",  # `..` after a link: the target's parent, not modules/
        str(real / "elsewhere" / "e"),
    ]
    (repo / "go.work").write_text("go 1.22\n\nuse (\n" + "".join(f"\t{u}\n" for u in uses) + ")\n")
    workspace = discover(repo, real_go)
    expected = sorted({(repo / use).resolve() for use in uses}, key=str)
    assert [m.dir for m in workspace.modules] == expected
    assert {m.dir: m.path for m in workspace.modules} == {
        real / "modules/a": "example.com/a",
        repo / "modules/b": "example.com/plain",
        real / "modules/b": "example.com/b",
        real / "elsewhere/c": "example.com/c",
        real / "elsewhere/d": "example.com/d",
        real / "elsewhere/e": "example.com/e",
    }


def test_a_file_that_grows_while_it_is_read_is_read_to_its_end(tmp_path: Path) -> None:
    """The size is a hint only: a pipe (size 0) is read until its writer is done."""
    fifo = tmp_path / "go.sum"
    os.mkfifo(fifo)
    pieces = [bytes([65 + i]) * 70_000 for i in range(4)]

    def write() -> None:
        with open(fifo, "wb") as handle:
            for piece in pieces:
                handle.write(piece)
                handle.flush()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert read_whole(str(fifo)) == b"".join(pieces)
    finally:
        writer.join()
