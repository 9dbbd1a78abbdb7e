"""A promotion stopped by a dev release rewritten under it hands the version back.

It claims the prod version before its first copy; when a dev object is no longer the one it
verified, it stops. It used to leave its claim and copies behind and say "run the promotion
again", which the claim then refused for good (the dev release now has other files). Now it
removes what it wrote, copies first and then its claim (only while the claim is its own), and
says what happened and what to do. Each case runs the reviewer's scenario: the dev release is
rebuilt and uploaded again, under the same name, between two of the promotion's copies.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from goci.errors import VerdictError
from goci.release.claim import Claim, claim_version
from goci.release.local import LocalRelease
from goci.release.names import parse_release
from goci.release.pointer import read_pointer
from goci.release.promote import promote
from goci.release.stores import Store, open_store
from goci.release.upload import upload_all, upload_release
from support import releases
from support.seaweed import BUCKET, Seaweed

STAMP = "20260101120000"
DEV = f"dev/api-{STAMP}"
PROD = "prod/api-v3.0.0"


class RebuiltDuringCopies:
    """The real store, except that ``during`` runs once, just before the second copy."""

    def __init__(self, store: Store, during: Callable[[], object]) -> None:
        self.store, self.during, self.copies = store, during, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def copy(self, src: str, dst: str, sha256: str, **condition: str | None) -> None:
        self.copies += 1
        if self.copies == 2:
            self.during()
        self.store.copy(src, dst, sha256, **condition)


def setup(kind: str, tmp_path: Path, seaweed: Seaweed) -> tuple[Store, LocalRelease, LocalRelease]:
    """A store holding the approved dev build, and the rebuild that will replace it."""
    approved = releases.packed(tmp_path / "approved", "api", b"approved", "dev", STAMP)
    rebuilt = releases.packed(tmp_path / "rebuilt", "api", b"rebuilt", "dev", STAMP)
    if kind == "file":
        store = open_store(f"file://{tmp_path / 'store'}", env={}, cwd=tmp_path)
    else:
        url = f"s3://{BUCKET}/give-up-{uuid.uuid4().hex[:10]}"
        store = open_store(url, env=seaweed.env(), cwd=tmp_path)
    upload_all(store, [approved])
    return store, approved, rebuilt


def promote_during(store: Store, during: Callable[[], object], digest: str) -> str:
    """Promote DEV to 3.0.0 (one copy at a time) with ``during`` before the second copy; the
    refusal's text."""
    hooked = RebuiltDuringCopies(store, during)
    with pytest.raises(VerdictError) as refused:
        promote(hooked, "api", DEV, "3.0.0", who="t", when="now", workers=1,
                approved_sha256sums=digest)  # fmt: skip
    assert hooked.copies == 2
    return str(refused.value)


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_a_promotion_stopped_by_a_rebuild_frees_the_version(
    kind: str, tmp_path: Path, seaweed: Seaweed
) -> None:
    store, approved, rebuilt = setup(kind, tmp_path, seaweed)
    digest = approved.manifest.sha256sums

    message = promote_during(store, lambda: upload_all(store, [rebuilt]), digest)
    assert f"{store.location(DEV)}/" in message
    assert "changed after it was verified: the dev release was rebuilt or rewritten" in message
    assert f"{store.location(PROD)} was not published" in message
    assert "removed the 1 object(s) it had copied and its claim" in message
    assert "have it approved again), then promote again" in message
    assert store.list_keys("prod/") == []  # no claim, no copy: the version is free
    releases.assert_complete(store, DEV, releases.local_files(rebuilt))

    # The approval pinned the old content: still refused, still nothing written.
    with pytest.raises(VerdictError, match="changed after it was approved"):
        promote(store, "api", DEV, "3.0.0", who="t", when="now", approved_sha256sums=digest)
    assert store.list_keys("prod/") == []
    # Approved again as it is now, the same version promotes.
    done = promote(store, "api", DEV, "3.0.0", who="t", when="now",
                   approved_sha256sums=rebuilt.manifest.sha256sums)  # fmt: skip
    assert (done.version, done.copied) == ("3.0.0", 3)
    releases.assert_complete(store, PROD, releases.local_files(rebuilt))
    pointer = read_pointer(store, "api")
    assert pointer is not None and pointer.release == PROD


def test_a_claim_that_is_no_longer_its_own_is_kept(tmp_path: Path, seaweed: Seaweed) -> None:
    """Meanwhile the claim was removed by hand and the version claimed by a tag publish of
    other files: the promotion removes its own copy and leaves that claim alone."""
    store, approved, rebuilt = setup("file", tmp_path, seaweed)
    theirs = Claim(PROD, "f" * 64, "c0ffee", "tag publish", "then")

    def during() -> None:
        upload_all(store, [rebuilt])
        store.delete([f"{PROD}/claim.json"])
        assert claim_version(store, parse_release(PROD), theirs)

    message = promote_during(store, during, approved.manifest.sha256sums)
    assert "removed the 1 object(s) it had copied" in message
    assert f"{PROD}/claim.json is no longer its claim and is kept" in message
    assert store.list_keys("prod/") == [f"{PROD}/claim.json"]
    found = store.read(f"{PROD}/claim.json")
    assert found is not None and Claim.from_json(found[0], "claim") == theirs


def test_a_version_completed_meanwhile_with_the_same_files_is_kept(
    tmp_path: Path, seaweed: Seaweed
) -> None:
    """A tag publish of the approved bytes resumed the promotion's claim and completed the
    version before the rebuild stopped the promotion: nothing of it is removed."""
    store, approved, rebuilt = setup("file", tmp_path, seaweed)
    tag = releases.packed(tmp_path / "tag", "api", b"approved", "prod", "3.0.0")
    assert tag.manifest.sha256sums == approved.manifest.sha256sums

    def during() -> None:
        assert upload_release(store, tag).status == "uploaded"
        upload_all(store, [rebuilt])

    message = promote_during(store, during, approved.manifest.sha256sums)
    assert "was completed meanwhile by a publish of the same files; it is kept" in message
    releases.assert_complete(store, PROD, releases.local_files(approved))


def test_a_claim_made_before_the_promotion_is_not_its_to_remove(
    tmp_path: Path, seaweed: Seaweed
) -> None:
    """A killed earlier run of the same promotion left its claim: this run resumes it, and
    when the rebuild stops it, the claim stays and the refusal says whose it is."""
    store, approved, rebuilt = setup("file", tmp_path, seaweed)
    earlier = Claim(PROD, approved.manifest.sha256sums, approved.manifest.commit, "run 1", "t0")
    assert claim_version(store, parse_release(PROD), earlier)
    message = promote_during(
        store, lambda: upload_all(store, [rebuilt]), approved.manifest.sha256sums
    )
    assert "its claim was made before this promotion" in message
    first = approved.manifest.files[0].path
    assert store.list_keys("prod/") == [f"{PROD}/claim.json", f"{PROD}/{first}"]
