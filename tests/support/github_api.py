"""A local stand-in for the GitHub REST API, answering in GitHub's real JSON format.

It is laid out like GitHub Enterprise Server: the REST API under ``/api/v3`` (releases and
their assets, see ``github_releases``; list, create, edit and delete the comments of an issue
or pull request) and the uploads endpoint under ``/api/uploads``, which is where a release's
``upload_url`` points (PyGithub only sends uploads to such a host). Lists are paged as GitHub
pages them (``per_page`` default 30, at most 100, a ``Link`` header with ``next`` and
``last``); a read-only token (a fork's pull request) may list but gets 403 on a write.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import ParseResult, urlparse

from support import github_releases

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
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: release and asset ids: one sequence, growing as GitHub's do (never reused)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    #: False: assets have no ``digest`` field, as on GitHub Enterprise Server before it had one
    digests: bool = True
    #: what changed, in order: ("created", id, "draft"|"published"), ("upload started", id,
    #: name), ("uploaded", id, name, "draft"|"published"), ("published", id), ("deleted", id),
    #: ("asset deleted", id, name)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    #: tags of the repository: name -> (commit, annotated tag object's sha or "" if lightweight)
    tags: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: the release GitHub shows as Latest (its id): moved by ``make_latest`` as GitHub documents
    latest: int | None = None
    #: sees each request line first ("POST /api/v3/..."); a status it returns is the answer
    hook: Callable[[str], int | None] | None = None
    secret: str = field(default_factory=lambda: os.urandom(8).hex())
    user: dict[str, Any] = field(default_factory=lambda: dict(USER))

    def new_release(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return github_releases.new_release(self, body)

    def add_asset(
        self, release_id: int, name: str, label: str, ctype: str, data: bytes
    ) -> dict[str, Any]:
        with self.lock:
            return github_releases.add_asset(self, release_id, name, label, ctype, data)

    def start_upload(self, release_id: int, name: str) -> dict[str, Any]:
        with self.lock:
            return github_releases.start_upload(self, release_id, name)

    def finish_upload(self, asset_id: int, data: bytes) -> None:
        with self.lock:
            github_releases.finish_upload(self, asset_id, data)

    def published(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.releases.values() if not r["draft"]]

    def asset_names(self, release: dict[str, Any]) -> list[str]:
        with self.lock:
            return sorted(a["name"] for a in release["assets"])

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

        def _reply(self, reply: github_releases.Reply) -> None:
            if reply.raw is None and reply.body is None:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _start(self, method: str) -> ParseResult | None:
            """Log the request and let the test's hook answer it first; None when it did."""
            url = urlparse(self.path)
            query = f"?{url.query}" if url.query and method == "POST" else ""
            line = f"{method} {url.path}{query}"
            state.requests.append(line)
            status = state.hook(line) if state.hook is not None else None
            if status is not None:
                self._body()
                self._send(status, {"message": "Server Error", "status": str(status)})
                return None
            return url

        def _releases(self, method: str, url: ParseResult) -> bool:
            """Answer a releases (or asset storage) request; False when the path is another."""
            uploads = url.path.startswith("/api/uploads/")
            path = url.path.removeprefix("/api/v3").removeprefix("/api/uploads")
            storage = method == "GET" and path.startswith("/storage/")
            ours = (f"/repos/{state.repository}/releases", f"/repos/{state.repository}/git/")
            if not storage and not path.startswith(ours):
                return False
            if not storage and not (self._authorized() if method == "GET" else self._writable()):
                return True
            body = self._body() if method in ("POST", "PATCH") else b""
            request = github_releases.Request(
                method, path, url.query, uploads, self._token() == "test-token", body, self.headers
            )
            reply = github_releases.route(state, request)
            self._reply(reply if reply is not None else github_releases.not_found())
            return True

        def do_PATCH(self) -> None:
            url = self._start("PATCH")
            if url is None or self._releases("PATCH", url):
                return None
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
            url = self._start("DELETE")
            if url is None or self._releases("DELETE", url):
                return None
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
            url = self._start("GET")
            if url is None or self._releases("GET", url):
                return None
            url = url._replace(path=url.path.removeprefix("/api/v3"))
            if not self._authorized():
                return None
            number = self._issue_comments(url.path)
            if number is None or number not in state.pulls:
                return self._not_found()
            base = f"{state.api_url}/repos/{state.repository}/issues/{number}/comments"
            return self._reply(github_releases.page(state.comments_of(number), url.query, base))

        def do_POST(self) -> None:
            url = self._start("POST")
            if url is None or self._releases("POST", url):
                return None
            if not self._writable():
                return None
            body = self._body()
            number = self._issue_comments(url.path.removeprefix("/api/v3"))
            if number is None or number not in state.pulls:
                return self._not_found()
            return self._send(201, state.add_comment(number, json.loads(body)["body"]))

    return Handler


class GitHubServers:
    """Start the server on a free loopback port; ``stop()`` shuts it down."""

    def __init__(self, repository: str = "acme/shop") -> None:
        self.state = FakeGitHub(repository)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.state.api_url = f"{base}/api/v3"
        self.state.uploads_url = f"{base}/api/uploads"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
