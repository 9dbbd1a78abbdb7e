"""What kind of CI event started this run, and whether it may write shared caches.

Cache saves, change detection and publishing all depend on "is this a trusted push to the
default branch or a tag?", so the answer is computed here once. The facts come from
:mod:`goci.ci_env`, which reads them from the environment GitHub Actions or Drone set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple


class Event(NamedTuple):
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
