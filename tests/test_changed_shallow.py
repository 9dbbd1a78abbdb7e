"""Shallow clones: deepen until the merge base appears, else ask the GitHub compare API.

The API is a local HTTP server answering ``GET /repos/{owner}/{repo}/compare/{base}...{head}``
in GitHub's response format; PyGithub is pointed at it through ``GITHUB_API_URL``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from support.goci_run import GociRun
from support.gorepo import GoRepo

M = "ex.com/m"


def origin_with_branch(make_repo: Callable[..., GoRepo]) -> tuple[GoRepo, str, str]:
    """main with history; a feature branch of three commits off main~2."""
    repo = make_repo("origin")
    repo.module(".", M)
    repo.package("lib", "lib", "func V() int { return 1 }\n")
    repo.package("app", "app", f'import "{M}/lib"\n\nfunc A() int {{ return lib.V() }}\n')
    repo.package("other", "other", "const O = 1\n")
    for n in range(4):
        repo.write("README.md", f"history {n}\n")
        repo.commit(f"main {n}")
    base = repo.head()
    repo.git("checkout", "-q", "-b", "feat", "HEAD~2")
    repo.package("lib", "lib", "func V() int { return 2 }\n")
    repo.commit("feat 1")
    for n in range(2):
        repo.write("NOTES.md", f"notes {n}\n")
        repo.commit(f"feat {n + 2}")
    head = repo.head()
    repo.git("checkout", "-q", "main")
    return repo, base, head


def shallow_clone(origin: GoRepo, tmp_path: Path) -> GoRepo:
    target = tmp_path / "clone"
    origin.git("clone", "-q", "--depth=1", "--branch", "feat", origin.root.as_uri(), str(target))
    clone = GoRepo.__new__(GoRepo)
    clone.root, clone.env = target, dict(origin.env)
    assert clone.git("rev-parse", "--is-shallow-repository") == "true"
    return clone


def test_deepens_until_the_merge_base(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    origin, base, head = origin_with_branch(make_repo)
    clone = shallow_clone(origin, tmp_path)
    run = goci("changed", "--json", "--base", base, env=clone.env, cwd=clone.root)
    assert run.code == 0, run.stderr
    out = run.json()
    assert out["packages"] == [f"{M}/app", f"{M}/lib"]
    assert out["merge-base"] == origin.git("merge-base", base, head)


class _Api(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, dict[str, Any]]] = {}
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization", "")))
        body = self.answers.get(self.path.split("?")[0])
        data = json.dumps(body or {"message": "Not Found"}).encode()
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def github_api() -> Iterator[tuple[str, type[_Api]]]:
    handler = type("Api", (_Api,), {"answers": {}, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def commit_json(api: str, sha: str) -> dict[str, Any]:
    person = {"name": "dev", "email": "dev@example.com", "date": "2025-01-02T03:04:05Z"}
    return {
        "sha": sha,
        "node_id": "C_kwDOA",
        "url": f"{api}/repos/octo/mono/commits/{sha}",
        "html_url": f"https://github.com/octo/mono/commit/{sha}",
        "comments_url": f"{api}/repos/octo/mono/commits/{sha}/comments",
        "commit": {
            "url": f"{api}/repos/octo/mono/git/commits/{sha}",
            "author": person,
            "committer": person,
            "message": "change",
            "tree": {"sha": "f" * 40, "url": f"{api}/repos/octo/mono/tree/{'f' * 40}"},
            "comment_count": 0,
            "verification": {"verified": False, "reason": "unsigned"},
        },
        "author": None,
        "committer": None,
        "parents": [],
    }


def file_json(api: str, name: str, status: str, previous: str = "") -> dict[str, Any]:
    entry = {
        "sha": "a" * 40,
        "filename": name,
        "status": status,
        "additions": 1,
        "deletions": 1,
        "changes": 2,
        "blob_url": f"https://github.com/octo/mono/blob/{'b' * 40}/{name}",
        "raw_url": f"https://github.com/octo/mono/raw/{'b' * 40}/{name}",
        "contents_url": f"{api}/repos/octo/mono/contents/{name}?ref={'b' * 40}",
        "patch": "@@ -1 +1 @@\n-a\n+b",
    }
    if previous:
        entry["previous_filename"] = previous
    return entry


def comparison(api: str, base: str, head: str, merge_base: str, files: list[Any]) -> Any:
    return {
        "url": f"{api}/repos/octo/mono/compare/{base}...{head}",
        "html_url": f"https://github.com/octo/mono/compare/{base}...{head}",
        "permalink_url": f"https://github.com/octo/mono/compare/octo:{base}...octo:{head}",
        "diff_url": f"https://github.com/octo/mono/compare/{base}...{head}.diff",
        "patch_url": f"https://github.com/octo/mono/compare/{base}...{head}.patch",
        "base_commit": commit_json(api, base),
        "merge_base_commit": commit_json(api, merge_base),
        "status": "diverged",
        "ahead_by": 3,
        "behind_by": 2,
        "total_commits": 3,
        "commits": [commit_json(api, head)],
        "files": files,
    }


def api_env(clone: GoRepo, api: str) -> dict[str, str]:
    clone.git("remote", "set-url", "origin", "file:///nonexistent/goci-origin")
    return {
        **clone.env,
        "GITHUB_REPOSITORY": "octo/mono",
        "GITHUB_API_URL": api,
        "GITHUB_TOKEN": "s3cret-token",
    }


def test_compare_api_when_git_cannot_fetch(
    make_repo: Callable[..., GoRepo],
    goci: Callable[..., GociRun],
    tmp_path: Path,
    github_api: tuple[str, type[_Api]],
) -> None:
    api, handler = github_api
    origin, base, head = origin_with_branch(make_repo)
    clone = shallow_clone(origin, tmp_path)
    merge_base = origin.git("merge-base", base, head)
    files = [
        file_json(api, "lib/lib.go", "modified"),
        file_json(api, "NOTES.md", "added"),
    ]
    handler.answers[f"/repos/octo/mono/compare/{base}...{head}"] = comparison(
        api, base, head, merge_base, files
    )
    run = goci("changed", "--json", "--base", base, env=api_env(clone, api), cwd=clone.root)
    assert run.code == 0, run.stderr
    out = run.json()
    assert out["packages"] == [f"{M}/app", f"{M}/lib"]
    assert out["merge-base"] == merge_base and out["all"] is False
    assert handler.seen and "s3cret-token" in handler.seen[-1][1]
    assert "s3cret-token" not in run.stderr + run.stdout


def test_compare_api_with_deletion_answers_everything(
    make_repo: Callable[..., GoRepo],
    goci: Callable[..., GociRun],
    tmp_path: Path,
    github_api: tuple[str, type[_Api]],
) -> None:
    api, handler = github_api
    origin, base, head = origin_with_branch(make_repo)
    clone = shallow_clone(origin, tmp_path)
    files = [file_json(api, "lib/new.go", "renamed", previous="lib/old.go")]
    handler.answers[f"/repos/octo/mono/compare/{base}...{head}"] = comparison(
        api, base, head, base, files
    )
    run = goci("changed", "--json", "--base", base, env=api_env(clone, api), cwd=clone.root)
    assert run.code == 0, run.stderr
    out = run.json()
    assert out["all"] is True and len(out["packages"]) == 3
    assert "merge base is not on disk" in run.stderr


def test_api_failure_on_a_gone_event_base_means_everything(
    make_repo: Callable[..., GoRepo],
    goci: Callable[..., GociRun],
    tmp_path: Path,
    github_api: tuple[str, type[_Api]],
) -> None:
    api, _handler = github_api  # answers 404 to everything
    origin, _base, head = origin_with_branch(make_repo)
    clone = shallow_clone(origin, tmp_path)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"before": "e" * 40, "after": head}))
    env = {
        **api_env(clone, api),
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(event),
    }
    run = goci("changed", "--json", env=env, cwd=clone.root)
    assert run.code == 0, run.stderr
    out = run.json()
    assert out["all"] is True and len(out["packages"]) == 3
    assert "force push" in run.stderr
