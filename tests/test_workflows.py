"""The workflows and action.yml files: linted, schema-valid, pinned, least-privileged, and wired.

actionlint and check-jsonschema (its vendored GitHub schemas need no network) are the outside
judges; the rest are goci's own rules, checked on the parsed YAML so that a rule cannot be
dodged by formatting. The wiring checks catch what no linter sees: go-ci.yml calls our actions
through a checkout of goci (``./.goci/src/actions/<name>``), so actionlint cannot read those
action.yml files; here every ``with:`` key must be an input of the action it names and every
``steps.<id>.outputs.<name>`` an output that action declares.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted([*ROOT.glob("actions/*/action.yml"), *ROOT.glob("action.yml")])
BIN = Path(sys.executable).parent
OUR_ACTION = re.compile(r"^\./(?:\.goci/src/)?actions/(?P<name>[a-z0-9-]+)$")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
OUTPUT_REF = re.compile(r"steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")
# The vendored schemas ship inside check-jsonschema: any download attempt would fail here.
OFFLINE = {
    **os.environ,
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "",
}


def load(path: Path) -> dict[Any, Any]:
    """The parsed YAML; its keys are not all strings (YAML 1.1 reads ``on:`` as True)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: not a YAML mapping"
    return data


def tool(name: str) -> str:
    found = BIN / name
    assert found.exists(), f"{name} is not installed in {BIN} (pip install -e '.[dev]')"
    return str(found)


def all_steps(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(job id or "action", step) for every step of a workflow or composite action."""
    data = load(path)
    if "jobs" in data:
        for job_id, job in data["jobs"].items():
            for step in job.get("steps", []):
                yield job_id, step
    else:
        for step in data.get("runs", {}).get("steps", []):
            yield "action", step


def our_action(uses: str) -> Path | None:
    match = OUR_ACTION.match(uses)
    return ROOT / "actions" / match.group("name") / "action.yml" if match else None


def test_there_is_something_to_check() -> None:
    names = {p.name for p in WORKFLOWS}
    assert {"go-ci.yml", "go-promote.yml", "ci.yml"} <= names


def test_actionlint_is_clean() -> None:
    proc = subprocess.run(
        [tool("actionlint"), "-no-color", *map(str, WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("schema", "files"),
    [("vendor.github-workflows", WORKFLOWS), ("vendor.github-actions", ACTIONS)],
    ids=["workflows", "actions"],
)
def test_valid_against_the_published_schemas(schema: str, files: list[Path]) -> None:
    if not files:
        pytest.fail(f"no files to check against {schema}")
    proc = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
        cwd=ROOT,
        env=OFFLINE,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_schema_check_can_fail() -> None:
    """The schema check is a real judge: a workflow with a typo'd key is refused."""
    bad = ROOT / ".github" / "workflows" / "go-ci.yml"
    text = bad.read_text(encoding="utf-8").replace("runs-on:", "run-on:", 1)
    proc = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", "-"],
        env=OFFLINE,
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_third_party_actions_are_pinned_by_sha_with_version(path: Path) -> None:
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
        if not match:
            continue
        uses, rest = match.group(1), match.group(2)
        if uses.startswith(("./", "docker://")):
            continue
        assert PINNED.match(uses), f"{path.name}: {uses} is not pinned to a full commit SHA"
        assert re.search(r"#\s*v\d+\.\d+\.\d+", rest), f"{path.name}: {uses} has no # vX.Y.Z"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_declares_least_permissions(path: Path) -> None:
    data = load(path)
    assert data.get("permissions") == {}, f"{path.name}: top-level permissions must be {{}}"
    assert "concurrency" in data, f"{path.name}: no concurrency group"
    for job_id, job in data["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {job_id} has no permissions:"
        perms = job["permissions"]
        assert isinstance(perms, dict), f"{path.name}: job {job_id}: permissions must be a map"
        writes = {k for k, v in perms.items() if v == "write"}
        assert not writes, f"{path.name}: job {job_id} asks to write {sorted(writes)}"


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_expressions_inside_run_scripts(path: Path) -> None:
    for where, step in all_steps(path):
        script = step.get("run")
        if script is not None:
            assert "${{" not in script, f"{path.name} ({where}): ${{{{ }}}} in run: {script!r}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_our_actions_get_only_inputs_they_declare(path: Path) -> None:
    for job_id, step in all_steps(path):
        action_yml = our_action(step.get("uses", ""))
        if action_yml is None:
            continue
        assert action_yml.exists(), f"{path.name} ({job_id}): {step['uses']} does not exist"
        inputs = load(action_yml).get("inputs") or {}
        given = set(step.get("with") or {})
        unknown = given - set(inputs)
        assert not unknown, f"{path.name} ({job_id}): {step['uses']} has no input {unknown}"
        required = {k for k, v in inputs.items() if (v or {}).get("required") is True}
        missing = {k for k in required - given if "default" not in (inputs[k] or {})}
        assert not missing, f"{path.name} ({job_id}): {step['uses']} needs {missing}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_outputs_read_from_our_actions_are_declared(path: Path) -> None:
    data = load(path)
    for job_id, job in data["jobs"].items():
        actions = {
            step["id"]: our_action(step.get("uses", ""))
            for step in job.get("steps", [])
            if "id" in step
        }
        text = yaml.safe_dump(job)
        for step_id, output in OUTPUT_REF.findall(text):
            assert step_id in actions, f"{path.name} ({job_id}): no step with id {step_id}"
            action_yml = actions[step_id]
            if action_yml is None or not action_yml.exists():
                continue
            declared = set(load(action_yml).get("outputs") or {})
            assert output in declared, (
                f"{path.name} ({job_id}): step {step_id} ({action_yml.parent.name}) has no "
                f"output {output}; it declares {sorted(declared)}"
            )


def test_reusable_workflow_interfaces() -> None:
    ci = load(ROOT / ".github/workflows/go-ci.yml")
    on: Any = ci.get("on", ci.get(True))
    assert set(on) == {"workflow_call"}
    assert {"plan", "test", "report", "publish"} <= set(ci["jobs"])
    test = ci["jobs"]["test"]
    assert test["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert "always()" in ci["jobs"]["report"]["if"]

    promote = load(ROOT / ".github/workflows/go-promote.yml")
    on = promote.get("on", promote.get(True))
    assert {"workflow_dispatch", "workflow_call"} == set(on)
    # the gate: reviewers of the prod environment approve the release the resolve job named
    assert promote["jobs"]["promote"]["environment"] == "${{ inputs.prod-environment }}"
    assert "environment" not in promote["jobs"]["resolve"]
    assert promote["jobs"]["promote"]["needs"] == "resolve"
    for trigger in ("workflow_dispatch", "workflow_call"):
        assert on[trigger]["inputs"]["prod-environment"]["default"] == "production"
    publish = ci["jobs"]["publish"]
    assert publish["environment"] == (
        "${{ startsWith(github.ref, 'refs/tags/v') && inputs.prod-environment || '' }}"
    )
    ci_inputs = cast(Any, ci.get("on", ci.get(True)))["workflow_call"]["inputs"]
    assert ci_inputs["prod-environment"]["default"] == "production"
    # what a reviewer sees: the plan's API step reports, the report job decides
    assert (ci_inputs["api-check"]["default"], ci_inputs["comment"]["default"]) == ("report", False)
    assert {"coverage-min-patch", "coverage-max-drop"} <= set(ci_inputs)
    report = ci["jobs"]["report"]
    # a called job may not ask for more than every caller grants: the comment uses a token
    assert report["permissions"] == {"contents": "read"}
    # every cache goci keeps in the api and report jobs (the coverage baseline, goci's Go
    # helpers): restored on every run, saved by default-branch pushes only, under its restore's key
    for job, kept in (("api", {"helpers"}), ("report", {"helpers", "baseline"})):
        caches = [
            s for s in ci["jobs"][job]["steps"] if s.get("uses", "").startswith("actions/cache/")
        ]
        restores = {s["with"]["path"]: s for s in caches if "/restore@" in s["uses"]}
        saves = {s["with"]["path"]: s for s in caches if "/save@" in s["uses"]}
        assert len(caches) == 2 * len(kept) and set(restores) == set(saves), caches
        assert {"helpers" if "goci-helpers" in p else "baseline" for p in restores} == kept
        for path, save in saves.items():  # the key its restore computed, written once
            restore = restores[path]
            assert save["with"]["key"] == (
                f"${{{{ steps.{restore['id']}.outputs.cache-primary-key }}}}"
            )
            assert "github.event_name == 'push'" in save["if"]
            assert "github.ref_name == github.event.repository.default_branch" in save["if"]
    # goci's dependencies: every job's first goci step is one of goci's actions, whose own first
    # steps restore them (hosted runners start every job without them; test_action_contract
    # checks those steps); a workflow caching them again would restore them twice
    for workflow in (ci, promote):
        for job, spec in workflow["jobs"].items():
            steps = spec.get("steps", [])
            runs_goci = [
                s
                for s in steps
                if s.get("uses", "").startswith("./.goci/src")
                or re.search(r"(?m)^\s*goci ", str(s.get("run", "")))
            ]
            assert not runs_goci or runs_goci[0].get("uses", "").startswith("./.goci/src"), job
            assert "goci-deps" not in str(steps), job
    # the shared build cache: chosen by cache-key; the tarball's trim and save only without it
    assert ci_inputs["build-cache"]["default"] == "" and "build-cache-store" in ci_inputs
    steps = {s["name"]: s for s in test["steps"]}
    assert steps["Cache keys and restore"]["with"]["build-cache"] == "${{ inputs.build-cache }}"
    for name in ("Trim the build cache", "Save the build cache"):
        assert "steps.keys.outputs.build-cache == 'actions'" in steps[name]["if"]
    assert "build-cache == 'store'" in steps["Shared build cache report"]["if"]
    # the API report: a job beside the tests (never before them), a report that cannot fail
    assert not [s for s in ci["jobs"]["plan"]["steps"] if "api" in str(s.get("run", ""))]
    api_job = ci["jobs"]["api"]
    assert api_job["needs"] == "plan" and "api" in ci["jobs"]["report"]["needs"]
    assert "api" not in str(ci["jobs"]["test"]["needs"])
    api = next(s for s in api_job["steps"] if s.get("id") == "api")
    assert api["continue-on-error"] is True and api["run"] == "goci api-diff"

    own = load(ROOT / ".github/workflows/ci.yml")
    self_test = own["jobs"]["self-test"]
    assert self_test["uses"] == "./.github/workflows/go-ci.yml"
    assert self_test["with"]["working-directory"] == "examples"


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_composite_step_has_a_name(path: Path) -> None:
    """The name is what the job log shows for the step; an unnamed one shows its script."""
    unnamed = [index + 1 for index, (_, step) in enumerate(all_steps(path)) if not step.get("name")]
    assert unnamed == [], f"{path.relative_to(ROOT)}: steps {unnamed} have no name"


# The value as a workflow command may show it: a '%', CR or LF in it (a mode from an
# expression) would otherwise end the message and start a command of its own.
SHOWN = "shown() { local v=${1//'%'/%25}; v=${v//$'\\r'/%0D}; printf '%s' \"${v//$'\\n'/%0A}\"; }"


def test_a_bad_mode_reads_the_same_in_every_action() -> None:
    """One wording for one mistake: the input, the value (escaped), the modes it accepts."""
    checked = []
    for path in ACTIONS:
        for _, step in all_steps(path):
            script = step.get("run") or ""
            if "$INPUT_MODE" not in script:
                continue
            modes = re.findall(r"^\s*([a-z]+)\)", script, re.MULTILINE)
            accepted = ", ".join(modes[:-1]) + " or " + modes[-1]
            fallback = [line.strip() for line in script.split("*)", 1)[1].strip().splitlines()]
            assert fallback[:3] == [
                SHOWN,
                f'echo "::error::mode: \'$(shown "$INPUT_MODE")\' is not valid; '
                f'accepted: {accepted}"',
                "exit 2",
            ], path
            checked.append(path.parent.name)
    assert sorted(checked) == ["artifact-upload", "coverage-merge", "matrix-build"]


def test_go_ci_leaves_the_logic_to_goci() -> None:
    """Which Go's coverage is merged, which Go publishes and what an artifact is called come
    from the plan (goci matrix), not from scripts in the workflow."""
    ci = load(ROOT / ".github/workflows/go-ci.yml")
    scripts = "\n".join(
        step.get("run") or "" for _, step in all_steps(ROOT / ".github/workflows/go-ci.yml")
    )
    assert "python" not in scripts and "tr -c" not in scripts
    plan = ci["jobs"]["plan"]
    assert plan["outputs"]["coverage-go"] == "${{ steps.plan.outputs.coverage-go-version }}"
    assert plan["outputs"]["release-go"] == "${{ steps.plan.outputs.release-go-version }}"
    uploads = {
        step["with"]["name"]
        for step in ci["jobs"]["test"]["steps"]
        if step.get("uses", "").startswith("actions/upload-artifact@")
    }
    assert uploads == {"goci-coverage-${{ matrix.artifact }}", "goci-dist-${{ matrix.artifact }}"}


def test_the_store_write_credentials_never_reach_unreviewed_code() -> None:
    """go test runs the repository's code with its step's environment in reach: a pull request
    or a push to another branch must not find the dev credentials there, which write the build
    cache every release is built from. The test job gets them only on a trusted run (goci's
    own judgement, the plan's ``trusted``), else the read-only cache ones; only the publish
    job, which runs no repository code and only on trusted refs, gets them as they are."""
    path = ROOT / ".github/workflows/go-ci.yml"
    ci = load(path)
    assert ci["jobs"]["plan"]["outputs"]["trusted"] == "${{ steps.changed.outputs.trusted }}"
    assert not any("env" in job for job in ci["jobs"].values())
    gated = {
        "AWS_ACCESS_KEY_ID": "${{ needs.plan.outputs.trusted == 'true' && "
        "secrets.GOCI_STORE_ACCESS_KEY_ID || secrets.GOCI_CACHE_READ_ACCESS_KEY_ID }}",
        "AWS_SECRET_ACCESS_KEY": "${{ needs.plan.outputs.trusted == 'true' && "
        "secrets.GOCI_STORE_SECRET_ACCESS_KEY || secrets.GOCI_CACHE_READ_SECRET_ACCESS_KEY }}",
    }
    given: dict[str, set[tuple[str, str]]] = {}
    for job, step in all_steps(path):
        for name, value in step.get("env", {}).items():
            if "secrets.GOCI_STORE_" in str(value):
                given.setdefault(job, set()).add((step["name"], name))
                assert job == "publish" or value == gated[name], (job, step["name"], value)
    assert given == {
        "test": {
            ("Cache keys and restore", "AWS_ACCESS_KEY_ID"),
            ("Test (this shard's packages, with coverage)", "AWS_ACCESS_KEY_ID"),
            ("Test (this shard's packages, with coverage)", "AWS_SECRET_ACCESS_KEY"),
            ("Build the changed services", "AWS_ACCESS_KEY_ID"),
            ("Build the changed services", "AWS_SECRET_ACCESS_KEY"),
        },
        "publish": {
            ("Pack and upload", "AWS_ACCESS_KEY_ID"),
            ("Pack and upload", "AWS_SECRET_ACCESS_KEY"),
        },
    }
    publish_if = ci["jobs"]["publish"]["if"]
    assert "startsWith(github.ref, 'refs/tags/v')" in publish_if
    assert "github.ref_name == github.event.repository.default_branch" in publish_if


def test_two_calls_of_go_ci_for_two_go_folders_never_share_a_concurrency_group() -> None:
    """A monorepo calls go-ci.yml once per Go folder in one workflow: one group for both would
    make the second call cancel the first on every pull request."""
    group = load(ROOT / ".github/workflows/go-ci.yml")["concurrency"]["group"]
    named = set(re.findall(r"\$\{\{\s*([\w.-]+)\s*\}\}", group))
    assert named == {"github.workflow", "github.ref", "inputs.working-directory"}
