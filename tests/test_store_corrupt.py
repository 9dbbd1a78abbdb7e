"""A store that is not one, or a ``current`` pointer damaged by hand, ends in a clear error.

``--store file://`` naming a file, a pointer whose JSON nests deeper than Python's parser can
follow, and a history edited to hold ``../../x`` used to end in a traceback, or in a refusal of
a ``--version`` nobody gave. Each now names what is wrong, and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from goci.release.stores import open_store
from goci.release.upload import upload_all
from support import releases
from support.goci_run import GociRun
from support.refusal import refused

STAMP = "20250101000000"


@pytest.mark.parametrize("under", ["", "/store"], ids=["the-file", "inside-it"])
@pytest.mark.parametrize(
    "command",
    [
        ("promote", "--service", "api", "--version", "1.0.0"),
        ("promote", "--service", "api", "--rollback"),
        ("artifact", "upload"),
    ],
    ids=["promote", "rollback", "upload"],
)
def test_a_file_store_that_is_a_file_is_bad_input(
    command: tuple[str, ...],
    under: str,
    tmp_path: Path,
    gha_env: dict[str, str],
    goci: Callable[..., GociRun],
) -> None:
    ws = tmp_path / "ws"
    releases.packed(ws, "api", b"build", "dev", STAMP)
    afile = tmp_path / "afile"
    afile.write_bytes(b"not a store")
    url = f"file://{afile}{under}"
    run = goci(*command, "--store", url, env=gha_env, cwd=ws)
    what = "is a file" if not under else f"is inside {afile}, a file"
    refused(run, f"--store: '{url}' is not valid; {afile}{under} {what}, not a folder")
    assert afile.read_bytes() == b"not a store"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "gha", "ws"]


@pytest.fixture
def promoted(tmp_path: Path) -> str:
    """A file store where api 1.0.0 and then 1.1.0 were promoted (current 1.1.0)."""
    url = f"file://{tmp_path / 'store'}"
    store = open_store(url, env={}, cwd=tmp_path)
    upload_all(store, [releases.packed(tmp_path / "ws", "api", b"build", "dev", STAMP)])
    from goci.release.promote import promote

    for version in ("1.0.0", "1.1.0"):
        promote(store, "api", "latest", version, who="t", when="now")
    return url


DEEP = b"[" * 100_000 + b"]" * 100_000
POINTER = {"service": "api", "version": "1.1.0", "release": "prod/api-v1.1.0", "history": []}


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (DEEP, "is not a goci pointer: maximum recursion depth exceeded"),
        (
            json.dumps({**POINTER, "history": ["../../x"]}).encode(),
            "is not a goci pointer of 'api': its history: '../../x' is not valid; use a semantic",
        ),
        (
            json.dumps({**POINTER, "version": "v1.1.0"}).encode(),
            "is not a goci pointer of 'api': its version: 'v1.1.0' is not valid; a version",
        ),
        (
            json.dumps({**POINTER, "release": "prod/api-v9.9.9"}).encode(),
            "is not a goci pointer: its release 'prod/api-v9.9.9' is not the one its version",
        ),
    ],
    ids=["nested", "history-path", "version-with-v", "release-elsewhere"],
)
@pytest.mark.parametrize("command", [("--rollback",), ("--version", "2.0.0")])
def test_a_damaged_pointer_is_named_and_left_alone(
    content: bytes,
    needle: str,
    command: tuple[str, ...],
    promoted: str,
    tmp_path: Path,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
) -> None:
    store = open_store(promoted, env={}, cwd=tmp_path)
    store.put_bytes("prod/api/current", content)
    before = set(store.list_keys("prod/"))
    run = goci("promote", "--store", promoted, "--service", "api", *command,
               env=go_env, cwd=tmp_path)  # fmt: skip
    assert run.code == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert f"{promoted}/prod/api/current {needle}" in run.stderr
    assert "--version" not in run.stderr  # no option the user never gave is blamed
    found = store.read("prod/api/current")
    assert found is not None and found[0] == content
    assert set(store.list_keys("prod/")) == before  # a promotion stops before it copies
