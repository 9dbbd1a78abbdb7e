"""What kind of CI run this is, read from the environment that GitHub Actions or Drone set.

Cache saves, change detection and publishing all depend on "is this a trusted push to the
default branch or a tag?", so the answer is computed here once.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Event:
    """The facts of the triggering event that goci cares about."""

    name: str
    ref: str
    default_branch: str
    payload: Mapping[str, Any]

    @property
    def is_tag(self) -> bool:
        return self.ref.startswith("refs/tags/")

    @property
    def on_default_branch(self) -> bool:
        return bool(self.default_branch) and self.ref == f"refs/heads/{self.default_branch}"

    @property
    def trusted(self) -> bool:
        """A push (or scheduled/manual run) on the default branch, or a tag: may write caches."""
        if self.name not in {"push", "schedule", "workflow_dispatch", "tag", "cron", "custom"}:
            return False
        return self.is_tag or self.on_default_branch


def load_payload(env: Mapping[str, str]) -> dict[str, Any]:
    """The webhook payload GitHub wrote to ``GITHUB_EVENT_PATH`` (empty when absent/unreadable)."""
    path = env.get("GITHUB_EVENT_PATH", "")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def current_event(env: Mapping[str, str]) -> Event:
    """The event of this run: GitHub Actions, then Drone, else a local run (not trusted)."""
    if env.get("GITHUB_ACTIONS") == "true":
        payload = load_payload(env)
        repo = payload.get("repository") or {}
        return Event(
            name=env.get("GITHUB_EVENT_NAME", ""),
            ref=env.get("GITHUB_REF", ""),
            default_branch=str(repo.get("default_branch", "")),
            payload=payload,
        )
    if env.get("DRONE") == "true" or env.get("CI_SYSTEM_NAME") == "woodpecker":
        tag = env.get("DRONE_TAG", "")
        branch = env.get("DRONE_BRANCH", "")
        return Event(
            name=env.get("DRONE_BUILD_EVENT", ""),
            ref=f"refs/tags/{tag}" if tag else f"refs/heads/{branch}",
            default_branch=env.get("DRONE_REPO_BRANCH", ""),
            payload={},
        )
    return Event(name="local", ref="", default_branch="", payload={})


def runner_os(env: Mapping[str, str]) -> str:
    """The runner's OS as GitHub names it (``Linux``, ``macOS``, ``Windows``)."""
    if env.get("RUNNER_OS"):
        return env["RUNNER_OS"]
    system = platform.system()
    return {"Darwin": "macOS"}.get(system, system or "unknown")


def run_identity(env: Mapping[str, str]) -> str:
    """A per-run suffix (run id and attempt) that makes immutable cache keys unique."""
    if env.get("GITHUB_RUN_ID"):
        return f"{env['GITHUB_RUN_ID']}-{env.get('GITHUB_RUN_ATTEMPT', '1')}"
    if env.get("DRONE_BUILD_NUMBER"):
        return f"drone{env['DRONE_BUILD_NUMBER']}"
    return "local"
