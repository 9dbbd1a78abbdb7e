"""``goci artifact upload`` against a folder store and a real SeaweedFS S3 server."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from goci.errors import ToolError
from goci.release import ghpublish
from goci.release.claim import Claim
from goci.release.local import LocalRelease, find_releases, load_release
from goci.release.names import Env
from goci.release.stores import Tuning, open_store
from goci.release.upload import upload_all
from support import artifacts, releases
from support.artifacts import STAMP
from support.github_api import GitHubServers
from support.goci_run import GociRun
from support.releases import race
from support.seaweed import BUCKET, SECRET_KEY, Seaweed


@pytest.fixture
def ws(tmp_path: Path, go_env: dict[str, str]) -> Path:
    return artifacts.workspace(tmp_path / "ws", go_env)


@pytest.fixture
def s3(seaweed: Seaweed) -> tuple[str, Seaweed]:
    """A fresh prefix in the shared bucket, so tests never see each other's objects."""
    return f"s3://{BUCKET}/t-{uuid.uuid4().hex[:10]}", seaweed


def keys(seaweed: Seaweed, url: str) -> list[str]:
    prefix = url.split("/", 3)[3] + "/"
    pages = seaweed.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"][len(prefix) :] for page in pages for item in page.get("Contents", []))


def unmasked(text: str) -> str:
    """The log without the ``::add-mask::`` commands (which carry the secret to hide it)."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))


def test_pack_then_upload_to_s3_verifies_every_object(
    ws: Path, gha_env: dict[str, str], goci: Callable[..., GociRun], s3: tuple[str, Seaweed]
) -> None:
    url, seaweed = s3
    env = seaweed.env(gha_env)
    assert goci("artifact", "pack", "--service", "api", env=env, cwd=ws).code == 0
    run = goci("artifact", "upload", "--store", url, env=env, cwd=ws)
    assert run.code == 0, run.stderr
    release = f"dev/api-{STAMP}"
    assert keys(seaweed, url) == [
        f"{release}/SHA256SUMS",
        f"{release}/claim.json",  # claimed before its first object (see the race below)
        f"{release}/linux-amd64/api",
        f"{release}/linux-arm64/api",
        f"{release}/manifest.json",
    ]
    client = seaweed.client()
    prefix = url.split("/", 3)[3]
    for arch in ("amd64", "arm64"):
        local = (ws / ".goci/dist" / release / f"linux-{arch}" / "api").read_bytes()
        obj = client.get_object(Bucket=BUCKET, Key=f"{prefix}/{release}/linux-{arch}/api")
        assert obj["Body"].read() == local
        assert obj["Metadata"]["sha256"] == hashlib.sha256(local).hexdigest()
    assert run.outputs["manifest-url"] == f"{url}/{release}/manifest.json"
    assert run.outputs["version"] == STAMP
    assert f"  {release}/linux-amd64/api" in run.outputs["sha256sums"]
    again = goci("artifact", "upload", "--store", url, env=env, cwd=ws)
    assert again.code == 0
    assert "byte-identical: nothing to do" in again.stdout


def test_upload_to_file_store_and_keep_last_n(
    ws: Path, go_env: dict[str, str], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    for stamp in ("20250101000000", "20250102000000", "20250103000000"):
        assert (
            goci(
                "artifact", "pack", "--service", "api", "--timestamp", stamp, env=go_env, cwd=ws
            ).code
            == 0
        )
        run = goci(
            "artifact",
            "upload",
            "--store",
            "file://out/store",
            "--release",
            f"dev/api-{stamp}",
            "--keep",
            "2",
            env=go_env,
            cwd=ws,
        )
        assert run.code == 0, run.stderr
    store = ws / "out" / "store" / "dev"
    assert sorted(p.name for p in store.iterdir()) == ["api-20250102000000", "api-20250103000000"]
    assert "pruned dev/api-20250101000000" in run.stdout
    manifest = json.loads((store / "api-20250103000000" / "manifest.json").read_text())
    assert manifest["version"] == "20250103000000"
    blob = (store / "api-20250103000000/linux-amd64/api").read_bytes()
    assert blob == (ws / ".goci/dist/api/linux-amd64/api").read_bytes()


def test_second_prod_publish_is_refused_unless_identical(
    ws: Path,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
    s3: tuple[str, Seaweed],
    tmp_path: Path,
) -> None:
    url, seaweed = s3
    env = seaweed.env(go_env)
    pack = ("artifact", "pack", "--env", "prod", "--service", "api", "--version", "1.0.0")
    assert goci(*pack, env=env, cwd=ws).code == 0
    assert goci("artifact", "upload", "--store", url, env=env, cwd=ws).code == 0
    same = goci("artifact", "upload", "--store", url, env=env, cwd=ws)
    assert same.code == 0
    assert "nothing to do" in same.stdout
    # Another workspace with other bytes under the same version.
    other = artifacts.workspace(tmp_path / "other", go_env)
    artifacts.rebuild(other / ".goci/dist/api/linux-amd64/api", b"a different build")
    assert goci(*pack, env=env, cwd=other).code == 0
    refused = goci("artifact", "upload", "--store", url, env=env, cwd=other)
    assert refused.code == 1
    assert "immutable" in refused.stderr
    prefix = url.split("/", 3)[3]
    stored = seaweed.client().get_object(
        Bucket=BUCKET, Key=f"{prefix}/prod/api-v1.0.0/linux-amd64/api"
    )
    assert stored["Body"].read() == (ws / ".goci/dist/api/linux-amd64/api").read_bytes()


def test_wrong_credentials_clear_error_without_the_secret(
    ws: Path, gha_env: dict[str, str], goci: Callable[..., GociRun], s3: tuple[str, Seaweed]
) -> None:
    url, seaweed = s3
    env = {**seaweed.env(gha_env), "AWS_SECRET_ACCESS_KEY": "WrongSecret-abcdef123456"}
    assert goci("artifact", "pack", "--service", "api", env=env, cwd=ws).code == 0
    run = goci("artifact", "upload", "--store", url, "--retries", "1", env=env, cwd=ws)
    assert run.code == 1
    assert "refused the credentials" in run.stderr
    assert "AWS_SECRET_ACCESS_KEY" in run.stderr
    assert "::add-mask::WrongSecret-abcdef123456" in run.stderr
    for text in (run.stdout, unmasked(run.stderr), Path(gha_env["GITHUB_OUTPUT"]).read_text()):
        assert "WrongSecret-abcdef123456" not in text
        assert SECRET_KEY not in text
    assert keys(seaweed, url) == []


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("scheme", "file://DIR or s3://bucket/prefix"),
        ("no-credentials", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        ("no-sums", "SHA256SUMS"),
        ("bad-release", "'..'"),
        ("nothing-packed", "run goci artifact pack first"),
        ("unreadable-folder", "cannot read dev/api-latest"),
        ("endpoint-password", "credentials never go in the URL"),
    ],
)
def test_bad_input_exits_2_and_uploads_nothing(
    ws: Path,
    gha_env: dict[str, str],
    goci: Callable[..., GociRun],
    s3: tuple[str, Seaweed],
    case: str,
    needle: str,
) -> None:
    url, seaweed = s3
    env = seaweed.env(gha_env)
    args = ["artifact", "upload", "--store", url]
    if case != "nothing-packed":
        assert goci("artifact", "pack", env=env, cwd=ws).code == 0
    if case == "scheme":
        args[-1] = "minio://bucket/x"
    elif case == "no-credentials":
        env = {
            k: v
            for k, v in env.items()
            if not k.startswith("AWS_ACCESS") and not k.startswith("AWS_SECRET")
        }
    elif case == "no-sums":
        (ws / f".goci/dist/dev/tools/worker-{STAMP}/SHA256SUMS").unlink()
    elif case == "bad-release":
        args += ["--release", f"dev/../api-{STAMP}"]
    elif case == "unreadable-folder":
        (ws / ".goci/dist/dev/api-latest/linux-amd64").mkdir(parents=True)
    elif case == "endpoint-password":
        args += ["--endpoint-url", env["AWS_ENDPOINT_URL_S3"].replace("//", "//k:pw-in-url-9@")]
    outputs_before = Path(gha_env["GITHUB_OUTPUT"]).read_text()
    run = goci(*args, env=env, cwd=ws)
    assert run.code == 2, run.stderr
    assert needle in run.stderr
    assert "pw-in-url-9" not in unmasked(run.stdout + run.stderr)
    assert keys(seaweed, url) == []
    assert Path(gha_env["GITHUB_OUTPUT"]).read_text() == outputs_before


def test_killed_server_leaves_no_complete_release_and_rerun_finishes(
    ws: Path, go_env: dict[str, str], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    """Kill SeaweedFS in the middle of a multipart upload, restart it, run again."""
    server = Seaweed(tmp_path / "own-seaweed")
    server.start()
    try:
        dist = ws / ".goci/dist"
        part = 5 * 1024 * 1024
        artifacts.big_release_source(
            dist, "big", {"linux-amd64": 2 * part + 1, "linux-arm64": part + 7}
        )
        env = server.env(go_env)
        assert goci("artifact", "pack", "--service", "big", env=env, cwd=ws).code == 0
        url = f"s3://{BUCKET}/crash"
        store = open_store(
            url,
            env=env,
            cwd=ws,
            tuning=Tuning(
                part_size=part, multipart_threshold=part, workers=2, attempts=2, backoff=0.05
            ),
        )
        releases = [load_release(dist, name) for name in find_releases(dist)]
        parts: list[tuple[str, int]] = []

        def crash_after_two_parts(key: str, number: int) -> None:
            parts.append((key, number))
            if len(parts) == 2:
                server.kill()

        with pytest.raises(ToolError):
            upload_all(store, releases, workers=2, on_progress=crash_after_two_parts)
        assert len(parts) >= 2
        server.start()
        listed = keys(server, url)
        assert not [k for k in listed if k.endswith("manifest.json")], listed
        run = goci(
            "artifact",
            "upload",
            "--store",
            url,
            "--part-size-mb",
            "5",
            "--multipart-threshold-mb",
            "5",
            env=env,
            cwd=ws,
        )
        assert run.code == 0, run.stderr
        release = f"dev/big-{STAMP}"
        # The killed run's unfinished upload is gone, and the rerun said so.
        assert f"cleaned: aborted the unfinished upload of {release}/linux-amd64/big" in run.stdout
        assert not server.client().list_multipart_uploads(Bucket=BUCKET).get("Uploads")
        client = server.client()
        for target in ("linux-amd64", "linux-arm64"):
            body = client.get_object(Bucket=BUCKET, Key=f"crash/{release}/{target}/big")[
                "Body"
            ].read()
            assert body == (dist / release / target / "big").read_bytes()
        manifest = json.loads(
            client.get_object(Bucket=BUCKET, Key=f"crash/{release}/manifest.json")["Body"].read()
        )
        assert manifest["name"] == release
    finally:
        server.stop()


def test_attach_to_github_release_creates_it_and_uploads_assets(
    ws: Path,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scratch = tmp_path / "tmp"  # this test's own temp folder: other jobs share /tmp
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(ghpublish, "PACE", (0, 0))  # a local server has no rate limits
    servers = GitHubServers()
    try:
        env = {
            **go_env,
            "GITHUB_API_URL": servers.state.api_url,
            "GITHUB_REPOSITORY": "acme/shop",
            "GITHUB_TOKEN": "test-token",
            "GITHUB_ACTIONS": "true",
            "GITHUB_REF": "refs/tags/api/v1.2.3",
            "GITHUB_EVENT_NAME": "push",
        }
        assert (
            goci("artifact", "pack", "--env", "prod", "--service", "api", env=env, cwd=ws).code == 0
        )
        args = ("artifact", "upload", "--store", "file://out", "--github-release")
        run = goci(*args, env=env, cwd=ws)
        assert run.code == 0, run.stderr
        assert "test-token" not in unmasked(run.stdout + run.stderr)
        assert "created as a draft, 3 uploaded, 0 already there, then published" in run.stdout
        (release,) = servers.state.releases.values()
        assert (release["tag_name"], release["draft"]) == ("api/v1.2.3", False)
        names = sorted(a["name"] for a in release["assets"])
        assert names == ["api-SHA256SUMS", "api-linux-amd64", "api-linux-arm64"]
        blob = servers.state.blobs[(release["id"], "api-linux-amd64")]
        assert blob == (ws / ".goci/dist/prod/api-v1.2.3/linux-amd64/api").read_bytes()
        sums = servers.state.blobs[(release["id"], "api-SHA256SUMS")].decode()
        assert f"{hashlib.sha256(blob).hexdigest()}  api-linux-amd64\n" in sums
        # Uploads went to the uploads endpoint that upload_url names, not the API.
        assert any(
            r.startswith("POST /api/uploads/repos/acme/shop/releases/1/assets?")
            and "name=api-linux-amd64" in r
            for r in servers.state.requests
        ), servers.state.requests
        again = goci(*args, env=env, cwd=ws)
        assert again.code == 0, again.stderr
        assert "0 uploaded, 3 already there" in again.stdout
        assert len(release["assets"]) == 3
        assert list(scratch.iterdir()) == []  # the SHA256SUMS written for the upload are gone
    finally:
        servers.stop()


def test_a_file_changed_after_pack_stops_the_upload_before_any_byte(
    ws: Path, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    assert goci("artifact", "pack", env=go_env, cwd=ws).code == 0
    (ws / f".goci/dist/dev/tools/worker-{STAMP}/linux-arm64/worker").write_bytes(b"swapped")
    run = goci("artifact", "upload", "--store", "file://out", env=go_env, cwd=ws)
    assert run.code == 1
    assert "linux-arm64/worker does not match SHA256SUMS" in run.stderr
    assert not (ws / "out").exists()


def test_a_service_named_with_v_is_uploaded_and_named_by_release(
    tmp_path: Path, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """``my-vault`` ends in ``-vault``: its releases must not be mistaken for version ``ault``."""
    ws = tmp_path / "ws"
    releases.packed(ws, "my-vault", b"vault build", env="dev", version="20260101120000")
    releases.packed(ws, "api", b"api build", env="dev", version="20260101120000")
    run = goci("artifact", "upload", "--store", "file://out", env=go_env, cwd=ws)
    assert run.code == 0, run.stderr
    store = open_store("file://out", env={}, cwd=ws)
    assert sorted(
        k.rsplit("/", 1)[0] for k in store.list_keys("dev/") if k.endswith("manifest.json")
    ) == [
        "dev/api-20260101120000",
        "dev/my-vault-20260101120000",
    ]
    one = goci("artifact", "upload", "--store", "file://one", "--release",
               "dev/my-vault-20260101120000", env=go_env, cwd=ws)  # fmt: skip
    assert one.code == 0, one.stderr
    assert "dev/my-vault-20260101120000: uploaded" in one.stdout
    assert (ws / "one/dev/my-vault-20260101120000/manifest.json").is_file()
    assert not (ws / "one/dev/api-20260101120000").exists()


def test_upload_refuses_a_release_whose_files_disagree_with_its_build_record(
    ws: Path, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """A release packed without the build-record check (an older goci, by hand): the binary
    and SHA256SUMS agree with each other, the build record does not."""
    assert goci("artifact", "pack", "--service", "api", env=go_env, cwd=ws).code == 0
    folder = ws / f".goci/dist/dev/api-{STAMP}"
    (folder / "linux-arm64/api").write_bytes(b"half of one build, half of another")
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["files"]:
        data = (folder / entry["path"]).read_bytes()
        entry.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    sums = "".join(
        f"{f['sha256']}  {f['path']}\n" for f in sorted(manifest["files"], key=lambda f: f["path"])
    )
    (folder / "SHA256SUMS").write_text(sums)
    manifest["sha256sums"] = hashlib.sha256(sums.encode()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    run = goci("artifact", "upload", "--store", "file://out", "--release", f"dev/api-{STAMP}",
               env=go_env, cwd=ws)  # fmt: skip
    assert run.code == 1, run.stderr
    assert "does not match its build record" in run.stderr
    assert "linux-arm64/api is sha256" in run.stderr
    assert not (ws / "out").exists()


# --- two writers of one prod version ---------------------------------------------------------


def fresh_store(kind: str, seaweed: Seaweed, tmp_path: Path) -> tuple[str, dict[str, str]]:
    if kind == "file":
        return f"file://{tmp_path / 'stores' / uuid.uuid4().hex[:8]}", {}
    return f"s3://{BUCKET}/race-{uuid.uuid4().hex[:10]}", seaweed.env()


@pytest.mark.parametrize("kind", ["file", "s3"])
@pytest.mark.parametrize("stage", ["prod", "dev"])
def test_concurrent_publishes_of_one_release_leave_one_whole_release(
    kind: str, stage: Env, seaweed: Seaweed, tmp_path: Path
) -> None:
    """10 races of 3 publishes of one release with different bytes: prod/api-v1.0.0, and
    dev/api-<stamp> (one commit time: a rerun on a newer Go meeting the first run). The
    release left is whole, the files of a writer that succeeded, all of them. A prod version
    has one winner; a dev publish that starts once another has finished rebuilds the release
    (a dev release may be rebuilt), so more than one may succeed, one after the other."""
    version = "1.0.0" if stage == "prod" else "20250101000000"
    name = "prod/api-v1.0.0" if stage == "prod" else f"dev/api-{version}"
    writers = [
        releases.packed(tmp_path / f"w{i}", "api", f"build {i}".encode(), stage, version)
        for i in range(3)
    ]
    expected = [releases.local_files(w) for w in writers]
    for _ in range(10):
        url, env = fresh_store(kind, seaweed, tmp_path)
        upload = ["artifact", "upload", "--store", url, "--workers", "2"]
        calls = [[*upload, "--dir", str(w.path.parents[3])] for w in writers]
        codes = race(calls, [env] * len(calls))
        if stage == "prod":
            assert sorted(codes) == [0, 1, 1], codes
        else:
            assert 0 in codes and set(codes) <= {0, 1}, codes
        store = open_store(url, env=env, cwd=tmp_path)
        stored = releases.assert_complete(store, name)
        files = {f["path"]: f["sha256"] for f in stored["files"]}
        assert files in [expected[i] for i, code in enumerate(codes) if code == 0]


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_a_killed_publish_keeps_its_claim_until_rerun(
    kind: str,
    seaweed: Seaweed,
    tmp_path: Path,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
) -> None:
    """Killed after its first object: the same build resumes; other bytes are refused, told
    how to go on, and write nothing."""
    url, store_env = fresh_store(kind, seaweed, tmp_path)
    env = {**go_env, **store_env}
    first = releases.packed(tmp_path / "first", "api", b"first build")
    other = releases.packed(tmp_path / "other", "api", b"other build")
    store = open_store(url, env=env, cwd=tmp_path)

    def killed(key: str, part: int) -> None:
        raise KeyboardInterrupt  # the job is cancelled as its objects land

    with pytest.raises(KeyboardInterrupt):
        upload_all(store, [first], workers=1, on_progress=killed)
    assert store.read("prod/api-v1.0.0/manifest.json") is None
    before = {k: releases.stored_sha256(store, k) for k in store.list_keys("prod/")}
    assert "prod/api-v1.0.0/claim.json" in before and len(before) >= 2  # the claim and objects

    refused = goci("artifact", "upload", "--store", url, env=env, cwd=tmp_path / "other")
    assert refused.code == 1
    message = refused.stderr
    assert "prod/api-v1.0.0 is claimed" in message
    assert "with different files and is not complete" in message
    assert "rerun that publish with the same build" in message
    assert f"delete {store.location('prod/api-v1.0.0/claim.json')}" in message
    assert {k: releases.stored_sha256(store, k) for k in store.list_keys("prod/")} == before

    resumed = goci("artifact", "upload", "--store", url, env=env, cwd=tmp_path / "first")
    assert resumed.code == 0, resumed.stderr
    releases.assert_complete(store, "prod/api-v1.0.0", releases.local_files(first))
    again = goci("artifact", "upload", "--store", url, env=env, cwd=tmp_path / "first")
    assert again.code == 0 and "nothing to do" in again.stdout
    assert goci("artifact", "upload", "--store", url, env=env, cwd=tmp_path / "other").code == 1
    assert other.manifest.sha256sums != first.manifest.sha256sums


def test_a_rerun_removes_the_temporary_files_of_a_killed_upload(
    tmp_path: Path, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """A writer killed mid-file leaves ``.name.host-pid.x.tmp``; the rerun removes it and says
    so, while a live writer's temporary file would stay (see test_store)."""
    ws = tmp_path / "ws"
    releases.packed(ws, "api", b"api build", env="dev", version="20260101120000")
    store = open_store("file://out", env={}, cwd=ws)
    folder = ws / "out/dev/api-20260101120000/linux-amd64"
    folder.mkdir(parents=True)
    fifo = ws / "out/pipe"
    os.mkfifo(fifo)
    script = (
        "import sys; from pathlib import Path; from goci.tools.atomic import write_atomic; "
        "write_atomic(Path(sys.argv[1]), Path(sys.argv[2]))"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(folder / "api"), str(fifo)])
    with releases.open_pipe_to(fifo, proc):
        (temp,) = folder.iterdir()
        proc.kill()
        proc.wait()
    fifo.unlink()
    run = goci("artifact", "upload", "--store", "file://out", env=go_env, cwd=ws)
    assert run.code == 0, run.stderr
    assert (
        f"cleaned: removed dev/api-20260101120000/linux-amd64/{temp.name} "
        f"(its writer (process {proc.pid} on this machine) is gone)"
    ) in run.stdout
    assert sorted(p.name for p in folder.iterdir()) == ["api"]
    releases.assert_complete(store, "dev/api-20260101120000")


def test_a_store_that_refuses_cleaning_still_completes_the_publish(tmp_path: Path) -> None:
    """A bucket policy without s3:ListBucketMultipartUploads: housekeeping is skipped and said,
    the release it completed is not reported as failed."""
    release = releases.packed(tmp_path / "ws", "api", b"api build")
    store = open_store("file://out", env={}, cwd=tmp_path)

    class NoCleaning:
        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        def clean_leftovers(self, prefix: str, stale_after: float) -> list[str]:
            raise ToolError(f"store s3://b/p: list unfinished uploads of {prefix} failed: 403")

    (done,) = upload_all(NoCleaning(), [release])  # type: ignore[arg-type]
    assert done.status == "uploaded"
    assert done.cleaned == (
        "skipped (store s3://b/p: list unfinished uploads of prod/api-v1.0.0/ failed: 403)",
    )
    releases.assert_complete(store, "prod/api-v1.0.0", releases.local_files(release))


def test_a_dev_release_rebuilt_with_other_bytes_changes_hands_whole(
    tmp_path: Path, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """A complete dev release rebuilt later (a rerun on a newer Go) is replaced whole, under
    a new claim; while another content holds the name unfinished, a publish changes nothing."""
    name = "dev/api-20250101000000"
    first = releases.packed(tmp_path / "first", "api", b"first build", "dev", name[-14:])
    second = releases.packed(tmp_path / "second", "api", b"second build", "dev", name[-14:])
    url = f"file://{tmp_path / 'store'}"
    store = open_store(url, env=go_env, cwd=tmp_path)

    def upload(writer: LocalRelease) -> GociRun:
        return goci("artifact", "upload", "--store", url, env=go_env, cwd=writer.path.parents[3])

    assert upload(first).code == 0
    rebuilt = upload(second)
    assert rebuilt.code == 0, rebuilt.stderr
    releases.assert_complete(store, name, releases.local_files(second))
    found = store.read(f"{name}/claim.json")
    assert found is not None
    claim = json.loads(found[0])
    assert claim["sha256sums"] == second.manifest.sha256sums
    # a third content's rebuild under way (its claim, the manifest hidden): refused, untouched
    third = Claim(name, "3" * 64, "c" * 40, "someone", "2025-01-01T00:00:00Z")
    store.put_bytes(f"{name}/claim.json", third.to_json())
    store.delete([f"{name}/manifest.json"])
    before = {k: releases.stored_sha256(store, k) for k in store.list_keys("dev/")}
    refused = upload(first)
    assert refused.code == 1
    assert f"{store.location(name)} is claimed by someone" in refused.stderr
    assert "with different files and is not complete" in refused.stderr
    assert "Pack it with another --timestamp, or publish from a new commit" in refused.stderr
    assert {k: releases.stored_sha256(store, k) for k in store.list_keys("dev/")} == before
