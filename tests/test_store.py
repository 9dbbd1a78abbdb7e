"""The Store contract, run against both stores: a folder, and a real SeaweedFS S3 server."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from goci.errors import InputError, ToolError
from goci.stores import ConflictError, Store, Tuning, open_store
from goci.stores.s3store import S3Store, expected_etag, retrying
from support.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY, Seaweed

PART = 5 * 1024 * 1024


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    tuning = Tuning(part_size=PART, multipart_threshold=PART, workers=4, attempts=2, backoff=0.05)
    if request.param == "file":
        return open_store("file://store", env={}, cwd=tmp_path, tuning=tuning)
    seaweed: Seaweed = request.getfixturevalue("seaweed")
    prefix = f"contract/{uuid.uuid4().hex[:8]}"
    return open_store(
        f"s3://{BUCKET}/{prefix}",
        endpoint_url=seaweed.endpoint,
        env=seaweed.env(),
        cwd=tmp_path,
        tuning=tuning,
    )


def test_put_file_small_and_multipart_then_read_back(store, tmp_path):
    small = tmp_path / "small"
    small.write_bytes(b"hello goci\n")
    big = tmp_path / "big"
    big.write_bytes(bytes(range(256)) * (PART // 256 * 2 + 77))  # 2 full parts and a tail
    from goci.checksums import sha256_file

    parts: list[tuple[str, int]] = []
    for name, path in (("small", small), ("big", big)):
        store.put_file(
            f"rel/{name}", path, sha256_file(path), on_progress=lambda k, n: parts.append((k, n))
        )
    assert store.hash("rel/small") == (small.stat().st_size, sha256_file(small))
    assert store.hash("rel/big") == (big.stat().st_size, sha256_file(big))
    assert store.has_file("rel/big", big, sha256_file(big))
    assert not store.has_file("rel/big", small, sha256_file(small))
    assert sorted(n for k, n in parts if k == "rel/big") == (
        [1, 2, 3] if isinstance(store, S3Store) else [1]
    )
    assert store.list_keys("rel/") == ["rel/big", "rel/small"]
    info = store.stat("rel/small")
    assert info is not None and info.sha256 == sha256_file(small)
    store.copy("rel/small", "copy/small", sha256_file(small))
    assert store.read("copy/small")[0] == b"hello goci\n"
    store.delete(["rel/small", "copy/small"])
    assert store.read("rel/small") is None
    assert store.stat("copy/small") is None
    assert store.hash("nothing/here") is None


def test_put_file_refuses_wrong_hash(store, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"content")
    with pytest.raises(ToolError, match="does not match"):
        store.put_file("x/f", path, "0" * 64)


def test_conditional_writes(store):
    etag = store.put_bytes("ptr/current", b"one", if_absent=True)
    with pytest.raises(ConflictError):
        store.put_bytes("ptr/current", b"two", if_absent=True)
    data, current = store.read("ptr/current")
    assert data == b"one"
    assert current.strip('"') == etag.strip('"')
    store.put_bytes("ptr/current", b"two", if_match=current)
    with pytest.raises(ConflictError):
        store.put_bytes("ptr/current", b"three", if_match=current)  # stale ETag
    assert store.read("ptr/current")[0] == b"two"


def test_keys_may_not_escape(store):
    for key in ("../x", "a/../b", "/abs", "a//b"):
        with pytest.raises(InputError):
            store.read(key)


def test_multipart_etag_is_what_seaweedfs_reports(seaweed, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * (PART + 10))
    client = seaweed.client()
    key = f"etag/{uuid.uuid4().hex}"
    client.upload_file(
        str(path), BUCKET, key,
        Config=__import__("boto3").s3.transfer.TransferConfig(
            multipart_threshold=PART, multipart_chunksize=PART
        ),
    )  # fmt: skip
    assert client.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"') == expected_etag(
        path, PART
    )


def test_wrong_secret_is_refused_without_showing_it(seaweed, tmp_path):
    env = {**seaweed.env(), "AWS_SECRET_ACCESS_KEY": "not-the-secret-xyz"}
    store = open_store(f"s3://{BUCKET}/x", env=env, cwd=tmp_path, tuning=Tuning(attempts=1))
    with pytest.raises(ToolError) as caught:
        store.read("anything")
    assert "refused the credentials" in str(caught.value)
    assert "not-the-secret-xyz" not in str(caught.value)
    assert SECRET_KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "env", "needle"),
    [
        ("ftp://host/dir", {}, "file://DIR or s3://bucket/prefix"),
        ("s4://bucket/x", {}, "did you mean 's3'"),
        ("nothing", {}, "file://DIR or s3://bucket/prefix"),
        ("s3://B_ad/x", {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}, "bucket"),
        ("s3://bucket/../x", {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}, "safe"),
        ("s3://bucket/x", {}, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        ("s3://bucket/x", {"AWS_ACCESS_KEY_ID": ACCESS_KEY}, "AWS_SECRET_ACCESS_KEY is not set"),
    ],
)
def test_open_store_bad_input(url, env, needle, tmp_path):
    with pytest.raises(InputError) as caught:
        open_store(url, env=env, cwd=tmp_path)
    assert needle in str(caught.value)


def test_retrying_backs_off_on_transient_errors_only():
    waits: list[float] = []
    calls = iter([OSError("flaky"), OSError("flaky"), "done"])

    def action() -> str:
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return value

    assert (
        retrying(action, attempts=3, backoff=1.0, transient=lambda e: True, sleep=waits.append)
        == "done"
    )
    assert len(waits) == 2 and waits[1] > waits[0] * 1.0  # exponential (with jitter in [0.5, 1])
    with pytest.raises(ValueError):
        retrying(
            lambda: (_ for _ in ()).throw(ValueError("no")),
            attempts=5,
            backoff=1,
            transient=lambda e: False,
            sleep=waits.append,
        )
    assert len(waits) == 2
    with pytest.raises(OSError):
        retrying(
            lambda: (_ for _ in ()).throw(OSError("down")),
            attempts=3,
            backoff=1,
            transient=lambda e: True,
            sleep=waits.append,
        )
    assert len(waits) == 4
