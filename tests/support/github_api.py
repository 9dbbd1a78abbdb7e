"""A local stand-in for the GitHub REST API, answering in GitHub's real JSON format.

It is laid out like GitHub Enterprise Server: the REST API under ``/api/v3`` (get release by
tag, create release, list assets; list, create, edit and delete the comments of an issue or
pull request) and the uploads endpoint under ``/api/uploads``, which is where a release's
``upload_url`` points (PyGithub only sends uploads to such a host). Comment lists are paged
as GitHub pages them (``per_page`` default 30, at most 100, a ``Link`` header with ``next``
and ``last``); a read-only token (a fork's pull request) may list but gets 403 on a write.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

NOW = "2025-01-02T03:04:05Z"
USER = {
    "login": "github-actions[bot]",
    "id": 41898282,
    "node_id": "MDM6Qm90NDE4OTgyODI=",
    "type": "Bot",
    "site_admin": False,
}
TOKENS = ("test-token", "read-only-token")
FORBIDDEN = {
    "message": "Resource not accessible by integration",
    "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
    "status": "403",
}


@dataclass
class FakeGitHub:
    repository: str = "acme/shop"
    releases: dict[int, dict[str, Any]] = field(default_factory=dict)
    blobs: dict[tuple[int, str], bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    api_url: str = ""
    uploads_url: str = ""
    pulls: set[int] = field(default_factory=set)  # pull requests (issues) that exist
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> comment
    comment_issue: dict[int, int] = field(default_factory=dict)  # comment id -> its issue
    lock: threading.Lock = field(default_factory=threading.Lock)

    def release_json(self, release_id: int) -> dict[str, Any]:
        return self.releases[release_id]

    def new_release(self, body: dict[str, Any]) -> dict[str, Any]:
        release_id = len(self.releases) + 1
        repo = f"{self.api_url}/repos/{self.repository}"
        tag = body["tag_name"]
        release = {
            "url": f"{repo}/releases/{release_id}",
            "html_url": f"https://github.com/{self.repository}/releases/tag/{tag}",
            "assets_url": f"{repo}/releases/{release_id}/assets",
            "upload_url": f"{self.uploads_url}/repos/{self.repository}/releases/"
            f"{release_id}/assets{{?name,label}}",
            "tarball_url": f"{repo}/tarball/{tag}",
            "zipball_url": f"{repo}/zipball/{tag}",
            "id": release_id,
            "node_id": f"RE_{release_id}",
            "tag_name": tag,
            "target_commitish": body.get("target_commitish", "main"),
            "name": body.get("name", tag),
            "body": body.get("body", ""),
            "draft": bool(body.get("draft", False)),
            "prerelease": bool(body.get("prerelease", False)),
            "created_at": NOW,
            "published_at": NOW,
            "author": USER,
            "assets": [],
        }
        self.releases[release_id] = release
        return release

    def add_asset(
        self, release_id: int, name: str, label: str, ctype: str, data: bytes
    ) -> dict[str, Any]:
        release = self.releases[release_id]
        asset_id = 1000 * release_id + len(release["assets"]) + 1
        asset = {
            "url": f"{self.api_url}/repos/{self.repository}/releases/assets/{asset_id}",
            "browser_download_url": f"https://github.com/{self.repository}/releases/download/"
            f"{release['tag_name']}/{name}",
            "id": asset_id,
            "node_id": f"RA_{asset_id}",
            "name": name,
            "label": label,
            "state": "uploaded",
            "content_type": ctype,
            "size": len(data),
            "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
            "download_count": 0,
            "created_at": NOW,
            "updated_at": NOW,
            "uploader": USER,
        }
        release["assets"].append(asset)
        self.blobs[(release_id, name)] = data
        return asset

    def add_comment(self, number: int, body: str, user: dict[str, Any] | None = None) -> Any:
        with self.lock:  # ids grow as GitHub's do: a later comment has a larger id
            comment_id = max(self.comments, default=2_000_000) + 1
            repo = f"{self.api_url}/repos/{self.repository}"
            comment = {
                "id": comment_id,
                "node_id": f"IC_kwDO{comment_id}",
                "url": f"{repo}/issues/comments/{comment_id}",
                "html_url": f"https://github.com/{self.repository}/pull/{number}"
                f"#issuecomment-{comment_id}",
                "body": body,
                "user": user or USER,
                "created_at": NOW,
                "updated_at": NOW,
                "issue_url": f"{repo}/issues/{number}",
                "author_association": "NONE",
                "reactions": {
                    "url": f"{repo}/issues/comments/{comment_id}/reactions",
                    "total_count": 0,
                },
                "performed_via_github_app": None,
            }
            self.comments[comment_id] = comment
            self.comment_issue[comment_id] = number
            return comment

    def comments_of(self, number: int) -> list[dict[str, Any]]:
        with self.lock:
            return [c for i, c in sorted(self.comments.items()) if self.comment_issue[i] == number]


def _handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _not_found(self) -> None:
            self._send(
                404,
                {
                    "message": "Not Found",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "404",
                },
            )

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _token(self) -> str:
            auth = self.headers.get("Authorization") or ""
            return auth.removeprefix("token ").removeprefix("Bearer ")

        def _authorized(self) -> bool:
            if self._token() not in TOKENS:
                self._send(401, {"message": "Bad credentials", "status": "401"})
                return False
            return True

        def _writable(self) -> bool:
            if not self._authorized():
                return False
            if self._token() != "test-token":
                self._send(403, FORBIDDEN)
                return False
            return True

        def _issue_comments(self, path: str) -> int | None:
            """The number N of ``/repos/R/issues/N/comments``, else None."""
            prefix = f"/repos/{state.repository}/issues/"
            parts = path[len(prefix) :].split("/") if path.startswith(prefix) else []
            if len(parts) == 2 and parts[0].isdigit() and parts[1] == "comments":
                return int(parts[0])
            return None

        def _comment_id(self, path: str) -> int | None:
            """The id of ``/repos/R/issues/comments/ID``, else None."""
            prefix = f"/repos/{state.repository}/issues/comments/"
            rest = path[len(prefix) :] if path.startswith(prefix) else ""
            return int(rest) if rest.isdigit() else None

        def _list_comments(self, number: int, query: str) -> None:
            params = parse_qs(query)
            per_page = min(int(params.get("per_page", ["30"])[0]), 100)
            page = max(int(params.get("page", ["1"])[0]), 1)
            items = state.comments_of(number)
            last = max(math.ceil(len(items) / per_page), 1)
            data = json.dumps(items[(page - 1) * per_page : page * per_page]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if page < last:
                url = f"{state.api_url}/repos/{state.repository}/issues/{number}/comments"
                links = [f'<{url}?per_page={per_page}&page={page + 1}>; rel="next"',
                         f'<{url}?per_page={per_page}&page={last}>; rel="last"']  # fmt: skip
                self.send_header("Link", ", ".join(links))
            self.end_headers()
            self.wfile.write(data)

        def do_PATCH(self) -> None:
            url = urlparse(self.path)
            state.requests.append(f"PATCH {url.path}")
            comment_id = self._comment_id(url.path.removeprefix("/api/v3"))
            if not self._writable():
                return None
            body = json.loads(self._body())
            with state.lock:
                comment = state.comments.get(comment_id or 0)
                if comment is None:
                    return self._not_found()
                comment.update(body=body["body"], updated_at="2025-01-02T03:05:00Z")
                return self._send(200, comment)

        def do_DELETE(self) -> None:
            url = urlparse(self.path)
            state.requests.append(f"DELETE {url.path}")
            comment_id = self._comment_id(url.path.removeprefix("/api/v3"))
            if not self._writable():
                return None
            with state.lock:
                if state.comments.pop(comment_id or 0, None) is None:
                    return self._not_found()
            self.send_response(204)
            self.end_headers()
            return None

        def do_GET(self) -> None:
            url = urlparse(self.path)
            state.requests.append(f"GET {url.path}")
            url = url._replace(path=url.path.removeprefix("/api/v3"))
            if not self._authorized():
                return None
            number = self._issue_comments(url.path)
            if number is not None:
                if number not in state.pulls:
                    return self._not_found()
                return self._list_comments(number, url.query)
            prefix = f"/repos/{state.repository}/releases/"
            if url.path.startswith(prefix + "tags/"):
                tag = unquote(url.path[len(prefix + "tags/") :])
                found = [r for r in state.releases.values() if r["tag_name"] == tag]
                return self._send(200, found[0]) if found else self._not_found()
            parts = url.path[len(prefix) :].split("/")
            if url.path.startswith(prefix) and len(parts) == 2 and parts[1] == "assets":
                release = state.releases.get(int(parts[0]))
                return self._send(200, release["assets"]) if release else self._not_found()
            return self._not_found()

        def do_POST(self) -> None:
            url = urlparse(self.path)
            state.requests.append(f"POST {url.path}{'?' + url.query if url.query else ''}")
            if not self._writable():
                return None
            body = self._body()
            uploads = url.path.startswith("/api/uploads/")
            url = url._replace(path=url.path.removeprefix("/api/v3").removeprefix("/api/uploads"))
            if not uploads and url.path == f"/repos/{state.repository}/releases":
                return self._send(201, state.new_release(json.loads(body)))
            number = None if uploads else self._issue_comments(url.path)
            if number is not None:
                if number not in state.pulls:
                    return self._not_found()
                return self._send(201, state.add_comment(number, json.loads(body)["body"]))
            prefix = f"/repos/{state.repository}/releases/"
            if uploads and url.path.startswith(prefix) and url.path.endswith("/assets"):
                release_id = int(url.path[len(prefix) :].split("/")[0])
                query = parse_qs(url.query)
                name = query["name"][0]
                if any(a["name"] == name for a in state.releases[release_id]["assets"]):
                    return self._send(
                        422,
                        {
                            "message": "Validation Failed",
                            "errors": [
                                {
                                    "resource": "ReleaseAsset",
                                    "code": "already_exists",
                                    "field": "name",
                                }
                            ],
                        },
                    )
                asset = state.add_asset(
                    release_id,
                    name,
                    query.get("label", [""])[0],
                    self.headers.get("Content-Type", ""),
                    body,
                )
                return self._send(201, asset)
            return self._not_found()

    return Handler


class GitHubServers:
    """Start the server on a free loopback port; ``stop()`` shuts it down."""

    def __init__(self, repository: str = "acme/shop") -> None:
        self.state = FakeGitHub(repository)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.state.api_url = f"{base}/api/v3"
        self.state.uploads_url = f"{base}/api/uploads"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
