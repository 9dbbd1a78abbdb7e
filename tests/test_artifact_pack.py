"""``goci artifact pack``: real binaries from ``go build`` normalized into release folders."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goci.errors import GociError, InputError, VerdictError
from goci.release.checksums import format_sums, parse_sums
from goci.release.claim import Claim
from goci.release.local import find_releases
from goci.release.manifest import Manifest
from goci.release.names import (
    parse_release,
    parse_semver,
    release_name,
    validate_service,
    version_from_tag,
)
from goci.release.pointer import Pointer
from support import artifacts
from support.artifacts import STAMP
from support.goci_run import GociRun


@pytest.fixture
def ws(tmp_path: Path, go_env: dict[str, str]) -> Path:
    return artifacts.workspace(tmp_path / "ws", go_env)


def head(ws: Path, env: dict[str, str]) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ws, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_dev_release_layout_checksums_and_manifest(
    ws: Path, gha_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    env = {
        **gha_env,
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_RUN_ID": "42",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_SERVER_URL": "https://github.com",
    }
    run = goci("artifact", "pack", "--env", "dev", "--service", "api", env=env, cwd=ws)
    assert run.code == 0, run.stderr
    folder = ws / ".goci/dist" / "dev" / f"api-{STAMP}"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "SHA256SUMS",
        "linux-amd64/api",
        "linux-arm64/api",
        "manifest.json",
    ]
    # The real sha256sum accepts the file as it is.
    check = subprocess.run(
        ["sha256sum", "-c", "--strict", "SHA256SUMS"], cwd=folder, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == 2
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["service"] == "api"
    assert manifest["env"] == "dev"
    assert manifest["version"] == STAMP
    assert manifest["commit"] == head(ws, gha_env)
    assert manifest["go_version"].startswith("go1.")
    assert manifest["build_time"] == "2025-01-02T03:04:05Z"
    assert manifest["targets"] == ["linux-amd64", "linux-arm64"]
    assert manifest["run_url"] == "https://github.com/acme/shop/actions/runs/42/attempts/2"
    binary = folder / "linux-amd64" / "api"
    entry = next(f for f in manifest["files"] if f["path"] == "linux-amd64/api")
    assert entry["size"] == binary.stat().st_size
    assert binary.read_bytes() == (ws / ".goci/dist/api/linux-amd64/api").read_bytes()
    assert manifest["builds"][0]["stripped"] is True
    assert run.outputs["release"] == f"dev/api-{STAMP}"
    assert run.outputs["version"] == STAMP
    assert f"  dev/api-{STAMP}/linux-amd64/api" in run.outputs["sha256sums"]
    assert not [p for p in (ws / ".goci/dist" / "dev").iterdir() if p.name.startswith(".")]


def test_every_service_is_packed_including_group_names(
    ws: Path, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    run = goci("artifact", "pack", "--json", env=go_env, cwd=ws)
    assert run.code == 0, run.stderr
    assert run.json()["release"].split() == [f"dev/api-{STAMP}", f"dev/tools/worker-{STAMP}"]
    folder = ws / ".goci/dist" / "dev" / "tools" / f"worker-{STAMP}"
    manifest = json.loads((folder / "manifest.json").read_text())
    # No build.json for the worker: commit and Go version come from git and go env.
    assert manifest["commit"] == head(ws, go_env)
    assert manifest["go_version"].startswith("go1.")
    assert subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder).returncode == 0


def test_prod_version_from_tag_or_flag(
    ws: Path, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    subprocess.run(["git", "tag", "api/v1.2.3"], cwd=ws, env=go_env, check=True)
    run = goci("artifact", "pack", "--env", "prod", "--service", "api", env=go_env, cwd=ws)
    assert run.code == 0, run.stderr
    assert (ws / ".goci/dist/prod/api-v1.2.3/manifest.json").is_file()
    run = goci(
        "artifact", "pack", "--env", "prod", "--service", "api", "--version", "v2.0.0-rc.1",
        env=go_env, cwd=ws,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    manifest = json.loads((ws / ".goci/dist/prod/api-v2.0.0-rc.1/manifest.json").read_text())
    assert manifest["version"] == "2.0.0-rc.1"
    assert manifest["env"] == "prod"


def test_repack_is_a_noop_and_prod_is_immutable(
    ws: Path, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    args = ("artifact", "pack", "--env", "prod", "--service", "api", "--version", "1.0.0")
    assert goci(*args, env=go_env, cwd=ws).code == 0
    again = goci(*args, env=go_env, cwd=ws)
    assert again.code == 0
    assert "unchanged" in again.stdout
    packed = ws / ".goci/dist/prod/api-v1.0.0/linux-amd64/api"
    before = packed.read_bytes()
    artifacts.rebuild(ws / ".goci/dist/api/linux-amd64/api", b"rebuilt differently")
    refused = goci(*args, env=go_env, cwd=ws)
    assert refused.code == 1
    assert "immutable" in refused.stderr
    assert packed.read_bytes() == before
    assert not [p for p in (ws / ".goci/dist/prod").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--env", "prod", "--service", "api", "--version", "1.2"), "semantic version"),
        (("--env", "prod", "--service", "api", "--version", "v1.2.3\x07"), "semantic version"),
        (("--service", "../etc"), "'..'"),
        (("--service", "/abs/api"), "absolute"),
        (("--service", "a/b/c"), "at most one '/'"),
        (("--service", "api\x07"), "control"),
        (("--service", "dev"), "release folders"),
        (("--service", "missing"), "no build output"),
        (("--dist", "../elsewhere"), "inside the working directory"),
        (("--timestamp", "2025-01-02"), "YYYYMMDDHHMMSS"),
        # Arabic-Indic and fullwidth digits read as numbers to Python, not to a sort
        (("--timestamp", "2\u0660000101000000"), "ASCII digits 0-9 only"),
        (("--env", "prod", "--service", "api", "--version", "1.0.1\u0660"), "ASCII digits"),
        (("--env", "prod", "--service", "api", "--version", "v\uff11.0.0"), "U+FF11"),
        (("--env", "staging"), "dev, prod"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    ws: Path,
    gha_env: dict[str, str],
    goci: Callable[..., GociRun],
    args: tuple[str, ...],
    needle: str,
) -> None:
    run = goci("artifact", "pack", *args, env=gha_env, cwd=ws)
    assert run.code == 2, run.stderr
    assert needle in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert not (ws / ".goci/dist" / "dev").exists()
    assert not (ws / ".goci/dist" / "prod").exists()
    assert Path(gha_env["GITHUB_OUTPUT"]).read_text() == ""


def test_prod_without_version_or_tag_is_bad_input(
    ws: Path, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    run = goci("artifact", "pack", "--env", "prod", "--service", "api", env=go_env, cwd=ws)
    assert run.code == 2
    assert "--version is required" in run.stderr


@pytest.mark.parametrize("name", ["api", "group/api", "a.b_c-1"])
def test_valid_service_names(name: str) -> None:
    assert validate_service(name) == name


@pytest.mark.parametrize("name", ["", "..", "a/../b", "a//b", "-api", "api/", "a b", "prod/x"])
def test_invalid_service_names(name: str) -> None:
    with pytest.raises(InputError, match="--service"):
        validate_service(name)


def test_semver_and_tags() -> None:
    assert parse_semver("v1.4.0") == "1.4.0"
    assert parse_semver("1.4.0-rc.1+build.5") == "1.4.0-rc.1+build.5"
    for bad in ("1.4", "01.2.3", "1.2.3-", "latest", "v"):
        with pytest.raises(InputError):
            parse_semver(bad)
    assert version_from_tag("refs/tags/v1.2.3", "api") == "1.2.3"
    assert version_from_tag("group/api/v2.0.0", "group/api") == "2.0.0"
    assert version_from_tag("other/v2.0.0", "api") is None
    assert parse_release("dist/prod/group/api-v1.2.3").folder == "prod/group/api-v1.2.3"
    with pytest.raises(InputError):
        parse_release("dev/../api-20250102030405")


@pytest.mark.parametrize(
    ("text", "service", "version"),
    [
        ("dev/my-vault-20260101120000", "my-vault", "20260101120000"),
        ("prod/my-vault-v1.2.3", "my-vault", "1.2.3"),
        ("prod/vault-v-v1.0.0-rc.1", "vault-v", "1.0.0-rc.1"),
        ("dev/g/v-20260101120000-20260101120000", "g/v-20260101120000", "20260101120000"),
        ("prod/api-v2-v1.0.0", "api-v2", "1.0.0"),
    ],
)
def test_release_names_parse_by_their_anchored_suffix(
    text: str, service: str, version: str
) -> None:
    name = parse_release(text)
    assert (name.service, name.version) == (service, version)
    assert name.folder == text
    assert release_name(name.env, service, version) == name


def test_an_ambiguous_release_name_is_refused_when_made_and_when_read() -> None:
    # 'api' at 1.0.0-v2.0.0, or 'api-v1.0.0' at 2.0.0: no folder may mean two things.
    with pytest.raises(InputError, match="ambiguous"):
        release_name("prod", "api", "1.0.0-v2.0.0")
    with pytest.raises(InputError, match="ambiguous"):
        parse_release("prod/api-v1.0.0-v2.0.0")
    with pytest.raises(InputError, match="YYYYMMDDHHMMSS"):
        parse_release("dev/my-vault-2026")


def test_find_releases_names_folders_it_cannot_read(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    for folder in (
        "dev/my-vault-20260101120000",
        "dev/tools/worker-20260101120000",
        "prod/api-v1.0.0",
        "dev/api-latest",
        "dev/tools/notes",
        "prod/empty",
    ):
        (dist / folder / "linux-amd64").mkdir(parents=True)
    (dist / "dev/api-latest/manifest.json").write_text("{}")
    (dist / "dev/.api-20260101120000.tmpdir").mkdir()  # pack's staging: hidden, skipped
    with pytest.raises(InputError) as caught:
        find_releases(dist)
    message = str(caught.value)
    # Every unreadable folder is named; readable ones are not.
    assert "cannot read dev/api-latest, dev/tools/notes, prod/empty/linux-amd64 (" in message
    assert "my-vault" not in message and "worker" not in message
    for bad in ("dev/api-latest", "dev/tools/notes", "prod/empty"):
        shutil.rmtree(dist / bad)
    assert [n.folder for n in find_releases(dist)] == [
        "dev/my-vault-20260101120000",
        "dev/tools/worker-20260101120000",
        "prod/api-v1.0.0",
    ]


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,8}-[a-z0-9]{1,6}/[A-Za-z0-9._-]{1,12}", fullmatch=True),
        st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
        max_size=6,
    )
)
def test_sums_round_trip(entries: dict[str, str]) -> None:
    text = format_sums(entries.items())
    assert parse_sums(text) == entries
    assert all(len(line.split("  ", 1)[0]) == 64 for line in text.splitlines())


def test_packs_what_goci_build_leaves(
    ws: Path, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """The real hand-over: goci build writes dist/, pack reads its build.json."""
    shutil.rmtree(ws / ".goci/dist")
    built = goci("build", "--target", "linux/amd64", "--strip", "--json", env=go_env, cwd=ws)
    assert built.code == 0, built.stderr
    run = goci("artifact", "pack", "--json", env=go_env, cwd=ws)
    assert run.code == 0, run.stderr
    releases = run.json()["release"].split()
    assert len(releases) == 2
    for name in releases:
        folder = ws / ".goci/dist" / name
        assert subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder).returncode == 0
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["targets"] == ["linux-amd64"]
        assert manifest["commit"] == head(ws, go_env)
        assert manifest["builds"][0]["stripped"] is True


# --- only what goci build made, only regular files inside dist/ ----------------------------


def no_release_folders(ws: Path) -> bool:
    """Nothing packed, not even a hidden staging folder (an empty dist/dev may remain)."""
    return not [p for env in ("dev", "prod") for p in (ws / ".goci/dist" / env).rglob("*")]


@pytest.mark.parametrize("change", ["bytes", "extra-file", "mixed-record"])
def test_pack_refuses_a_binary_that_disagrees_with_build_json(
    ws: Path, go_env: dict[str, str], goci: Callable[..., GociRun], change: str
) -> None:
    folder = ws / ".goci/dist/api/linux-arm64"
    if change == "bytes":
        # What download-artifact made of two builds sharing a path: one file, mixed bytes.
        other = (ws / ".goci/dist/api/linux-amd64/api").read_bytes()
        mine = (folder / "api").read_bytes()
        (folder / "api").write_bytes(mine[: len(mine) // 2] + other[len(mine) // 2 :])
        needle = f"{folder / 'api'} does not match its build record {folder / 'build.json'}"
    elif change == "extra-file":
        (folder / "api-debug").write_bytes(b"not built by goci build")
        needle = f"{folder / 'api-debug'} is not the binary {folder / 'build.json'} records"
    else:
        text = (folder / "build.json").read_text()
        (folder / "build.json").write_text(text[: len(text) // 2] + "\n")
        needle = f"{folder / 'build.json'} is not a goci build record"
    run = goci("artifact", "pack", "--service", "api", env=go_env, cwd=ws)
    assert run.code == 1, run.stderr
    assert needle in run.stderr
    assert no_release_folders(ws)


@pytest.mark.parametrize(
    "case", ["link-out", "link-in", "linked-target", "linked-service", "linked-record", "fifo"]
)
def test_pack_takes_only_regular_files_inside_dist(
    ws: Path, tmp_path: Path, go_env: dict[str, str], goci: Callable[..., GociRun], case: str
) -> None:
    secret = tmp_path / "environ"
    secret.write_text("AWS_SECRET_ACCESS_KEY=do-not-publish-me\n")
    folder = ws / ".goci/dist/tools/worker/linux-amd64"
    if case == "link-out":  # what /proc/self/environ did: a link to a file outside dist
        bad = folder / "worker"
        bad.unlink()
        bad.symlink_to(secret)
    elif case == "link-in":
        bad = folder / "worker"
        bad.unlink()
        bad.symlink_to(ws / ".goci/dist/tools/worker/linux-arm64/worker")
    elif case == "linked-target":
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "worker").write_bytes(secret.read_bytes())
        bad = ws / ".goci/dist/tools/worker/linux-386"
        bad.symlink_to(outside)
    elif case == "linked-service":
        shutil.copytree(ws / ".goci/dist/tools", tmp_path / "elsewhere")
        shutil.rmtree(ws / ".goci/dist/tools")
        bad = ws / ".goci/dist/tools"
        bad.symlink_to(tmp_path / "elsewhere")
    elif case == "linked-record":
        folder = ws / ".goci/dist/api/linux-amd64"
        bad = folder / "build.json"
        bad.unlink()
        bad.symlink_to(secret)
    else:
        bad = folder / "worker"
        bad.unlink()
        os.mkfifo(bad)
    service = "api" if case == "linked-record" else "tools/worker"
    run = goci("artifact", "pack", "--service", service, env=go_env, cwd=ws)
    assert run.code == 2, run.stderr
    assert f"build output: '{bad}' is not valid; only regular files inside dist/" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "do-not-publish-me" not in run.stdout + run.stderr
    assert no_release_folders(ws)


# --- parsers of repository and store content raise only goci's own errors ------------------

FUZZ = settings(max_examples=100, deadline=None)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _manifest_like(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


_GOOD: dict[str, Any] = {
    "schema": "goci.release/v1",
    "name": "prod/api-v1.0.0",
    "service": "api",
    "env": "prod",
    "version": "1.0.0",
    "files": [{"path": "linux-amd64/api", "target": "linux-amd64", "size": 3, "sha256": "a" * 64}],
    "sha256sums": "b" * 64,
    "builds": [],
}


def test_manifest_good_shape_is_read() -> None:
    manifest = Manifest.from_json(_manifest_like(_GOOD), "m")
    assert [f.path for f in manifest.files] == ["linux-amd64/api"]


@pytest.mark.parametrize(
    "path",
    ["linux-amd64\\..\\..\\x", "C:/x", "linux-amd64/C:x", "linux-amd64/../x", "/linux-amd64/x"],
)
def test_manifest_paths_that_could_leave_a_folder_are_refused(path: str) -> None:
    """Manifests come from stores: their paths become keys and file names on any OS."""
    files = [{**_GOOD["files"][0], "path": path}]
    with pytest.raises(VerdictError, match=re.escape("is not {os}-{arch}/{file}")):
        Manifest.from_json(_manifest_like({**_GOOD, "files": files}), "m")


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        _json_values.map(lambda v: json.dumps(v).encode()),
        st.dictionaries(st.sampled_from(sorted(_GOOD)), _json_values, max_size=8).map(
            lambda d: _manifest_like({**_GOOD, **d})
        ),
    )
)
def test_manifest_parser_raises_only_goci_errors(data: bytes) -> None:
    try:
        manifest = Manifest.from_json(data, "fuzz")
    except GociError:
        return
    # What it accepts is what pack would write: safe paths, a name that reads back.
    assert manifest.release.folder == manifest.name
    for entry in manifest.files:
        assert entry.path.startswith(entry.target + "/") and "\\" not in entry.path


@FUZZ
@given(st.text(max_size=300))
def test_sums_parser_raises_only_goci_errors(text: str) -> None:
    try:
        sums = parse_sums(text)
    except GociError:
        return
    assert all(len(digest) == 64 and "\n" not in path for path, digest in sums.items())


@FUZZ
@given(
    st.one_of(
        st.text(max_size=60),
        st.from_regex(
            r"(dist/)?(dev|prod)/[a-z/.-]{0,12}-(v[0-9a-z.+-]{0,14}|[0-9]{14})", fullmatch=True
        ),
    )
)
def test_release_name_parser_raises_only_goci_errors(text: str) -> None:
    try:
        name = parse_release(text)
    except GociError:
        return
    assert parse_release(name.folder) == name


@FUZZ
@given(st.one_of(st.binary(max_size=120), _json_values.map(lambda v: json.dumps(v).encode())))
def test_claim_and_pointer_parsers_raise_only_goci_errors(data: bytes) -> None:
    for parse in (Claim.from_json, Pointer.from_json):
        with contextlib.suppress(GociError):
            parse(data, "fuzz")
