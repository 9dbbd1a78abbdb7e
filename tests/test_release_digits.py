"""Versions, stamps and ``--from`` take ASCII digits only.

``\\d``, ``int`` and ``strptime`` all read Arabic-Indic or fullwidth digits as numbers, but a
store sorts keys by code point: ``dev/api-2٠000101000000`` sorted after every real stamp and
became ``latest``, and ``1.0.1٠`` made a prod version that only looks like ``1.0.10``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from goci.release.promote import resolve_source
from goci.release.stores import open_store
from goci.release.upload import dev_releases, upload_all
from support import releases
from support.goci_run import GociRun
from support.refusal import refused

STAMP = "20250101000000"
ARABIC_STAMP = "2\u0660000101000000"  # '2' then ARABIC-INDIC DIGIT ZERO, 14 "digits"


def dev_store(tmp_path: Path) -> tuple[str, set[str]]:
    """A file store holding one whole dev release of api; its URL and its keys."""
    dev = releases.packed(tmp_path / "ws", "api", b"dev build", env="dev", version=STAMP)
    url = f"file://{tmp_path / 'store'}"
    store = open_store(url, env={}, cwd=tmp_path)
    upload_all(store, [dev])
    return url, set(store.list_keys(""))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--version", "1.0.1\u0660"), "--version: '1.0.1\u0660' is not valid; ASCII digits"),
        (("--version", "v\uff11.0.0"), "(U+FF11)"),
        (("--version", "1.0.0", "--from", ARABIC_STAMP), f"--from: '{ARABIC_STAMP}' is not"),
        (("--version", "1.0.0", "--from", f"dev/api-{ARABIC_STAMP}"), "(U+0660)"),
        (("--version", "1.0.0", "--from", f"api-{ARABIC_STAMP}"), "ASCII digits 0-9 only"),
    ],
)
def test_promote_refuses_other_digits_and_writes_nothing(
    args: tuple[str, ...],
    needle: str,
    tmp_path: Path,
    gha_env: dict[str, str],
    goci: Callable[..., GociRun],
) -> None:
    url, before = dev_store(tmp_path)
    run = goci("promote", "--store", url, "--service", "api", *args, env=gha_env, cwd=tmp_path)
    assert needle in refused(run, "--")
    assert set(open_store(url, env={}, cwd=tmp_path).list_keys("")) == before


def test_a_stamp_of_other_digits_in_the_store_is_never_latest(tmp_path: Path) -> None:
    """Written by a goci that took ``\\d``: the release is left alone, and ``latest`` (and
    pruning's ordering) see only the real stamps."""
    url, before = dev_store(tmp_path)
    store = open_store(url, env={}, cwd=tmp_path)
    for key in sorted(before):
        found = store.read(key)
        assert found is not None
        store.put_bytes(key.replace(STAMP, ARABIC_STAMP), found[0])
    assert dev_releases(store, "api") == [STAMP]
    assert resolve_source(store, "api", "latest").folder == f"dev/api-{STAMP}"
    assert resolve_source(store, "api", "").folder == f"dev/api-{STAMP}"
