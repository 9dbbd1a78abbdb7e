"""``goci promote --resolve-only``: what reviewers are shown names the release promote makes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from goci.release.stores import open_store
from goci.release.upload import upload_all
from support import releases
from support.goci_run import GociRun


def dev_store(tmp_path: Path) -> tuple[str, set[str]]:
    """A file store holding one whole dev release of api; its URL and its keys."""
    dev = releases.packed(tmp_path / "ws", "api", b"dev build", env="dev", version="20250101000000")
    url = f"file://{tmp_path / 'store'}"
    store = open_store(url, env={}, cwd=tmp_path)
    upload_all(store, [dev])
    return url, set(store.list_keys(""))


def test_resolve_only_names_the_prod_release_once_prefixed(
    tmp_path: Path, gha_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """``--version v1.4.0`` is version 1.4.0: the summary reviewers approve from showed
    ``prod/api-vv1.4.0``, a release that promote never makes."""
    url, before = dev_store(tmp_path)
    run = goci("promote", "--store", url, "--service", "api", "--resolve-only",
               "--version", "v1.4.0", env=gha_env, cwd=tmp_path)  # fmt: skip
    assert run.code == 0, run.stderr
    assert "| prod/api-v1.4.0 |" in run.summary
    assert "vv1.4.0" not in run.summary + run.stdout
    assert run.outputs["version"] == "1.4.0"
    assert set(open_store(url, env={}, cwd=tmp_path).list_keys("")) == before
