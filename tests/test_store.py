"""The Store contract, run against both stores: a folder, and a real SeaweedFS S3 server."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from goci.errors import InputError, ToolError
from goci.release.stores import ConflictError, Store, Tuning, open_store
from goci.release.stores.filestore import FileStore
from goci.release.stores.s3client import expected_etag, retrying
from goci.release.stores.s3store import S3Store
from goci.tools.atomic import mkstemp_owned, temp_token
from goci.tools.owner import Owner, abandoned, register_live, unregister_live
from support.releases import open_pipe_to
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


def read_body(store: Store, key: str) -> bytes:
    """The bytes stored at ``key``, which the test wrote there."""
    found = store.read(key)
    assert found is not None
    return found[0]


def test_put_file_small_and_multipart_then_read_back(store: Store, tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.write_bytes(b"hello goci\n")
    big = tmp_path / "big"
    big.write_bytes(bytes(range(256)) * (PART // 256 * 2 + 77))  # 2 full parts and a tail
    from goci.tools.hashing import sha256_file

    parts: list[tuple[str, int]] = []
    for name, path in (("small", small), ("big", big)):
        store.put_file(
            f"rel/{name}", path, sha256_file(path), on_progress=lambda k, n: parts.append((k, n))
        )
    for key, path in (("rel/small", small), ("rel/big", big)):
        info = store.hash(key)
        assert info is not None
        assert (info.size, info.sha256) == (path.stat().st_size, sha256_file(path))
    assert store.has_file("rel/big", big, sha256_file(big))
    assert not store.has_file("rel/big", small, sha256_file(small))
    assert sorted(n for k, n in parts if k == "rel/big") == (
        [1, 2, 3] if isinstance(store, S3Store) else [1]
    )
    assert store.list_keys("rel/") == ["rel/big", "rel/small"]
    info = store.stat("rel/small")
    assert info is not None and info.sha256 == sha256_file(small)
    hashed = store.hash("rel/small")
    assert hashed is not None
    store.copy("rel/small", "copy/small", sha256_file(small), if_match=hashed.etag)
    assert read_body(store, "copy/small") == b"hello goci\n"
    store.delete(["rel/small", "copy/small"])
    assert store.read("rel/small") is None
    assert store.stat("copy/small") is None
    assert store.hash("nothing/here") is None


def test_put_file_refuses_wrong_hash(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"content")
    with pytest.raises(ToolError, match="does not match"):
        store.put_file("x/f", path, "0" * 64)


def test_conditional_writes(store: Store) -> None:
    etag = store.put_bytes("ptr/current", b"one", if_absent=True)
    with pytest.raises(ConflictError):
        store.put_bytes("ptr/current", b"two", if_absent=True)
    found = store.read("ptr/current")
    assert found is not None
    data, current = found
    assert data == b"one"
    assert current.strip('"') == etag.strip('"')
    store.put_bytes("ptr/current", b"two", if_match=current)
    with pytest.raises(ConflictError):
        store.put_bytes("ptr/current", b"three", if_match=current)  # stale ETag
    assert read_body(store, "ptr/current") == b"two"


def test_copy_refuses_a_wrong_hash_and_leaves_no_copy(store: Store) -> None:
    store.put_bytes("dev/x/f", b"the verified bytes")
    with pytest.raises(ToolError, match="SHA-256"):
        store.copy("dev/x/f", "prod/x/f", "0" * 64)
    assert store.read("prod/x/f") is None
    assert store.list_keys("prod/") == []


def test_copy_refuses_a_source_swapped_after_verification(store: Store) -> None:
    """The ETag seen when the bytes were hashed is the only source a copy may take."""
    store.put_bytes("dev/x/f", b"the verified bytes")
    verified = store.hash("dev/x/f")
    assert verified is not None
    # Swapped behind goci's back, with the same length and the old SHA-256 claimed.
    store.put_bytes("dev/x/f", b"the tampered bytes")
    with pytest.raises(ConflictError):
        store.copy("dev/x/f", "prod/x/f", verified.sha256, if_match=verified.etag)
    assert store.read("prod/x/f") is None


def test_keys_may_not_escape(store: Store) -> None:
    for key in ("../x", "a/../b", "/abs", "a//b", "a\\..\\..\\x", "C:/x", "dev/C:x", "a/\x00b"):
        with pytest.raises(InputError):
            store.read(key)


def test_multipart_etag_is_what_seaweedfs_reports(seaweed: Seaweed, tmp_path: Path) -> None:
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


def test_wrong_secret_is_refused_without_showing_it(seaweed: Seaweed, tmp_path: Path) -> None:
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
        ("s3://k:pw-in-url-123@bucket/x", {}, "never go in the URL"),
        (
            "s3://bucket/x",
            {
                "AWS_ENDPOINT_URL_S3": "http://k:pw-in-url-123@127.0.0.1:9000",
                "AWS_ACCESS_KEY_ID": "a",
                "AWS_SECRET_ACCESS_KEY": "b",
            },
            "never go in the URL",
        ),
    ],
)
def test_open_store_bad_input(url: str, env: dict[str, str], needle: str, tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        open_store(url, env=env, cwd=tmp_path)
    assert needle in str(caught.value)
    assert "pw-in-url-123" not in str(caught.value)


def test_retrying_backs_off_on_transient_errors_only() -> None:
    waits: list[float] = []
    calls: Iterator[OSError | str] = iter([OSError("flaky"), OSError("flaky"), "done"])

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


# --- leftovers of killed writers: removed at once when the writer is provably gone -------

WRITER = """
import os, signal, sys
from pathlib import Path
from goci.release.stores import Tuning, open_store
url, src, dst, digest, mode = sys.argv[1:6]
store = open_store(url, env=dict(os.environ), cwd=Path.cwd(),
                   tuning=Tuning(part_size=5 << 20, multipart_threshold=5 << 20, workers=1))
def progress(key, number):
    if number != 1:
        return
    if mode == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    print("part", flush=True)
    sys.stdin.readline()
if url.startswith("file:"):
    store.copy(src, dst, digest)  # src is a FIFO: the copy waits for its bytes
else:
    store.put_file(dst, Path(src), digest, on_progress=progress)
print("done", flush=True)
"""


def writer(
    url: str, src: str, dst: str, digest: str, mode: str, env: dict[str, str], cwd: Path
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, url, src, dst, digest, mode],
        env={**os.environ, **env},
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("mode", ["die", "live"])
def test_file_store_removes_a_killed_writers_temp_file_and_keeps_a_live_one(
    mode: str, tmp_path: Path
) -> None:
    store = open_store("file://store", env={}, cwd=tmp_path)
    data = b"bytes that arrive through a pipe\n"
    fifo = tmp_path / "store" / "src" / "pipe"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    proc = writer(
        store.url, "src/pipe", "rel/x/f", hashlib.sha256(data).hexdigest(), "", {}, tmp_path
    )
    with open_pipe_to(fifo, proc) as pipe:
        temps = [p.name for p in (tmp_path / "store/rel/x").iterdir()]
        assert len(temps) == 1 and temps[0].endswith(".tmp")
        if mode == "die":
            proc.kill()
            proc.communicate()
            cleaned = store.clean_leftovers("rel/", stale_after=3600)
            gone = f"its writer (process {proc.pid} on this machine) is gone"
            assert cleaned == [f"removed rel/x/{temps[0]} ({gone})"]
            assert list((tmp_path / "store/rel/x").iterdir()) == []
            return
        assert store.clean_leftovers("rel/", stale_after=3600) == []
        pipe.write(data)
    assert proc.communicate(timeout=60)[0].strip() == "done"
    assert read_body(store, "rel/x/f") == data
    assert [p.name for p in (tmp_path / "store/rel/x").iterdir()] == ["f"]


def test_this_process_keeps_its_live_temp_file_under_any_spelling_of_the_folder(
    tmp_path: Path,
) -> None:
    """A writer and a cleaner in one process (threads of one job) that name the store folder
    differently: the live file stays; once its writer is done with it, it goes."""
    (tmp_path / "real/rel/x").mkdir(parents=True)
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    cleaner = FileStore(tmp_path / "alias")
    fd, tmp = mkstemp_owned(tmp_path / "real/rel/x/f")
    os.close(fd)
    try:
        assert cleaner.clean_leftovers("rel/", stale_after=3600) == []
    finally:
        unregister_live(temp_token(tmp))
    name = Path(tmp).name
    assert cleaner.clean_leftovers("rel/", stale_after=3600) == [
        f"removed rel/x/{name} (left by an earlier run in this process)"
    ]


def uploads(seaweed: Seaweed, prefix: str) -> list[str]:
    listing = seaweed.client().list_multipart_uploads(Bucket=BUCKET, Prefix=prefix)
    return [u["Key"] for u in listing.get("Uploads", [])]


@pytest.mark.parametrize("mode", ["die", "live"])
def test_s3_aborts_a_killed_writers_upload_and_keeps_a_live_one(
    mode: str, seaweed: Seaweed, tmp_path: Path
) -> None:
    prefix = f"left-{uuid.uuid4().hex[:8]}"
    url = f"s3://{BUCKET}/{prefix}"
    big = tmp_path / "big"
    big.write_bytes(os.urandom(2 * PART + 11))
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    proc = writer(url, str(big), "rel/x/big", digest, mode, seaweed.env(), tmp_path)
    if mode == "die":
        proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "part"
    assert uploads(seaweed, prefix + "/") == [f"{prefix}/rel/x/big"]
    store = open_store(url, env=seaweed.env(), cwd=tmp_path)
    cleaned = store.clean_leftovers("rel/", stale_after=3600)
    if mode == "die":
        assert cleaned == [
            "aborted the unfinished upload of rel/x/big "
            f"(its writer (process {proc.pid} on this machine) is gone)"
        ]
        assert uploads(seaweed, prefix + "/") == []
        assert store.list_keys("rel/") == []  # its marker went with it
        return
    assert cleaned == []
    out, _ = proc.communicate("go on\n", timeout=60)
    assert out.strip() == "done"
    info = store.hash("rel/x/big")
    assert info is not None and info.sha256 == digest
    assert uploads(seaweed, prefix + "/") == []
    assert store.list_keys("rel/") == ["rel/x/big"]


def test_abandoned_needs_proof_of_death_or_long_idleness() -> None:
    me = Owner("aaaaaaaa", os.getpid(), "acme/shop/7/publish", 2)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    gone = int(dead.stdout)
    register_live("live-token")
    try:
        cases = {
            "this process, still writing": (Owner("aaaaaaaa", me.pid), "live-token", 9e9),
            "this process, done with it": (Owner("aaaaaaaa", me.pid), "old-token", 0),
            "a gone process here": (Owner("aaaaaaaa", gone), "t", 0),
            "a live process here": (Owner("aaaaaaaa", os.getppid()), "t", 0),
            "another machine, fresh": (Owner("bbbbbbbb", 1), "t", 60),
            "another machine, idle": (Owner("bbbbbbbb", 1), "t", 7200),
            "unknown writer, fresh": (None, "t", 60),
            "earlier attempt of this job": (Owner("bbbbbbbb", 1, me.job, 1), "t", 0),
            "same attempt of this job": (Owner("bbbbbbbb", 1, me.job, 2), "t", 0),
            "another job's attempt": (Owner("bbbbbbbb", 1, "acme/shop/8/publish", 1), "t", 0),
        }
        verdicts = {
            name: abandoned(owner, token, idle, 3600, me)
            for name, (owner, token, idle) in cases.items()
        }
    finally:
        unregister_live("live-token")
    assert {name for name, reason in verdicts.items() if reason} == {
        "this process, done with it",
        "a gone process here",
        "another machine, idle",
        "earlier attempt of this job",
    }


def test_listing_with_sizes_times_and_touch(store: Store) -> None:
    """What the shared build cache asks of a store: sizes and times without reading objects."""
    store.put_bytes("cache/a/1", b"one")
    store.put_bytes("cache/b/2", b"second")
    store.put_bytes("other/3", b"x")
    listed = store.list_objects("cache/")
    assert [(item.key, item.size) for item in listed] == [("cache/a/1", 3), ("cache/b/2", 6)]
    modified = store.last_modified("cache/a/1")
    assert modified is not None and abs(modified - listed[0].modified) <= 1.0
    assert store.last_modified("cache/absent") is None
    assert store.touch("cache/absent") is False
    assert store.touch("cache/a/1") is True
    touched = store.last_modified("cache/a/1")
    assert touched is not None and touched >= modified
    assert read_body(store, "cache/a/1") == b"one"
    assert store.list_keys("cache/") == ["cache/a/1", "cache/b/2"]


def test_file_store_touch_moves_an_old_time_to_now(tmp_path: Path) -> None:
    store = open_store("file://store", env={}, cwd=tmp_path)
    store.put_bytes("cache/old", b"old")
    os.utime(tmp_path / "store" / "cache" / "old", (1_000_000, 1_000_000))
    assert store.last_modified("cache/old") == 1_000_000
    before = time.time()
    assert store.touch("cache/old")
    touched = store.last_modified("cache/old")
    assert touched is not None and touched >= before - 1
