"""go-ci.yml with platforms that have a variant or cgo, run through the workflow's own
expressions: ``goci matrix`` plans them, each test job passes ``matrix.platform`` to cache-key
and to the build, and the binaries are built for exactly what the word says.

The runner (``support.workflow_runner``) evaluates go-ci.yml's ``with:``/``if:``/``name:``
expressions and runs our composite actions; only other owners' actions are stand-ins. The
jobs keep the suite's Go build cache (content-addressed, so only faster) on a push to a
feature branch, which restores caches but never saves them.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.goci_workflow import GO_CI, GOCI, make_runner, release_list, snapshot_goci
from support.gorepo import GoRepo
from support.gotools import version_of
from support.workflow_runner import WorkflowResult, WorkflowRunner

pytestmark = pytest.mark.slow

WORDS = ("linux/arm/v7", "linux/amd64/v3", "linux/amd64+cgo")
MAIN = """
import (
	"fmt"

	"example.com/app/lib"
)

var cgo = "off"

func main() { fmt.Println(lib.Hello(), "cgo", cgo) }
"""
CGO = """//go:build cgo

package main

// static const char *state(void) { return "on"; }
import "C"

func init() { cgo = C.GoString(C.state()) }
"""


@pytest.fixture(scope="module")
def goci_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot_goci(tmp_path_factory.mktemp("goci-checkout"))


@pytest.fixture
def app(make_repo: Callable[..., GoRepo]) -> GoRepo:
    repo = make_repo("app")
    repo.module(".", "example.com/app")
    repo.package("lib", "lib", 'func Hello() string { return "hello" }\n')
    repo.write(
        "lib/lib_test.go",
        'package lib\n\nimport "testing"\n\nfunc TestHello(t *testing.T) {\n'
        '\tif Hello() != "hello" {\n\t\tt.Fatal(Hello())\n\t}\n}\n',
    )
    repo.package("cmd/app", "main", MAIN)
    repo.write("cmd/app/cgo.go", CGO)
    repo.commit("app")
    return repo


@pytest.fixture
def releases_url(go_binary: Path) -> Iterator[str]:
    with release_list([go_binary]) as url:
        yield url


Run = Callable[..., tuple[WorkflowRunner, WorkflowResult]]


@pytest.fixture
def plan_and_test(
    tmp_path: Path,
    app: GoRepo,
    go_env: dict[str, str],
    go_binary: Path,
    releases_url: str,
    goci_checkout: Path,
) -> Run:
    """go-ci.yml's plan and test jobs for these platforms on a push of a new feature branch
    (everything is affected; with ``before``, a push on top of that commit), caches are
    restored only, one Go."""

    def run(
        name: str,
        platforms: str,
        before: str = "0" * 40,
        jobs: frozenset[str] = frozenset({"plan", "test"}),
    ) -> tuple[WorkflowRunner, WorkflowResult]:
        env = {**go_env, "GOCI_GO_RELEASES_URL": releases_url}
        runner = make_runner(
            tmp_path, name, app, env, [go_binary], goci_checkout,
            ref="refs/heads/feature", before=before, sha=app.head(), keep=("GOCACHE",),
        )  # fmt: skip
        inputs = {
            "go-versions": version_of(go_binary),
            "platforms": platforms,
            "goci-repository": GOCI,
            "goci-ref": "main",
        }
        return runner, runner.run_workflow(GO_CI, inputs, jobs=set(jobs))

    return run


def build_settings(go: Path, binary: Path) -> dict[str, str]:
    """The build settings Go recorded in a binary (``go version -m``)."""
    info = subprocess.run(
        [str(go), "version", "-m", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    return dict(
        line.split(None, 1)[1].split("=", 1)
        for line in info.splitlines()
        if line.strip().startswith("build\t") and "=" in line
    )


def test_variant_and_cgo_platforms_plan_key_and_build_through_go_ci(
    plan_and_test: Run, go_binary: Path
) -> None:
    runner, run = plan_and_test("run", " ".join(WORDS))
    assert {job: r.result for job, r in run.jobs.items()} == {
        "plan": "success",
        "test": "success",
    }, run.log

    plan = json.loads(run.jobs["plan"].outputs["matrix"])["include"]
    assert [(e["platform"], e["folder"], e["cross"]) for e in plan] == [
        ("linux/arm/v7", "linux-arm-v7", True),
        ("linux/amd64/v3", "linux-amd64-v3", False),
        ("linux/amd64+cgo", "linux-amd64", False),
    ]
    jobs = {r.matrix["platform"]: r for r in run.jobs["test"].runs}
    assert sorted(jobs) == sorted(WORDS)

    # cache-key got the whole word: one build cache per variant and cgo, as Go reads them
    labels = {
        word: re.findall(r"-(linux-[a-z0-9-]+-cgo\d)-", job.step("keys").outputs["build-key"])
        for word, job in jobs.items()
    }
    assert labels == {
        "linux/arm/v7": ["linux-arm-7-cgo0"],
        "linux/amd64/v3": ["linux-amd64-v3-cgo0"],
        "linux/amd64+cgo": ["linux-amd64-v1-cgo1"],
    }, run.log
    # the native jobs tested; the cross-compiled one did not; every one built its target
    outcomes = {w: (j.step("test").outcome, j.step("build").outcome) for w, j in jobs.items()}
    assert outcomes == {
        "linux/arm/v7": ("skipped", "success"),
        "linux/amd64/v3": ("success", "success"),
        "linux/amd64+cgo": ("success", "success"),
    }, run.log

    # each job's artifacts carry the plan's artifact name; the binaries are what the word says
    artifacts = sorted(p.name for p in runner.artifact_root.iterdir())
    assert artifacts == sorted(
        [f"goci-dist-{e['artifact']}" for e in plan]
        + [f"goci-coverage-{e['artifact']}" for e in plan if not e["cross"]]
    )
    settings = {}
    for entry in plan:
        folder = runner.artifact_root / f"goci-dist-{entry['artifact']}" / "app" / entry["folder"]
        assert sorted(p.name for p in folder.iterdir()) == ["app", "build.json"]
        record = json.loads((folder / "build.json").read_text())
        assert (record["target"], record["cgo"]) == (entry["platform"], entry.get("cgo", False))
        found = build_settings(go_binary, folder / "app")
        settings[entry["platform"]] = {
            k: found.get(k) for k in ("GOARCH", "GOARM", "GOAMD64", "CGO_ENABLED")
        }
    assert settings == {
        "linux/arm/v7": {"GOARCH": "arm", "GOARM": "7", "GOAMD64": None, "CGO_ENABLED": "0"},
        "linux/amd64/v3": {"GOARCH": "amd64", "GOARM": None, "GOAMD64": "v3", "CGO_ENABLED": "0"},
        "linux/amd64+cgo": {
            "GOARCH": "amd64",
            "GOARM": None,
            "GOAMD64": "v1",
            "CGO_ENABLED": "1",
        },
    }
    cgo_entry = next(e for e in plan if e.get("cgo"))
    cgo_app = runner.artifact_root / f"goci-dist-{cgo_entry['artifact']}" / "app/linux-amd64/app"
    cgo_app.chmod(0o755)  # artifacts lose file modes on the way
    ran = subprocess.run([str(cgo_app)], capture_output=True, text=True, check=True)
    assert ran.stdout.strip() == "hello cgo on"


def test_two_platforms_of_one_folder_stop_at_the_plan(plan_and_test: Run) -> None:
    """linux/amd64 and linux/amd64+cgo would upload the same dist paths, which the publish
    job's download-artifact extracts at once into one folder: the plan refuses them."""
    _, run = plan_and_test("clash", "linux/amd64 linux/amd64+cgo")
    assert {job: r.result for job, r in run.jobs.items()} == {
        "plan": "failure",
        "test": "skipped",
    }
    planned = run.jobs["plan"].runs[0].step("plan")
    log = "\n".join(child.log for child in planned.children)
    assert (
        "::error::platforms: 'linux/amd64' and 'linux/amd64+cgo' both build into the folder "
        "'linux-amd64'"
    ) in log, log


WINDOWS_ONLY = """//go:build windows

package main

import "example.com/app/winlib"

func init() { cgo = winlib.Mode() }
"""


def test_the_plan_follows_imports_of_every_planned_platform(
    app: GoRepo, plan_and_test: Run
) -> None:
    """cmd/app imports winlib from a windows-only file: a change to winlib must rebuild the
    service when windows/amd64 is planned, although the plan job runs on Linux."""
    app.package("winlib", "winlib", 'func Mode() string { return "win" }\n')
    app.write("cmd/app/windows.go", WINDOWS_ONLY)
    base = app.commit("windows-only import")
    app.package("winlib", "winlib", 'func Mode() string { return "windows" }\n')
    app.commit("winlib")
    _, run = plan_and_test(
        "windows", "linux/amd64 windows/amd64", before=base, jobs=frozenset({"plan"})
    )
    assert run.jobs["plan"].result == "success", run.log
    outputs = run.jobs["plan"].outputs
    # lib and its test are left out: nothing they import changed.
    assert json.loads(outputs["services"]) == ["example.com/app/cmd/app"], run.log
    assert json.loads(outputs["packages"]) == [], run.log
