"""Upload against writers it did not expect: a rebuild that takes the name mid-repair, a late
write onto the winner's objects, a release folder changed or moved after it was read."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from goci.errors import InputError, ToolError, VerdictError
from goci.release import upload
from goci.release.claim import take_over
from goci.release.local import LocalRelease, load_release
from goci.release.names import parse_release
from goci.release.stores import Store, Tuning, open_store
from goci.release.upload import upload_release
from goci.tools.hashing import sha256_bytes
from support import releases
from support.goci_run import GociRun
from support.seaweed import BUCKET, Seaweed

NAME = "dev/api-20250101000000"


class Hooked:
    """A store that runs ``hook`` once, just before the first call of ``method`` that
    ``when`` accepts (the moment another writer gets in), and is the real store otherwise."""

    def __init__(self, store: Store, method: str, hook: Any, when: Any = None) -> None:
        self._store, self._method, self._hook = store, method, hook
        self._when = when or (lambda *_args: True)

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._store, name)
        if name != self._method:
            return real

        def hooked(*args: Any, **kwargs: Any) -> Any:
            if self._hook is not None and self._when(*args):
                hook, self._hook = self._hook, None
                hook(*args)
            return real(*args, **kwargs)

        return hooked


def two_builds(tmp_path: Path) -> tuple[LocalRelease, LocalRelease, Store]:
    """Two dev builds of one name with other bytes, and a file store holding the first whole."""
    first = releases.packed(tmp_path / "first", "api", b"first build", "dev", NAME[-14:])
    second = releases.packed(tmp_path / "second", "api", b"second build", "dev", NAME[-14:])
    store = open_store(f"file://{tmp_path / 'store'}", env={}, cwd=tmp_path)
    assert upload_release(store, first).status == "uploaded"
    return first, second, store


def snapshot(store: Store) -> dict[str, str | None]:
    return {k: releases.stored_sha256(store, k) for k in store.list_keys("dev/")}


def test_a_repair_stops_when_a_rebuild_takes_the_name_first(tmp_path: Path) -> None:
    """The first build's rerun finds an object missing and would repair it; a rebuild with
    other bytes publishes meanwhile. The repair writes nothing: before, it put the first
    build's objects back under the rebuild's manifest."""
    first, second, store = two_builds(tmp_path)
    store.delete([f"{NAME}/linux-amd64/api"])

    def rebuild(*_args: object) -> None:
        assert upload_release(store, second).status == "uploaded"

    with pytest.raises(VerdictError, match="with different files"):
        upload_release(Hooked(store, "has_file", rebuild), first)
    releases.assert_complete(store, NAME, releases.local_files(second))


def test_a_rebuild_waits_out_a_repair_that_holds_the_name(tmp_path: Path) -> None:
    """A repair hides the release and writes under its own claim: a rebuild starting while it
    writes is refused untouched, and the repaired release is whole."""
    first, second, store = two_builds(tmp_path)
    store.delete([f"{NAME}/linux-amd64/api"])
    refusals: list[str] = []

    def rebuild(*_args: object) -> None:
        before = snapshot(store)
        with pytest.raises(VerdictError) as refused:
            upload_release(store, second)
        refusals.append(str(refused.value))
        assert snapshot(store) == before

    done = upload_release(Hooked(store, "put_file", rebuild), first)
    assert done.status == "repaired"
    assert len(refusals) == 1 and "is not complete" in refusals[0], refusals
    releases.assert_complete(store, NAME, releases.local_files(first))


def test_a_late_write_onto_the_winners_objects_stops_its_manifest(tmp_path: Path) -> None:
    """A losing writer's put already under way lands on an object of the rebuild after the
    rebuild sent it: the rebuild publishes no manifest over bytes that are not its own."""
    _first, second, store = two_builds(tmp_path)
    key = f"{NAME}/linux-arm64/api"

    def late_write(*_args: object) -> None:
        store.put_bytes(key, b"first build linux-arm64, written late")

    def before_the_manifest(wanted: str) -> bool:  # the claim read after every object is sent
        sent = releases.local_files(second)["linux-arm64/api"]
        return wanted.endswith("/claim.json") and releases.stored_sha256(store, key) == sent

    hooked = Hooked(store, "read", late_write, before_the_manifest)
    with pytest.raises(VerdictError, match="objects changed while this upload ran"):
        upload_release(hooked, second)
    assert store.read(f"{NAME}/manifest.json") is None


def test_the_manifest_sent_is_the_one_checked(tmp_path: Path) -> None:
    """The manifest is changed on disk after the release was read and checked: upload sends
    the checked bytes (before, it read the file again and published whatever it held)."""
    release = releases.packed(tmp_path / "ws", "api", b"api build")
    path = release.path / "manifest.json"
    tampered = json.loads(path.read_text())
    tampered["commit"] = "0" * 40
    path.write_text(json.dumps(tampered))
    store = open_store(f"file://{tmp_path / 'store'}", env={}, cwd=tmp_path)
    upload_release(store, release)
    assert store.read("prod/api-v1.0.0/manifest.json") == (
        release.manifest_bytes,
        sha256_bytes(release.manifest_bytes),
    )
    assert json.loads(release.manifest_bytes)["commit"] != "0" * 40


def test_a_release_folder_moved_after_pack_is_refused(tmp_path: Path) -> None:
    """A dev release moved to dist/prod/web-v9.0.0 must not publish as that prod version."""
    release = releases.packed(tmp_path / "ws", "api", b"api build", "dev", NAME[-14:])
    dist = release.path.parents[1]
    moved = dist / "prod" / "web-v9.0.0"
    moved.parent.mkdir()
    shutil.move(release.path, moved)
    with pytest.raises(VerdictError) as refused:
        load_release(dist, parse_release("prod/web-v9.0.0", "test"))
    assert str(refused.value) == (
        f"{moved}: its manifest.json is of {NAME}, not prod/web-v9.0.0; a release folder "
        "moved or renamed after pack would publish under the wrong name (re-run pack)"
    )


def test_a_sums_file_that_is_not_text_is_bad_input(
    tmp_path: Path, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    release = releases.packed(tmp_path / "ws", "api", b"api build")
    (release.path / "SHA256SUMS").write_bytes(b"\xff\xfe not utf-8\n")
    with pytest.raises(InputError, match="a SHA256SUMS as pack writes it"):
        load_release(release.path.parents[1], release.name)
    run = goci("artifact", "upload", "--store", "file://out", env=go_env, cwd=tmp_path / "ws")
    assert run.code == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "ws" / "out").exists()


def test_pruning_leaves_keys_it_cannot_address_and_says_so(
    seaweed: Seaweed, tmp_path: Path
) -> None:
    """Objects another tool wrote (``C:x`` in a key: valid in S3, a drive on Windows), one
    under an old dev release and an unfinished upload under the new one: the publish prunes
    and cleans the rest and names what it left, instead of failing once the release is
    complete."""
    url = f"s3://{BUCKET}/t-{uuid.uuid4().hex[:10]}"
    store = open_store(url, env=seaweed.env(), cwd=tmp_path)
    old = releases.packed(tmp_path / "old", "api", b"old", "dev", "20250101000000")
    new = releases.packed(tmp_path / "new", "api", b"new", "dev", "20250102000000")
    upload_release(store, old)
    odd = "dev/api-20250101000000/C:x"
    root = url.split("/", 3)[3]
    seaweed.client().put_object(Bucket=BUCKET, Key=f"{root}/{odd}", Body=b"x")
    unfinished = "dev/api-20250102000000/C:y"
    seaweed.client().create_multipart_upload(Bucket=BUCKET, Key=f"{root}/{unfinished}")
    done = upload_release(store, new, keep=1, stale_after=0)
    assert done.cleaned == (
        f"left the unfinished upload of {unfinished!r} (not a key goci writes)",
    )
    assert done.pruned == (
        f"dev/api-20250101000000 (left 1 object(s) with unsafe keys, remove by hand: {[odd]!r})",
    )
    assert [k for k in store.list_keys("dev/") if k.startswith("dev/api-20250101")] == [odd]
    releases.assert_complete(store, "dev/api-20250102000000", releases.local_files(new))


def test_a_sums_file_changed_after_pack_never_replaces_a_stored_one(tmp_path: Path) -> None:
    """A rerun of a complete prod publish with SHA256SUMS changed on disk: refused when read
    (CRLF line ends, which reading as text hid), refused after it was read, and the store's
    own put never renames wrong bytes into place, even for a moment."""
    release = releases.packed(tmp_path / "ws", "api", b"api build")
    store = open_store(f"file://{tmp_path / 'store'}", env={}, cwd=tmp_path)
    upload_release(store, release)
    key = "prod/api-v1.0.0/SHA256SUMS"
    sums = release.path / "SHA256SUMS"
    original = sums.read_bytes()
    sums.write_bytes(original.replace(b"\n", b"\r\n"))
    with pytest.raises(VerdictError, match=r"SHA256SUMS and manifest\.json disagree"):
        load_release(release.path.parents[1], release.name)
    sums.write_bytes(original)
    loaded = load_release(release.path.parents[1], release.name)
    store.delete(["prod/api-v1.0.0/linux-amd64/api"])  # a repair is due
    before = snapshot_all(store)
    sums.write_bytes(original + b"# changed\n")
    with pytest.raises(VerdictError, match="SHA256SUMS changed after pack"):
        upload_release(store, loaded)
    assert snapshot_all(store) == before
    with pytest.raises(ToolError, match=f"does not match its SHA-256 .*; {key} was not written"):
        store.put_file(key, sums, loaded.manifest.sha256sums)
    assert snapshot_all(store) == before


def snapshot_all(store: Store) -> dict[str, str | None]:
    return {k: releases.stored_sha256(store, k) for k in store.list_keys("")}


def test_a_rebuild_that_lost_the_name_hides_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Z read X's manifest and goes to take the name over; Y takes it first and publishes.
    Z stops without removing Y's manifest (before, it hid Y's complete release, then stopped:
    Y's job was green, so nobody would rerun it)."""
    _first, y, store = two_builds(tmp_path)
    z = releases.packed(tmp_path / "third", "api", b"third build", "dev", NAME[-14:])
    real = take_over  # what upload calls

    def y_first(*args: Any) -> bool:
        monkeypatch.setattr(upload, "take_over", real)
        assert upload_release(store, y).status == "uploaded"
        return real(*args)

    monkeypatch.setattr(upload, "take_over", y_first)
    with pytest.raises(VerdictError, match="already published with different files"):
        upload_release(store, z)
    releases.assert_complete(store, NAME, releases.local_files(y))


def test_our_bytes_under_another_etag_are_neither_rewritten_nor_hidden(
    seaweed: Seaweed, tmp_path: Path
) -> None:
    """S3: an object holding our bytes with an ETag this upload would not make (another part
    size wrote it; a server-side copy, as AWS makes it for promote, has a one-part ETag) is
    read back and kept: the rerun is 'unchanged', the dev release never hidden, prod untouched."""
    url = f"s3://{BUCKET}/t-{uuid.uuid4().hex[:10]}"
    mib = 1 << 20

    def tuned(part: int) -> Store:
        tuning = Tuning(part_size=part * mib, multipart_threshold=part * mib, workers=2)
        return open_store(url, env=seaweed.env(), cwd=tmp_path, tuning=tuning)

    payload = bytes(range(256)) * (7 * mib // 256)  # two parts of 5 MiB, one of 6 MiB
    dev = releases.packed(tmp_path / "dev", "api", payload, "dev", NAME[-14:])
    assert upload_release(tuned(5), dev).status == "uploaded"
    deletes: list[list[str]] = []
    other = tuned(6)
    watched = Hooked(other, "delete", lambda keys: deletes.append(keys))
    again = upload_release(watched, dev)
    assert (again.status, again.sent, deletes) == ("unchanged", 0, [])
    prod = releases.packed(tmp_path / "prod", "api", payload, "prod", "1.0.0")
    assert upload_release(tuned(5), prod).status == "uploaded"
    root = url.split("/", 3)[3]
    for target in ("linux-amd64", "linux-arm64"):  # as AWS's CopyObject leaves them
        key = f"{root}/prod/api-v1.0.0/{target}/api"
        got = seaweed.client().get_object(Bucket=BUCKET, Key=key)
        seaweed.client().put_object(
            Bucket=BUCKET, Key=key, Body=got["Body"].read(), Metadata=got["Metadata"]
        )
    before = {k: tuned(5).stat(k) for k in tuned(5).list_keys("prod/")}
    rerun = upload_release(tuned(5), prod)
    assert (rerun.status, rerun.sent) == ("unchanged", 0)
    assert {k: tuned(5).stat(k) for k in tuned(5).list_keys("prod/")} == before
