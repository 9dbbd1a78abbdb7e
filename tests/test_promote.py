"""``goci promote``: verified copies dev -> prod, the ``current`` pointer, rollback, races."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypedDict

import pytest

from goci.errors import VerdictError
from goci.release.local import LocalRelease
from goci.release.pointer import read_pointer
from goci.release.promote import promote
from goci.release.stores import Store, Tuning, open_store
from goci.release.upload import upload_all
from support import artifacts, releases
from support.artifacts import STAMP
from support.goci_run import GociRun
from support.releases import race
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
        body: bytes = (
            seaweed.client().get_object(Bucket=BUCKET, Key=f"{prefix}/{key}")["Body"].read()
        )
        return body
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


def promote_api(
    goci: Callable[..., GociRun], store: str, *args: str, env: Mapping[str, str], cwd: Path
) -> GociRun:
    """``goci promote --store STORE --service api ARGS``: the call most tests here make."""
    return goci("promote", "--store", store, "--service", "api", *args, env=env, cwd=cwd)


def promote_versions(
    goci: Callable[..., GociRun], store: str, *versions: str, env: Mapping[str, str], cwd: Path
) -> None:
    """Promote the latest dev release of api to each version in turn."""
    for version in versions:
        run = promote_api(goci, store, "--version", version, env=env, cwd=cwd)
        assert run.code == 0, run.stderr


def test_promote_latest_copies_exact_bytes_and_sets_current(
    store_url: str,
    seaweed: Seaweed,
    gha_env: dict[str, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
) -> None:
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


def test_promote_then_rollback(
    store_url: str,
    seaweed: Seaweed,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
) -> None:
    env = seaweed.env(go_env)
    base = ("promote", "--store", store_url, "--service", "api")
    promote_versions(goci, store_url, "1.0.0", "1.1.0", env=env, cwd=tmp_path)
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


def test_corrupted_dev_object_blocks_promotion(
    store_url: str,
    seaweed: Seaweed,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
) -> None:
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
    store_url: str,
    seaweed: Seaweed,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
) -> None:
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
    for entry in (*manifest["files"], *manifest["builds"]):  # as goci build and pack made it
        if entry["path"] == "linux-amd64/api":
            entry.update(size=len(changed), sha256=hashlib.sha256(changed).hexdigest())
    from goci.release.checksums import format_sums

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
def test_concurrent_promotions_never_lose_an_update(
    kind: str, store_url: str, seaweed: Seaweed, tmp_path: Path
) -> None:
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
    store_url: str,
    seaweed: Seaweed,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
    args: tuple[str, ...],
    needle: str,
) -> None:
    run = goci("promote", "--store", store_url, *args, env=seaweed.env(go_env), cwd=tmp_path)
    assert run.code == 2, run.stderr
    assert needle in run.stderr
    assert listing(seaweed, store_url, "prod/") == []


def test_promote_refuses_when_no_dev_release(
    seaweed: Seaweed, go_env: dict[str, str], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    url = f"s3://{BUCKET}/empty-{uuid.uuid4().hex[:8]}"
    run = promote_api(goci, url, "--version", "1.0.0", env=seaweed.env(go_env), cwd=tmp_path)
    assert run.code == 1
    assert "no dev release of api" in run.stderr


def test_corruption_is_reported_by_the_core_before_any_write(
    store_url: str, seaweed: Seaweed, tmp_path: Path
) -> None:
    store = open_store(store_url, env=seaweed.env(), cwd=tmp_path)
    store.delete([f"{DEV}/SHA256SUMS"])
    with pytest.raises(VerdictError, match="SHA256SUMS"):
        promote(store, "api", "latest", "9.9.9", who="t", when="now")
    assert store.list_keys("prod/") == []


# --- integrity against a second writer, both stores ------------------------------------------

SMALL_DEV = "dev/api-20260101120000"


class SmallSources(TypedDict):
    """What ``small_sources`` returns (a plain dict at run time)."""

    root: Path
    dev: LocalRelease
    tag: LocalRelease
    file: Path
    s3: str


@pytest.fixture(scope="module")
def small_sources(tmp_path_factory: pytest.TempPathFactory, seaweed: Seaweed) -> SmallSources:
    """A small dev release of api in a folder store and under an S3 prefix, uploaded once,
    and a prod pack of api v2.0.0 with other bytes (the tag publish that races a promotion)."""
    root = tmp_path_factory.mktemp("small")
    dev = releases.packed(root / "dev-ws", "api", b"dev build", env="dev", version="20260101120000")
    tag = releases.packed(root / "tag-ws", "api", b"tag build", env="prod", version="2.0.0")
    upload_all(open_store(f"file://{root / 'file-src'}", env={}, cwd=root), [dev])
    s3_src = f"s3://{BUCKET}/small-src-{uuid.uuid4().hex[:6]}"
    upload_all(open_store(s3_src, env=seaweed.env(), cwd=root), [dev])
    return {"root": root, "dev": dev, "tag": tag, "file": root / "file-src", "s3": s3_src}


def small_store(kind: str, sources: SmallSources, seaweed: Seaweed) -> tuple[str, dict[str, str]]:
    """A private copy of the small dev release; ``(url, env)``."""
    root = sources["root"]
    assert isinstance(root, Path)
    if kind == "file":
        dest = root / "copies" / uuid.uuid4().hex[:8]
        shutil.copytree(str(sources["file"]), dest)
        return f"file://{dest}", {}
    src_prefix = str(sources["s3"]).split("/", 3)[3]
    dest_prefix = f"small-{uuid.uuid4().hex[:10]}"
    client = seaweed.client()
    for item in client.list_objects_v2(Bucket=BUCKET, Prefix=src_prefix + "/")["Contents"]:
        key = item["Key"]
        client.copy_object(
            Bucket=BUCKET,
            Key=dest_prefix + key[len(src_prefix) :],
            CopySource={"Bucket": BUCKET, "Key": key},
        )
    return f"s3://{BUCKET}/{dest_prefix}", seaweed.env()


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_promotion_racing_a_tag_publish_never_points_current_at_a_mixed_release(
    kind: str, small_sources: SmallSources, seaweed: Seaweed, tmp_path: Path
) -> None:
    """10 races: promote dev -> prod/api-v2.0.0 while a tag publish uploads other bytes as
    the same version. One wins whole; current names a whole release or nothing."""
    dev, tag = small_sources["dev"], small_sources["tag"]
    tag_ws = str(tag.path.parents[3])
    winners: set[str] = set()
    for _ in range(10):
        url, env = small_store(kind, small_sources, seaweed)
        promote_call = ["promote", "--store", url, "--service", "api", "--version", "2.0.0"]
        publish_call = ["artifact", "upload", "--store", url, "--dir", tag_ws]
        codes = race([promote_call, publish_call], [env, env])
        assert sorted(codes) == [0, 1], codes
        store = open_store(url, env=env, cwd=tmp_path)
        winner = dev if codes[0] == 0 else tag
        winners.add("promote" if codes[0] == 0 else "publish")
        releases.assert_complete(store, "prod/api-v2.0.0", releases.local_files(winner))
        pointer = read_pointer(store, "api")
        if codes[0] == 0:
            assert pointer is not None and pointer.release == "prod/api-v2.0.0"
        else:
            assert pointer is None
    assert winners  # which side wins is up to the race; both are whole


class SwapAfterVerification:
    """A store whose dev object is replaced between promote's verification and its copy."""

    def __init__(self, store: Store, swap: Callable[[], None]) -> None:
        self.store, self.swap, self.swapped = store, swap, False

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def copy(self, src: str, dst: str, sha256: str, **condition: str | None) -> None:
        if not self.swapped and src.endswith("linux-arm64/api"):
            self.swapped = True
            self.swap()
        self.store.copy(src, dst, sha256, **condition)


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_a_dev_object_swapped_after_verification_is_not_promoted(
    kind: str, small_sources: SmallSources, seaweed: Seaweed, tmp_path: Path
) -> None:
    url, env = small_store(kind, small_sources, seaweed)
    store = open_store(url, env=env, cwd=tmp_path)
    key = f"{SMALL_DEV}/linux-arm64/api"
    stat = store.stat(key)
    assert stat is not None

    def swap() -> None:
        # Same size, and (on S3) the same sha256 metadata: only the bytes differ.
        evil = b"X" * stat.size
        if kind == "file":
            (Path(url.removeprefix("file://")) / key).write_bytes(evil)
        else:
            prefix = url.split("/", 3)[3]
            seaweed.client().put_object(
                Bucket=BUCKET, Key=f"{prefix}/{key}", Body=evil, Metadata={"sha256": stat.sha256}
            )

    swapping = SwapAfterVerification(store, swap)
    with pytest.raises(VerdictError, match="changed after it was verified"):
        promote(swapping, "api", "latest", "3.0.0", who="t", when="now")  # type: ignore[arg-type]
    assert swapping.swapped
    # Nothing of the version is left, not even the claim or the copies made before the swap.
    assert store.list_keys("prod/") == []
    assert read_pointer(store, "api") is None


@pytest.mark.parametrize("case", ["build-record", "backslash-path", "not-in-sums", "commit-text"])
def test_promote_refuses_a_dev_manifest_it_cannot_trust(
    case: str,
    small_sources: SmallSources,
    seaweed: Seaweed,
    tmp_path: Path,
    goci: Callable[..., GociRun],
    go_env: dict[str, str],
) -> None:
    """Written to the store by hand (or by an older goci): a dev release whose files disagree
    with its build record, whose manifest names a path that would leave a folder, or whose
    manifest and object were rewritten together beside the approved SHA256SUMS (dev
    credentials suffice): the files then match the manifest, the digest is the approved one,
    and only SHA256SUMS's own listing tells; or whose commit is text the reviewers' table would
    show as if it were the commit (a link, another commit's id beside a note)."""
    url, env = small_store("s3", small_sources, seaweed)
    store = open_store(url, env=env, cwd=tmp_path)
    key = f"{SMALL_DEV}/manifest.json"
    found = store.read(key)
    assert found is not None
    manifest = json.loads(found[0])
    if case == "build-record":
        # The files and SHA256SUMS agree with each other; the build says other bytes.
        for record in manifest["builds"]:
            record["sha256"] = "e" * 64
        needle = "does not match its build record"
    elif case == "commit-text":
        manifest["commit"] = manifest["commit"] + " (reviewed: see [PR #1](https://evil.example))"
        needle = "is not a git commit id"
    elif case == "backslash-path":
        entry = manifest["files"][0]
        entry["path"] = entry["target"] + "\\..\\..\\outside"
        needle = "is not {os}-{arch}/{file}"
    else:
        entry, evil = manifest["files"][0], b"unreviewed bytes"
        store.put_bytes(f"{SMALL_DEV}/{entry['path']}", evil)
        entry.update(sha256=hashlib.sha256(evil).hexdigest(), size=len(evil))
        manifest["builds"] = []
        needle = f"disagree about {entry['path']}: the manifest does not describe the files"
    store.put_bytes(key, json.dumps(manifest).encode())
    approved = ["--sums-digest", manifest["sha256sums"]] if case == "not-in-sums" else []
    # Refused when go-promote.yml resolves the release (before approval) and when promoting.
    for extra in (["--resolve-only"], approved):
        run = goci("promote", "--store", url, "--service", "api", "--version", "4.0.0", *extra,
                   env={**go_env, **env}, cwd=tmp_path)  # fmt: skip
        assert run.code == 1, run.stderr
        assert needle in run.stderr
    assert store.list_keys("prod/") == []


def test_a_dev_release_rebuilt_after_approval_is_not_promoted(
    small_sources: SmallSources,
    seaweed: Seaweed,
    tmp_path: Path,
    goci: Callable[..., GociRun],
    gha_env: dict[str, str],
) -> None:
    """go-promote.yml's reviewers approve what --resolve-only showed them: the release's name
    and its SHA256SUMS digest. A rebuild uploaded under the same name while they look (which a
    dev release allows) must not reach prod; the release as approved still promotes."""
    url, env = small_store("file", small_sources, seaweed)
    run_env = {**gha_env, **env}
    store = open_store(url, env=env, cwd=tmp_path)
    resolved = promote_api(
        goci, url, "--resolve-only", "--version", "5.0.0", env=run_env, cwd=tmp_path
    )
    assert resolved.code == 0, resolved.stderr
    approved, name = resolved.outputs["sums-digest"], resolved.outputs["from"]
    found = store.read(f"{SMALL_DEV}/manifest.json")
    assert found is not None
    before = json.loads(found[0])
    assert (name, approved) == (SMALL_DEV, before["sha256sums"])

    rebuilt = releases.packed(
        tmp_path / "rebuild", "api", b"other bytes", env="dev", version=SMALL_DEV.split("-")[-1]
    )
    assert upload_all(store, [rebuilt])[0].status == "uploaded"  # same name, other files
    found = store.read(f"{SMALL_DEV}/manifest.json")
    assert found is not None
    now = json.loads(found[0])["sha256sums"]
    assert now != approved

    pinned = ["--from", name, "--version", "5.0.0", "--sums-digest"]
    refused = promote_api(goci, url, *pinned, approved.upper(), env=run_env, cwd=tmp_path)
    assert refused.code == 1, refused.stderr
    assert f"changed after it was approved: its SHA256SUMS is sha256 {now}" in refused.stderr
    assert approved in refused.stderr
    assert store.list_keys("prod/") == []

    # The content the digest names promotes (the pin is not a refusal of everything).
    relisted = promote_api(goci, url, *pinned, now, env=run_env, cwd=tmp_path)
    assert relisted.code == 0, relisted.stderr
    assert relisted.outputs["sums-digest"] == now
    assert f"SHA256SUMS sha256 {now}: the approved one" in relisted.stdout
    promoted = store.read("prod/api-v5.0.0/linux-amd64/api")
    assert promoted is not None
    assert promoted[0] == b"other bytes linux-amd64"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--version", "1.0.0", "--sums-digest", "abc"], "--sums-digest: 'abc' is not valid"),
        (["--version", "1.0.0", "--sums-digest", "a" * 64, "--resolve-only"],
         "not used with --resolve-only"),
        (["--rollback", "--sums-digest", "a" * 64], "not used with --rollback"),
    ],
)  # fmt: skip
def test_a_bad_sums_digest_exits_2_and_writes_nothing(
    args: list[str],
    needle: str,
    small_sources: SmallSources,
    seaweed: Seaweed,
    tmp_path: Path,
    goci: Callable[..., GociRun],
    go_env: dict[str, str],
) -> None:
    url, env = small_store("file", small_sources, seaweed)
    run = promote_api(goci, url, *args, env={**go_env, **env}, cwd=tmp_path)
    assert run.code == 2, run.stderr
    assert needle in run.stderr
    assert open_store(url, env=env, cwd=tmp_path).list_keys("prod/") == []


# --- going back: only on purpose, and only to verified bytes --------------------------------


def test_promoting_an_older_published_version_again_leaves_current_alone(
    store_url: str,
    seaweed: Seaweed,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
) -> None:
    """A promotion run again (an old workflow run re-run) once current is at a newer version
    is refused, exit 1, with current's bytes untouched; the same re-run after a rollback
    below it moves forward again, and one at current is the usual no-op."""
    env = seaweed.env(go_env)
    promote_versions(goci, store_url, "1.0.0", "1.1.0", env=env, cwd=tmp_path)
    before = get(seaweed, store_url, "prod/api/current")

    rerun = promote_api(goci, store_url, "--version", "1.0.0", env=env, cwd=tmp_path)
    assert rerun.code == 1, rerun.stderr
    assert "moved on to the newer 1.1.0" in rerun.stderr
    assert "--rollback" in rerun.stderr
    assert get(seaweed, store_url, "prod/api/current") == before
    assert rerun.outputs == {}

    same = promote_api(goci, store_url, "--version", "1.1.0", env=env, cwd=tmp_path)
    assert (same.code, get(seaweed, store_url, "prod/api/current")) == (0, before)

    assert goci("promote", "--store", store_url, "--service", "api", "--rollback",
                env=env, cwd=tmp_path).code == 0  # fmt: skip
    forward = promote_api(goci, store_url, "--version", "1.1.0", "--json", env=env, cwd=tmp_path)
    assert forward.code == 0, forward.stderr
    assert (forward.json()["version"], forward.json()["previous"]) == ("1.1.0", "1.0.0")


def test_a_newer_promotion_landing_during_a_rerun_is_not_undone(
    store_url: str, seaweed: Seaweed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-run of 1.1.0 finds current at 1.0.0 (rolled back) and goes ahead; before it
    moves current, another run promotes 1.2.0. The compare-and-swap sees 1.2.0 and refuses:
    current stays at 1.2.0, whose promotion is not lost."""
    store = open_store(store_url, env=seaweed.env(), cwd=tmp_path)
    for version in ("1.0.0", "1.1.0"):
        promote(store, "api", "latest", version, who="t", when="2025-01-01T00:00:00Z")
    from goci.release import promote as core
    from goci.release.rollback import rollback
    from goci.release.upload import clean_leftovers as real_clean

    rollback(store, "api", who="t", when="2025-01-01T00:00:01Z")
    landed: list[str] = []

    def another_run_lands_first(*args: object, **kwargs: object) -> tuple[str, ...]:
        if not landed:  # the other run: its own store, its own promotion, whole
            landed.append("1.2.0")
            other = open_store(store_url, env=seaweed.env(), cwd=tmp_path)
            assert promote(other, "api", "latest", "1.2.0", who="o", when="x").version == "1.2.0"
        return real_clean(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(core, "clean_leftovers", another_run_lands_first)
    with pytest.raises(VerdictError, match=r"moved on to the newer 1\.2\.0"):
        promote(store, "api", "latest", "1.1.0", who="t", when="2025-01-01T00:00:02Z")
    pointer = read_pointer(store, "api")
    assert landed == ["1.2.0"]
    assert pointer is not None
    assert (pointer.version, pointer.history, pointer.updated_by) == ("1.2.0", ("1.0.0",), "o")


@pytest.mark.parametrize("damage", ["changed", "missing"])
def test_a_rollback_to_a_version_whose_objects_changed_is_refused(
    damage: str,
    store_url: str,
    seaweed: Seaweed,
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
    tmp_path: Path,
) -> None:
    """A rollback puts the version before into production without review: its objects are
    read back against its manifest first, and a changed or missing one stops it."""
    env = seaweed.env(go_env)
    promote_versions(goci, store_url, "1.0.0", "1.1.0", env=env, cwd=tmp_path)
    before = get(seaweed, store_url, "prod/api/current")
    key = f"{store_url.split('/', 3)[3]}/prod/api-v1.0.0/linux-amd64/api"
    client = seaweed.client()
    if damage == "changed":
        head = client.head_object(Bucket=BUCKET, Key=key)
        client.put_object(Bucket=BUCKET, Key=key, Body=b"not it", Metadata=head["Metadata"])
    else:
        client.delete_object(Bucket=BUCKET, Key=key)

    run = goci("promote", "--store", store_url, "--service", "api", "--rollback",
               env=env, cwd=tmp_path)  # fmt: skip
    assert run.code == 1, run.stderr
    assert "rollback stopped before writing anything" in run.stderr
    assert "prod/api-v1.0.0/linux-amd64/api" in run.stderr
    assert get(seaweed, store_url, "prod/api/current") == before


def test_versions_rank_as_semver_ranks_them() -> None:
    from goci.release.names import precedence

    ranked = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.2.0",
        "1.10.0",
        "2.0.0",
    ]
    shuffled = ranked[1::2] + ranked[::2]  # neither order kept
    assert sorted(shuffled, key=precedence) == ranked
    assert precedence("1.0.0+build.7") == precedence("1.0.0") == precedence("v1.0.0")
