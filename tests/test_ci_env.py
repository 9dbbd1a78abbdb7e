"""The CI environment is read in one place (goci.ci_env) into one frozen value.

GitHub Actions, Drone and Woodpecker name the same facts differently; these tests pin what each
provider's variables become, and that no other module of goci names a CI variable itself.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from goci.ci_env import CiEnv, provider_of

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "goci"


def test_github_actions(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"repository": {"default_branch": "main"}, "before": "a" * 40}))
    ci = CiEnv.from_env(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_SHA": "b" * 40,
            "GITHUB_REPOSITORY": "o/r",
            "GITHUB_RUN_ID": "42",
            "GITHUB_RUN_ATTEMPT": "3",
            "GITHUB_JOB": "test",
            "GITHUB_ACTOR": "octocat",
            "GITHUB_WORKSPACE": str(tmp_path / "ws"),
            "RUNNER_TEMP": str(tmp_path / "tmp"),
            "RUNNER_OS": "Linux",
            "GITHUB_TOKEN": "t0ken",
            "USER": "runner",
        }
    )
    assert (ci.provider, ci.event.name, ci.event.ref, ci.event.default_branch) == (
        "github",
        "push",
        "refs/heads/main",
        "main",
    )
    assert ci.event.trusted and ci.github_event and ci.payload["before"] == "a" * 40
    assert ci.run_url == "https://github.com/o/r/actions/runs/42/attempts/3"
    assert (ci.run_identity, ci.job, ci.attempt) == ("42-3", "o/r/42/test", 3)
    assert (ci.actor, ci.head_sha, ci.repository, ci.token) == ("octocat", "b" * 40, "o/r", "t0ken")
    assert ci.api_url == "https://api.github.com"
    assert ci.roots == (tmp_path / "ws", tmp_path / "tmp")
    assert ci.runner_os == "Linux"


@pytest.mark.parametrize(
    ("marker", "event_variable"),
    [
        ({"DRONE": "true"}, "DRONE_BUILD_EVENT"),
        ({"CI_SYSTEM_NAME": "woodpecker"}, "CI_PIPELINE_EVENT"),  # Woodpecker's own name
    ],
)
def test_drone_and_woodpecker(marker: dict[str, str], event_variable: str) -> None:
    ci = CiEnv.from_env(
        {
            **marker,
            event_variable: "push",
            "DRONE_BRANCH": "main",
            "DRONE_REPO_BRANCH": "main",
            "DRONE_COMMIT_BEFORE": "c" * 40,
            "DRONE_COMMIT_AFTER": "d" * 40,
            "DRONE_TARGET_BRANCH": "main",
            "DRONE_BUILD_NUMBER": "7",
            "DRONE_BUILD_LINK": "https://drone.example/o/r/7",
            "DRONE_COMMIT_AUTHOR": "gopher",
        }
    )
    assert (ci.provider, ci.event.name, ci.event.ref) == ("drone", "push", "refs/heads/main")
    assert ci.event.trusted and not ci.github_event
    assert (ci.before, ci.head_sha, ci.target_branch) == ("c" * 40, "d" * 40, "main")
    assert (ci.run_identity, ci.run_url, ci.actor) == (
        "drone7",
        "https://drone.example/o/r/7",
        "gopher",
    )
    tag = CiEnv.from_env({**marker, event_variable: "tag", "DRONE_TAG": "v1.2.3"})
    assert tag.event.ref == "refs/tags/v1.2.3" and tag.event.trusted


def test_a_local_run_has_the_defaults_and_trusts_nothing() -> None:
    ci = CiEnv.from_env({"USER": "me"})
    assert ci == CiEnv()._replace(actor="me", runner_os=ci.runner_os)
    assert (ci.provider, ci.event.name, ci.event.trusted) == ("local", "local", False)
    assert (ci.run_url, ci.run_identity, ci.roots) == ("", "local", ())
    assert provider_of({"GITHUB_ACTIONS": "false", "DRONE": "1"}) == "local"


def test_an_unreadable_event_payload_is_an_empty_one(tmp_path: Path) -> None:
    (tmp_path / "event.json").write_text("[1, 2")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": str(tmp_path / "event.json")}
    assert CiEnv.from_env(env).payload == {}
    assert CiEnv.from_env({**env, "GITHUB_EVENT_PATH": str(tmp_path / "nope")}).payload == {}


# The variables the runtime adapter writes to (file commands), not facts about the run.
RUNTIME_FILES = {"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY"}
CI_PREFIXES = ("GITHUB_", "DRONE", "RUNNER_", "CI_")


def test_no_other_module_reads_a_ci_variable() -> None:
    """A CI variable named anywhere but ci_env (runtime: its own output files) is a read
    deep inside goci that the one reader was meant to replace."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = str(path.relative_to(PACKAGE))
        if name == "ci_env.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            word = node.value
            if word.startswith(CI_PREFIXES) and word.isupper() and word not in RUNTIME_FILES:
                if name == "commands/artifact.py" and word == "GITHUB_REPOSITORY":
                    continue  # names the variable in its error message only
                found.setdefault(name, set()).add(word)
    assert found == {"commands/__init__.py": {"DRONE_COMMAND"}}  # an attribute name
