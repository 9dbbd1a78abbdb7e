"""Run a GitHub Actions workflow (or a composite action.yml) here, the way a runner would.

What it does for real: the jobs in ``needs`` order, ``if:`` conditions, ``strategy.matrix``
(also from ``fromJSON(needs.plan.outputs.matrix)``), each ``run:`` step with bash in a fresh
job workspace, ``env:``/``with:``/``if:``/``outputs:`` expressions (``support.expressions``),
GITHUB_OUTPUT / GITHUB_ENV / GITHUB_PATH / GITHUB_STEP_SUMMARY files between steps, local
composite actions (``uses: ./...``: their steps run the same way, nested, with
GITHUB_ACTION_PATH set), job outputs, ``needs``, and reusable workflows called with
``uses: ./.github/workflows/x.yml``. A job's ``environment`` gives it that environment's
secrets over the repository's (as GitHub does, also inside a called workflow) after the
``on_approval`` hook (the reviewers' wait); its ``concurrency`` group is evaluated and recorded
(jobs run one at a time here, so groups never wait).

What it replaces by the action's documented effect (other owners' actions run JavaScript we do
not run): actions/checkout (a clone of a local repository at the wanted commit, or a link to a
local folder), actions/setup-go (a go on PATH), actions/setup-python (nothing: Python is here),
actions/cache, actions/cache/restore and actions/cache/save (a folder per key; exact key, then
restore-keys by prefix, newest first; keys are immutable), actions/upload-artifact and
actions/download-artifact (a folder per artifact name; names unique per run, ``pattern`` and
``merge-multiple`` as documented). download-artifact extracts the artifacts it picks at the same
time, so with ``merge-multiple`` two artifacts holding the same path leave bytes of either (or
both) there: the stand-in refuses such an overlap instead of picking a winner. Anything else
fails loudly.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from support.expressions import Evaluator, ExpressionError, to_string
from support.goci_run import read_key_values

STEP_TIMEOUT = 600
_ARTIFACT_BAD = re.compile(r'["\\:<>|*?\r\n/]')


class WorkflowError(Exception):
    """The workflow (or the harness's view of it) is wrong: not a failing step."""


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise WorkflowError(f"{path}: not a YAML mapping")
    if True in data and "on" not in data:  # YAML 1.1 reads the key `on` as true
        data["on"] = data.pop(True)
    return data


@dataclass
class StepRecord:
    """One step as it ran: what a test asserts on."""

    name: str
    id: str | None
    outcome: str  # success, failure, skipped
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""
    uses: str | None = None
    children: list[StepRecord] = field(default_factory=list)
    seconds: float = 0.0
    env: dict[str, str] = field(default_factory=dict)  # the step's own evaluated env:


@dataclass
class JobRun:
    """One run of a job (one matrix entry)."""

    job: str
    matrix: dict[str, Any]
    result: str
    outputs: dict[str, str]
    steps: list[StepRecord]
    summary: str
    workspace: Path
    environment: str = ""  # the deployment environment it ran in ("" for none)
    concurrency: str = ""  # its evaluated job-level concurrency group ("" for none)

    def step(self, step_id: str) -> StepRecord:
        """The job's own step with this id, else the first one inside an action."""
        for record in [*self.steps, *_walk(self.steps)]:
            if record.id == step_id:
                return record
        raise KeyError(f"job {self.job}: no step with id {step_id}")

    def steps_with_id(self, step_id: str) -> list[StepRecord]:
        """Every step with this id, inside actions too, in the order they ran (or skipped)."""
        return [record for record in _walk(self.steps) if record.id == step_id]

    @property
    def log(self) -> str:
        return "\n".join(
            f"--- {r.name} [{r.outcome}, {r.seconds:.1f}s]\n{r.log}" for r in _walk(self.steps)
        )


def _walk(records: list[StepRecord]) -> list[StepRecord]:
    out: list[StepRecord] = []
    for record in records:
        out.append(record)
        out.extend(_walk(record.children))
    return out


@dataclass
class JobResult:
    job: str
    result: str  # success, failure, skipped
    outputs: dict[str, str]
    runs: list[JobRun]


@dataclass
class WorkflowResult:
    jobs: dict[str, JobResult]
    outputs: dict[str, Any]

    @property
    def log(self) -> str:
        return "\n".join(
            f"===== job {run.job} {json.dumps(run.matrix)} [{run.result}]\n{run.log}"
            for job in self.jobs.values()
            for run in job.runs
        )


@dataclass
class Repo:
    """A repository that actions/checkout can bring: cloned (git) or linked (a folder)."""

    path: Path
    link: bool = False


@dataclass
class _StepState:
    """The mutable state of one job (or of one composite action inside it)."""

    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: bool = False


class _Job:
    """One job run: its workspace, environment files and accumulated env/PATH."""

    def __init__(self, runner: WorkflowRunner, job_id: str, folder: Path) -> None:
        self.runner = runner
        self.job_id = job_id
        self.folder = folder
        self.workspace = folder / "workspace"
        self.temp = folder / "temp"
        self.home = folder / "home"
        self.workspace.mkdir(parents=True)
        self.temp.mkdir()
        self.home.mkdir()
        self.env_exports: dict[str, str] = {}
        self.path_entries: list[str] = []
        self.summary: list[str] = []
        self.post_steps: list[Callable[[], None]] = []
        self.counter = 0

    def runner_context(self) -> dict[str, Any]:
        return {
            "os": "Linux",
            "arch": "X64",
            "name": "goci-harness",
            "temp": str(self.temp),
            "tool_cache": str(self.folder / "toolcache"),  # a hosted runner's: new every job
            "debug": "",
        }

    def base_env(self) -> dict[str, str]:
        """What every step's process gets before its own env: (runner + GITHUB_* + exports)."""
        github = self.runner.github
        env = dict(self.runner.env)
        if self.runner.fresh_home:
            env["HOME"] = str(self.home)
        env.update(
            {
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_REPOSITORY": github["repository"],
                "GITHUB_REPOSITORY_OWNER": github["repository"].split("/")[0],
                "GITHUB_SHA": github["sha"],
                "GITHUB_REF": github["ref"],
                "GITHUB_REF_NAME": github["ref_name"],
                "GITHUB_REF_TYPE": github["ref_type"],
                "GITHUB_EVENT_NAME": github["event_name"],
                "GITHUB_EVENT_PATH": str(self.runner.event_path),
                "GITHUB_BASE_REF": github.get("base_ref", ""),
                "GITHUB_HEAD_REF": github.get("head_ref", ""),
                "GITHUB_RUN_ID": github["run_id"],
                "GITHUB_RUN_NUMBER": github["run_number"],
                "GITHUB_RUN_ATTEMPT": github["run_attempt"],
                "GITHUB_ACTOR": github["actor"],
                "GITHUB_SERVER_URL": github["server_url"],
                "GITHUB_API_URL": github["api_url"],
                "GITHUB_JOB": self.job_id,
                "RUNNER_OS": "Linux",
                "RUNNER_ARCH": "X64",
                "RUNNER_TEMP": str(self.temp),
                "RUNNER_TOOL_CACHE": str(self.folder / "toolcache"),
            }
        )
        env.update(self.env_exports)
        if self.path_entries:
            env["PATH"] = os.pathsep.join([*reversed(self.path_entries), env.get("PATH", "")])
        return env

    def add_path(self, entry: str) -> None:
        self.path_entries.append(entry)

    def new_files(self) -> dict[str, Path]:
        self.counter += 1
        files = {}
        for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY"):
            path = self.folder / "files" / f"{self.counter:03d}_{name.lower()}"
            path.parent.mkdir(exist_ok=True)
            path.touch()
            files[name] = path
        return files

    def absorb(self, files: Mapping[str, Path]) -> dict[str, str]:
        """After a step: its env exports, PATH additions and summary; returns its outputs."""
        self.env_exports.update(read_key_values(files["GITHUB_ENV"]))
        for line in files["GITHUB_PATH"].read_text(encoding="utf-8").splitlines():
            if line.strip():
                self.add_path(line.strip())
        summary = files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
        if summary:
            self.summary.append(summary)
        return read_key_values(files["GITHUB_OUTPUT"])


class WorkflowRunner:
    """Runs workflows under ``root`` (one folder per job run, caches and artifacts beside)."""

    def __init__(
        self,
        root: Path,
        *,
        repositories: Mapping[str, Repo],
        env: Mapping[str, str],
        github: Mapping[str, Any] | None = None,
        event: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        setup_go: Callable[[str], Path] | None = None,
        bash: str = "bash",
        fresh_home: bool = False,
        cache_root: Path | None = None,
        environments: Mapping[str, Mapping[str, str]] | None = None,
        on_approval: Callable[[str, str, Mapping[str, JobResult]], None] | None = None,
    ) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.repositories = dict(repositories)
        self.env = dict(env)
        self.secrets = dict(secrets or {})
        # Environment secrets by environment name; a job in an environment sees them over the
        # repository's. on_approval(job, environment, finished jobs) runs before such a job
        # starts: where required reviewers would look at the run so far and approve.
        self.environments = {k: dict(v) for k, v in (environments or {}).items()}
        self.on_approval = on_approval
        self.setup_go = setup_go
        self.bash = bash
        # A fresh HOME per job (a new machine per job, as on GitHub's hosted runners): Go's
        # default GOCACHE and GOMODCACHE live under it, so only the cache actions carry them.
        self.fresh_home = fresh_home
        # The cache service outlives a run: pass the same folder to later runs of a repository.
        self.cache_root = cache_root or root / "caches"
        self.artifact_root = root / "artifacts"
        self.cache_root.mkdir(parents=True, exist_ok=True)
        self.artifact_root.mkdir(exist_ok=True)
        self.event = dict(event or {})
        self.github = self._github_context(dict(github or {}))
        self.event_path = root / "event.json"
        self.event_path.write_text(json.dumps(self.event), encoding="utf-8")
        self._runs = 0

    def _github_context(self, given: dict[str, Any]) -> dict[str, Any]:
        ref = given.get("ref", "refs/heads/main")
        ctx: dict[str, Any] = {
            "repository": "example/repo",
            "sha": "0" * 40,
            "ref": ref,
            "ref_name": ref.rsplit("/", 1)[-1] if ref.startswith("refs/") else ref,
            "ref_type": "tag" if ref.startswith("refs/tags/") else "branch",
            "event_name": "push",
            "run_id": "1000",
            "run_number": "1",
            "run_attempt": "1",
            "actor": "octocat",
            "server_url": "https://github.com",
            "api_url": "https://api.github.com",
            "token": "",
            "base_ref": "",
            "head_ref": "",
            "workflow": "ci",
        }
        ctx.update(given)
        ctx["ref_name"] = given.get("ref_name", ctx["ref_name"])
        ctx["event"] = self.event
        ctx["repository_owner"] = ctx["repository"].split("/")[0]
        return ctx

    # ---- workflows ------------------------------------------------------------------------

    def run_workflow(
        self,
        path: Path,
        inputs: Mapping[str, Any] | None = None,
        *,
        jobs: set[str] | None = None,
        finished: Mapping[str, JobResult] | None = None,
    ) -> WorkflowResult:
        """Run the workflow, or only ``jobs`` of it; ``finished`` stands in for jobs that
        are not run (their result and outputs, as the jobs that need them will see them)."""
        workflow = load_yaml(path)
        typed_inputs = self._workflow_inputs(workflow, dict(inputs or {}))
        wf_env = dict(workflow.get("env") or {})
        results: dict[str, JobResult] = dict(finished or {})
        remaining = {k: v for k, v in workflow["jobs"].items() if k not in results}
        if jobs is not None:
            remaining = {k: v for k, v in remaining.items() if k in jobs}
        while remaining:
            ready = [
                job_id
                for job_id, job in remaining.items()
                if all(n in results for n in _needs(job))
            ]
            if not ready:
                raise WorkflowError(f"{path.name}: jobs {sorted(remaining)} wait on each other")
            for job_id in ready:
                job = remaining.pop(job_id)
                results[job_id] = self._run_job(
                    path, workflow, job_id, job, typed_inputs, results, wf_env
                )
        outputs: dict[str, Any] = {}
        call = (
            (workflow.get("on") or {}).get("workflow_call")
            if isinstance(workflow.get("on"), dict)
            else None
        )
        if call and call.get("outputs"):
            ev = Evaluator(
                {
                    "jobs": {
                        k: {"outputs": v.outputs, "result": v.result} for k, v in results.items()
                    },
                    "inputs": typed_inputs,
                    "github": self.github,
                    "vars": {},
                }
            )
            for name, spec in call["outputs"].items():
                outputs[name] = ev.text(spec.get("value"))
        return WorkflowResult(results, outputs)

    def _workflow_inputs(self, workflow: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
        on = workflow.get("on")
        specs: dict[str, Any] = {}
        if isinstance(on, dict):
            for trigger in ("workflow_call", "workflow_dispatch"):
                specs.update(((on.get(trigger) or {}).get("inputs")) or {})
        unknown = set(given) - set(specs)
        if unknown:
            raise WorkflowError(f"inputs {sorted(unknown)} are not declared by the workflow")
        typed: dict[str, Any] = {}
        for name, spec in specs.items():
            spec = spec or {}
            if name not in given and spec.get("required"):
                raise WorkflowError(f"input {name} is required")
            value = given.get(name, spec.get("default"))
            kind = spec.get("type", "string")
            if kind == "boolean":
                value = value if isinstance(value, bool) else str(value).lower() == "true"
            elif kind == "number":
                value = float(value) if value not in (None, "") else 0.0
            else:
                value = to_string(value) if value is not None else ""
            typed[name] = value
        return typed

    def _run_job(
        self,
        path: Path,
        workflow: dict[str, Any],
        job_id: str,
        job: dict[str, Any],
        inputs: dict[str, Any],
        results: Mapping[str, JobResult],
        wf_env: dict[str, Any],
    ) -> JobResult:
        needs = {
            n: {"outputs": results[n].outputs, "result": results[n].result} for n in _needs(job)
        }
        needs_ok = all(results[n].result == "success" for n in _needs(job))

        def job_status(name: str) -> bool:
            failed = any(results[n].result == "failure" for n in _needs(job))
            return {"success": needs_ok, "always": True, "failure": failed, "cancelled": False}[
                name
            ]

        base_ctx = {
            "github": self.github,
            "inputs": inputs,
            "needs": needs,
            "vars": {},
            "secrets": self.secrets,
        }
        if not Evaluator(base_ctx, status=job_status).condition(job.get("if")):
            return JobResult(job_id, "skipped", {}, [])
        if "uses" in job:
            return self._call_workflow(path, job_id, job, base_ctx)
        entries = self._matrix(job, base_ctx)
        runs: list[JobRun] = []
        outputs: dict[str, str] = {}
        for index, entry in enumerate(entries):
            strategy = {
                "fail-fast": bool((job.get("strategy") or {}).get("fail-fast", True)),
                "job-index": index,
                "job-total": len(entries),
            }
            run = self._run_job_once(
                workflow, job_id, job, entry, strategy, base_ctx, wf_env, results
            )
            runs.append(run)
            outputs.update({k: v for k, v in run.outputs.items() if v != ""})
        result = "failure" if any(r.result == "failure" for r in runs) else "success"
        return JobResult(job_id, result, outputs, runs)

    def _call_workflow(
        self, path: Path, job_id: str, job: dict[str, Any], ctx: dict[str, Any]
    ) -> JobResult:
        uses = job["uses"]
        if not uses.startswith("./"):
            raise WorkflowError(f"job {job_id}: only local reusable workflows run here ({uses})")
        repo_root = path.parent.parent.parent
        called = repo_root / uses[2:]
        given = Evaluator(ctx).interpolate(dict(job.get("with") or {}))
        inner = self.run_workflow(called, given)
        result = "failure" if any(j.result == "failure" for j in inner.jobs.values()) else "success"
        runs = [run for j in inner.jobs.values() for run in j.runs]
        return JobResult(job_id, result, {k: to_string(v) for k, v in inner.outputs.items()}, runs)

    def _matrix(self, job: dict[str, Any], ctx: dict[str, Any]) -> list[dict[str, Any]]:
        strategy = job.get("strategy") or {}
        if "matrix" not in strategy:
            return [{}]
        matrix = Evaluator(ctx).interpolate(strategy["matrix"])
        if isinstance(matrix, str):
            raise WorkflowError(f"strategy.matrix is text, not an object: {matrix[:80]!r}")
        matrix = dict(matrix)
        include = matrix.pop("include", None) or []
        exclude = matrix.pop("exclude", None) or []
        axes = dict(matrix)
        entries: list[dict[str, Any]] = []
        if axes:
            for combo in product(*axes.values()):
                entries.append(dict(zip(axes, combo, strict=True)))
        entries = [e for e in entries if not any(_fits(e, x) for x in exclude)]
        originals = [dict(e) for e in entries]
        for extra in include:
            fitting = (
                [
                    i
                    for i, base in enumerate(originals)
                    if all(base.get(k, v) == v for k, v in extra.items() if k in axes)
                ]
                if axes
                else []
            )
            if fitting:
                for i in fitting:
                    entries[i].update(extra)
            else:
                entries.append(dict(extra))
        if not entries:
            raise WorkflowError(f"job matrix is empty: {json.dumps(strategy['matrix'])}")
        return entries

    def _run_job_once(
        self,
        workflow: dict[str, Any],
        job_id: str,
        job: dict[str, Any],
        matrix: dict[str, Any],
        strategy: dict[str, Any],
        base_ctx: dict[str, Any],
        wf_env: dict[str, Any],
        finished: Mapping[str, JobResult],
    ) -> JobRun:
        self._runs += 1
        state = _Job(self, job_id, self.root / f"job{self._runs:03d}-{job_id}")
        defaults = {
            **((workflow.get("defaults") or {}).get("run") or {}),
            **((job.get("defaults") or {}).get("run") or {}),
        }
        ctx = {
            **base_ctx,
            "matrix": matrix,
            "strategy": strategy,
            "runner": state.runner_context(),
            "job": {"status": "success"},
            "env": {},
        }
        # Both are evaluated before the job starts, with matrix and strategy known.
        concurrency = _concurrency_group(job.get("concurrency"), Evaluator(ctx))
        environment = _environment_name(job.get("environment"), Evaluator(ctx))
        if environment:
            if self.on_approval is not None:
                self.on_approval(job_id, environment, finished)
            ctx["secrets"] = {**self.secrets, **self.environments.get(environment, {})}
        ctx["github"] = {**self.github, "workspace": str(state.workspace), "job": job_id}
        env: dict[str, str] = {}
        for layer in (wf_env, job.get("env") or {}):
            ev = Evaluator({**ctx, "env": env})
            env.update({k: ev.text(v) for k, v in layer.items()})
        steps_state = _StepState()
        records = self._run_steps(state, job.get("steps") or [], ctx, env, steps_state, defaults)
        for post in reversed(state.post_steps):
            post()
        ctx_after = {**ctx, "steps": steps_state.steps, "env": env}
        outputs = {
            name: Evaluator(ctx_after).text(value)
            for name, value in (job.get("outputs") or {}).items()
        }
        result = "failure" if steps_state.failed else "success"
        return JobRun(
            job_id,
            matrix,
            result,
            outputs,
            records,
            "\n".join(state.summary),
            state.workspace,
            environment,
            concurrency,
        )

    # ---- steps ----------------------------------------------------------------------------

    def _run_steps(
        self,
        job: _Job,
        steps: list[dict[str, Any]],
        ctx: dict[str, Any],
        env: dict[str, str],
        state: _StepState,
        defaults: Mapping[str, Any],
        action_path: Path | None = None,
    ) -> list[StepRecord]:
        records: list[StepRecord] = []
        for index, step in enumerate(steps):
            step_ctx = {**ctx, "steps": state.steps, "env": {**env, **job.env_exports}}
            if action_path is not None:
                step_ctx["github"] = {**ctx["github"], "action_path": str(action_path)}

            def status(name: str) -> bool:
                return {
                    "success": not state.failed,
                    "always": True,
                    "failure": state.failed,
                    "cancelled": False,
                }[name]

            ev = Evaluator(step_ctx, status=status, workspace=job.workspace)
            step_id = step.get("id")
            name = _display_name(step, ev, index)
            if not ev.condition(step.get("if")):
                records.append(StepRecord(name, step_id, "skipped", uses=step.get("uses")))
                if step_id:
                    state.steps[step_id] = {
                        "outputs": {},
                        "outcome": "skipped",
                        "conclusion": "skipped",
                    }
                continue
            # GITHUB_ENV exports override the job's env:, a step's own env: overrides both.
            step_env = {**env, **job.env_exports}
            for key, value in (step.get("env") or {}).items():
                step_env[key] = ev.text(value)
            started = time.monotonic()
            try:
                if "run" in step:
                    record = self._run_script(job, step, ev, step_env, defaults, name, action_path)
                elif "uses" in step:
                    record = self._run_uses(job, step, ev, step_env, name, ctx)
                else:
                    raise WorkflowError(f"step {name}: neither run nor uses")
            except ExpressionError as exc:
                record = StepRecord(name, step_id, "failure", log=f"expression error: {exc}")
            record.id = step_id
            record.seconds = time.monotonic() - started
            record.env = {k: step_env[k] for k in step.get("env") or {}}
            records.append(record)
            failed = record.outcome == "failure"
            continue_on_error = bool(ev.interpolate(step.get("continue-on-error", False)))
            if step_id:
                state.steps[step_id] = {
                    "outputs": record.outputs,
                    "outcome": record.outcome,
                    "conclusion": "success" if (failed and continue_on_error) else record.outcome,
                }
            if failed and not continue_on_error:
                state.failed = True
        return records

    def _run_script(
        self,
        job: _Job,
        step: dict[str, Any],
        ev: Evaluator,
        step_env: dict[str, str],
        defaults: Mapping[str, Any],
        name: str,
        action_path: Path | None,
    ) -> StepRecord:
        script = step["run"]
        if "${{" in script:
            # GitHub would interpolate it; goci's rule is that no script of ours does.
            raise WorkflowError(f"step {name}: ${{{{ }}}} inside run: (pass it through env:)")
        shell = step.get("shell") or defaults.get("shell")
        if action_path is not None and not shell:
            raise WorkflowError(f"step {name}: composite action run steps need shell:")
        if shell in (None, "bash"):
            flags = ["--noprofile", "--norc", "-eo", "pipefail"] if shell == "bash" else ["-e"]
        elif shell == "sh":
            flags = ["-e"]
        else:
            raise WorkflowError(f"step {name}: shell {shell!r} is not supported here")
        workdir = step.get("working-directory") or defaults.get("working-directory")
        cwd = job.workspace / ev.text(workdir) if workdir else job.workspace
        files = job.new_files()
        script_path = files["GITHUB_OUTPUT"].with_name(files["GITHUB_OUTPUT"].name + ".sh")
        script_path.write_text(script, encoding="utf-8")
        env = job.base_env()
        env.update(step_env)
        env.update({k: str(v) for k, v in files.items()})
        if action_path is not None:
            env["GITHUB_ACTION_PATH"] = str(action_path)
        try:
            proc = subprocess.run(
                [self.bash, *flags, str(script_path)],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,  # a step reads no input on a runner
                capture_output=True,
                text=True,
                timeout=STEP_TIMEOUT,
                check=False,
            )
        except FileNotFoundError as exc:
            return StepRecord(name, None, "failure", log=f"cannot run in {cwd}: {exc}")
        outputs = job.absorb(files)
        log = proc.stdout + proc.stderr
        outcome = "success" if proc.returncode == 0 else "failure"
        if proc.returncode:
            log += f"\n(exit code {proc.returncode})"
        return StepRecord(name, None, outcome, outputs, log)

    def _run_uses(
        self,
        job: _Job,
        step: dict[str, Any],
        ev: Evaluator,
        step_env: dict[str, str],
        name: str,
        ctx: dict[str, Any],
    ) -> StepRecord:
        uses: str = step["uses"]
        with_ = {k: ev.text(v) for k, v in (step.get("with") or {}).items()}
        if uses.startswith("./"):
            return self._run_composite(job, job.workspace / uses[2:], with_, step_env, name, ctx)
        target, _, ref = uses.partition("@")
        if not ref:
            raise WorkflowError(f"step {name}: {uses} has no @ref")
        effect = _EFFECTS.get(target)
        if effect is None:
            raise WorkflowError(f"step {name}: no stand-in for {target} in the workflow runner")
        unknown = set(with_) - _INPUTS[target]
        if unknown:
            raise WorkflowError(f"step {name}: {target} has no input(s) {sorted(unknown)}")
        try:
            outputs, log = effect(self, job, with_)
        except _StepFailed as exc:
            return StepRecord(name, None, "failure", log=str(exc), uses=uses)
        return StepRecord(name, None, "success", outputs, log, uses=uses)

    def run_action(
        self,
        action_dir: Path,
        inputs: Mapping[str, str],
        *,
        workspace: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> JobRun:
        """Run one composite action as the only step of a job (for unit tests of actions)."""
        self._runs += 1
        job = _Job(self, "action", self.root / f"job{self._runs:03d}-action")
        if workspace is not None:
            job.workspace.rmdir()
            job.workspace.symlink_to(workspace, target_is_directory=True)
        ctx: dict[str, Any] = {
            "github": {**self.github, "workspace": str(job.workspace)},
            "inputs": {},
            "needs": {},
            "vars": {},
            "secrets": self.secrets,
            "matrix": {},
            "strategy": {},
            "runner": job.runner_context(),
            "job": {"status": "success"},
            "env": dict(env or {}),
        }
        record = self._run_composite(
            job, action_dir, dict(inputs), dict(env or {}), action_dir.name, ctx
        )
        for post in reversed(job.post_steps):
            post()
        return JobRun(
            "action",
            {},
            record.outcome,
            record.outputs,
            [record],
            "\n".join(job.summary),
            job.workspace,
        )

    def _run_composite(
        self,
        job: _Job,
        action_dir: Path,
        given: dict[str, str],
        step_env: dict[str, str],
        name: str,
        ctx: dict[str, Any],
    ) -> StepRecord:
        action_yml = action_dir / "action.yml"
        if not action_yml.exists():
            action_yml = action_dir / "action.yaml"
        if not action_yml.exists():
            raise WorkflowError(f"step {name}: no action.yml in {action_dir}")
        action = load_yaml(action_yml)
        runs = action.get("runs") or {}
        if runs.get("using") != "composite":
            raise WorkflowError(f"{action_yml}: only composite actions run here")
        specs = action.get("inputs") or {}
        unknown = set(given) - set(specs)
        if unknown:
            raise WorkflowError(f"step {name}: {action_dir.name} has no input(s) {sorted(unknown)}")
        base = {**ctx, "env": step_env}
        inputs: dict[str, str] = {}
        for input_name, spec in specs.items():
            spec = spec or {}
            if input_name in given:
                inputs[input_name] = given[input_name]
            elif spec.get("required") and "default" not in spec:
                raise WorkflowError(
                    f"step {name}: input {input_name} of {action_dir.name} is required"
                )
            else:
                inputs[input_name] = Evaluator(base).text(spec.get("default", ""))
        inner_ctx = {**ctx, "inputs": inputs}
        state = _StepState()
        children = self._run_steps(
            job, runs.get("steps") or [], inner_ctx, step_env, state, {}, action_dir.resolve()
        )
        outputs: dict[str, str] = {}
        out_ctx = {**inner_ctx, "steps": state.steps, "env": step_env}
        for output_name, spec in (action.get("outputs") or {}).items():
            outputs[output_name] = Evaluator(out_ctx).text((spec or {}).get("value", ""))
        outcome = "failure" if state.failed else "success"
        return StepRecord(name, None, outcome, outputs, uses=str(action_dir), children=children)


def _needs(job: Mapping[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def _environment_name(value: Any, ev: Evaluator) -> str:
    """``environment: name`` or ``environment: {name: ..., url: ...}``; "" means none."""
    if isinstance(value, Mapping):
        value = value.get("name")
    return ev.text(value).strip() if value else ""


def _concurrency_group(value: Any, ev: Evaluator) -> str:
    """``concurrency: group`` or ``concurrency: {group: ..., cancel-in-progress: ...}``."""
    if isinstance(value, Mapping):
        value = value.get("group")
    return ev.text(value) if value else ""


def _fits(entry: Mapping[str, Any], obj: Mapping[str, Any]) -> bool:
    return all(entry.get(k) == v for k, v in obj.items())


def _display_name(step: Mapping[str, Any], ev: Evaluator, index: int) -> str:
    raw = step.get("name") or step.get("uses") or (step.get("run") or "").strip().split("\n")[0]
    try:
        return ev.text(raw) or f"step {index + 1}"
    except ExpressionError:
        return str(raw)


# ---- stand-ins for other owners' actions ----------------------------------------------------


class _StepFailed(Exception):
    """The stand-in action failed the way the real one would."""


Effect = Callable[[WorkflowRunner, _Job, dict[str, str]], tuple[dict[str, str], str]]


def _git(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise _StepFailed(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _checkout(
    runner: WorkflowRunner, job: _Job, with_: dict[str, str]
) -> tuple[dict[str, str], str]:
    repository = with_.get("repository") or runner.github["repository"]
    source = runner.repositories.get(repository)
    if source is None:
        raise _StepFailed(f"checkout: repository {repository!r} is not known to the runner")
    target = (job.workspace / with_.get("path", "")).resolve()
    if job.workspace.resolve() not in (target, *target.parents):
        raise _StepFailed(f"checkout: path {with_.get('path')!r} is outside the workspace")
    ref = with_.get("ref") or (
        runner.github["sha"] if repository == runner.github["repository"] else ""
    )
    if source.link:
        # A link gives the folder as it is: a ref must name the commit it holds (when it is a
        # git repository), so that a wrong or empty ref cannot pass unnoticed.
        commit = ""
        if (source.path / ".git").exists():
            head = _git("rev-parse", "HEAD", cwd=source.path)
            if ref:
                wanted = _git(
                    "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=source.path
                )
                if wanted != head:
                    raise _StepFailed(f"checkout: {repository} has {head} linked, not {ref}")
            commit = head
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.rmdir()
        target.symlink_to(source.path, target_is_directory=True)
        return {"ref": ref, "commit": commit}, f"linked {target} -> {source.path}"
    if target.exists() and any(target.iterdir()):
        raise _StepFailed(f"checkout: {target} is not empty")
    _git("clone", "--quiet", "--no-hardlinks", str(source.path), str(target))
    if ref:
        _git("-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", ref, cwd=target)
    commit = _git("rev-parse", "HEAD", cwd=target)
    return {"ref": ref, "commit": commit}, f"cloned {source.path} at {commit} into {target}"


def _setup_go(
    runner: WorkflowRunner, job: _Job, with_: dict[str, str]
) -> tuple[dict[str, str], str]:
    if runner.setup_go is None:
        raise _StepFailed("setup-go: the runner has no Go to offer")
    version = with_.get("go-version") or with_.get("go-version-file") or "stable"
    go = runner.setup_go(version)
    job.add_path(str(go.parent))
    proc = subprocess.run(
        [str(go), "env", "GOVERSION"],
        capture_output=True,
        text=True,
        check=True,
        env={**runner.env, "GOTOOLCHAIN": "local"},
    )
    found = proc.stdout.strip().removeprefix("go")
    return {"go-version": found, "cache-hit": "false"}, f"go {found} for {version!r} on PATH"


def _setup_python(
    runner: WorkflowRunner, job: _Job, with_: dict[str, str]
) -> tuple[dict[str, str], str]:
    return {"python-version": with_.get("python-version", "")}, "python: the runner's own"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _cache_paths(runner: WorkflowRunner, job: _Job, text: str) -> list[Path]:
    """Cache paths as the cache action reads them: ``~`` is the runner's HOME."""
    home = job.base_env().get("HOME") or os.path.expanduser("~")
    paths = []
    for raw in _lines(text):
        expanded = Path(home + raw[1:]) if raw == "~" or raw.startswith("~/") else Path(raw)
        paths.append(expanded if expanded.is_absolute() else job.workspace / expanded)
    if not paths:
        raise _StepFailed("cache: path is required")
    return paths


def copy_tree(source: Path, dest: Path, *, link: bool = False) -> None:
    """``shutil.copytree`` keeping mtimes; ``link`` hard-links files where it can."""

    def link_or_copy(src: str, dst: str) -> object:
        try:
            os.link(src, dst)
        except OSError:  # another file system, or links not allowed: copy
            return shutil.copy2(src, dst)
        return dst

    shutil.copytree(
        source, dest, symlinks=True, copy_function=link_or_copy if link else shutil.copy2
    )


class CacheStore:
    """The cache service: a folder per key, in save order (newest wins a prefix match)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.index = root / "index.json"

    def keys(self) -> list[str]:
        return json.loads(self.index.read_text()) if self.index.exists() else []

    def folder(self, key: str) -> Path:
        return self.root / uuid.uuid5(uuid.NAMESPACE_URL, key).hex

    def find(self, key: str, restore_keys: list[str]) -> str | None:
        keys = self.keys()
        if key in keys:
            return key
        for prefix in restore_keys:
            matches = [k for k in keys if k.startswith(prefix)]
            if matches:
                return matches[-1]
        return None

    def save(self, key: str, paths: list[Path], *, link: bool = False) -> bool:
        """Store a copy of ``paths`` under ``key`` (hard links with ``link``, for a source
        nobody writes to: restore copies out, so a job never shares a file with the store)."""
        if key in self.keys():
            return False
        folder = self.folder(key)
        for index, path in enumerate(paths):
            if path.exists():
                copy_tree(path, folder / str(index), link=link)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "paths.json").write_text(json.dumps([str(p) for p in paths]))
        self.index.write_text(json.dumps([*self.keys(), key]))
        return True

    def restore(self, key: str, paths: list[Path]) -> None:
        folder = self.folder(key)
        for index, path in enumerate(paths):
            if (folder / str(index)).exists():
                shutil.copytree(folder / str(index), path, symlinks=True, dirs_exist_ok=True)


def _cache_restore(
    runner: WorkflowRunner, job: _Job, with_: dict[str, str]
) -> tuple[dict[str, str], str]:
    key = with_.get("key", "")
    if not key:
        raise _StepFailed("cache: key is required")
    for text in [key, *_lines(with_.get("restore-keys", ""))]:
        if "," in text or len(text) > 512:
            raise _StepFailed(f"cache: key {text[:80]!r} has a comma or is over 512 characters")
    store = CacheStore(runner.cache_root)
    paths = _cache_paths(runner, job, with_.get("path", ""))
    matched = store.find(key, _lines(with_.get("restore-keys", "")))
    if matched is None:
        if with_.get("fail-on-cache-miss") == "true":
            raise _StepFailed(f"cache: no cache for {key}")
        return {
            "cache-hit": "false",
            "cache-primary-key": key,
            "cache-matched-key": "",
        }, f"cache miss for {key}"
    store.restore(matched, paths)
    hit = "true" if matched == key else "false"
    return (
        {"cache-hit": hit, "cache-primary-key": key, "cache-matched-key": matched},
        f"restored {matched} into {', '.join(map(str, paths))}",
    )


def _cache_save(
    runner: WorkflowRunner, job: _Job, with_: dict[str, str]
) -> tuple[dict[str, str], str]:
    key = with_.get("key", "")
    if not key:
        raise _StepFailed("cache save: key is required")
    paths = _cache_paths(runner, job, with_.get("path", ""))
    if not any(p.exists() for p in paths):
        return {}, f"cache save: none of {[str(p) for p in paths]} exist (warning, not saved)"
    saved = CacheStore(runner.cache_root).save(key, paths)
    return {}, f"saved {key}" if saved else f"cache {key} already exists (warning, not saved)"


def _cache(runner: WorkflowRunner, job: _Job, with_: dict[str, str]) -> tuple[dict[str, str], str]:
    outputs, log = _cache_restore(runner, job, with_)
    if outputs["cache-hit"] != "true":
        job.post_steps.append(lambda: _cache_save(runner, job, with_) and None)
    return outputs, log


def _upload_artifact(
    runner: WorkflowRunner, job: _Job, with_: dict[str, str]
) -> tuple[dict[str, str], str]:
    name = with_.get("name") or "artifact"
    if _ARTIFACT_BAD.search(name):
        raise _StepFailed(f"upload-artifact: name {name!r} has a character that is not allowed")
    target = runner.artifact_root / name
    if target.exists():
        if with_.get("overwrite") != "true":
            raise _StepFailed(f"upload-artifact: an artifact named {name!r} already exists")
        shutil.rmtree(target)
    files: list[Path] = []
    for raw in _lines(with_.get("path", "")):
        pattern = Path(raw) if Path(raw).is_absolute() else job.workspace / raw
        matches = (
            [pattern]
            if pattern.exists()
            else [Path(p) for p in sorted(map(str, pattern.parent.glob(pattern.name)))]
        )
        for match in matches:
            found = [match] if match.is_file() else [p for p in match.rglob("*") if p.is_file()]
            if with_.get("include-hidden-files") != "true":
                # v4.4+: a file or folder whose name starts with a dot is left out, from the
                # searched path itself downward (its parent folders are not looked at).
                found = [
                    p
                    for p in found
                    if not any(
                        part.startswith(".") for part in (match.name, *p.relative_to(match).parts)
                    )
                ]
            files.extend(found)
    if not files:
        policy = with_.get("if-no-files-found", "warn")
        if policy == "error":
            raise _StepFailed(f"upload-artifact: no files found for {with_.get('path')!r}")
        return {}, f"upload-artifact: no files for {name} ({policy})"
    roots = [
        Path(raw) if Path(raw).is_absolute() else job.workspace / raw
        for raw in _lines(with_["path"])
    ]
    roots = [r if r.is_dir() else r.parent for r in roots]
    common = Path(os.path.commonpath([str(r) for r in roots]))
    for file in files:
        dest = target / file.relative_to(common)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, dest)
    return {
        "artifact-id": name,
        "artifact-url": f"file://{target}",
    }, f"uploaded {len(files)} files as {name}"


def _copy_without_modes(source: Path, dest: Path) -> None:
    """Artifacts travel as zip files: file modes (an executable bit) do not survive."""
    shutil.copytree(source, dest, dirs_exist_ok=True, copy_function=shutil.copyfile)
    for path in source.rglob("*"):
        if path.is_file():
            (dest / path.relative_to(source)).chmod(0o644)


def _refuse_overlaps(root: Path, artifacts: list[str]) -> None:
    """Two artifacts extracted at once into one folder must not hold the same path.

    download-artifact fetches and unzips the artifacts it picked concurrently, so a file both
    hold (or a file one holds where the other has a folder) ends up with either one's bytes, or
    a mix of the two. GitHub defines no winner, so neither does this stand-in.
    """
    owner: dict[PurePosixPath, str] = {}
    clashes: list[str] = []
    for artifact in artifacts:
        base = root / artifact
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = PurePosixPath(path.relative_to(base).as_posix())
            if rel in owner:
                clashes.append(f"{rel} ({owner[rel]} and {artifact})")
            owner.setdefault(rel, artifact)
    folders = {parent: owner[rel] for rel in owner for parent in rel.parents}
    clashes += [
        f"{rel} (a file in {owner[rel]}, a folder in {folders[rel]})"
        for rel in owner
        if rel in folders
    ]
    if clashes:
        shown = "; ".join(clashes[:3]) + (
            f"; and {len(clashes) - 3} more" if len(clashes) > 3 else ""
        )
        raise _StepFailed(
            "download-artifact: with merge-multiple the artifacts are extracted at the same "
            f"time into one folder, and these paths are in more than one: {shown}; which bytes "
            "land there is undefined"
        )


def _download_artifact(
    runner: WorkflowRunner, job: _Job, with_: dict[str, str]
) -> tuple[dict[str, str], str]:
    raw_path = with_.get("path") or ""
    dest = Path(raw_path) if raw_path and Path(raw_path).is_absolute() else job.workspace / raw_path
    available = sorted(p.name for p in runner.artifact_root.iterdir() if p.is_dir())
    name = with_.get("name")
    if name:
        if name not in available:
            raise _StepFailed(f"download-artifact: no artifact named {name!r} (have {available})")
        _copy_without_modes(runner.artifact_root / name, dest)
        return {"download-path": str(dest)}, f"downloaded {name}"
    pattern = with_.get("pattern") or "*"
    chosen = [a for a in available if fnmatch.fnmatchcase(a, pattern)]
    merge = with_.get("merge-multiple") == "true"
    if merge:
        _refuse_overlaps(runner.artifact_root, chosen)
    for artifact in chosen:
        _copy_without_modes(runner.artifact_root / artifact, dest if merge else dest / artifact)
    dest.mkdir(parents=True, exist_ok=True)
    return {"download-path": str(dest)}, f"downloaded {chosen} into {dest}"


# The inputs each stand-in's real action declares (its action.yml): a typo fails the step.
_INPUTS: dict[str, set[str]] = {
    "actions/checkout": {
        "repository",
        "ref",
        "token",
        "ssh-key",
        "ssh-known-hosts",
        "ssh-strict",
        "ssh-user",
        "persist-credentials",
        "path",
        "clean",
        "filter",
        "sparse-checkout",
        "sparse-checkout-cone-mode",
        "fetch-depth",
        "fetch-tags",
        "show-progress",
        "lfs",
        "submodules",
        "set-safe-directory",
        "github-server-url",
    },
    "actions/setup-go": {
        "go-version",
        "go-version-file",
        "check-latest",
        "token",
        "cache",
        "cache-dependency-path",
        "architecture",
    },
    "actions/setup-python": {
        "python-version",
        "python-version-file",
        "cache",
        "architecture",
        "check-latest",
        "token",
        "cache-dependency-path",
        "update-environment",
        "allow-prereleases",
        "freethreaded",
    },
    "actions/cache": {
        "path",
        "key",
        "restore-keys",
        "upload-chunk-size",
        "enableCrossOsArchive",
        "fail-on-cache-miss",
        "lookup-only",
        "save-always",
    },
    "actions/cache/restore": {
        "path",
        "key",
        "restore-keys",
        "enableCrossOsArchive",
        "fail-on-cache-miss",
        "lookup-only",
    },
    "actions/cache/save": {"path", "key", "upload-chunk-size", "enableCrossOsArchive"},
    "actions/upload-artifact": {
        "name",
        "path",
        "if-no-files-found",
        "retention-days",
        "compression-level",
        "overwrite",
        "include-hidden-files",
    },
    "actions/download-artifact": {
        "name",
        "path",
        "pattern",
        "merge-multiple",
        "github-token",
        "repository",
        "run-id",
        "artifact-ids",
    },
}

_EFFECTS: dict[str, Effect] = {
    "actions/checkout": _checkout,
    "actions/setup-go": _setup_go,
    "actions/setup-python": _setup_python,
    "actions/cache": _cache,
    "actions/cache/restore": _cache_restore,
    "actions/cache/save": _cache_save,
    "actions/upload-artifact": _upload_artifact,
    "actions/download-artifact": _download_artifact,
}
