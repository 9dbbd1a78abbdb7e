"""Fill the GitHub release of a tag so that nobody ever sees it half-filled (PyGithub).

A release published first and then filled one asset at a time is visible, and downloadable,
with files missing, and stays so when the job is killed halfway. So a release goci creates is
a draft (shown only to people with push access, never at the tag's page) until every file is
in and checked, and is published last, once. A rerun after a kill finds that draft (GitHub's
tag lookup never returns drafts, so the releases are listed) and completes it instead of
starting a second one.

Jobs of one tag may run at the same moment (one per service, or a rerun meeting the first run),
and GitHub lets several drafts share a tag. So a job that created a draft looks again: the
oldest draft of the tag (lowest id) is the one every job fills, and a job whose draft is not it
deletes its own (a draft goci later finds beaten by a published release is deleted only while it
holds nothing but this job's files; a job whose release disappears looks again). Two uploads of
one name answer 422 to the second, whose file is then checked against the one that landed, once
that one's upload has ended (:mod:`goci.release.ghassets`); a release of the tag published
meanwhile by someone else (422 when creating or publishing) is filled instead of failing. No
job knows which others will come, so with one job per service the release is published when the
first job's files are all in, and the others' files join it as those jobs finish; an immutable
release takes no more files, which is said before anything is sent. Publishing leaves Latest
to GitHub's rule of date and version (``make_latest: legacy``): a hotfix of an older line never
becomes it.

An asset already there is kept only if it is proven to hold our bytes (see
:mod:`goci.release.ghassets`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import requests
from github import Auth, Github, GithubException, UnknownObjectException
from github.GithubObject import NotSet
from github.GitRelease import GitRelease
from github.Repository import Repository

from goci.errors import ToolError, VerdictError
from goci.release.ghassets import GitHubTarget, already_exists, check_same, settled, upload
from goci.release.ghrelease import Asset, Attached
from goci.tools.hashing import sha256_file

#: Seconds between requests, and between writes: GitHub asks integrations to space writes by
#: a second to stay clear of its secondary rate limits (PyGithub's defaults, named here so
#: that tests against a local server need not wait).
PACE = (0.25, 1.0)

#: Times the tag's release is looked for again when the one being filled disappears.
_ATTEMPTS = 3

#: Which release GitHub shows as Latest: "legacy" lets it decide by date and semantic version,
#: so a v1.2.4 published after v2.0.0 does not become Latest (create's default, "true", would).
_MAKE_LATEST = "legacy"


def publish(assets: Sequence[Asset], target: GitHubTarget) -> Attached:
    """Every asset on the release of ``target.tag``; a release made here is published last."""
    api = target.api_url
    client = Github(
        base_url=api,
        auth=Auth.Token(target.token),
        retry=None,
        timeout=60,
        lazy=True,
        per_page=100,
        seconds_between_requests=PACE[0],
        seconds_between_writes=PACE[1],
    )
    try:
        _check_local(assets)
        repo = client.get_repo(target.repository)
        _check_tag(repo, target)
        for attempt in range(_ATTEMPTS):
            try:
                return _attach_once(repo, assets, target)
            except UnknownObjectException:
                # The release went away under us (another job deleted the draft it joined
                # late, or a person did): look for the tag's release again and fill that.
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover
    except GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        raise ToolError(f"GitHub API ({api}): HTTP {exc.status}: {message}") from None
    except requests.RequestException as exc:  # refused, reset, timed out: no HTTP answer
        raise ToolError(f"GitHub API ({api}) could not be reached: {exc}") from None
    finally:
        client.close()


def _attach_once(repo: Repository, assets: Sequence[Asset], target: GitHubTarget) -> Attached:
    """Open the tag's release, fill it, publish it if it is a draft."""
    release, created = _open(repo, target)
    uploaded, kept = _fill(release, assets, target)
    published = False
    if release.draft:
        done = _publish(repo, release)
        if done is None:  # someone published a release of the tag meanwhile: fill that
            other = repo.get_release(target.tag)
            uploaded, kept = _fill(other, assets, target)
            ours = {a.name for a in assets}
            if created and all(a.name in ours for a in release.get_assets()):
                release.delete_release()  # only ours in it: nobody else is filling it
            release, created = other, False
        else:
            release, published = done
    return Attached(target.tag, release.html_url, created, published, tuple(uploaded), tuple(kept))


def _check_tag(repo: Repository, target: GitHubTarget) -> None:
    """A tag that exists must point at the commit the files were built from: attaching them to
    a tag of another commit would publish them as that commit's. (A missing tag is created at
    ``target.commit`` when the release is published.)"""
    if not target.commit:
        return
    try:
        found = repo.get_git_ref(f"tags/{target.tag}").object  # lazy: fetched here
        sha, kind = found.sha, found.type
    except UnknownObjectException:
        return
    if kind == "tag":  # an annotated tag: the commit is behind the tag object
        sha = repo.get_git_tag(sha).object.sha
    if sha != target.commit:
        raise VerdictError(
            f"tag {target.tag} is at commit {sha[:12]}, but the files were built from "
            f"{target.commit[:12]}; nothing was attached (build the tag's commit, or tag it)"
        )


def _check_local(assets: Iterable[Asset]) -> None:
    """Every file still holds what was packed, before anything is sent or compared."""
    for asset in assets:
        actual = sha256_file(asset.path)
        if actual != asset.sha256:
            raise VerdictError(
                f"{asset.source} changed since it was packed (sha256 {actual}, packed "
                f"{asset.sha256}); nothing was attached: re-run pack"
            )


def _published(repo: Repository, tag: str) -> GitRelease | None:
    try:
        return repo.get_release(tag)  # published releases only: GitHub hides drafts here
    except UnknownObjectException:
        return None


def _oldest_draft(repo: Repository, tag: str) -> GitRelease | None:
    drafts = [r for r in repo.get_releases() if r.draft and r.tag_name == tag]
    return min(drafts, key=lambda r: r.id, default=None)


def _open(repo: Repository, target: GitHubTarget) -> tuple[GitRelease, bool]:
    """The release to fill (published, else the oldest draft of the tag, else a new draft)
    and whether this run created it."""
    tag = target.tag
    found = _published(repo, tag)
    if found is None:
        found = _oldest_draft(repo, tag)
    if found is not None:
        return found, False
    try:
        mine = repo.create_git_release(
            tag,
            name=tag,
            message=f"Release {tag} (published by goci)",
            draft=True,
            target_commitish=target.commit or NotSet,
            make_latest=_MAKE_LATEST,
        )
    except GithubException as exc:
        if not already_exists(exc):
            raise
        found = _published(repo, tag)  # another job published it a moment ago
        if found is None:
            raise
        return found, False
    oldest = _oldest_draft(repo, tag)
    if oldest is not None and oldest.id < mine.id:  # another job's draft came first: join it
        mine.delete_release()
        return oldest, False
    return mine, True


def _publish(repo: Repository, release: GitRelease) -> tuple[GitRelease, bool] | None:
    """Publish the draft (read again: another job filling it may have published it), keeping
    its name, text and pre-release flag; None when a release of the tag is already out."""
    current = repo.get_release(release.id)
    if not current.draft:
        return current, False
    try:
        done = current.update_release(
            name=current.name or current.tag_name,  # a draft made by hand may have no name
            message=current.body or "",
            draft=False,
            prerelease=current.prerelease,
            make_latest=_MAKE_LATEST,
        )
    except GithubException as exc:
        if already_exists(exc):
            return None
        raise
    return done, True


def _fill(
    release: GitRelease, assets: Sequence[Asset], target: GitHubTarget
) -> tuple[list[str], list[str]]:
    """Check every asset already there first (so a conflict is found before anything is
    sent), then upload the others; ``(uploaded, kept)``."""
    present = {a.name: a for a in release.get_assets()}
    kept = []
    for asset in assets:
        if asset.name in present:
            landed = settled(release, present[asset.name], asset)
            if landed is None:  # an upload that never ended, deleted: ours goes up below
                del present[asset.name]
                continue
            check_same(landed, asset, target)
            kept.append(asset.name)
    missing = [a.name for a in assets if a.name not in present]
    if missing and not release.draft and release.raw_data.get("immutable") is True:
        raise VerdictError(
            f"GitHub release {target.tag} is published and immutable, so {', '.join(missing)} "
            "can no longer be attached; attach every service's files with one goci artifact "
            "upload (the whole dist/), which publishes the release only once they are all in"
        )
    uploaded = []
    for asset in assets:
        if asset.name not in present:
            if upload(release, asset, target):
                uploaded.append(asset.name)
            else:
                kept.append(asset.name)
    return uploaded, kept
