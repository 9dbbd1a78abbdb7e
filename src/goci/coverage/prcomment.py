"""The review report as one pull-request comment, updated in place on every push (PyGithub).

A hidden marker opening the body names goci's comment (written by the workflow's token, so a
bot's); a run edits it instead of adding another. Two runs of
one pull request can post at the same moment: each re-reads the comments after creating one,
keeps the oldest of goci's and removes the rest, so one comment is left whoever wins.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from goci.errors import ToolError

MARKER = "<!-- goci:report -->"


@dataclass(frozen=True)
class Posted:
    url: str
    action: str  # created, updated
    removed: int  # duplicates of another run removed


class Forbidden(ToolError):
    """GitHub refused to write the comment (HTTP 403): the token lacks pull-requests: write."""


def _ours(comments: Any, marker: str) -> list[Any]:
    return sorted(
        (
            c
            for c in comments
            if (c.body or "").startswith(marker) and getattr(c.user, "type", "") == "Bot"
        ),
        key=lambda c: c.id,
    )


def _drop(comments: list[Any], keep: Any) -> int:
    from github import UnknownObjectException

    removed = 0
    for comment in comments:
        if comment.id == keep.id:
            continue
        with contextlib.suppress(UnknownObjectException):  # the other run removed it first
            comment.delete()
        removed += 1
    return removed


def upsert(issue: Any, body: str, marker: str = MARKER) -> Posted:
    """Edit goci's comment on ``issue`` to ``body``, or create it; one is left afterwards."""
    text = f"{marker}\n{body}"
    mine = _ours(issue.get_comments(), marker)
    if mine:
        keep = mine[0]
        if keep.body != text:
            keep.edit(text)
        return Posted(keep.html_url, "updated", _drop(mine, keep))
    created = issue.create_comment(text)
    mine = _ours(issue.get_comments(), marker) or [created]
    keep = mine[0]
    removed = _drop(mine, keep)
    if keep.id != created.id:
        keep.edit(text)
        return Posted(keep.html_url, "updated", removed)
    return Posted(created.html_url, "created", removed)


def post(body: str, *, token: str, repository: str, number: int, api_url: str) -> Posted:
    """Post or update the comment on pull request ``number`` of ``repository``."""
    from github import Auth, Github, GithubException

    client = Github(base_url=api_url, auth=Auth.Token(token), retry=None, timeout=60, lazy=True)
    try:
        return upsert(client.get_repo(repository).get_issue(number), body)
    except GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        error = Forbidden if exc.status == 403 else ToolError
        raise error(f"GitHub API ({api_url}): HTTP {exc.status}: {message}") from None
    finally:
        client.close()
