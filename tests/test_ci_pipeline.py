"""End to end: ``goci ci`` and ``goci drone`` on a copy of examples/ through a series of commits.

Each run is checked for what a person reading the log relies on: which packages were selected
and why, the matrix, the tests that ran, the merged coverage, and the releases in the store.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from support.goci_run import GociRun
from support.gorepo import GoRepo

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TARGET = "linux/amd64"


@pytest.fixture
def monorepo(make_repo: Callable[..., GoRepo]) -> GoRepo:
    """A git repository holding a copy of examples/ as its first commit."""
    repo = make_repo("monorepo")
    shutil.copytree(
        EXAMPLES, repo.root, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".goci", "dist")
    )
    repo.commit("the example monorepo")
    return repo


def ci(goci: Callable[..., GociRun], repo: GoRepo, *args: str) -> tuple[GociRun, dict[str, Any]]:
    run = goci("ci", str(repo.root), "--platforms", TARGET, "--json", *args, env=repo.env)
    assert run.code == 0, run.stderr + run.stdout
    return run, run.json()


def store_releases(repo: GoRepo) -> set[str]:
    store = repo.root / ".goci" / "store" / "dev"
    return {p.name.rsplit("-", 1)[0] for p in store.iterdir()} if store.exists() else set()


def packages_tested(repo: GoRepo) -> set[str]:
    """Package import paths that have a coverage profile from the last run."""
    folder = repo.root / ".goci" / "coverage"
    names = set()
    for sidecar in folder.glob("*.cover.json"):
        names.update(json.loads(sidecar.read_text())["packages"])
    return names


@pytest.mark.slow
def test_pipeline_follows_each_kind_of_change(
    goci: Callable[..., GociRun], monorepo: GoRepo
) -> None:
    # First run with no base: everything is tested, built, packed and uploaded.
    run, out = ci(goci, monorepo)
    assert out["status"] == "passed"
    assert sorted(out["services"]) == ["api", "cli", "worker"]
    assert float(out["total"]) > 50
    assert store_releases(monorepo) == {"api", "cli", "worker"}
    assert "no --base given" in run.stderr + run.stdout
    assert "matrix: 1 job," in run.stderr and "1 jobs" not in run.stderr
    # the test and coverage sections give different per-package figures, each saying what of
    text = run.stderr + run.stdout
    assert re.search(
        r"example.com/services/cmd/api .*its tests cover [\d.]+% of its own statements", text
    )
    assert "of example.com/services/..." not in text  # no -coverpkg by default
    assert "per package: its own statements, covered by its own tests" in text
    assert "coverage per package is go test's own figure" not in text  # the same figure here

    assert out["api"] == {} and "api" in run.stderr and "not compared" in run.stderr

    # A leaf library change: config and the one service that imports it. It adds one exported
    # function of one statement that no test runs: the API step and patch coverage see it.
    monorepo.write(
        "platform/config/config.go",
        (monorepo.root / "platform/config/config.go").read_text()
        + "\n// Touched.\nvar _ = 1\n\n// Extra is new.\nfunc Extra() int {\n\treturn 1\n}\n",
    )
    base = monorepo.head()
    monorepo.commit("config: leaf change")
    shutil.rmtree(monorepo.root / ".goci" / "store")
    run, out = ci(goci, monorepo, "--base", base)
    assert out["api"] == {"compatible": 1, "breaking": 0, "blocking": 0}
    assert out["headline"] == (
        f"patch 0.0% (0/1), total {out['total']}%, API: 1 compatible, 0 breaking"
    )
    assert "+ added Extra: func Extra() int" in run.stderr
    assert out["services"] == ["api"]
    assert packages_tested(monorepo) == {
        "example.com/platform/config",
        "example.com/services/cmd/api",
    }
    assert store_releases(monorepo) == {"api"}
    assert "platform/config/config.go" in run.stderr

    # A service change: that service alone.
    worker = monorepo.root / "services/cmd/worker/main.go"
    monorepo.write("services/cmd/worker/main.go", worker.read_text().replace('"dev"', '"dev2"'))
    base = monorepo.head()
    monorepo.commit("worker: change")
    shutil.rmtree(monorepo.root / ".goci" / "store")
    run, out = ci(goci, monorepo, "--base", base, "--coverpkg", "module")
    assert out["services"] == ["worker"]
    assert packages_tested(monorepo) == {"example.com/services/cmd/worker"}
    # --coverpkg module reaches go test: the figure is a share of the whole module, and the
    # report says how its figures differ from the test section's
    assert "per package: its own statements, covered by any package's tests" in (
        run.stderr + run.stdout
    )
    assert "coverage per package is go test's own figure" in run.stderr + run.stdout
    assert re.search(
        r"example.com/services/cmd/worker .*its tests cover [\d.]+% of example.com/services/\.\.\.",
        run.stderr + run.stdout,
    )
    assert store_releases(monorepo) == {"worker"}

    # A go.mod change of the services module (a toolchain line): everything in that module.
    gomod = monorepo.root / "services/go.mod"
    monorepo.write("services/go.mod", gomod.read_text() + "\ntoolchain go1.21.1\n")
    base = monorepo.head()
    monorepo.commit("services: toolchain line")
    shutil.rmtree(monorepo.root / ".goci" / "store")
    run, out = ci(goci, monorepo, "--base", base)
    assert sorted(out["services"]) == ["api", "cli", "worker"]
    assert packages_tested(monorepo) == {
        "example.com/services/cmd/api",
        "example.com/services/cmd/worker",
        "example.com/services/internal/greet",
    }

    # A docs-only change: nothing runs, nothing is published.
    monorepo.write("README.md", "# docs only\n")
    base = monorepo.head()
    monorepo.commit("docs")
    shutil.rmtree(monorepo.root / ".goci" / "store")
    run, out = ci(goci, monorepo, "--base", base)
    assert out["services"] == []
    assert out["releases"] == []
    assert store_releases(monorepo) == set()
    assert "nothing Go-relevant changed" in run.stderr


@pytest.mark.slow
def test_failing_test_stops_publishing(goci: Callable[..., GociRun], monorepo: GoRepo) -> None:
    strutil_test = monorepo.root / "platform/strutil/strutil_test.go"
    monorepo.write(
        "platform/strutil/strutil_test.go",
        strutil_test.read_text() + '\nfunc TestBroken(t *testing.T) { t.Fatal("broken") }\n',
    )
    base = monorepo.git("rev-parse", "HEAD")
    monorepo.commit("a failing test")
    run = goci(
        "ci",
        str(monorepo.root),
        "--base",
        base,
        "--platforms",
        TARGET,
        "--json",
        env=monorepo.env,
    )
    assert run.code == 1
    out = run.json()
    assert out["status"] == "failed"
    assert out["releases"] == []
    assert store_releases(monorepo) == set()
    assert "not run: an earlier step said no" in run.stderr


def test_drone_plugin_reads_its_settings(goci: Callable[..., GociRun], monorepo: GoRepo) -> None:
    before = monorepo.head()
    worker = monorepo.root / "services/cmd/worker/main.go"
    monorepo.write("services/cmd/worker/main.go", worker.read_text() + "\n// drone\n")
    after = monorepo.commit("worker: comment")
    env = {
        **monorepo.env,
        "DRONE": "true",
        "DRONE_BUILD_EVENT": "push",
        "DRONE_BRANCH": "main",
        "DRONE_REPO_BRANCH": "main",
        "DRONE_COMMIT_BEFORE": before,
        "DRONE_COMMIT_AFTER": after,
        "DRONE_BUILD_NUMBER": "7",
        # Drone sends a list of objects as JSON, scalars as strings.
        "PLUGIN_TARGETS": json.dumps([{"os": "linux", "arch": "amd64", "output": "x"}]),
        "PLUGIN_STRIP_DEBUG": "true",
        "PLUGIN_SKIP_UNCHANGED": "true",
        "PLUGIN_TEST": "false",
    }
    run = goci("drone", "--json", env=env, cwd=monorepo.root)
    assert run.code == 0, run.stderr
    out = run.json()
    assert out["services"] == ["worker"]
    build = json.loads((monorepo.root / ".goci/dist/worker/linux-amd64/build.json").read_text())
    assert build["stripped"] is True
    assert build["target"] == TARGET
    assert not (monorepo.root / ".goci/dist/api").exists()


def test_drone_plugin_bad_target_is_exit_2(goci: Callable[..., GociRun], monorepo: GoRepo) -> None:
    env = {**monorepo.env, "DRONE": "true", "PLUGIN_TARGETS": '[{"os": "linux"}]'}
    run = goci("drone", env=env, cwd=monorepo.root)
    assert run.code == 2
    assert "targets" in run.stderr and "arch" in run.stderr
