"""A local stand-in for the GitHub releases API, answering in GitHub's real JSON format.

It is laid out like GitHub Enterprise Server: the REST API under ``/api/v3`` (get release by
tag, create release, list assets) and the uploads endpoint under ``/api/uploads``, which is
where a release's ``upload_url`` points (PyGithub only sends uploads to such a host).
"""

from __future__ import annotations

import hashlib
import json
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


@dataclass
class FakeGitHub:
    repository: str = "acme/shop"
    releases: dict[int, dict[str, Any]] = field(default_factory=dict)
    blobs: dict[tuple[int, str], bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    api_url: str = ""
    uploads_url: str = ""

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

        def _authorized(self) -> bool:
            if (
                self.headers.get("Authorization") != "token test-token"
                and self.headers.get("Authorization") != "Bearer test-token"
            ):
                self._send(401, {"message": "Bad credentials", "status": "401"})
                return False
            return True

        def do_GET(self) -> None:
            url = urlparse(self.path)
            state.requests.append(f"GET {url.path}")
            url = url._replace(path=url.path.removeprefix("/api/v3"))
            if not self._authorized():
                return None
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
            if not self._authorized():
                return None
            body = self._body()
            uploads = url.path.startswith("/api/uploads/")
            url = url._replace(path=url.path.removeprefix("/api/v3").removeprefix("/api/uploads"))
            if not uploads and url.path == f"/repos/{state.repository}/releases":
                return self._send(201, state.new_release(json.loads(body)))
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
