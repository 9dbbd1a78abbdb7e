"""End to end: the steps of go-ci.yml (and go-promote.yml) run as GitHub would run them.

``support.workflow_runner`` reads the workflow files themselves and runs every ``run:`` step
with bash, our composite actions nested, with GITHUB_OUTPUT/GITHUB_ENV files between steps;
only other owners' actions (checkout, setup-go, cache, artifacts) are replaced by their
documented effect. Each job gets a fresh workspace and HOME, so the only things that travel
between jobs are what GitHub carries: job outputs, caches and artifacts. This catches wiring
mistakes between steps (an output name, an input name, a path one job writes and another
reads) that unit tests of each command cannot.

The repository is a copy of ``examples/`` placed under ``examples/`` of a fresh git repository
(so ``working-directory`` is exercised), pushed through a sequence of commits: a leaf library
change, a docs-only change, and a tag.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from support.gorepo import GoRepo
from support.gotools import version_of
from support.workflow_runner import Repo, WorkflowResult, WorkflowRunner

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
GO_CI = ROOT / ".github" / "workflows" / "go-ci.yml"
GO_PROMOTE = ROOT / ".github" / "workflows" / "go-promote.yml"
APP = "acme/shop"
GOCI = "acme/goci"


STUB_SETUP = r"""#!/usr/bin/env bash
set -euo pipefail
bin="$RUNNER_TEMP/goci-setup/bin"
mkdir -p "$bin"
printf '#!/bin/sh\nexec "%s" -m goci "$@"\n' '@PYTHON@' >"$bin/goci"
chmod +x "$bin/goci"
echo "$bin" >>"$GITHUB_PATH"
"""


@pytest.fixture(scope="module")
def goci_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """goci's actions, scripts and sources as a checkout of goci would have them (a snapshot,
    so that the source id setup-goci.sh computes cannot change during the test)."""
    root = tmp_path_factory.mktemp("goci-checkout")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("action.yml", "pyproject.toml"):
        shutil.copy2(ROOT / name, root / name)
    for name in ("actions", "scripts", "src"):
        shutil.copytree(ROOT / name, root / name, ignore=ignore)
    # The real setup installs goci's locked dependencies from PyPI and reuses a venv only once
    # verified (tests/test_setup_action.py runs it); here `goci` is this test's interpreter.
    stub = root / "scripts" / "setup-goci.sh"
    stub.write_text(STUB_SETUP.replace("@PYTHON@", sys.executable), encoding="utf-8")
    GoRepo(root, {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull}).commit("goci snapshot")
    return root


class _Releases(BaseHTTPRequestHandler):
    body = b"[]"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def releases_url(go_binary: Path) -> Iterator[str]:
    """Go's release list (go.dev's format) on loopback, listing the installed Go as stable."""
    handler = type("Handler", (_Releases,), {})
    handler.body = json.dumps(
        [{"version": f"go{version_of(go_binary)}", "stable": True, "files": []}]
    ).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/dl/?mode=json&include=all"
    server.shutdown()
    server.server_close()


@pytest.fixture
def shop(make_repo: Callable[..., GoRepo]) -> GoRepo:
    """A repository whose ``examples/`` folder is a copy of goci's examples."""
    repo = make_repo("shop")
    shutil.copytree(
        ROOT / "examples",
        repo.root / "examples",
        ignore=shutil.ignore_patterns("dist", ".goci"),
    )
    repo.write("README.md", "# shop\n")
    repo.commit("initial")
    return repo


def make_runner(
    tmp: Path,
    name: str,
    repo: GoRepo,
    env: dict[str, str],
    go_binary: Path,
    goci_root: Path,
    *,
    ref: str,
    before: str,
    sha: str,
) -> WorkflowRunner:
    runner_env = {k: v for k, v in env.items() if k not in ("GOCACHE", "GOMODCACHE", "GOPATH")}
    runner_env["PIP_NO_INDEX"] = "1"  # a reinstall of goci must fail here, never reach PyPI
    return WorkflowRunner(
        tmp / name,
        repositories={APP: Repo(repo.root), GOCI: Repo(goci_root, link=True)},
        env=runner_env,
        github={
            "repository": APP,
            "sha": sha,
            "ref": ref,
            "event_name": "push",
            "run_id": str(4000 + len(name)),
        },
        event={
            "before": before,
            "after": sha,
            "ref": ref,
            "repository": {"default_branch": "main", "full_name": APP},
        },
        setup_go=lambda version: go_binary,
        fresh_home=True,
        cache_root=tmp / "caches",
    )


def results(run: WorkflowResult) -> dict[str, str]:
    return {job: result.result for job, result in run.jobs.items()}


def discard_machines(runner: WorkflowRunner) -> None:
    """Drop the finished jobs' workspaces and HOMEs (each holds a Go build cache)."""
    for folder in runner.root.glob("job*"):
        shutil.rmtree(folder, ignore_errors=True)


def test_go_ci_workflow_through_a_sequence_of_commits(
    tmp_path: Path,
    shop: GoRepo,
    go_env: dict[str, str],
    go_binary: Path,
    releases_url: str,
    goci_checkout: Path,
) -> None:
    env = {**go_env, "GOCI_GO_RELEASES_URL": releases_url}
    go_version = version_of(go_binary)
    store = tmp_path / "store"
    inputs = {
        "working-directory": "examples",
        "go-versions": "stable",
        "platforms": "linux/amd64",
        "shards": 2,
        "version-var": "main.Version",
        "upload": True,
        "store": f"file://{store}",
        "goci-repository": GOCI,
        "goci-ref": "main",
    }

    # 1. A leaf library change: strutil and everything that imports it runs; config does not.
    first = shop.head()
    shop.write(
        "examples/platform/strutil/strutil.go",
        (ROOT / "examples/platform/strutil/strutil.go")
        .read_text()
        .replace("// Truncate shortens", "// Truncate (changed) shortens"),
    )
    second = shop.commit("strutil: doc")
    runner = make_runner(
        tmp_path,
        "run1",
        shop,
        env,
        go_binary,
        goci_checkout,
        ref="refs/heads/main",
        before=first,
        sha=second,
    )
    run = runner.run_workflow(GO_CI, inputs)
    assert results(run) == {
        "plan": "success",
        "test": "success",
        "report": "success",
        "publish": "success",
    }, run.log
    plan = run.jobs["plan"]
    assert plan.outputs["any"] == "true"
    tested = set(json.loads(plan.outputs["packages"]))
    assert "example.com/platform/strutil" in tested
    assert "example.com/services/internal/greet" in tested
    assert "example.com/platform/config" not in tested
    services = json.loads(plan.outputs["services"])
    assert {s.rsplit("/", 1)[-1] for s in services} == {"api", "worker", "cli"}
    matrix = json.loads(plan.outputs["matrix"])["include"]
    assert len(matrix) == 2  # 1 platform x 2 shards
    assert {e["go"] for e in matrix} == {go_version}
    assert plan.outputs["coverage-go"] == go_version
    # goci's own ref ("main") was pinned to a commit that every later job checked out
    snapshot = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=goci_checkout, capture_output=True, text=True, check=True
    )
    assert plan.outputs["goci-ref"] == snapshot.stdout.strip()
    # every test job ran its shard, built once per target, and uploaded what the report reads
    test_runs = run.jobs["test"].runs
    assert len(test_runs) == 2
    artifacts = sorted(p.name for p in runner.artifact_root.iterdir())
    assert len([a for a in artifacts if a.startswith("goci-coverage-")]) == 2
    assert len([a for a in artifacts if a.startswith("goci-dist-")]) == 1
    report = run.jobs["report"]
    assert 0 < float(report.outputs["total"]) <= 100
    assert run.outputs["coverage-total"] == report.outputs["total"]
    # caches were saved on this trusted push (module cache may be empty: no dependencies)
    assert json.loads((runner.cache_root / "index.json").read_text())

    # the push to main published a dev release of each changed service, manifest last
    published = run.jobs["publish"]
    manifests = published.outputs["manifest-url"].split()
    assert len(manifests) == 3, run.log
    stored = sorted(str(p.relative_to(store)) for p in store.rglob("*") if p.is_file())
    dev = [k for k in stored if k.endswith("manifest.json") and "/dev/" in f"/{k}"]
    assert len(dev) == 3, stored
    manifest = json.loads((store / dev[0]).read_text())
    assert manifest["commit"] == second
    assert manifest["env"] == "dev"

    discard_machines(runner)

    # 2. A docs-only change: nothing Go-relevant, no test jobs, no report, no publish.
    shop.write("examples/README.md", "# examples\n\nchanged docs\n")
    third = shop.commit("docs")
    runner = make_runner(
        tmp_path,
        "run2",
        shop,
        env,
        go_binary,
        goci_checkout,
        ref="refs/heads/main",
        before=second,
        sha=third,
    )
    run = runner.run_workflow(GO_CI, inputs)
    assert results(run) == {
        "plan": "success",
        "test": "skipped",
        "report": "skipped",
        "publish": "skipped",
    }, run.log
    assert run.jobs["plan"].outputs["any"] == "false"

    discard_machines(runner)

    # 3. Promote the api's latest dev build to prod 1.0.0 (go-promote.yml, workflow_dispatch).
    runner = make_runner(
        tmp_path,
        "promote",
        shop,
        env,
        go_binary,
        goci_checkout,
        ref="refs/heads/main",
        before=second,
        sha=third,
    )
    runner.github["event_name"] = "workflow_dispatch"
    promote = runner.run_workflow(
        GO_PROMOTE,
        {
            "service": "api",
            "from": "latest",
            "version": "1.0.0",
            "store": f"file://{store}",
            "goci-repository": GOCI,
            "goci-ref": "main",
        },
    )
    assert results(promote) == {"promote": "success"}, promote.log
    assert promote.jobs["promote"].outputs["version"] == "1.0.0"
    prod = [p for p in store.rglob("manifest.json") if "prod" in p.parts or "prod" in str(p)]
    assert prod, sorted(str(p) for p in store.rglob("*"))
    prod_manifest = json.loads(prod[0].read_text())
    assert prod_manifest["version"] == "1.0.0"
    assert prod_manifest["promoted_from"]

    discard_machines(runner)

    # 4. A tag: everything runs (a new tag has no "before"), on caches the first run saved, and
    # a prod release of every service goes out, stamped with the tag.
    shop.git("tag", "v1.1.0")
    runner = make_runner(
        tmp_path,
        "tag",
        shop,
        env,
        go_binary,
        goci_checkout,
        ref="refs/tags/v1.1.0",
        before="0" * 40,
        sha=third,
    )
    run = runner.run_workflow(GO_CI, {**inputs, "shards": 1})
    assert results(run) == {
        "plan": "success",
        "test": "success",
        "report": "success",
        "publish": "success",
    }, run.log
    assert run.jobs["plan"].outputs["any"] == "true"
    test_job = run.jobs["test"].runs[0]
    assert test_job.step("keys").outputs["build-cache-hit"] == "false"  # a new key per run...
    restored = [
        r for r in test_job.steps if r.id == "keys" for c in r.children if "restored" in c.log
    ]
    assert restored, test_job.log  # ...restored from run 1's save through restore-keys
    api = next(store.glob("prod/api-v1.1.0/linux-amd64/api*"), None) or next(
        p for p in store.rglob("api") if "v1.1.0" in str(p) and p.is_file()
    )
    api.chmod(0o755)
    stamped = subprocess.run([str(api), "-version"], capture_output=True, text=True, check=True)
    assert stamped.stdout.strip() in ("v1.1.0", "1.1.0")

    discard_machines(runner)

    # 5. A change that breaks a test: the test job fails and says which test, the report still
    # runs (always()) on what the shard uploaded, and nothing is published.
    shop.write(
        "examples/platform/strutil/testdata/slugs.txt",
        "# input|want\nHello World|hello_world\n",
    )
    broken = shop.commit("strutil: a wrong golden case")
    runner = make_runner(
        tmp_path,
        "broken",
        shop,
        env,
        go_binary,
        goci_checkout,
        ref="refs/heads/main",
        before=third,
        sha=broken,
    )
    run = runner.run_workflow(GO_CI, {**inputs, "shards": 1})
    assert results(run) == {
        "plan": "success",
        "test": "failure",
        "report": "success",
        "publish": "skipped",
    }, run.log
    tested = json.loads(run.jobs["plan"].outputs["packages"])
    assert tested == ["example.com/platform/strutil"]  # testdata only touches its own tests
    failing = run.jobs["test"].runs[0]
    assert failing.step("test").outputs["failed-tests"].count("TestSlugGolden") == 1
    assert float(run.jobs["report"].outputs["total"]) > 0
    discard_machines(runner)
