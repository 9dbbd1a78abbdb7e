"""The workflow runner harness itself, on small synthetic workflows and actions.

The end-to-end test of go-ci.yml trusts this harness to run steps the way GitHub does, so each
behaviour it relies on is pinned here: expressions, step and job outputs, GITHUB_ENV/PATH,
``if:`` and status functions, matrix from fromJSON, nested composite actions, caches,
artifacts (and download-artifact's undefined overlaps), checkout, environments (their secrets
and the approval wait), job concurrency groups, and the refusals (``${{ }}`` in ``run:``,
duplicate artifact names).
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from support.expressions import Evaluator, ExpressionError, split_template, to_string
from support.workflow_runner import Repo, WorkflowError, WorkflowRunner


def ev(expression: str, **contexts: Any) -> Any:
    return Evaluator({"github": {}, **contexts}).evaluate(expression)


# ---- expressions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 == 1", True),
        ("'ABC' == 'abc'", True),  # strings compare without case
        ("'1' == 1", True),  # mixed types compare as numbers
        ("null == 0", True),
        ("'a' != 'b'", True),
        ("!''", True),
        ("!'false'", False),  # a non-empty string is truthy, even 'false'
        ("'x' && 'y'", "y"),  # && returns an operand
        ("'' || 'fallback'", "fallback"),
        ("0 || null", None),
        ("2 > 10", False),
        ("'b' > 'A'", True),
        ("format('{0}-{1} {{x}}', 'a', 1)", "a-1 {x}"),
        ("contains(fromJSON('[\"linux\", \"darwin\"]'), 'Darwin')", True),
        ("contains('Hello', 'ell')", True),
        ("startsWith('refs/tags/v1', 'refs/tags/')", True),
        ("endsWith('go.mod', '.MOD')", True),
        ("join(fromJSON('[1, 2]'), '+')", "1+2"),
        ('fromJSON(\'{"a": {"b": [5]}}\').a.b[0]', 5),
        ('fromJSON(\'[{"n": 1}, {"n": 2}]\').*.n', [1, 2]),
        ("inputs.missing", None),
        ("inputs['working-directory']", "examples"),
        ("inputs.Working-Directory", "examples"),  # context keys are case-insensitive
    ],
)
def test_expression_values(expression: str, expected: Any) -> None:
    assert ev(expression, inputs={"working-directory": "examples"}) == expected


def test_and_or_short_circuit() -> None:
    # fromJSON('') would fail: it must not be evaluated when the left side decides.
    assert ev("false && fromJSON('')") is False
    assert ev("'yes' || fromJSON('')") == "yes"
    with pytest.raises(ExpressionError):
        ev("true && fromJSON('')")


def test_unknown_names_are_errors() -> None:
    with pytest.raises(ExpressionError, match="unknown context"):
        ev("stepz.a.outputs.b")
    with pytest.raises(ExpressionError, match="unknown function"):
        ev("lenght('x')")


def test_to_json_and_to_string() -> None:
    assert json.loads(ev("toJSON(matrix)", matrix={"go": "1.25"})) == {"go": "1.25"}
    assert to_string(True) == "true"
    assert to_string(3.0) == "3"
    assert to_string(None) == ""


def test_interpolation_and_conditions() -> None:
    evaluator = Evaluator({"inputs": {"n": 2.0, "ok": True}, "github": {}})
    assert evaluator.interpolate("${{ inputs.n }}") == 2.0  # a lone expression keeps its type
    assert evaluator.text("n=${{ inputs.n }}, ok=${{ inputs.ok }}") == "n=2, ok=true"
    assert split_template("a ${{ format('}}') }} b")[1].text == "format('}}')"  # type: ignore[union-attr]
    assert evaluator.condition("inputs.ok") is True
    assert evaluator.condition("${{ inputs.n == 3 }}") is False
    failed = Evaluator({"github": {}}, status=lambda name: name in ("always", "failure"))
    assert failed.condition("true") is False  # an implicit success() guards every if:
    assert failed.condition("always()") is True
    assert failed.condition("failure()") is True


# ---- workflows -----------------------------------------------------------------------------


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository that actions/checkout brings into each job."""
    root = tmp_path / "repo"
    root.mkdir()
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True, env=env)
    write(root, "hello.txt", "hello\n")
    return root


def commit(root: Path) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "c"], cwd=root, check=True, env=env)
    out = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, check=True, text=True, capture_output=True
    ).stdout
    return out.strip()


def runner_for(tmp_path: Path, repo: Path, sha: str, **extra: Any) -> WorkflowRunner:
    return WorkflowRunner(
        tmp_path / "runner",
        repositories={"acme/app": Repo(repo)},
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        github={"repository": "acme/app", "sha": sha, "ref": "refs/heads/main"},
        **extra,
    )


PIPELINE = """
name: pipeline
on:
  workflow_call:
    inputs:
      shards: {type: number, default: 2}
      label: {type: string, default: "x"}
    outputs:
      total: {value: "${{ jobs.report.outputs.total }}"}
permissions: {}
env:
  GREETING: hi
jobs:
  plan:
    runs-on: ubuntu-latest
    outputs:
      matrix: ${{ steps.plan.outputs.matrix }}
      label: ${{ steps.plan.outputs.label }}
    steps:
      - uses: actions/checkout@0123456789012345678901234567890123456789
      - id: plan
        shell: bash
        env:
          SHARDS: ${{ inputs.shards }}
          LABEL: ${{ inputs.label }}
        run: |
          test -f hello.txt
          { echo "matrix<<EOF"; echo '{"include": ['
            for i in $(seq 1 "$SHARDS"); do
              [ "$i" = 1 ] || echo ,
              printf '{"shard": "%s/%s"}\\n' "$i" "$SHARDS"
            done
            echo ']}'; echo "EOF"; } >> "$GITHUB_OUTPUT"
          echo "label=$LABEL-$GREETING" >> "$GITHUB_OUTPUT"
  test:
    needs: plan
    runs-on: ubuntu-latest
    strategy:
      matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}
    steps:
      - uses: actions/checkout@0123456789012345678901234567890123456789
      - name: export
        shell: bash
        run: |
          mkdir -p "$RUNNER_TEMP/bin"
          printf '#!/bin/sh\\necho tool-ran\\n' > "$RUNNER_TEMP/bin/mytool"
          chmod +x "$RUNNER_TEMP/bin/mytool"
          echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
          echo "FROM_ENV=exported" >> "$GITHUB_ENV"
      - id: work
        shell: bash
        env:
          SHARD: ${{ matrix.shard }}
        run: |
          test "$(mytool)" = tool-ran
          test "$FROM_ENV" = exported
          safe=$(echo "$SHARD" | tr / _)
          mkdir -p out && echo "$SHARD" > "out/$safe.txt"
          echo "safe=$safe" >> "$GITHUB_OUTPUT"
          echo "### shard $SHARD" >> "$GITHUB_STEP_SUMMARY"
      - uses: actions/upload-artifact@0123456789012345678901234567890123456789
        with:
          name: part-${{ steps.work.outputs.safe }}
          path: out
  report:
    needs: [plan, test]
    if: ${{ always() }}
    runs-on: ubuntu-latest
    outputs:
      total: ${{ steps.count.outputs.total }}
    steps:
      - uses: actions/download-artifact@0123456789012345678901234567890123456789
        with:
          pattern: part-*
          path: parts
      - id: count
        shell: bash
        env:
          LABEL: ${{ needs.plan.outputs.label }}
        run: |
          test -f parts/part-1_2/1_2.txt && test -f parts/part-2_2/2_2.txt
          echo "total=$(ls parts | wc -l | tr -d ' ') $LABEL" >> "$GITHUB_OUTPUT"
"""


def test_jobs_matrix_outputs_env_path_and_artifacts(tmp_path: Path, repo: Path) -> None:
    sha = commit(repo)
    workflow = write(tmp_path, "wf/pipeline.yml", PIPELINE)
    result = runner_for(tmp_path, repo, sha).run_workflow(workflow, {"shards": 2, "label": "L"})
    assert {j: r.result for j, r in result.jobs.items()} == {
        "plan": "success",
        "test": "success",
        "report": "success",
    }, result.log
    assert [run.matrix for run in result.jobs["test"].runs] == [{"shard": "1/2"}, {"shard": "2/2"}]
    assert "### shard 2/2" in result.jobs["test"].runs[1].summary
    assert result.outputs == {"total": "2 L-hi"}
    # each job ran in a fresh workspace, with the checked-out commit
    workspaces = {run.workspace for job in result.jobs.values() for run in job.runs}
    assert len(workspaces) == 4


def test_failures_skip_steps_and_jobs_unless_asked(tmp_path: Path, repo: Path) -> None:
    sha = commit(repo)
    workflow = write(
        tmp_path,
        "wf/fail.yml",
        """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - id: boom
                shell: bash
                run: exit 3
              - id: after
                shell: bash
                run: echo never
              - id: on-failure
                if: failure()
                shell: bash
                env:
                  OUTCOME: ${{ steps.boom.outcome }}
                run: echo "seen=$OUTCOME" >> "$GITHUB_OUTPUT"
          b:
            needs: a
            runs-on: ubuntu-latest
            steps:
              - shell: bash
                run: echo never
          c:
            needs: a
            if: always() && needs.a.result == 'failure'
            runs-on: ubuntu-latest
            steps:
              - shell: bash
                run: echo ran
        """,
    )
    result = runner_for(tmp_path, repo, sha).run_workflow(workflow)
    run = result.jobs["a"].runs[0]
    assert result.jobs["a"].result == "failure"
    assert run.step("boom").outcome == "failure"
    assert "(exit code 3)" in run.step("boom").log
    assert run.step("after").outcome == "skipped"
    assert run.step("on-failure").outputs == {"seen": "failure"}
    assert result.jobs["b"].result == "skipped"
    assert result.jobs["c"].result == "success"


def test_nested_composite_actions(tmp_path: Path, repo: Path) -> None:
    write(
        repo,
        "actions/outer/action.yml",
        """
        name: outer
        description: calls inner
        inputs:
          who: {description: who, default: world}
          loud: {description: loud, required: false, default: "false"}
        outputs:
          message: {description: m, value: "${{ steps.inner.outputs.text }}"}
          path: {description: p, value: "${{ steps.where.outputs.path }}"}
        runs:
          using: composite
          steps:
            - id: where
              shell: bash
              run: echo "path=$GITHUB_ACTION_PATH" >> "$GITHUB_OUTPUT"
            - id: inner
              uses: ./actions/inner
              with:
                text: hello ${{ inputs.who }}
                upper: ${{ inputs.loud }}
        """,
    )
    write(
        repo,
        "actions/inner/action.yml",
        """
        name: inner
        description: echoes
        inputs:
          text: {description: t, required: true}
          upper: {description: u, default: "false"}
        outputs:
          text: {description: t, value: "${{ steps.say.outputs.text }}"}
        runs:
          using: composite
          steps:
            - id: say
              shell: bash
              env:
                INPUT_TEXT: ${{ inputs.text }}
                INPUT_UPPER: ${{ inputs.upper }}
              run: |
                text="$INPUT_TEXT from $FROM_STEP"
                if [ "$INPUT_UPPER" = true ]; then text=$(echo "$text" | tr a-z A-Z); fi
                echo "text=$text" >> "$GITHUB_OUTPUT"
        """,
    )
    sha = commit(repo)
    workflow = write(
        tmp_path,
        "wf/composite.yml",
        """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            outputs:
              message: ${{ steps.call.outputs.message }}
            steps:
              - uses: actions/checkout@0123456789012345678901234567890123456789
              - id: call
                uses: ./actions/outer
                env:
                  FROM_STEP: the-step-env
                with:
                  who: gophers
                  loud: true
        """,
    )
    result = runner_for(tmp_path, repo, sha).run_workflow(workflow)
    job = result.jobs["a"]
    assert job.result == "success", result.log
    assert job.outputs == {"message": "HELLO GOPHERS FROM THE-STEP-ENV"}
    assert job.runs[0].step("call").outputs["path"].endswith("actions/outer")


def test_composite_action_refuses_unknown_inputs(tmp_path: Path, repo: Path) -> None:
    write(
        repo,
        "actions/inner/action.yml",
        """
        name: inner
        description: d
        inputs: {}
        runs: {using: composite, steps: []}
        """,
    )
    runner = runner_for(tmp_path, repo, commit(repo))
    with pytest.raises(WorkflowError, match="no input"):
        runner.run_action(repo / "actions/inner", {"typo": "x"}, workspace=repo)


def test_caches_restore_exact_then_by_prefix(tmp_path: Path, repo: Path) -> None:
    sha = commit(repo)
    workflow = write(
        tmp_path,
        "wf/cache.yml",
        """
        on: push
        jobs:
          save:
            runs-on: ubuntu-latest
            steps:
              - shell: bash
                run: mkdir -p ~/stuff && echo one > ~/stuff/a.txt
              - uses: actions/cache/save@0123456789012345678901234567890123456789
                with: {path: ~/stuff, key: deps-linux-abc}
          exact:
            needs: save
            runs-on: ubuntu-latest
            outputs:
              hit: ${{ steps.r.outputs.cache-hit }}
            steps:
              - shell: bash
                run: rm -rf ~/stuff
              - id: r
                uses: actions/cache/restore@0123456789012345678901234567890123456789
                with: {path: ~/stuff, key: deps-linux-abc}
              - shell: bash
                run: test "$(cat ~/stuff/a.txt)" = one
          prefix:
            needs: exact
            runs-on: ubuntu-latest
            outputs:
              hit: ${{ steps.r.outputs.cache-hit }}
              matched: ${{ steps.r.outputs.cache-matched-key }}
            steps:
              - shell: bash
                run: rm -rf ~/stuff
              - id: r
                uses: actions/cache/restore@0123456789012345678901234567890123456789
                with:
                  path: ~/stuff
                  key: deps-linux-def
                  restore-keys: |
                    deps-linux-
        """,
    )
    result = runner_for(tmp_path, repo, sha).run_workflow(workflow)
    assert all(j.result == "success" for j in result.jobs.values()), result.log
    assert result.jobs["exact"].outputs == {"hit": "true"}
    assert result.jobs["prefix"].outputs == {"hit": "false", "matched": "deps-linux-abc"}


def test_refusals(tmp_path: Path, repo: Path) -> None:
    sha = commit(repo)
    injected = write(
        tmp_path,
        "wf/inject.yml",
        """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - shell: bash
                run: echo "${{ github.sha }}"
        """,
    )
    with pytest.raises(WorkflowError, match="inside run"):
        runner_for(tmp_path, repo, sha).run_workflow(injected)
    twice = write(
        tmp_path,
        "wf/twice.yml",
        """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            strategy: {matrix: {n: [1, 2]}}
            steps:
              - shell: bash
                run: echo x > f.txt
              - uses: actions/upload-artifact@0123456789012345678901234567890123456789
                with: {name: same-name, path: f.txt}
        """,
    )
    result = runner_for(tmp_path / "2", repo, sha).run_workflow(twice)
    second = result.jobs["a"].runs[1]
    assert second.result == "failure"
    assert "already exists" in second.log


def test_checkout_at_a_commit_and_a_linked_repository(tmp_path: Path, repo: Path) -> None:
    first = commit(repo)
    write(repo, "hello.txt", "changed\n")
    commit(repo)
    tools = tmp_path / "tools"
    write(tools, "marker.txt", "tools\n")
    workflow = write(
        tmp_path,
        "wf/checkout.yml",
        """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@0123456789012345678901234567890123456789
              - uses: actions/checkout@0123456789012345678901234567890123456789
                with: {repository: acme/tools, path: .tools/src}
              - shell: bash
                run: |
                  test "$(cat hello.txt)" = hello
                  test "$(cat .tools/src/marker.txt)" = tools
                  test "$(git rev-parse HEAD)" = "$GITHUB_SHA"
        """,
    )
    runner = WorkflowRunner(
        tmp_path / "runner",
        repositories={"acme/app": Repo(repo), "acme/tools": Repo(tools, link=True)},
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        github={"repository": "acme/app", "sha": first},
    )
    result = runner.run_workflow(workflow)
    assert result.jobs["a"].result == "success", result.log


def test_calls_a_local_reusable_workflow(tmp_path: Path, repo: Path) -> None:
    sha = commit(repo)
    write(tmp_path, "proj/.github/workflows/pipeline.yml", PIPELINE)
    caller = write(
        tmp_path,
        "proj/.github/workflows/ci.yml",
        """
        on: push
        jobs:
          call:
            uses: ./.github/workflows/pipeline.yml
            with:
              shards: 3
        """,
    )
    result = runner_for(tmp_path, repo, sha).run_workflow(caller)
    assert result.jobs["call"].result == "success", result.log
    assert result.jobs["call"].outputs == {"total": "3 x-hi"}


def test_a_linked_repository_must_hold_the_wanted_ref(tmp_path: Path, repo: Path) -> None:
    first = commit(repo)
    write(repo, "hello.txt", "changed\n")
    second = commit(repo)
    workflow = write(
        tmp_path,
        "wf/linked.yml",
        """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - id: co
                uses: actions/checkout@0123456789012345678901234567890123456789
                with: {repository: acme/app, ref: "${{ github.event.ref_wanted }}", path: x}
        """,
    )
    for wanted, outcome in ((second, "success"), ("main", "success"), (first, "failure")):
        runner = WorkflowRunner(
            tmp_path / f"runner-{wanted[:7]}",
            repositories={"acme/app": Repo(repo, link=True)},
            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
            event={"ref_wanted": wanted},
        )
        run = runner.run_workflow(workflow).jobs["a"].runs[0]
        assert run.step("co").outcome == outcome, run.log
        if outcome == "success":
            assert run.step("co").outputs["commit"] == second


def test_upload_artifact_leaves_hidden_files_out_unless_asked(tmp_path: Path, repo: Path) -> None:
    sha = commit(repo)
    workflow = write(
        tmp_path,
        "wf/hidden.yml",
        """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - shell: bash
                run: |
                  mkdir -p .cache/sub out/.git
                  echo 1 > .cache/sub/a.txt; echo 2 > out/b.txt; echo 3 > out/.git/c.txt
                  echo 4 > .cache/d.txt
              - id: dot-root
                continue-on-error: true
                uses: actions/upload-artifact@0123456789012345678901234567890123456789
                with: {name: dot-root, path: .cache, if-no-files-found: error}
              - uses: actions/upload-artifact@0123456789012345678901234567890123456789
                with: {name: plain, path: out}
              - uses: actions/upload-artifact@0123456789012345678901234567890123456789
                with: {name: all, path: out, include-hidden-files: true}
              - uses: actions/upload-artifact@0123456789012345678901234567890123456789
                with: {name: inside-dot, path: .cache/sub}
        """,
    )
    runner = runner_for(tmp_path, repo, sha)
    run = runner.run_workflow(workflow).jobs["a"].runs[0]
    arts = runner.artifact_root
    files = {p.relative_to(arts).as_posix() for p in arts.rglob("*") if p.is_file()}
    # a searched folder inside a dot folder is fine (only its own name and below count)
    assert files == {"plain/b.txt", "all/b.txt", "all/.git/c.txt", "inside-dot/a.txt"}
    assert run.step("dot-root").outcome == "failure"  # .cache itself is hidden: no files


def test_stand_ins_refuse_inputs_the_real_action_lacks(tmp_path: Path, repo: Path) -> None:
    workflow = write(
        tmp_path,
        "wf/typo.yml",
        """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@0123456789012345678901234567890123456789
                with: {fetch-depht: 0}
        """,
    )
    with pytest.raises(WorkflowError, match="fetch-depht"):
        runner_for(tmp_path, repo, commit(repo)).run_workflow(workflow)


def test_artifacts_lose_file_modes_on_the_way(tmp_path: Path, repo: Path) -> None:
    sha = commit(repo)
    workflow = write(
        tmp_path,
        "wf/modes.yml",
        """
        on: push
        jobs:
          up:
            runs-on: ubuntu-latest
            steps:
              - shell: bash
                run: mkdir bin && printf '#!/bin/sh\\n' > bin/tool && chmod 755 bin/tool
              - uses: actions/upload-artifact@0123456789012345678901234567890123456789
                with: {name: bin, path: bin}
          down:
            needs: up
            runs-on: ubuntu-latest
            steps:
              - uses: actions/download-artifact@0123456789012345678901234567890123456789
                with: {name: bin, path: got}
              - shell: bash
                run: test -f got/tool && test ! -x got/tool
        """,
    )
    result = runner_for(tmp_path, repo, sha).run_workflow(workflow)
    assert result.jobs["down"].result == "success", result.log


OVERLAP = """
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        go: ["1.25", "1.26"]
        target: [linux-amd64, darwin-arm64]
    steps:
      - shell: bash
        env:
          GO: ${{ matrix.go }}
          TARGET: ${{ matrix.target }}
        run: mkdir -p "dist/api/$TARGET" && echo "api built by $GO" > "dist/api/$TARGET/api"
      - uses: actions/upload-artifact@0123456789012345678901234567890123456789
        with:
          name: dist-${{ matrix.go }}-${{ matrix.target }}-${{ strategy.job-index }}
          path: dist
  publish:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - id: one-go
        uses: actions/download-artifact@0123456789012345678901234567890123456789
        with: {pattern: dist-1.26-*, path: one, merge-multiple: true}
      - id: apart
        uses: actions/download-artifact@0123456789012345678901234567890123456789
        with: {pattern: dist-*, path: apart}
      - id: mixed
        continue-on-error: true
        uses: actions/download-artifact@0123456789012345678901234567890123456789
        with: {pattern: dist-*, path: mixed, merge-multiple: true}
      - shell: bash
        run: |
          test "$(cat one/api/linux-amd64/api)" = "api built by 1.26"
          test "$(cat one/api/darwin-arm64/api)" = "api built by 1.26"
          test "$(ls apart | wc -l)" -eq 4
          test ! -e mixed
"""


def test_merge_multiple_refuses_artifacts_that_overlap(tmp_path: Path, repo: Path) -> None:
    """Disjoint artifacts merge; the same path in two artifacts is an error, not a winner."""
    result = runner_for(tmp_path, repo, commit(repo)).run_workflow(
        write(tmp_path, "wf/overlap.yml", OVERLAP)
    )
    assert result.jobs["build"].runs[0].matrix == {
        "go": "1.25",
        "target": "linux-amd64",
    }
    run = result.jobs["publish"].runs[0]
    assert result.jobs["publish"].result == "success", result.log
    assert (run.step("one-go").outcome, run.step("apart").outcome) == ("success", "success")
    mixed = run.step("mixed")
    assert mixed.outcome == "failure"
    assert "api/linux-amd64/api (dist-1.25-linux-amd64-0 and dist-1.26-linux-amd64-2)" in mixed.log
    assert "api/darwin-arm64/api (dist-1.25-darwin-arm64-1 and dist-1.26-darwin-arm64-3)" in (
        mixed.log
    )


def test_merge_multiple_refuses_a_file_where_another_artifact_has_a_folder(
    tmp_path: Path, repo: Path
) -> None:
    workflow = write(
        tmp_path,
        "wf/file-folder.yml",
        """
        on: push
        jobs:
          up:
            runs-on: ubuntu-latest
            steps:
              - shell: bash
                run: mkdir -p a/api b && echo folder > a/api/x && echo file > b/api
              - uses: actions/upload-artifact@0123456789012345678901234567890123456789
                with: {name: a, path: a}
              - uses: actions/upload-artifact@0123456789012345678901234567890123456789
                with: {name: b, path: b}
          down:
            needs: up
            runs-on: ubuntu-latest
            steps:
              - uses: actions/download-artifact@0123456789012345678901234567890123456789
                with: {path: got, merge-multiple: true}
        """,
    )
    result = runner_for(tmp_path, repo, commit(repo)).run_workflow(workflow)
    log = result.jobs["down"].runs[0].log
    assert result.jobs["down"].result == "failure"
    assert "api (a file in b, a folder in a)" in log, log


ENVIRONMENTS = """
on: push
jobs:
  resolve:
    runs-on: ubuntu-latest
    outputs:
      pick: ${{ steps.pick.outputs.pick }}
    steps:
      - id: pick
        shell: bash
        env:
          KEY: ${{ secrets.STORE_KEY }}
        run: |
          echo "pick=release-7" >> "$GITHUB_OUTPUT"
          echo "will promote release-7" >> "$GITHUB_STEP_SUMMARY"
  publish:
    needs: resolve
    runs-on: ubuntu-latest
    environment: ${{ matrix.service == 'api' && 'production' || '' }}
    concurrency:
      group: release-${{ github.repository }}-${{ matrix.service }}-${{ strategy.job-index }}
      cancel-in-progress: false
    strategy:
      matrix:
        service: [api, worker]
    steps:
      - id: use
        shell: bash
        env:
          KEY: ${{ secrets.STORE_KEY }}
          PICK: ${{ needs.resolve.outputs.pick }}
        run: echo "used=$KEY/$PICK" >> "$GITHUB_OUTPUT"
"""


def test_environments_give_their_secrets_after_the_approval_wait(
    tmp_path: Path, repo: Path
) -> None:
    seen: list[tuple[str, str, str]] = []

    def approve(job: str, environment: str, finished: Any) -> None:
        seen.append((job, environment, finished["resolve"].runs[0].summary.strip()))

    runner = runner_for(
        tmp_path,
        repo,
        commit(repo),
        secrets={"STORE_KEY": "dev-key"},
        environments={"production": {"STORE_KEY": "prod-key"}},
        on_approval=approve,
    )
    result = runner.run_workflow(write(tmp_path, "wf/env.yml", ENVIRONMENTS))
    runs = result.jobs["publish"].runs
    assert [(r.matrix["service"], r.environment) for r in runs] == [
        ("api", "production"),
        ("worker", ""),
    ]
    assert [r.step("use").outputs["used"] for r in runs] == [
        "prod-key/release-7",
        "dev-key/release-7",
    ]
    assert [r.concurrency for r in runs] == ["release-acme/app-api-0", "release-acme/app-worker-1"]
    assert result.jobs["resolve"].runs[0].step("pick").env == {"KEY": "dev-key"}
    # reviewers are asked once, for the job in the environment, with the run so far to look at
    assert seen == [("publish", "production", "will promote release-7")]
