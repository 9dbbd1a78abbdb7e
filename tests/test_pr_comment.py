"""``goci pr-comment``: one pull-request comment, edited in place, against a local GitHub API.

The server pages comment lists as GitHub does (30 a page), so goci's comment sits on the
second page behind a busy discussion; other people's comments, and a bot's without goci's
marker, must be left exactly as they were.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from goci.coverage import prcomment
from support.github_api import USER, GitHubServers
from support.goci_run import GociRun, actions_env

PR = 7
HUMAN = {"login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==", "type": "User",
         "site_admin": False}  # fmt: skip
OTHER_BOT = {**USER, "login": "renovate[bot]", "id": 29139614}


@pytest.fixture
def github() -> Iterator[GitHubServers]:
    servers = GitHubServers()
    servers.state.pulls.add(PR)
    yield servers
    servers.stop()


def pr_env(tmp_path: Path, base: dict[str, str], github: GitHubServers, **extra: Any) -> Any:
    event = tmp_path / "event.json"
    payload = {
        "number": PR,
        "pull_request": {
            "number": PR,
            "head": {"repo": {"full_name": extra.pop("head_repo", "acme/shop"), "fork": False}},
            "base": {"repo": {"full_name": "acme/shop"}},
        },
    }
    event.write_text(json.dumps(payload))
    return {
        **actions_env(tmp_path / "gha", base),
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": github.state.api_url,
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_TOKEN": "test-token",
        **extra,
    }


def bodies(github: GitHubServers) -> list[tuple[str, str]]:
    return [(c["user"]["login"], c["body"]) for c in github.state.comments_of(PR)]


def test_one_comment_is_created_then_edited_in_place(
    github: GitHubServers, goci: Callable[..., GociRun], tmp_path: Path, go_env: dict[str, str]
) -> None:
    for i in range(33):  # goci's comment lands on the second page of 30
        github.state.add_comment(PR, f"comment {i}", HUMAN if i % 2 else OTHER_BOT)
    github.state.add_comment(PR, f"> {prcomment.MARKER}\n> quoted by a person", HUMAN)
    before = bodies(github)
    env = pr_env(tmp_path, go_env, github)
    (tmp_path / "head.md").write_text("patch 50.0% (1/2), total 71.2% (-0.4)\n")
    (tmp_path / "api.md").write_text("### API: 1 compatible, 0 breaking\n")

    first = goci("pr-comment", "--body-file", "head.md", "--body-file", "api.md", "--json",
                 env=env, cwd=tmp_path)  # fmt: skip
    assert first.code == 0, first.stderr
    assert first.json()["action"] == "created"
    text = (
        f"{prcomment.MARKER}\npatch 50.0% (1/2), total 71.2% (-0.4)\n\n"
        "### API: 1 compatible, 0 breaking"
    )
    assert bodies(github) == [*before, ("github-actions[bot]", text)]
    url = first.json()["comment-url"]
    assert url.startswith(f"https://github.com/acme/shop/pull/{PR}#issuecomment-")

    (tmp_path / "head.md").write_text("patch 100.0% (2/2), total 71.6% (+0.0)\n")
    second = goci("pr-comment", "--body-file", "head.md", "--json", env=env, cwd=tmp_path)
    assert second.code == 0, second.stderr
    assert (second.json()["action"], second.json()["comment-url"]) == ("updated", url)
    assert bodies(github) == [
        *before,
        ("github-actions[bot]", f"{prcomment.MARKER}\npatch 100.0% (2/2), total 71.6% (+0.0)"),
    ]
    writes = [r for r in github.state.requests if not r.startswith("GET")]
    assert [w.split()[0] for w in writes] == ["POST", "PATCH"]
    logged = (first.stderr + second.stderr).replace("::add-mask::test-token\n", "")
    assert "test-token" not in logged


def test_runs_racing_leave_one_comment(github: GitHubServers) -> None:
    said: list[prcomment.Posted] = []
    gate = threading.Barrier(4)

    def post(index: int) -> None:
        gate.wait()
        said.append(
            prcomment.post(
                f"run {index}",
                token="test-token",
                repository="acme/shop",
                number=PR,
                api_url=github.state.api_url,
            )
        )

    threads = [threading.Thread(target=post, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    left = github.state.comments_of(PR)
    assert len(left) == 1 and len(said) == 4
    assert {p.url for p in said} == {left[0]["html_url"]}
    assert left[0]["body"] in {f"{prcomment.MARKER}\nrun {i}" for i in range(4)}
    # a duplicate left by an earlier race is removed by the next run, the oldest kept
    github.state.add_comment(PR, f"{prcomment.MARKER}\nstale duplicate")
    again = prcomment.post("run 5", token="test-token", repository="acme/shop", number=PR,
                           api_url=github.state.api_url)  # fmt: skip
    assert (again.action, again.removed) == ("updated", 1)
    assert bodies(github) == [("github-actions[bot]", f"{prcomment.MARKER}\nrun 5")]


def test_a_fork_warns_and_passes_a_read_only_token_elsewhere_is_exit_2(
    github: GitHubServers, goci: Callable[..., GociRun], tmp_path: Path, go_env: dict[str, str]
) -> None:
    (tmp_path / "r.md").write_text("report\n")
    fork = pr_env(tmp_path, go_env, github, head_repo="someone/shop",
                  GITHUB_TOKEN="read-only-token")  # fmt: skip
    run = goci("pr-comment", "--body-file", "r.md", "--json", env=fork, cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert run.json()["action"] == "none"
    assert "::warning::no pull-request comment: a pull request from a fork" in run.stderr
    same = pr_env(tmp_path, go_env, github, GITHUB_TOKEN="read-only-token")
    denied = goci("pr-comment", "--body-file", "r.md", env=same, cwd=tmp_path)
    assert denied.code == 2 and "pull-requests: write" in denied.stderr
    assert "Traceback" not in denied.stderr and github.state.comments_of(PR) == []
    tokenless = {k: v for k, v in same.items() if k != "GITHUB_TOKEN"}
    no_token = goci("pr-comment", "--body-file", "r.md", env=tokenless, cwd=tmp_path)
    assert no_token.code == 2 and "GOCI_COMMENT_TOKEN" in no_token.stderr
    # A fork gets no secrets at all: a repository secret as the token arrives empty.
    fork = pr_env(tmp_path, go_env, github, head_repo="someone/shop")  # the event file again
    fork_tokenless = {k: v for k, v in fork.items() if k != "GITHUB_TOKEN"}
    skipped = goci("pr-comment", "--body-file", "r.md", "--json", env=fork_tokenless, cwd=tmp_path)
    assert skipped.code == 0, skipped.stderr
    assert skipped.json()["action"] == "none"
    assert "::warning::no pull-request comment: a pull request from a fork" in skipped.stderr
    missing = goci("pr-comment", "--body-file", "nope.md", env=same, cwd=tmp_path)
    assert missing.code == 2 and "--body-file" in missing.stderr and "nope.md" in missing.stderr


def test_outside_a_pull_request_nothing_is_posted(
    github: GitHubServers, goci: Callable[..., GociRun], tmp_path: Path, go_env: dict[str, str]
) -> None:
    env = {**pr_env(tmp_path, go_env, github), "GITHUB_EVENT_NAME": "push"}
    (tmp_path / "event.json").write_text(json.dumps({"ref": "refs/heads/main"}))
    run = goci("pr-comment", "--body-file", "x.md", "--json", env=env, cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert run.json() == {"comment-url": "", "action": "none"}
    assert github.state.requests == []
