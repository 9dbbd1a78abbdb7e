"""Attach release files and a SHA256SUMS to the GitHub release of a tag (PyGithub).

GitHub release assets live in one flat namespace, so each file gets a name that says its
service and target (``api-linux-amd64``, ``api-windows-amd64.exe``), and the attached
``{service}-SHA256SUMS`` lists those names, so ``sha256sum -c`` works in a folder of downloaded
assets. An asset that is already there is kept when identical and refused otherwise: like a
prod version, an attached file is never silently replaced.

A GitHub release says "this is version X", so only prod releases of the tag's own version are
attached: a dev build or another version under the tag would be published as that version.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from goci.errors import InputError, ToolError, VerdictError, bad_input
from goci.release.checksums import format_sums
from goci.release.local import LocalRelease
from goci.release.names import version_from_tag
from goci.tools.hashing import sha256_bytes


@dataclass(frozen=True)
class Attached:
    tag: str
    release_url: str
    created: bool
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


def plan_assets(releases: Sequence[LocalRelease], scratch: Path) -> list[tuple[str, Path, str]]:
    """``(asset name, local file, sha256)`` for every file, plus one SHA256SUMS per release
    (written under ``scratch``, a folder the caller removes when the upload is done)."""
    assets: list[tuple[str, Path, str]] = []
    for number, release in enumerate(releases):
        named = [
            (asset_name(release.name.service, f.path), release.path / f.path, f.sha256)
            for f in release.manifest.files
        ]
        assets.extend(named)
        sums = format_sums((name, digest) for name, _, digest in named)
        folder = scratch / str(number)
        folder.mkdir()
        sums_path = folder / "SHA256SUMS"
        sums_path.write_text(sums, encoding="utf-8")
        flat = release.name.service.replace("/", "-")
        assets.append((f"{flat}-SHA256SUMS", sums_path, sha256_bytes(sums.encode())))
    names = [a[0] for a in assets]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"--github-release: two files would share the asset name {duplicates}")
    return assets


def attach(
    releases: Sequence[LocalRelease],
    *,
    tag: str,
    token: str,
    repository: str,
    api_url: str,
) -> Attached:
    """Create the release of ``tag`` if missing and upload every file not already there."""
    check_attachable(releases, tag)
    with tempfile.TemporaryDirectory(prefix="goci-ghsums-") as scratch:
        assets = plan_assets(releases, Path(scratch))
        return _upload(assets, tag=tag, token=token, repository=repository, api_url=api_url)


def _upload(
    assets: Sequence[tuple[str, Path, str]],
    *,
    tag: str,
    token: str,
    repository: str,
    api_url: str,
) -> Attached:
    from github import Auth, Github, GithubException, UnknownObjectException

    api = api_url
    client = Github(base_url=api, auth=Auth.Token(token), retry=None, timeout=60, lazy=True)
    try:
        repo = client.get_repo(repository)
        created = False
        try:
            release = repo.get_release(tag)
        except UnknownObjectException:
            release = repo.create_git_release(
                tag, name=tag, message=f"Release {tag} (published by goci)"
            )
            created = True
        present = {a.name: a for a in release.get_assets()}
        uploaded, kept = [], []
        for name, path, digest in assets:
            size = path.stat().st_size
            if name in present:
                asset = present[name]
                remote_digest = getattr(asset, "digest", None)
                if asset.size != size or (remote_digest and remote_digest != f"sha256:{digest}"):
                    raise VerdictError(
                        f"GitHub release {tag} already has an asset {name} with other content; "
                        "attached files are not replaced"
                    )
                kept.append(name)
                continue
            release.upload_asset(
                str(path), label=name, content_type="application/octet-stream", name=name
            )
            uploaded.append(name)
        return Attached(tag, release.html_url, created, tuple(uploaded), tuple(kept))
    except GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        raise ToolError(f"GitHub API ({api}): HTTP {exc.status}: {message}") from None
    finally:
        client.close()
