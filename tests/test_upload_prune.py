"""``--keep N``: the N newest dev releases by stamp stay, and never one newer than the release
just uploaded goes.

Re-running an old commit's publish (a retried job, a manual re-run) used to leave the release
it wrote out of the ordering and prune the newest ones instead: ``latest`` went back to the
old build.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from goci.release.promote import resolve_source
from goci.release.stores import Store, open_store
from goci.release.upload import upload_release
from support import releases
from support.goci_run import GociRun
from support.releases import race


def keys_of(*stamps: str) -> set[str]:
    """Every object a whole small dev release of api at each stamp holds."""
    keys = set()
    for stamp in stamps:
        folder = f"dev/api-{stamp}"
        keys |= {f"{folder}/{f}" for f in ("SHA256SUMS", "manifest.json", "claim.json")}
        keys |= {f"{folder}/{target}/api" for target in releases.TARGETS}
    return keys


def publish(tmp_path: Path, store: Store, stamp: str, keep: int = 0) -> tuple[str, ...]:
    release = releases.packed(tmp_path / stamp, "api", stamp.encode(), "dev", stamp)
    done = upload_release(store, release, keep=keep)
    assert done.status == "uploaded"
    return done.pruned


def test_rerunning_an_old_publish_keeps_the_newer_releases(
    tmp_path: Path, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """The reviewer's case through the command line: ``dev/api-20250101000000`` published
    again with ``--keep 1`` after ``dev/api-20250505000000``."""
    url = f"file://{tmp_path / 'store'}"
    store = open_store(url, env={}, cwd=tmp_path)
    publish(tmp_path, store, "20250505000000")
    old = releases.packed(tmp_path / "old", "api", b"old", "dev", "20250101000000")
    upload = ("artifact", "upload", "--store", url, "--keep", "1")
    run = goci(*upload, "--dir", str(tmp_path / "old"), env=go_env, cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert set(store.list_keys("dev/")) == keys_of("20250101000000", "20250505000000")
    assert "  pruned dev/" not in run.stdout
    assert (
        "kept: dev/api-20250101000000 is not among the 1 newest dev release(s) of api "
        "(newest: api-20250505000000)" in run.stdout
    )
    assert resolve_source(store, "api", "latest").version == "20250505000000"
    releases.assert_complete(store, "dev/api-20250101000000", releases.local_files(old))


def test_only_releases_older_than_the_one_written_are_pruned(tmp_path: Path) -> None:
    """Four releases, the one written second newest of them but not among the 2 newest: the
    oldest goes, the two newer ones stay, and so does the one written."""
    store = open_store(f"file://{tmp_path / 'store'}", env={}, cwd=tmp_path)
    for stamp in ("20250101000000", "20250303000000", "20250505000000"):
        publish(tmp_path, store, stamp)
    assert publish(tmp_path, store, "20250202000000", keep=2) == ("dev/api-20250101000000",)
    assert set(store.list_keys("dev/")) == keys_of(
        "20250202000000", "20250303000000", "20250505000000"
    )
    # Written newest, the one written counts among the 2 kept.
    assert publish(tmp_path, store, "20250606000000", keep=2) == (
        "dev/api-20250202000000",
        "dev/api-20250303000000",
    )
    assert set(store.list_keys("dev/")) == keys_of("20250505000000", "20250606000000")


@pytest.mark.parametrize("order", ["old-first", "new-first"])
def test_an_old_and_a_new_publish_at_once_never_lose_the_newest(
    order: str, tmp_path: Path, go_env: dict[str, str]
) -> None:
    """10 races of two publishes with ``--keep 1``, an old commit's rerun and a new commit:
    whatever either listing saw, the newest is whole and ``latest`` afterwards."""
    stamps = ["20250101000000", "20250505000000"]
    if order == "new-first":
        stamps.reverse()
    for stamp in stamps:
        releases.packed(tmp_path / stamp, "api", stamp.encode(), "dev", stamp)
    for attempt in range(10):
        url = f"file://{tmp_path / 'stores' / str(attempt)}"
        calls = [
            ["artifact", "upload", "--store", url, "--keep", "1", "--dir", str(tmp_path / s)]
            for s in stamps
        ]
        assert race(calls, [go_env, go_env]) == [0, 0]
        store = open_store(url, env={}, cwd=tmp_path)
        left = set(store.list_keys("dev/"))
        newest = keys_of("20250505000000")
        assert left in (newest, newest | keys_of("20250101000000")), sorted(left)
        assert resolve_source(store, "api", "latest").version == "20250505000000"
