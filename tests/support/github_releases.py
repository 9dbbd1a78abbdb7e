"""The releases half of the local GitHub API stand-in, as GitHub documents and answers it.

What matters for attaching files is modelled the way GitHub behaves, not the way a client
would like it to: a draft is invisible to ``GET /releases/tags/{tag}`` and listed by
``GET /releases`` only to a token with push access; several drafts may carry one tag, while a
second published release of a tag (created, or a draft published) is ``422 already_exists``;
release and asset lists are paged (``per_page`` 30 by default, at most 100, a ``Link``
header); an asset name is taken once per release (``422 already_exists``); ``GET`` of an asset
with ``Accept: application/octet-stream`` answers ``302`` to a signed storage URL that refuses
a request still carrying the ``Authorization`` header (as S3 does); and an older GitHub
Enterprise Server gives no ``digest`` (``FakeGitHub.digests = False``).

An upload under way, or cut off, leaves an asset in the state ``starter`` holding the name
(``start_upload``, ``finish_upload``), as GitHub lists it.

``FakeGitHub.events`` records each change (created, upload started, uploaded, published,
deleted, asset deleted) with the
release's draft state at that moment, so a test can assert the exact order; ``hook`` sees
every request first and may answer it with an error status (a failing or killed upload) or
hold it (a race at one moment).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

if TYPE_CHECKING:
    from support.github_api import FakeGitHub

NOW = "2025-01-02T03:04:05Z"
DOCS = "https://docs.github.com/rest/releases"


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a binary body (an asset's bytes) instead of JSON


def not_found() -> Reply:
    return Reply(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})


def already_exists(resource: str, name: str) -> Reply:
    return Reply(
        422,
        {
            "message": "Validation Failed",
            "errors": [{"resource": resource, "code": "already_exists", "field": name}],
            "documentation_url": DOCS,
            "status": "422",
        },
    )


def page(items: list[Any], query: str, url: str) -> Reply:
    """One page of a list, with the ``Link`` header GitHub sends when there are more."""
    params = parse_qs(query)
    per_page = min(int(params.get("per_page", ["30"])[0]), 100)
    number = max(int(params.get("page", ["1"])[0]), 1)
    last = max(math.ceil(len(items) / per_page), 1)
    headers = {}
    if number < last:
        links = [f'<{url}?per_page={per_page}&page={number + 1}>; rel="next"',
                 f'<{url}?per_page={per_page}&page={last}>; rel="last"']  # fmt: skip
        headers["Link"] = ", ".join(links)
    return Reply(200, items[(number - 1) * per_page : number * per_page], headers)


def new_release(state: FakeGitHub, body: dict[str, Any]) -> dict[str, Any]:
    """A release as ``POST /releases`` makes it (the caller holds ``state.lock``)."""
    release_id = next(state.ids)
    repo = f"{state.api_url}/repos/{state.repository}"
    tag = body["tag_name"]
    draft = bool(body.get("draft", False))
    release = {
        "url": f"{repo}/releases/{release_id}",
        "html_url": "",
        "assets_url": f"{repo}/releases/{release_id}/assets",
        "upload_url": f"{state.uploads_url}/repos/{state.repository}/releases/"
        f"{release_id}/assets{{?name,label}}",
        "tarball_url": None,
        "zipball_url": None,
        "id": release_id,
        "node_id": f"RE_{release_id}",
        "tag_name": tag,
        "target_commitish": body.get("target_commitish", "main"),
        "name": body.get("name", tag),
        "body": body.get("body", ""),
        "draft": draft,
        "prerelease": bool(body.get("prerelease", False)),
        "created_at": NOW,
        "published_at": None,
        "author": state.user,
        "assets": [],
    }
    _set_published(state, release, not draft)
    state.releases[release_id] = release
    if not draft:
        _make_latest(state, release, body.get("make_latest", "true"))
    state.events.append(("created", release_id, "draft" if draft else "published"))
    return release


def _set_published(state: FakeGitHub, release: dict[str, Any], published: bool) -> None:
    """A draft's page is ``untagged-…`` and it has no archives; publishing gives it the tag."""
    tag, release_id = release["tag_name"], release["id"]
    repo = f"{state.api_url}/repos/{state.repository}"
    web = f"https://github.com/{state.repository}/releases/tag"
    untagged = hashlib.sha1(str(release_id).encode()).hexdigest()[:20]  # noqa: S324 - a name
    release.update(
        draft=not published,
        published_at=NOW if published else None,
        html_url=f"{web}/{tag}" if published else f"{web}/untagged-{untagged}",
        tarball_url=f"{repo}/tarball/{tag}" if published else None,
        zipball_url=f"{repo}/zipball/{tag}" if published else None,
    )


def add_asset(state: FakeGitHub, release_id: int, name: str, label: str, ctype: str,
              data: bytes) -> dict[str, Any]:  # fmt: skip
    """An uploaded asset (the caller holds ``state.lock``)."""
    release = state.releases[release_id]
    asset_id = next(state.ids)
    asset: dict[str, Any] = {
        "url": f"{state.api_url}/repos/{state.repository}/releases/assets/{asset_id}",
        "browser_download_url": f"https://github.com/{state.repository}/releases/download/"
        f"{release['tag_name']}/{name}",
        "id": asset_id,
        "node_id": f"RA_{asset_id}",
        "name": name,
        "label": label,
        "state": "uploaded",
        "content_type": ctype,
        "size": len(data),
        "download_count": 0,
        "created_at": NOW,
        "updated_at": NOW,
        "uploader": state.user,
    }
    if state.digests:
        asset["digest"] = "sha256:" + hashlib.sha256(data).hexdigest()
    release["assets"].append(asset)
    state.blobs[(release_id, name)] = data
    state.events.append(
        ("uploaded", release_id, name, "draft" if release["draft"] else "published")
    )
    return asset


def start_upload(state: FakeGitHub, release_id: int, name: str) -> dict[str, Any]:
    """An asset whose upload is under way, or was cut off (GitHub keeps such an asset for good):
    state ``starter``, no size, no digest, but the name taken (the caller holds ``state.lock``)."""
    asset = add_asset(state, release_id, name, name, "application/octet-stream", b"")
    asset["state"] = "starter"
    asset.pop("digest", None)
    state.events[-1] = ("upload started", release_id, name)
    return asset


def finish_upload(state: FakeGitHub, asset_id: int, data: bytes) -> None:
    """The upload :func:`start_upload` began ends with ``data`` (the caller holds the lock)."""
    found = _find_asset(state, asset_id)
    assert found is not None, asset_id
    release, asset = found
    asset.update(state="uploaded", size=len(data))
    if state.digests:
        asset["digest"] = "sha256:" + hashlib.sha256(data).hexdigest()
    state.blobs[(release["id"], asset["name"])] = data
    state.events.append(
        ("uploaded", release["id"], asset["name"], "draft" if release["draft"] else "published")
    )


def storage_signature(state: FakeGitHub, asset_id: int) -> str:
    return hashlib.sha256(f"{state.secret}/{asset_id}".encode()).hexdigest()[:32]


def _published_with(state: FakeGitHub, tag: str, but: int = 0) -> bool:
    return any(
        r["tag_name"] == tag and not r["draft"] and r["id"] != but for r in state.releases.values()
    )


def _find_asset(state: FakeGitHub, asset_id: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
    for release in state.releases.values():
        for asset in release["assets"]:
            if asset["id"] == asset_id:
                return release, asset
    return None


@dataclass
class Request:
    method: str
    path: str  # without /api/v3 or /api/uploads
    query: str
    uploads: bool  # sent to the uploads host
    push: bool  # the token has push access
    body: bytes
    headers: Any


def _git(state: FakeGitHub, parts: list[str]) -> Reply:
    """``git/ref/tags/{tag}`` (a lightweight tag's object is its commit, an annotated one's
    the tag object) and ``git/tags/{sha}`` (an annotated tag, pointing at its commit)."""
    repo = f"{state.api_url}/repos/{state.repository}"
    if parts[:2] == ["ref", "tags"] and len(parts) > 2:
        name = unquote("/".join(parts[2:]))
        if name not in state.tags:
            return not_found()
        commit, annotated = state.tags[name]
        kind, sha = ("tag", annotated) if annotated else ("commit", commit)
        obj = {"sha": sha, "type": kind, "url": f"{repo}/git/{kind}s/{sha}"}
        return Reply(200, {"ref": f"refs/tags/{name}", "node_id": "REF", "url": "", "object": obj})
    if parts[:1] == ["tags"] and len(parts) == 2:
        for name, (commit, annotated) in state.tags.items():
            if annotated and annotated == parts[1]:
                obj = {"sha": commit, "type": "commit", "url": f"{repo}/git/commits/{commit}"}
                return Reply(200, {"sha": annotated, "tag": name, "message": "", "object": obj})
    return not_found()


def route(state: FakeGitHub, req: Request) -> Reply | None:
    """The answer of a releases endpoint, or None when the path is not one of them."""
    prefix = f"/repos/{state.repository}/releases"
    if req.method == "GET" and req.path.startswith("/storage/releases/"):
        return _storage(state, req)
    git = f"/repos/{state.repository}/git/"
    if req.method == "GET" and req.path.startswith(git):
        with state.lock:
            return _git(state, req.path[len(git) :].split("/"))
    if not (req.path == prefix or req.path.startswith(prefix + "/")):
        return None
    parts = req.path[len(prefix) :].strip("/").split("/") if req.path != prefix else []
    with state.lock:
        if req.uploads:
            ok = req.method == "POST" and len(parts) == 2 and parts[1] == "assets"
            return _upload(state, req, int(parts[0])) if ok and parts[0].isdigit() else not_found()
        if req.method == "GET":
            return _get(state, req, parts)
        if req.method == "POST" and not parts:
            return _create(state, json.loads(req.body))
        if req.method == "DELETE" and len(parts) == 2 and parts[0] == "assets":
            return _delete_asset(state, int(parts[1]) if parts[1].isdigit() else 0)
        if len(parts) == 1 and parts[0].isdigit():
            release = state.releases.get(int(parts[0]))
            if release is None:
                return not_found()
            if req.method == "PATCH":
                return _edit(state, release, json.loads(req.body))
            if req.method == "DELETE":
                del state.releases[release["id"]]
                state.events.append(("deleted", release["id"]))
                return Reply(204)
        return not_found()


def _get(state: FakeGitHub, req: Request, parts: list[str]) -> Reply:
    url = f"{state.api_url}/repos/{state.repository}/releases"
    visible = [r for r in state.releases.values() if req.push or not r["draft"]]
    if not parts:  # newest first, drafts only to a token with push access
        return page(sorted(visible, key=lambda r: -r["id"]), req.query, url)
    if parts[0] == "tags" and len(parts) == 2:  # published releases only
        tagged = [r for r in visible if r["tag_name"] == unquote(parts[1]) and not r["draft"]]
        return Reply(200, tagged[0]) if tagged else not_found()
    if parts[0] == "assets" and len(parts) == 2 and parts[1].isdigit():
        found = _find_asset(state, int(parts[1]))
        if found is None or not (req.push or not found[0]["draft"]):
            return not_found()
        asset = found[1]
        if "application/octet-stream" not in (req.headers.get("Accept") or ""):
            return Reply(200, asset)
        host = state.api_url.removesuffix("/api/v3")
        location = f"{host}/storage/releases/{asset['id']}?X-Amz-Signature="
        return Reply(302, None, {"Location": location + storage_signature(state, asset["id"])})
    if parts[0].isdigit():
        release = next((r for r in visible if r["id"] == int(parts[0])), None)
        if release is None:
            return not_found()
        if len(parts) == 1:
            return Reply(200, release)
        if parts[1:] == ["assets"]:
            return page(release["assets"], req.query, f"{url}/{release['id']}/assets")
    return not_found()


def _create(state: FakeGitHub, body: dict[str, Any]) -> Reply:
    if _published_with(state, body["tag_name"]):
        return already_exists("Release", "tag_name")
    return Reply(201, new_release(state, body))


def _edit(state: FakeGitHub, release: dict[str, Any], body: dict[str, Any]) -> Reply:
    publish = release["draft"] and body.get("draft") is False
    if publish and _published_with(state, release["tag_name"], but=release["id"]):
        return already_exists("Release", "tag_name")
    for key in ("name", "body", "prerelease", "target_commitish"):
        if key in body:
            release[key] = body[key]
    if publish:
        _set_published(state, release, True)
        state.events.append(("published", release["id"]))
        # "Defaults to true for newly published releases" (GitHub's REST reference)
        _make_latest(state, release, body.get("make_latest", "true"))
    return Reply(200, release)


def _semver(tag: str) -> tuple[int, ...]:
    digits = re.findall(r"\d+", tag.rsplit("/", 1)[-1])
    return tuple(int(d) for d in digits[:3])


def _make_latest(state: FakeGitHub, release: dict[str, Any], how: str) -> None:
    """GitHub's ``make_latest``: "true" makes this release Latest, "false" leaves Latest as it
    is, "legacy" picks by creation date and semantic version among published releases."""
    if how == "true":
        state.latest = release["id"]
    elif how == "legacy":
        out = [r for r in state.releases.values() if not r["draft"] and not r["prerelease"]]
        state.latest = max(out, key=lambda r: (_semver(r["tag_name"]), r["id"]))["id"]


def _delete_asset(state: FakeGitHub, asset_id: int) -> Reply:
    found = _find_asset(state, asset_id)
    if found is None:
        return not_found()
    release, asset = found
    release["assets"].remove(asset)
    del state.blobs[(release["id"], asset["name"])]
    state.events.append(("asset deleted", release["id"], asset["name"]))
    return Reply(204)


def _upload(state: FakeGitHub, req: Request, release_id: int) -> Reply:
    release = state.releases.get(release_id)
    if release is None:
        return not_found()
    query = parse_qs(req.query)
    name = query["name"][0]
    if any(a["name"] == name for a in release["assets"]):
        return already_exists("ReleaseAsset", "name")
    ctype = req.headers.get("Content-Type", "")
    return Reply(201, add_asset(state, release_id, name, query.get("label", [""])[0], ctype,
                                req.body))  # fmt: skip


def _storage(state: FakeGitHub, req: Request) -> Reply:
    """The signed URL an asset download is redirected to: no token, or S3's 400."""
    if req.headers.get("Authorization"):
        return Reply(400, None, {"Content-Type": "application/xml"},
                     b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism "
                     b"allowed</Message></Error>")  # fmt: skip
    asset_id = req.path.removeprefix("/storage/releases/")
    signature = parse_qs(req.query).get("X-Amz-Signature", [""])[0]
    with state.lock:
        found = _find_asset(state, int(asset_id)) if asset_id.isdigit() else None
        if found is None or signature != storage_signature(state, found[1]["id"]):
            return Reply(403, None, {"Content-Type": "application/xml"},
                         b"<Error><Code>AccessDenied</Code></Error>")  # fmt: skip
        data = state.blobs[(found[0]["id"], found[1]["name"])]
    return Reply(200, None, {"Content-Type": "application/octet-stream"}, data)
