"""``goci promote``: verified copies dev -> prod, the ``current`` pointer, rollback, races."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import pytest

from goci.errors import VerdictError
from goci.promote import promote, read_pointer
from goci.stores import Tuning, open_store
from support import artifacts
from support.artifacts import STAMP
from support.seaweed import BUCKET, Seaweed

DEV = f"dev/api-{STAMP}"


@pytest.fixture(scope="module")
def published(
    tmp_path_factory: pytest.TempPathFactory, seaweed: Seaweed, go_binary: Path
) -> dict[str, str]:
    """One packed dev release of ``api``, uploaded once; each test copies it to its own prefix."""
    import os
    import subprocess

    root = tmp_path_factory.mktemp("promote")
    env = {
        "PATH": f"{go_binary.parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", str(root)),
        "GOCI_GO": str(go_binary),
        "GOCACHE": str(root / "gocache"),
        "GOMODCACHE": str(root / "modcache"),
        "GOPATH": str(root / "gopath"),
        "GOPROXY": "off",
        "GOTOOLCHAIN": "local",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_DATE": "2025-01-02T03:04:05Z",
        "GIT_COMMITTER_DATE": "2025-01-02T03:04:05Z",
    }
    ws = artifacts.workspace(root / "ws", env)
    from goci.cli import main

    s3env = seaweed.env(env)
    assert main(["artifact", "pack", "--service", "api", "--dir", str(ws)], env=s3env) == 0
    url = f"s3://{BUCKET}/promote-src"
    assert main(["artifact", "upload", "--store", url, "--dir", str(ws)], env=s3env) == 0
    subprocess.run(["chmod", "-R", "u+w", str(root)], check=False)
    return {"url": url, "ws": str(ws)}


@pytest.fixture
def store_url(published: dict[str, str], seaweed: Seaweed) -> str:
    """A private copy of the published dev release under a fresh prefix."""
    prefix = f"p-{uuid.uuid4().hex[:10]}"
    client = seaweed.client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="promote-src/")
    for page in pages:
        for item in page.get("Contents", []):
            key = item["Key"]
            head = client.head_object(Bucket=BUCKET, Key=key)
            client.copy_object(
                Bucket=BUCKET,
                Key=prefix + key[len("promote-src") :],
                CopySource={"Bucket": BUCKET, "Key": key},
                MetadataDirective="REPLACE",
                Metadata=head["Metadata"],
            )
    return f"s3://{BUCKET}/{prefix}"


def get(seaweed: Seaweed, url: str, key: str) -> bytes | None:
    prefix = url.split("/", 3)[3]
    try:
        return seaweed.client().get_object(Bucket=BUCKET, Key=f"{prefix}/{key}")["Body"].read()
    except seaweed.client().exceptions.NoSuchKey:
        return None


def listing(seaweed: Seaweed, url: str, under: str) -> list[str]:
    prefix = url.split("/", 3)[3] + "/"
    pages = (
        seaweed.client()
        .get_paginator("list_objects_v2")
        .paginate(Bucket=BUCKET, Prefix=prefix + under)
    )
    return sorted(i["Key"][len(prefix) :] for p in pages for i in p.get("Contents", []))


def promote_api(goci, store, *args, env, cwd):
    """``goci promote --store STORE --service api ARGS``: the call most tests here make."""
    return goci("promote", "--store", store, "--service", "api", *args, env=env, cwd=cwd)


def test_promote_latest_copies_exact_bytes_and_sets_current(
    store_url, seaweed, gha_env, goci, tmp_path
):
    env = {**seaweed.env(gha_env), "GITHUB_ACTOR": "octocat"}
    run = promote_api(
        goci, store_url, "--from", "latest", "--version", "1.4.0", env=env, cwd=tmp_path
    )
    assert run.code == 0, run.stderr
    for target in ("linux-amd64", "linux-arm64"):
        assert get(seaweed, store_url, f"prod/api-v1.4.0/{target}/api") == get(
            seaweed, store_url, f"{DEV}/{target}/api"
        )
    assert get(seaweed, store_url, "prod/api-v1.4.0/SHA256SUMS") == get(
        seaweed, store_url, f"{DEV}/SHA256SUMS"
    )
    manifest = json.loads(get(seaweed, store_url, "prod/api-v1.4.0/manifest.json") or b"{}")
    assert manifest["env"] == "prod"
    assert manifest["version"] == "1.4.0"
    assert manifest["promoted_from"] == DEV
    assert manifest["promoted_by"] == "octocat"
    assert manifest["promoted_at"].endswith("Z")
    pointer = json.loads(get(seaweed, store_url, "prod/api/current") or b"{}")
    assert pointer["version"] == "1.4.0"
    assert pointer["release"] == "prod/api-v1.4.0"
    assert run.outputs["current"] == "prod/api-v1.4.0"
    assert run.outputs["version"] == "1.4.0"
    assert run.outputs["manifest-url"] == f"{store_url}/prod/api-v1.4.0/manifest.json"
    # Promoting the same version again is a no-op; another dev build to it is refused.
    again = promote_api(goci, store_url, "--from", DEV, "--version", "1.4.0", env=env, cwd=tmp_path)
    assert again.code == 0, again.stderr
    assert "already promoted" in again.stdout


def test_promote_then_rollback(store_url, seaweed, go_env, goci, tmp_path):
    env = seaweed.env(go_env)
    base = ("promote", "--store", store_url, "--service", "api")
    for version in ("1.0.0", "1.1.0"):
        assert goci(*base, "--version", version, env=env, cwd=tmp_path).code == 0
    run = goci(*base, "--rollback", "--json", env=env, cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert run.json()["version"] == "1.0.0"
    assert run.json()["previous"] == "1.1.0"
    pointer = json.loads(get(seaweed, store_url, "prod/api/current") or b"{}")
    assert pointer["release"] == "prod/api-v1.0.0"
    assert pointer["action"] == "rollback"
    none_left = goci(*base, "--rollback", env=env, cwd=tmp_path)
    assert none_left.code == 1
    assert "no previous version" in none_left.stderr


def test_corrupted_dev_object_blocks_promotion(store_url, seaweed, go_env, goci, tmp_path):
    prefix = store_url.split("/", 3)[3]
    client = seaweed.client()
    key = f"{prefix}/{DEV}/linux-arm64/api"
    head = client.head_object(Bucket=BUCKET, Key=key)
    # Bytes changed behind goci's back, metadata left as it was.
    client.put_object(Bucket=BUCKET, Key=key, Body=b"tampered", Metadata=head["Metadata"])
    run = promote_api(goci, store_url, "--version", "2.0.0", env=seaweed.env(go_env), cwd=tmp_path)
    assert run.code == 1
    assert "does not match its manifest" in run.stderr
    assert "linux-arm64/api" in run.stderr
    assert listing(seaweed, store_url, "prod/") == []


def test_existing_prod_version_with_other_bytes_is_refused(
    store_url, seaweed, go_env, goci, tmp_path
):
    env = seaweed.env(go_env)
    assert promote_api(goci, store_url, "--version", "3.0.0", env=env, cwd=tmp_path).code == 0
    prefix = store_url.split("/", 3)[3]
    client = seaweed.client()
    # A second dev release with other bytes.
    other = "dev/api-20250202000000"
    for key in listing(seaweed, store_url, DEV + "/"):
        body = get(seaweed, store_url, key) or b""
        if key.endswith("manifest.json"):
            continue
        client.put_object(
            Bucket=BUCKET,
            Key=f"{prefix}/{other}/{key[len(DEV) + 1 :]}",
            Body=body,
            Metadata=client.head_object(Bucket=BUCKET, Key=f"{prefix}/{key}")["Metadata"],
        )
    import hashlib

    manifest = json.loads(get(seaweed, store_url, f"{DEV}/manifest.json") or b"{}")
    changed = b"different build"
    client.put_object(
        Bucket=BUCKET,
        Key=f"{prefix}/{other}/linux-amd64/api",
        Body=changed,
        Metadata={"sha256": hashlib.sha256(changed).hexdigest()},
    )
    for entry in manifest["files"]:
        if entry["path"] == "linux-amd64/api":
            entry.update(size=len(changed), sha256=hashlib.sha256(changed).hexdigest())
    from goci.checksums import format_sums

    sums = format_sums((f["path"], f["sha256"]) for f in manifest["files"]).encode()
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/{other}/SHA256SUMS", Body=sums)
    manifest.update(
        name=other, version="20250202000000", sha256sums=hashlib.sha256(sums).hexdigest()
    )
    client.put_object(
        Bucket=BUCKET, Key=f"{prefix}/{other}/manifest.json", Body=json.dumps(manifest).encode()
    )
    run = promote_api(goci, store_url, "--version", "3.0.0", env=env, cwd=tmp_path)
    assert run.code == 1
    assert "immutable" in run.stderr
    assert get(seaweed, store_url, "prod/api-v3.0.0/linux-amd64/api") == get(
        seaweed, store_url, f"{DEV}/linux-amd64/api"
    )


@pytest.mark.parametrize("kind", ["s3", "file"])
def test_concurrent_promotions_never_lose_an_update(kind, store_url, seaweed, tmp_path):
    tuning = Tuning(workers=2, attempts=3, backoff=0.05)
    if kind == "s3":
        url, env = store_url, seaweed.env()
    else:
        url, env = "file://store", {}
        src = open_store(store_url, env=seaweed.env(), cwd=tmp_path, tuning=tuning)
        dst = open_store(url, env=env, cwd=tmp_path, tuning=tuning)
        for key in src.list_keys("dev/"):
            data = src.read(key)
            assert data is not None
            dst.put_bytes(key, data[0])
    versions = [f"5.0.{i}" for i in range(6)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(versions))

    def one(version: str) -> None:
        store = open_store(url, env=env, cwd=tmp_path, tuning=tuning)
        start.wait()
        try:
            promote(
                store, "api", "latest", version, who="t", when="2025-01-01T00:00:00Z", workers=2
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(v,)) for v in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    pointer = read_pointer(open_store(url, env=env, cwd=tmp_path), "api")
    assert pointer is not None
    # Every promotion is in the pointer exactly once: the current one or the history.
    assert sorted((pointer.version, *pointer.history)) == versions


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--service", "api", "--version", "1.2"), "semantic version"),
        (("--service", "../api", "--version", "1.2.0"), "'..'"),
        (("--service", "api", "--version", "1.2.0", "--from", "prod/api-v1.0.0"), "a dev release"),
        (
            ("--service", "api", "--version", "1.2.0", "--from", "dev/web-20250102030405"),
            "--service 'api'",
        ),
        (("--service", "api"), "--version is required"),
        (("--service", "api", "--version", "1.2.0", "--store", "gs://b/x"), "s3://bucket/prefix"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    store_url, seaweed, go_env, goci, tmp_path, args, needle
):
    run = goci("promote", "--store", store_url, *args, env=seaweed.env(go_env), cwd=tmp_path)
    assert run.code == 2, run.stderr
    assert needle in run.stderr
    assert listing(seaweed, store_url, "prod/") == []


def test_promote_refuses_when_no_dev_release(seaweed, go_env, goci, tmp_path):
    url = f"s3://{BUCKET}/empty-{uuid.uuid4().hex[:8]}"
    run = promote_api(goci, url, "--version", "1.0.0", env=seaweed.env(go_env), cwd=tmp_path)
    assert run.code == 1
    assert "no dev release of api" in run.stderr


def test_corruption_is_reported_by_the_core_before_any_write(store_url, seaweed, tmp_path):
    store = open_store(store_url, env=seaweed.env(), cwd=tmp_path)
    store.delete([f"{DEV}/SHA256SUMS"])
    with pytest.raises(VerdictError, match="SHA256SUMS"):
        promote(store, "api", "latest", "9.9.9", who="t", when="now")
    assert store.list_keys("prod/") == []
