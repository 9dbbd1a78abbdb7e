"""One file on a GitHub release: sent, or proven to hold our bytes when the name is taken.

Two uploads of one name answer 422 to the second. What holds the name then is not always a
file yet: GitHub lists an asset whose upload is under way, or was cut off, in the state
``starter``, without size or digest, and leaves a cut-off one there for good. So an asset in
that state is watched until its upload ends (a rerun meeting the first run, two jobs of one
tag), and one still unfinished after :data:`STARTER_WAIT` is taken for what a killed upload
left behind: deleted, and ours sent in its place. Once uploaded, it is kept only if proven to
hold our bytes: by GitHub's ``digest``, or, on a GitHub Enterprise too old to give one, by
downloading and hashing it. Same size is not same bytes, and what cannot be checked is
refused, not trusted.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from github import GithubException, UnknownObjectException
from github.GitRelease import GitRelease
from github.GitReleaseAsset import GitReleaseAsset

from goci.errors import VerdictError
from goci.release.ghrelease import Asset
from goci.tools.hashing import Sha256, chunks

#: Seconds an unfinished upload of a name we need is waited for (at least one mebibyte a
#: second for the size of our file is added), and between two looks at it.
STARTER_WAIT = 120.0
STARTER_POLL = 2.0


@dataclass(frozen=True)
class GitHubTarget:
    """The GitHub release to fill: its tag, where, with what token, and the commit a missing
    tag would be created at ('' to leave it to GitHub)."""

    tag: str
    token: str
    repository: str
    api_url: str
    commit: str = ""


def already_exists(exc: GithubException) -> bool:
    """GitHub's 422 for a name taken: a release of the tag, or an asset of the release."""
    errors = exc.data.get("errors") if isinstance(exc.data, dict) else None
    return (
        exc.status == 422
        and isinstance(errors, list)
        and any(isinstance(e, dict) and e.get("code") == "already_exists" for e in errors)
    )


def _named(release: GitRelease, name: str) -> GitReleaseAsset | None:
    return next((a for a in release.get_assets() if a.name == name), None)


def settled(
    release: GitRelease, found: GitReleaseAsset | None, asset: Asset
) -> GitReleaseAsset | None:
    """The asset ``found`` under our file's name once its upload has ended; None when the name
    is free (the upload failed and went away, or it never ended and was deleted here)."""
    deadline = time.monotonic() + STARTER_WAIT + asset.path.stat().st_size / 2**20
    current = found
    while current is not None and current.state != "uploaded":
        if time.monotonic() >= deadline:
            with contextlib.suppress(UnknownObjectException):  # another job removed it first
                current.delete_asset()
            return None
        time.sleep(STARTER_POLL)
        current = _named(release, asset.name)
    return current


def upload(release: GitRelease, asset: Asset, target: GitHubTarget, attempts: int = 2) -> bool:
    """Upload one asset: True when sent, False when another job's upload of the same name
    landed first and holds the same bytes."""
    sent = _SentFile(asset.path)
    try:
        remote = release.upload_asset_from_memory(
            cast(BinaryIO, sent),  # read() is all the upload uses
            sent.size,
            asset.name,
            content_type="application/octet-stream",
            label=asset.name,
        )
    except GithubException as exc:
        if not already_exists(exc):
            raise
        landed = settled(release, _named(release, asset.name), asset)
        if landed is None:
            if attempts > 1:  # the name is free again: send ours
                return upload(release, asset, target, attempts - 1)
            raise
        check_same(landed, asset, target)
        return False
    finally:
        sent.close()
    if sent.sent.hexdigest() != asset.sha256 or sent.sent.size != sent.size:
        remote.delete_asset()
        raise VerdictError(
            f"{asset.source} changed while it was uploaded to the GitHub release {target.tag} "
            "(its bytes no longer match SHA256SUMS); the asset was removed: re-run pack"
        )
    return True


class _SentFile:
    """A file hashed as it is sent, exactly its size at opening: what was hashed is exactly
    what GitHub received, and a file that shrank meanwhile is padded to the length the
    request promised (so the upload ends, and the hash tells) instead of hanging it."""

    def __init__(self, path: Path) -> None:
        self._handle = path.open("rb")
        self.size = os.fstat(self._handle.fileno()).st_size
        self.sent = Sha256()

    def read(self, size: int = -1) -> bytes:
        left = self.size - self.sent.size
        wanted = left if size < 0 else min(size, left)
        data = self._handle.read(wanted) if wanted > 0 else b""
        return self.sent.update(data.ljust(wanted, b"\0"))

    def close(self) -> None:
        self._handle.close()


def check_same(remote: GitReleaseAsset, asset: Asset, target: GitHubTarget) -> None:
    """Pass only if the asset on GitHub is proven to hold ``asset``'s bytes."""
    tag, name = target.tag, asset.name
    differs = VerdictError(
        f"GitHub release {tag} already has an asset {name} with other content than "
        f"{asset.source}; attached files are not replaced"
    )
    size = asset.path.stat().st_size
    if remote.size != size:
        raise differs
    digest = remote.digest
    if digest == f"sha256:{asset.sha256}":
        return
    if digest and digest.startswith("sha256:"):
        raise differs
    if _downloaded_sha256(remote.id, target, name, size) != asset.sha256:
        raise differs


def _downloaded_sha256(asset_id: int, target: GitHubTarget, name: str, size: int) -> str:
    """The SHA-256 of an asset's bytes as GitHub serves them (for a GitHub without digests).

    The API answers with a redirect to a signed storage URL; the token is an unredirected
    header, so it goes to the API only (storage would refuse it, and must never see it).
    """
    url = f"{target.api_url.rstrip('/')}/repos/{target.repository}/releases/assets/{asset_id}"
    cannot = (
        f"GitHub release {target.tag} already has an asset {name} of the same size but no "
        "digest, and downloading it to compare failed ({}); it is not taken as identical "
        "unchecked: check it, or delete it and rerun"
    )
    if not url.startswith(("https://", "http://")):
        raise VerdictError(cannot.format(f"the API URL {target.api_url} is not http(s)"))
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        url, headers={"Accept": "application/octet-stream", "User-Agent": "goci"}
    )
    request.add_unredirected_header("Authorization", f"Bearer {target.token}")
    digest = Sha256()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            for chunk in chunks(response):
                digest.update(chunk)
                if digest.size > size:
                    break
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the response, and with it the connection
        raise VerdictError(cannot.format(f"HTTP {exc.code}")) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise VerdictError(cannot.format(exc)) from None
    return digest.hexdigest()
