"""Which commits to compare and which files changed between them.

A pull request with several commits, a force push and a shallow CI checkout all make
``git diff HEAD^`` wrong. The honest comparison is merge base .. head, with the base taken from
the event that started the run; when the event cannot name a base (a new branch, a schedule, a
manual run) or the base is gone (a force push), the answer is "everything", never "nothing".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from goci.ci_env import CiEnv
from goci.errors import InputError, ToolError
from goci.tools.gittool import Git

Status = Literal["A", "M", "D"]

_ZERO_SHA = re.compile(r"^0+$")
_EVERYTHING_EVENTS = {"schedule", "workflow_dispatch", "repository_dispatch", "cron", "custom"}
DEFAULT_DEEPEN_LIMIT = 2000


@dataclass(frozen=True)
class FileChange:
    """One changed file, its path relative to the repository root (``/``-separated).

    Renames are never detected (``--no-renames``), so a move is a delete plus an add: both
    the old and the new owner of the file are affected. ``gitlink`` marks a submodule (mode
    160000): its "file" is the commit it points to, a change of every file inside it.
    """

    status: Status
    path: str
    gitlink: bool = False


@dataclass(frozen=True)
class Refs:
    """The base and head asked for, before anything is looked up in git."""

    base: str | None
    head: str
    everything: str = ""
    base_from_event: bool = False


@dataclass(frozen=True)
class ChangeSet:
    """The files changed between the merge base and head, or the reason everything runs."""

    base: str | None
    head: str
    merge_base: str | None
    files: tuple[FileChange, ...]
    everything: str = ""
    source: Literal["git", "compare-api", "none"] = "git"
    missing_base: str = ""  # the event's base when it is not in the repository (force push)

    @property
    def has_base_tree(self) -> bool:
        """Whether the merge base is a commit on disk (a compare-API answer has no tree)."""
        return self.source == "git" and self.merge_base is not None


def refs_from_event(
    ci: CiEnv, base: str | None, head: str | None, event_name: str | None = None
) -> Refs:
    """The base and head of this run: explicit values first, then the CI event, then HEAD."""
    head_ref = head or ci.head_sha or "HEAD"
    if base:
        return Refs(base, head_ref)
    if ci.github_event:
        return _github_refs(ci.payload, head_ref, event_name or ci.github_event_name)
    if ci.provider == "drone":
        return _drone_refs(ci, head_ref)
    return Refs(None, head_ref, everything="no --base given and no CI event to take it from")


def _github_refs(payload: Mapping[str, Any], head: str, event: str) -> Refs:
    if event in {"pull_request", "pull_request_target", "pull_request_review"}:
        pr = payload.get("pull_request") or {}
        sha = str((pr.get("base") or {}).get("sha") or "")
        if head == "HEAD":
            head = str((pr.get("head") or {}).get("sha") or head)
        if sha:
            return Refs(sha, head, base_from_event=True)
        return Refs(None, head, everything=f"{event} event without pull_request.base.sha")
    if event == "merge_group":
        group = payload.get("merge_group") or {}
        sha = str(group.get("base_sha") or "")
        head = str(group.get("head_sha") or head)
        if sha:
            return Refs(sha, head, base_from_event=True)
        return Refs(None, head, everything="merge_group event without merge_group.base_sha")
    if event == "push":
        before = str(payload.get("before") or "")
        if payload.get("after"):
            head = str(payload["after"]) if head == "HEAD" else head
        if not before or _ZERO_SHA.match(before):
            return Refs(None, head, everything="push of a new branch or tag (before is all zeros)")
        return Refs(before, head, base_from_event=True)
    if event in _EVERYTHING_EVENTS:
        return Refs(None, head, everything=f"{event} event: everything runs")
    return Refs(None, head, everything=f"{event or 'unknown'} event names no base commit")


def _drone_refs(ci: CiEnv, head: str) -> Refs:
    event = ci.event.name
    if event in {"cron", "custom", "promote", "rollback"}:
        return Refs(None, head, everything=f"drone {event} event: everything runs")
    if event == "pull_request" and ci.target_branch:
        return Refs(f"origin/{ci.target_branch}", head, base_from_event=True)
    if not ci.before or _ZERO_SHA.match(ci.before):
        return Refs(None, head, everything="drone event without DRONE_COMMIT_BEFORE")
    return Refs(ci.before, head, base_from_event=True)


def merge_base(git: Git, base: str, head: str) -> str | None:
    result = git.run("merge-base", base, head, check=False)
    return result.stdout.strip() if result.ok and result.stdout.strip() else None


def is_shallow(git: Git) -> bool:
    return git.run("rev-parse", "--is-shallow-repository", check=False).stdout.strip() == "true"


def deepen_until_merge_base(
    git: Git, base: str, head: str, *, remote: str = "origin", limit: int = DEFAULT_DEEPEN_LIMIT
) -> str | None:
    """Fetch more history of a shallow clone until ``base`` and its merge base with head appear.

    Steps double (50, 100, 200, ...) so a short pull request costs one small fetch, and the
    total is bounded by ``limit`` commits so a huge history is never pulled by accident.
    """
    if git.resolve(base) is None:
        fetched = git.run("fetch", "--no-tags", "--quiet", "--depth=1", remote, base, check=False)
        if not fetched.ok or git.resolve(base) is None:
            return None
    found = merge_base(git, base, head)
    step, total = 50, 0
    while found is None and total < limit and is_shallow(git):
        step = min(step, limit - total)
        result = git.run(
            "fetch", "--no-tags", "--quiet", f"--deepen={step}", remote, base, head, check=False
        )
        if not result.ok:
            return None
        total += step
        step *= 2
        found = merge_base(git, base, head)
    return found


def diff_files(git: Git, old: str, new: str) -> tuple[FileChange, ...]:
    """``git diff -z --no-renames --raw old new``: a rename is a delete plus an add; the modes
    tell a submodule (gitlink) from a file."""
    out = git.run("diff", "-z", "--no-renames", "--raw", old, new).stdout
    parts = out.split("\0")
    changes: list[FileChange] = []
    index = 0
    while index + 1 < len(parts):
        meta, path = parts[index], parts[index + 1]
        index += 2
        fields = meta.lstrip(":").split()
        if len(fields) < 5:
            break
        letter = fields[4][0]
        status: Status = "A" if letter == "A" else "D" if letter == "D" else "M"
        changes.append(FileChange(status, path, gitlink="160000" in fields[:2]))
    return tuple(changes)


CompareFallback = Callable[[str, str], "tuple[str | None, tuple[FileChange, ...]] | None"]


def collect(
    git: Git,
    refs: Refs,
    *,
    deepen_limit: int = DEFAULT_DEEPEN_LIMIT,
    compare: CompareFallback | None = None,
) -> ChangeSet:
    """Resolve base and head, find the merge base (deepening a shallow clone), list changes.

    An explicit ``--base`` that git cannot find is bad input; a base taken from the event that
    is gone (force push) or unreachable means everything runs. When git cannot produce the
    merge base at all, ``compare`` (the GitHub compare API) may still list the files.
    """
    head_sha = git.resolve(refs.head)
    if head_sha is None:
        raise InputError(f"--head: {refs.head!r} is not a commit in this repository")
    if refs.base is None:
        return ChangeSet(None, head_sha, None, (), everything=refs.everything, source="none")
    base_sha = git.resolve(refs.base)
    found = merge_base(git, base_sha, head_sha) if base_sha else None
    if found is None and (base_sha is None or is_shallow(git)):
        found = deepen_until_merge_base(git, refs.base, head_sha, limit=deepen_limit)
        base_sha = git.resolve(refs.base)
    if found is not None and base_sha is not None:
        return ChangeSet(base_sha, head_sha, found, diff_files(git, found, head_sha))
    if compare is not None:
        try:
            answer = compare(base_sha or refs.base, head_sha)
        except ToolError as exc:
            answer = None
            reason = f"compare API failed: {exc}"
        else:
            reason = "the compare API gave no complete file list"
        if answer is not None:
            api_merge_base, files = answer
            return ChangeSet(
                base_sha or refs.base, head_sha, api_merge_base, files, source="compare-api"
            )
    else:
        reason = "no GitHub compare API to fall back on"
    if refs.base_from_event:
        what = "is not in the repository" if base_sha is None else "shares no history with head"
        return ChangeSet(
            base_sha,
            head_sha,
            None,
            (),
            everything=f"base {refs.base} from the event {what} (force push?); {reason}",
            source="none",
            missing_base=refs.base,
        )
    if base_sha is None:
        raise InputError(
            f"--base: {refs.base!r} is not a commit in this repository "
            f"(also after fetching up to {deepen_limit} more commits; {reason})"
        )
    raise InputError(
        f"--base: {refs.base!r} shares no history with head {head_sha[:12]}; "
        "give a base that is an ancestor of head or of its branch point"
    )


def file_at(git: Git, commit: str, path: str) -> str | None:
    """The text of ``path`` at ``commit``, or None when it does not exist there."""
    result = git.run("show", f"{commit}:{path}", check=False)
    return result.stdout if result.ok else None
