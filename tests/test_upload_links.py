"""Upload publishes only what lies inside dist: a symbolic link anywhere in a file's path is
refused (exit 2), not only a link in its last part.

A release folder whose ``linux-amd64`` was a link to a folder elsewhere passed, because each
file was looked at with ``lstat`` on its own name only, and the bytes behind the link went to
the store although the README says links out of dist are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from goci.errors import InputError
from goci.release.local import load_release
from goci.release.stores import open_store
from goci.release.upload import upload_release
from support import releases
from support.goci_run import GociRun
from support.refusal import refused

STAMP = "20250101000000"
NAME = f"dev/api-{STAMP}"


def move_out_and_link(inside: Path, outside: Path) -> None:
    """Put ``inside`` (bytes unchanged, so every hash still matches) at ``outside`` and leave
    a link to it in its place."""
    outside.parent.mkdir(parents=True, exist_ok=True)
    inside.rename(outside)
    inside.symlink_to(outside)


@pytest.mark.parametrize(
    "part", ["linux-amd64", ".", "SHA256SUMS", "linux-arm64/api"], ids=lambda p: p
)
def test_a_link_anywhere_in_a_release_is_refused_and_nothing_is_sent(
    part: str, tmp_path: Path, gha_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    ws = tmp_path / "ws"
    release = releases.packed(ws, "api", b"build", "dev", STAMP)
    move_out_and_link(release.path / part, tmp_path / "outside" / part)
    linked = "" if part == "." else f"/{part}"
    url = f"file://{tmp_path / 'store'}"
    run = goci("artifact", "upload", "--store", url, "--dir", str(ws), env=gha_env, cwd=ws)
    line = refused(run, f"--release: '{NAME}' is not valid")
    shown = (ws / ".goci/dist" / NAME).as_posix() if part == "." else f"{release.path}{linked}"
    assert f"{shown} is a symbolic link, which could publish files from outside dist" in line
    assert not (tmp_path / "store").exists()


def test_a_folder_swapped_for_a_link_after_it_was_loaded_is_refused(tmp_path: Path) -> None:
    """Upload checks again right before it sends: the folder may change after it was read."""
    release = releases.packed(tmp_path / "ws", "api", b"build", "dev", STAMP)
    loaded = load_release(release.path.parents[1], release.name)
    move_out_and_link(release.path / "linux-amd64", tmp_path / "outside" / "linux-amd64")
    store = open_store(f"file://{tmp_path / 'store'}", env={}, cwd=tmp_path)
    with pytest.raises(InputError, match="linux-amd64 is a symbolic link"):
        upload_release(store, loaded)
    assert store.list_keys("") == []
