"""goci's Go helpers run only from a folder nobody else can write: a helper's file name is
predictable (its source digest and the Go version), so one found in a shared folder may be
another user's or an earlier job's program, which would run as goci with the step's secrets."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from goci.coverage.sources import HELPER, iter_sources
from goci.tools.gotool import Go, helper_home

pytestmark = pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")


def funcs_of(source: Path, env: dict[str, str]) -> list[str]:
    go = Go(env, exe="go")
    return [parsed.names.strip() for _path, parsed in iter_sources([source], go, source.parent)]


def test_a_helper_planted_in_a_shared_folder_is_never_run(
    go_env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "mod" / "a.go"
    source.parent.mkdir()
    source.write_text("package a\n\nfunc Answer() int { return 42 }\n")
    base = {k: v for k, v in go_env.items() if k not in {"GOCI_CACHE", "RUNNER_TEMP"}}

    first = tmp_path / "first-tmp"
    first.mkdir()
    assert funcs_of(source, {**base, "TMPDIR": str(first)}) == ["Answer"]
    own = first / f"goci-helpers-{os.getuid()}"
    (built,) = [p for p in own.iterdir() if p.name.startswith(f"{HELPER.name}-")]
    assert stat.S_IMODE(own.stat().st_mode) == 0o700

    shared = tmp_path / "shared-tmp"
    planted_home = shared / own.name
    planted_home.mkdir(parents=True)
    planted_home.chmod(0o777)  # anyone could have put a file there
    ran = tmp_path / "the planted helper ran"
    planted = planted_home / built.name
    planted.write_text(f"#!/bin/sh\ntouch '{ran}'\n")
    planted.chmod(0o755)
    assert funcs_of(source, {**base, "TMPDIR": str(shared)}) == ["Answer"]
    assert not ran.exists()


def test_under_actions_helpers_live_in_the_jobs_own_folder(tmp_path: Path) -> None:
    runner_temp = tmp_path / "runner-temp"
    assert helper_home({"RUNNER_TEMP": str(runner_temp)}) == runner_temp / "goci" / "goci-helpers"
    chosen = tmp_path / "chosen"
    both = {"RUNNER_TEMP": str(runner_temp), "GOCI_CACHE": str(chosen)}
    assert helper_home(both) == chosen / "goci-helpers"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX")
def test_a_private_folder_is_reused(tmp_path: Path) -> None:
    env = {"TMPDIR": str(tmp_path)}
    home = helper_home(env)
    assert home == tmp_path / f"goci-helpers-{os.getuid()}"
    assert helper_home(env) == home
