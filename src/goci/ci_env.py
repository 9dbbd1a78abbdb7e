"""What the CI system says about this run, read from the environment in one place.

GitHub Actions, Drone and Woodpecker name the same facts differently: the event and its
payload, the commit range, the run's page, who started it, the workspace and the runner's
temporary folder. :meth:`CiEnv.from_env` reads them once, when a command starts, into a
frozen :class:`CiEnv`; the core receives that value (or the few fields it needs) and never
looks at an environment variable of its own. A variable goci reads about the CI run is
named here and nowhere else.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from goci.changed.events import Event

Provider = Literal["github", "drone", "local"]

GITHUB_API = "https://api.github.com"
GITHUB_SERVER = "https://github.com"
_ACTOR_VARIABLES = ("GITHUB_ACTOR", "DRONE_COMMIT_AUTHOR", "CI_COMMIT_AUTHOR", "USER", "USERNAME")


def provider_of(env: Mapping[str, str]) -> Provider:
    """Which CI runs this: GitHub Actions, Drone (or Woodpecker, which speaks Drone), or none."""
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("DRONE") == "true" or env.get("CI_SYSTEM_NAME") == "woodpecker":
        return "drone"
    return "local"


def _payload(path: str) -> dict[str, Any]:
    """The webhook payload GitHub wrote to ``GITHUB_EVENT_PATH`` (empty when absent/unreadable)."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _run_url(env: Mapping[str, str]) -> str:
    """The page of this run (and attempt) on GitHub, or Drone's build link."""
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", GITHUB_SERVER)
        url = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
        attempt = env.get("GITHUB_RUN_ATTEMPT", "")
        return f"{url}/attempts/{attempt}" if attempt else url
    return env.get("DRONE_BUILD_LINK", "")


def _run_identity(env: Mapping[str, str]) -> str:
    """A per-run suffix (run id and attempt) that makes immutable cache keys unique."""
    if env.get("GITHUB_RUN_ID"):
        return f"{env['GITHUB_RUN_ID']}-{env.get('GITHUB_RUN_ATTEMPT', '1')}"
    if env.get("DRONE_BUILD_NUMBER"):
        return f"drone{env['DRONE_BUILD_NUMBER']}"
    return "local"


def job_temp(env: Mapping[str, str]) -> Path | None:
    """The job's own temporary folder (Actions' RUNNER_TEMP, emptied before each job)."""
    return Path(env["RUNNER_TEMP"]) if env.get("RUNNER_TEMP") else None


def _runner_os(env: Mapping[str, str]) -> str:
    """The runner's OS as GitHub names it (``Linux``, ``macOS``, ``Windows``)."""
    if env.get("RUNNER_OS"):
        return env["RUNNER_OS"]
    # os.uname() is what platform.system() reads on POSIX; the platform module (slow to
    # import) only where there is no uname.
    if hasattr(os, "uname"):
        system = os.uname().sysname
    else:
        import platform

        system = platform.system()
    return {"Darwin": "macOS"}.get(system, system or "unknown")


def _event(provider: Provider, env: Mapping[str, str], payload: Mapping[str, Any]) -> Event:
    if provider == "github":
        repo = payload.get("repository") or {}
        return Event(
            name=env.get("GITHUB_EVENT_NAME", ""),
            ref=env.get("GITHUB_REF", ""),
            default_branch=str(repo.get("default_branch", "")),
            payload=payload,
        )
    if provider == "drone":
        tag = env.get("DRONE_TAG", "")
        return Event(
            name=env.get("DRONE_BUILD_EVENT") or env.get("CI_PIPELINE_EVENT", ""),
            ref=f"refs/tags/{tag}" if tag else f"refs/heads/{env.get('DRONE_BRANCH', '')}",
            default_branch=env.get("DRONE_REPO_BRANCH", ""),
            payload={},
        )
    return Event(name="local", ref="", default_branch="", payload={})


class CiEnv(NamedTuple):
    """The facts of this CI run that goci uses; a local run has the defaults."""

    provider: Provider = "local"
    event: Event = Event("local", "", "", MappingProxyType({}))
    #: The webhook payload of ``GITHUB_EVENT_PATH`` (read whenever one is given).
    payload: Mapping[str, Any] = MappingProxyType({})
    #: GitHub's event name even outside Actions when a payload file is given (a replayed
    #: event); '' when there is none.
    github_event_name: str = ""
    #: Whether a GitHub event payload names the commit range (in Actions, or a replayed one).
    github_event: bool = False
    head_sha: str = ""
    before: str = ""
    target_branch: str = ""
    repository: str = ""
    api_url: str = GITHUB_API
    token: str = ""
    run_url: str = ""
    run_identity: str = "local"
    job: str = ""
    attempt: int = 0
    actor: str = "unknown"
    workspace: Path | None = None
    temp: Path | None = None
    runner_os: str = _runner_os({})  # this machine's: the same for every CiEnv made here

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CiEnv:
        provider = provider_of(env)
        event_path = env.get("GITHUB_EVENT_PATH", "")
        payload = _payload(event_path)
        job = ""
        if env.get("GITHUB_RUN_ID") and env.get("GITHUB_JOB"):
            job = f"{env.get('GITHUB_REPOSITORY', '')}/{env['GITHUB_RUN_ID']}/{env['GITHUB_JOB']}"
        attempt = env.get("GITHUB_RUN_ATTEMPT", "")
        return cls(
            provider=provider,
            event=_event(provider, env, payload),
            payload=payload,
            github_event_name=env.get("GITHUB_EVENT_NAME", ""),
            github_event=provider == "github" or bool(event_path),
            head_sha=env.get("GITHUB_SHA") or env.get("DRONE_COMMIT_AFTER") or "",
            before=env.get("DRONE_COMMIT_BEFORE", ""),
            target_branch=env.get("DRONE_TARGET_BRANCH", ""),
            repository=env.get("GITHUB_REPOSITORY", ""),
            api_url=env.get("GITHUB_API_URL") or GITHUB_API,
            token=env.get("GITHUB_TOKEN", ""),
            run_url=_run_url(env),
            run_identity=_run_identity(env),
            job=job,
            attempt=int(attempt) if attempt.isdigit() else 0,
            actor=next((env[n] for n in _ACTOR_VARIABLES if env.get(n)), "unknown"),
            workspace=Path(env["GITHUB_WORKSPACE"]) if env.get("GITHUB_WORKSPACE") else None,
            temp=job_temp(env),
            runner_os=_runner_os(env),
        )

    @property
    def roots(self) -> tuple[Path, ...]:
        """The CI's own folders a user-given path may name: the workspace, the runner's temp."""
        return tuple(p for p in (self.workspace, self.temp) if p is not None)
