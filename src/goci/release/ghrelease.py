"""Attach release files and a SHA256SUMS to the GitHub release of a tag (PyGithub).

GitHub release assets live in one flat namespace, so each file gets a name that says its
service and target (``api-linux-amd64``, ``api-windows-amd64.exe``), and the attached
``{service}-SHA256SUMS`` lists those names, so ``sha256sum -c`` works in a folder of downloaded
assets. Two files that would share a name (``a/b`` and ``a-b`` both flatten to ``a-b``; a
downloads folder on macOS or Windows ignores case) are refused before anything is sent.

A GitHub release says "this is version X", so only prod releases of the tag's own version are
attached: a dev build or another version under the tag would be published as that version.

An asset that is already there is kept only when its bytes are proven identical (GitHub's
``digest``, or, where an older GitHub Enterprise gives none, its bytes downloaded and hashed)
and refused otherwise: like a prod version, an attached file is never silently replaced. The
GitHub work itself (draft first, published last) is in ``goci.release.ghpublish``.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from goci.errors import InputError, bad_input
from goci.release.checksums import format_sums
from goci.release.local import LocalRelease
from goci.release.names import version_from_tag
from goci.tools.hashing import sha256_bytes

_FULL_COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


@dataclass(frozen=True)
class Asset:
    """One file to attach: its asset name, where it is, its SHA-256, and what it is."""

    name: str
    path: Path
    sha256: str
    source: str  # ``prod/api-v1.2.3 linux-amd64/api``: named when two files collide


@dataclass(frozen=True)
class Attached:
    tag: str
    release_url: str
    created: bool  # this run created the release (as a draft)
    published: bool  # this run published it, once every file was in
    uploaded: tuple[str, ...]
    kept: tuple[str, ...]


def asset_name(service: str, path: str) -> str:
    """``linux-amd64/api`` of service ``group/api`` -> ``group-api-linux-amd64``."""
    flat = service.replace("/", "-")
    target, _, filename = path.partition("/")
    base = PurePosixPath(service).name
    stem, dot, ext = filename.partition(".")
    if stem == base:
        return f"{flat}-{target}{dot}{ext}"
    return f"{flat}-{target}-{filename}"


def check_attachable(releases: Sequence[LocalRelease], tag: str) -> None:
    """Only prod releases whose version is the tag's: checked before any request is sent.

    The GitHub release of ``v1.2.3`` tells users "these files are 1.2.3"; a dev build or a
    prod release of another version attached there would be downloaded as 1.2.3.
    """
    if not releases:
        raise InputError("--github-release: no release to attach; run goci artifact pack first")
    for release in releases:
        name = release.name
        if name.env != "prod":
            raise bad_input(
                "--release",
                name.folder,
                "a prod release: --github-release attaches only prod releases of the tag's version",
            )
        if version_from_tag(tag, name.service) != name.version:
            raise bad_input(
                "--tag",
                tag,
                f"the tag of {name.folder} (v{name.version} or {name.service}/v{name.version}); "
                "--github-release attaches a release only to its own version's tag",
            )
    release_commit(releases)  # one commit, as a tag is: refused here, before any upload


def plan_assets(releases: Sequence[LocalRelease], scratch: Path) -> list[Asset]:
    """Every file as an asset, plus one SHA256SUMS per release (written under ``scratch``, a
    folder the caller removes when the upload is done)."""
    assets: list[Asset] = []
    for number, release in enumerate(releases):
        named = [
            Asset(
                asset_name(release.name.service, f.path),
                release.path / f.path,
                f.sha256,
                f"{release.name.folder} {f.path}",
            )
            for f in release.manifest.files
        ]
        assets.extend(named)
        sums = format_sums((a.name, a.sha256) for a in named)
        folder = scratch / str(number)
        folder.mkdir()
        sums_path = folder / "SHA256SUMS"
        sums_path.write_text(sums, encoding="utf-8")
        flat = release.name.service.replace("/", "-")
        source = f"{release.name.folder} SHA256SUMS"
        assets.append(Asset(f"{flat}-SHA256SUMS", sums_path, sha256_bytes(sums.encode()), source))
    _refuse_collisions(assets)
    return assets


def _refuse_collisions(assets: Sequence[Asset]) -> None:
    """Names compared case-blind: GitHub serves both, but a downloads folder on macOS or
    Windows keeps one, and ``sha256sum -c`` there would check the wrong file."""
    seen: dict[str, Asset] = {}
    for asset in assets:
        other = seen.setdefault(asset.name.casefold(), asset)
        if other is not asset:
            raise InputError(
                f"--github-release: {other.source} and {asset.source} would both be attached "
                f"as {asset.name!r}"
                + ("" if other.name == asset.name else f" ({other.name!r})")
                + "; rename a service so their asset names differ"
            )


def release_commit(releases: Sequence[LocalRelease]) -> str:
    """The one full commit id the releases were built from, or '' (none known); several are
    bad input.

    GitHub creates a missing tag at the release's ``target_commitish`` when it is published;
    the commit the files were built from is the only right place for it.
    """
    commits = {r.manifest.commit for r in releases}
    known = sorted(c for c in commits if c)
    if len(known) > 1:
        raise InputError(
            f"--github-release: the releases were built from {len(known)} commits "
            f"({', '.join(c[:12] for c in known)}); a tag is one commit: attach the releases "
            "of one build"
        )
    commit = commits.pop() if len(commits) == 1 else ""
    return commit if _FULL_COMMIT.match(commit) else ""


def attach(
    releases: Sequence[LocalRelease],
    *,
    tag: str,
    token: str,
    repository: str,
    api_url: str,
) -> Attached:
    """Attach every file to the GitHub release of ``tag``, published only once all are in."""
    from goci.release.ghassets import GitHubTarget
    from goci.release.ghpublish import publish

    check_attachable(releases, tag)
    target = GitHubTarget(tag, token, repository, api_url, release_commit(releases))
    with tempfile.TemporaryDirectory(prefix="goci-ghsums-") as scratch:
        return publish(plan_assets(releases, Path(scratch)), target)
