"""``goci test``: one go test per module or go.work, with coverage, shards, reports; real go."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from support.cover_repo import PACKAGES, make_monorepo, module_env, unsharded_profile
from support.goci_run import GociRun, actions_env
from support.gorepo import GoRepo


@pytest.fixture(scope="module")
def mono(
    tmp_path_factory: pytest.TempPathFactory, go_binary: Path, shared_go_dirs: dict[str, Path]
) -> GoRepo:
    return make_monorepo(
        tmp_path_factory.mktemp("mono") / "repo", module_env(go_binary, shared_go_dirs)
    )


def gha(repo: GoRepo, tmp_path: Path) -> dict[str, str]:
    return actions_env(tmp_path / "gha", repo.env)


def cover_func(repo: GoRepo, profile: Path) -> tuple[str, dict[tuple[str, str], str]]:
    """``go tool cover -func``: the total and each function's percent, by (file:line, name)."""
    out = repo.go("tool", "cover", f"-func={profile}").stdout
    funcs: dict[tuple[str, str], str] = {}
    total = ""
    for line in out.splitlines():
        parts = line.split()
        if parts[0] == "total:":
            total = parts[-1].rstrip("%")
        else:
            funcs[(parts[0].rstrip(":"), parts[1])] = parts[2].rstrip("%")
    return total, funcs


def shard_packages(folder: Path) -> list[str]:
    markers = list(folder.glob("goci-shard-*.json"))
    assert len(markers) == 1, markers
    return list(json.loads(markers[0].read_text())["packages"])


def test_sharded_merged_total_equals_one_unsharded_go_test_coverpkg_run(
    mono: GoRepo, goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    env = gha(mono, tmp_path)
    seen: list[str] = []
    for index in (1, 2, 3):
        run = goci(
            "test",
            f"--shard={index}/3",
            f"--out=shards/s{index}",
            "--coverpkg=module",
            "--parallel=2",
            "--json",
            env=env,
            cwd=mono.root,
        )
        assert run.code == 0, run.stderr
        assert run.json()["shard"] == f"{index}/3"
        seen += shard_packages(mono.root / f"shards/s{index}")
    assert sorted(seen) == sorted(PACKAGES)  # every package once, none in two shards

    merged = goci(
        "coverage",
        "merge",
        "shards",
        "--out=merged.out",
        "--expect-shards=3",
        "--json",
        env=env,
        cwd=mono.root,
    )
    assert merged.code == 0, merged.stderr
    reference = unsharded_profile(mono, tmp_path / "unsharded.out")
    ref_total, ref_funcs = cover_func(mono, reference)
    assert merged.json()["total"] == ref_total
    assert merged.outputs["total"] == ref_total
    # the merged profile itself reads the same in go tool cover, function by function
    total, funcs = cover_func(mono, mono.root / "merged.out")
    assert (total, funcs) == (ref_total, ref_funcs)
    # coverage from another package counts (-coverpkg): Square is only tested through calc,
    # Mul only through calc; the package without tests counts as uncovered.
    assert funcs[("example.com/lib/mathx/mathx.go:5", "Mul")] == "66.7"
    assert funcs[("example.com/lib/nothing/nothing.go:3", "Unused")] == "0.0"


def test_one_go_test_per_module_each_invocation_its_own_profile_and_cached_reruns(
    mono: GoRepo, goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    env = gha(mono, tmp_path)
    args = ("test", "--out=twice", "--packages=example.com/lib/...", "--json")
    first = goci(*args, env=env, cwd=mono.root)
    second = goci(*args, env=env, cwd=mono.root)
    assert first.code == second.code == 0, first.stderr + second.stderr
    profiles = sorted((mono.root / "twice").glob("*.cover"))
    assert len(profiles) == 2  # one go test of the module per invocation, none overwritten
    assert len({p.name for p in profiles}) == 2
    assert "in 1 go test run," in first.summary
    sidecar = json.loads(Path(f"{profiles[0]}.json").read_text())
    assert sidecar["commit"] == mono.head()
    assert sidecar["go_version"].startswith("go1.")
    assert sidecar["goos"] and sidecar["goarch"]
    assert sidecar["mode"] == "set"
    assert sidecar["shard"] == "1/1"
    assert sidecar["coverpkg"] == []  # each package's own statements, as go test -cover
    assert sidecar["packages"] == [p for p in PACKAGES if p.startswith("example.com/lib/")]
    # the cached run replays the same profile (each package's part, in the order they ended)
    assert sorted(profiles[0].read_text().splitlines()) == sorted(
        profiles[1].read_text().splitlines()
    )
    assert first.outputs["profile-dir"] == str(mono.root / "twice")
    assert "Packages without tests are run too" in first.summary
    assert "each package's own statements, as go test -cover counts them" in first.summary
    # ... which is what one plain go test -coverprofile of the module reports, function by
    # function: Mul, tested only through calc, counts as uncovered (66.7 with -coverpkg above)
    plain = unsharded_profile(mono, tmp_path / "plain.out", coverpkg=False, modules=("lib",))
    plain_funcs = cover_func(mono, plain)
    assert cover_func(mono, profiles[0]) == plain_funcs
    assert plain_funcs[1][("example.com/lib/mathx/mathx.go:5", "Mul")] == "0.0"
    # unchanged packages come from go's test cache the second time, and say so
    assert "| `example.com/lib/calc` | 1 | ✅ pass (cached) | cached |" in second.summary
    assert "| `example.com/lib/mathx` | 2 | ✅ pass (cached) | cached |" in second.summary
    assert "(2 cached: unchanged, replayed by go)" in second.summary
    # a package without tests has no test result to cache: go runs it for its coverage again
    assert re.search(r"\| `example.com/lib/nothing` \| 0 \| ✅ pass \| \d+\.\ds \|", second.summary)


def test_packages_from_changed_packages_json_and_empty_list(
    mono: GoRepo, goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    env = gha(mono, tmp_path)
    chosen = goci(
        "test",
        "--out=chosen",
        "--json",
        '--packages=["example.com/lib/calc", "./svc/api"]',
        env=env,
        cwd=mono.root,
    )
    assert chosen.code == 0, chosen.stderr
    assert chosen.json()["packages"] == 2
    assert sorted(shard_packages(mono.root / "chosen")) == [
        "example.com/lib/calc",
        "example.com/svc/api",
    ]

    # ./... at the go.work root (no module there) means every module below it
    everything = goci("test", "--out=all", "--packages=./...", "--json", env=env, cwd=mono.root)
    assert everything.json()["packages"] == len(PACKAGES)

    env2 = gha(mono, tmp_path / "empty")
    env2["INPUT_PACKAGES"] = "[]"
    empty = goci("test", "--out=empty", "--json", env=env2, cwd=mono.root)
    assert empty.code == 0, empty.stderr
    assert empty.outputs["passed"] == "true"
    assert empty.outputs["packages"] == "0"
    assert "Nothing to test" in empty.summary
    # a marker still says this shard ran (for --expect-shards, and so an upload finds a file)
    assert shard_packages(mono.root / "empty") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--packages=example.com/elsewhere/x"],
            "--packages: 'example.com/elsewhere/x' is not in any module",
        ),
        (["--shard=4/3"], "--shard: '4/3' is not valid; use I/N"),
        (["--shard=0/2"], "--shard: '0/2' is not valid"),
        (["--out=../outside"], "--out: '../outside' is not valid"),
        (["--parallel=-1"], "--parallel: -1 is not valid"),
    ],
)
def test_bad_input_exits_2_and_writes_no_outputs(
    mono: GoRepo, goci: Callable[..., GociRun], tmp_path: Path, args: list[str], message: str
) -> None:
    env = gha(mono, tmp_path)
    run = goci("test", *args, env=env, cwd=mono.root)
    assert run.code == 2
    assert message in run.stderr
    assert run.outputs == {}
    assert not (mono.root.parent / "outside").exists()


def test_timings_are_written_and_put_the_longest_package_alone(
    mono: GoRepo, goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    env = gha(mono, tmp_path)
    timings = mono.root / "timings.json"
    known = {p: 1.0 for p in PACKAGES if p != "example.com/lib/nothing"}
    timings.write_text(json.dumps({**known, "example.com/svc/api": 60.0}))
    args = ("test", "--shard=1/2", "--timings=timings.json", "--out=t1")
    run = goci(*args, "--count=1", env=env, cwd=mono.root)
    assert run.code == 0, run.stderr
    # longest first onto the least-loaded shard: api (60 s) fills shard 1 alone
    assert shard_packages(mono.root / "t1") == ["example.com/svc/api"]
    written = json.loads(timings.read_text())
    assert written["example.com/lib/calc"] == 1.0  # kept: not run in this shard
    assert "example.com/lib/nothing" not in written  # unknown, weighed as the mean, not run here
    assert written["example.com/svc/api"] < 60.0  # measured now
    assert "by timings" in run.stderr
    # a result replayed from go's test cache took no time: it does not overwrite the timing.
    # --count=1 above stored no result in go's test cache: a run without it stores one (with
    # the same timings, so that api is in this shard again), as an earlier run on main would.
    written["example.com/svc/api"] = 30.0
    timings.write_text(json.dumps(written))
    assert goci(*args, env=env, cwd=mono.root).code == 0
    timings.write_text(json.dumps(written))
    cached = goci(*args, env=env, cwd=mono.root)
    assert cached.code == 0, cached.stderr
    assert "example.com/svc/api (cached)" in cached.stderr
    assert json.loads(timings.read_text())["example.com/svc/api"] == 30.0


def test_run_tags_and_timeout_pass_through(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun], gha_env: dict[str, str]
) -> None:
    repo = make_repo()
    repo.module(".", "example.com/flags")
    repo.package("p", "p", "func One() int { return 1 }\n")
    repo.write(
        "p/p_test.go",
        """
        package p

        import "testing"

        func TestOne(t *testing.T) {}

        func TestTwo(t *testing.T) {}
        """,
    )
    repo.write(
        "p/extra_test.go",
        """
        //go:build extra

        package p

        import "testing"

        func TestExtra(t *testing.T) {}

        func TestBlock(t *testing.T) { select {} }
        """,
    )
    repo.commit()
    # one configuration without tags and one with (each tag set rebuilds the standard library)
    plain = goci("test", "--json", "--no-cover", env=gha_env, cwd=repo.root)
    assert plain.json()["tests"] == 2
    only = goci("test", "--json", "--run=^TestTwo$", "--no-cover", env=gha_env, cwd=repo.root)
    assert only.json()["tests"] == 1
    tagged = goci(
        "test",
        "--json",
        "--tags=extra",
        "--run=^TestExtra$",
        "--no-cover",
        env=gha_env,
        cwd=repo.root,
    )
    assert tagged.json()["tests"] == 1
    timed = goci(
        "test",
        "--json",
        "--tags=extra",
        "--run=^TestBlock$",
        "--timeout=1s",
        "--no-cover",
        env=gha_env,
        cwd=repo.root,
    )
    assert timed.code == 1
    assert "test timed out after 1s" in timed.stdout + timed.stderr


def test_a_go_work_is_one_go_test_unless_its_modules_each_have_a_coverpkg(
    mono: GoRepo, goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    env = gha(mono, tmp_path)
    run = goci("test", "--out=ws", "--json", env=env, cwd=mono.root)
    assert run.code == 0, run.stderr
    # both modules of the go.work in one go test: one profile holding every package
    assert "5 packages" in run.stderr and "in 1 go test run," in run.stderr
    (profile,) = (mono.root / "ws").glob("*.cover")
    assert profile.name.startswith("workspace.")
    sidecar = json.loads(Path(f"{profile}.json").read_text())
    assert sidecar["packages"] == sorted(PACKAGES)
    assert sidecar["coverpkg"] == []
    # ... the same blocks as one plain go test -coverprofile per module
    plain = unsharded_profile(mono, tmp_path / "plain.out", coverpkg=False)
    assert cover_func(mono, profile) == cover_func(mono, plain)
    assert run.json()["packages"] == len(PACKAGES)
    # with -coverpkg=<module>/..., each module's packages share their own list: a run each
    each = goci("test", "--out=each", "--coverpkg=module", "--json", env=env, cwd=mono.root)
    assert each.code == 0, each.stderr
    assert "in 2 go test runs," in each.stderr
    names = sorted(p.name.split(".1of1-")[0] for p in (mono.root / "each").glob("*.cover"))
    assert names == ["example.com_lib", "example.com_svc"]
    assert sorted(
        json.loads(Path(f"{p}.json").read_text())["coverpkg"][0]
        for p in (mono.root / "each").glob("*.cover")
    ) == ["example.com/lib/...", "example.com/svc/..."]


def test_nested_modules_without_a_go_work_get_a_go_test_each_and_with_one_share_it(
    make_repo: Callable[..., GoRepo], goci: Callable[..., GociRun], gha_env: dict[str, str]
) -> None:
    repo = make_repo()
    repo.module(".", "example.com/outer")
    repo.package("p", "p", "func P() int { return 1 }\n")
    repo.write("p/p_test.go", 'package p\n\nimport "testing"\n\nfunc TestP(t *testing.T) { P() }\n')
    repo.module("inner", "example.com/outer/inner")  # nested: the innermost module owns it
    repo.package("inner/q", "q", "func Q() int {\n\treturn undefinedName\n}\n")
    repo.write(
        "inner/q/q_test.go", 'package q\n\nimport "testing"\n\nfunc TestQ(t *testing.T) {}\n'
    )
    repo.commit()
    alone = goci("test", "--out=alone", "--json", env=gha_env, cwd=repo.root)
    assert alone.code == 1
    assert "in 2 go test runs," in alone.stderr  # go tests a module only from inside it
    repo.write("go.work", "go 1.22\n\nuse (\n\t.\n\t./inner\n)\n")
    repo.commit("workspace")
    shared = goci("test", "--out=shared", "--json", env=gha_env, cwd=repo.root)
    assert shared.code == 1
    assert "in 1 go test run," in shared.stderr
    outcomes = {
        line.split()[1]: line.split()[0]
        for line in shared.stderr.splitlines()
        if line.split()[:1] in (["pass"], ["build-fail"])
    }
    assert outcomes == {"example.com/outer/p": "pass", "example.com/outer/inner/q": "build-fail"}
    # go names the file from the folder it ran in (the go.work's): the annotation points at it
    for run in (alone, shared):
        assert re.search(
            r"::error file=inner/q/q.go,line=4::"
            r"example.com/outer/inner/q does not build: undefined: undefinedName",
            run.stderr,
        ), run.stderr


def test_modules_without_a_go_work_are_tested_two_at_a_time(
    make_repo: Callable[..., GoRepo],
    goci: Callable[..., GociRun],
    gha_env: dict[str, str],
    go_binary: Path,
    tmp_path: Path,
) -> None:
    """Each go test already runs -p packages at once: two at a time overlap one's loading
    and linking with another's tests; more only crowd the cores."""
    repo = make_repo()
    for name in ("a", "b", "c", "d"):
        repo.module(name, f"example.com/{name}")
        repo.package(f"{name}/p", "p", "func P() int { return 1 }\n")
        repo.write(
            f"{name}/p/p_test.go", 'package p\n\nimport "testing"\n\nfunc TestP(t *testing.T) {}\n'
        )
    repo.commit()
    log = tmp_path / "go-test.log"
    wrapper = tmp_path / "go"
    wrapper.write_text(  # each go test's start and end, in the order they happened
        f'#!/bin/sh\nif [ "$1" != test ]; then exec "{go_binary}" "$@"; fi\n'
        f'echo + >> "{log}"\n"{go_binary}" "$@"\nrc=$?\necho - >> "{log}"\nexit $rc\n'
    )
    wrapper.chmod(0o755)
    run = goci("test", "--json", env={**gha_env, "GOCI_GO": str(wrapper)}, cwd=repo.root)
    assert run.code == 0, run.stderr
    assert "in 4 go test runs," in run.stderr
    running = peak = 0
    for line in log.read_text().split():
        running += 1 if line == "+" else -1
        peak = max(peak, running)
    assert (peak, running) == (2, 0)


@pytest.fixture
def broken_repo(make_repo: Callable[..., GoRepo]) -> GoRepo:
    repo = make_repo()
    repo.module(".", "example.com/broken")
    repo.package("good", "good", "func G() int { return 1 }\n")
    repo.write(
        "good/good_test.go", 'package good\n\nimport "testing"\n\nfunc TestG(t *testing.T) {}\n'
    )
    repo.package("bad", "bad", "func B() int {\n\treturn 2\n}\n")
    repo.write(
        "bad/bad_test.go",
        """
        package bad

        import "testing"

        func TestB(t *testing.T) {
            t.Run("sub", func(t *testing.T) {
                if B() != 3 {
                    t.Errorf("B() = %d, want 3", B())
                }
            })
        }
        """,
    )
    repo.package("nobuild", "nobuild", "func N() int {\n\treturn undefinedName\n}\n")
    repo.write(
        "nobuild/n_test.go", 'package nobuild\n\nimport "testing"\n\nfunc TestN(t *testing.T) {}\n'
    )
    repo.commit()
    return repo


def test_failures_build_errors_junit_annotations_and_summary(
    broken_repo: GoRepo, goci: Callable[..., GociRun], gha_env: dict[str, str]
) -> None:
    args = ("test", "--coverpkg=module", "--junit=report/junit.xml", "--json")
    run = goci(*args, env=gha_env, cwd=broken_repo.root)
    assert run.code == 1
    out = run.json()
    assert out["passed"] is False
    assert out["failed"] == 1  # the leaf subtest, not its parent too
    assert out["failed-tests"] == ["example.com/broken/bad.TestB/sub"]
    assert run.outputs["passed"] == "false"  # outputs are written even on a "no" verdict
    # the failing test, annotated at the failing line
    assert re.search(
        r"::error file=bad/bad_test.go,line=8,title=TestB/sub failed::.*B\(\) = 2, want 3",
        run.stderr,
    )
    # the package that does not build, with the compiler's file and line
    assert re.search(
        r"::error file=nobuild/nobuild.go,line=4::"
        r"example.com/broken/nobuild does not build: undefined: undefinedName",
        run.stderr,
    )
    assert "undefined: undefinedName" in run.summary
    # with -coverpkg, go 1.22+ fails every package of one run with nobuild; goci tests the
    # others again without it, so good passes as it does alone
    assert "| `example.com/broken/good` | 1 | ✅ pass |" in run.summary
    assert "in 2 go test runs" in run.summary
    assert "| `example.com/broken/nobuild` | 0 | 💥 build failed |" in run.summary
    tree = ET.parse(broken_repo.root / "report/junit.xml").getroot()  # noqa: S314
    assert tree.get("failures") == "2"  # TestB and TestB/sub
    assert tree.get("errors") == "1"
    suites = {s.get("name"): s for s in tree}
    failure = suites["example.com/broken/bad"].find("testcase[@name='TestB/sub']/failure")
    assert failure is not None and "want 3" in (failure.text or "")
    error = suites["example.com/broken/nobuild"].find("testcase/error")
    assert error is not None and "undefinedName" in (error.text or "")
    # build failures leave no (empty) profile behind to poison a merge
    assert not list((broken_repo.root / ".goci/coverage").glob("example.com_broken_nobuild*"))


def write_ran_helper(repo: GoRepo, folder: str, package: str) -> None:
    """``ran(name)``: a test appends its name to $RAN_LOG, so a test can tell which ran when."""
    repo.write(
        f"{folder}/ran_test.go",
        f"""
        package {package}

        import "os"

        func ran(name string) {{
            log, _ := os.OpenFile(os.Getenv("RAN_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
            log.WriteString(name + "\\n")
            log.Close()
        }}
        """,
    )


def test_rerun_fails_reports_flaky_tests_and_keeps_first_coverage(
    make_repo: Callable[..., GoRepo],
    goci: Callable[..., GociRun],
    gha_env: dict[str, str],
    tmp_path: Path,
) -> None:
    repo = make_repo()
    repo.module(".", "example.com/flaky")
    repo.package("f", "f", "func F() int { return 1 }\n")
    write_ran_helper(repo, "f", "f")
    repo.write(
        "f/f_test.go",
        """
        package f

        import (
            "os"
            "testing"
        )

        func TestSometimes(t *testing.T) {
            ran("TestSometimes")
            marker := os.Getenv("FLAKY_MARKER")
            if _, err := os.Stat(marker); err != nil {
                os.WriteFile(marker, []byte("x"), 0o644)
                t.Fatal("first attempt fails")
            }
            F()
        }

        func TestSteady(t *testing.T) { ran("TestSteady") }
        """,
    )
    repo.package("g", "g", "func G() int { return 1 }\n")
    repo.write(
        "g/g_test.go",
        """
        package g

        import (
            "os"
            "testing"
        )

        func TestG(t *testing.T) {
            log, _ := os.OpenFile(os.Getenv("RAN_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
            log.WriteString("TestG\\n")
            log.Close()
        }
        """,
    )
    repo.commit()
    ran = tmp_path / "ran.log"
    env = {**gha_env, "FLAKY_MARKER": str(tmp_path / "marker"), "RAN_LOG": str(ran)}
    run = goci("test", "--rerun-fails=2", "--junit=j.xml", "--json", env=env, cwd=repo.root)
    assert run.code == 0, run.stdout + run.stderr
    # only the failing test of the failing package ran again, in one more go test
    assert sorted(ran.read_text().split()) == [
        "TestG",
        "TestSometimes",
        "TestSometimes",
        "TestSteady",
    ]
    assert "2 packages in 2 go test runs" in run.summary
    assert run.json()["flaky"] == 1
    assert run.json()["failed"] == 0
    assert "::warning::example.com/flaky/f.TestSometimes is flaky" in run.stderr
    assert "Flaky tests" in run.summary
    junit = ET.parse(repo.root / "j.xml").getroot()  # noqa: S314
    case = junit.find(".//testcase[@name='TestSometimes']")
    assert case is not None and case.find("flakyFailure") is not None
    # the first run's profile is kept (F() never ran in it: the first attempt failed early)
    profile = next((repo.root / ".goci/coverage").glob("*.cover"))
    blocks = profile.read_text().splitlines()[1:]
    assert set(blocks) == {
        "example.com/flaky/f/f.go:3.14,3.26 1 0",
        "example.com/flaky/g/g.go:3.14,3.26 1 0",
    }

    (tmp_path / "marker").unlink()
    no_rerun = goci("test", "--json", env=env, cwd=repo.root)
    assert no_rerun.code == 1
    assert no_rerun.json()["failed-tests"] == ["example.com/flaky/f.TestSometimes"]


def test_a_package_whose_test_binary_fails_after_its_tests_fails_on_a_rerun_too(
    make_repo: Callable[..., GoRepo],
    goci: Callable[..., GociRun],
    gha_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """A TestMain's leak check fails the package whatever its tests did: a rerun in which the
    flaky test passes is no pass of the package, and says why."""
    repo = make_repo()
    repo.module(".", "example.com/leak")
    repo.package("leaky", "leaky", "func L() int { return 1 }\n")
    repo.write(
        "leaky/l_test.go",
        """
        package leaky

        import (
            "fmt"
            "os"
            "testing"
        )

        func TestMain(m *testing.M) {
            if code := m.Run(); code != 0 {
                os.Exit(code)
            }
            fmt.Println("leak check: goroutine leaked")
            os.Exit(3)
        }

        func TestFlaky(t *testing.T) {
            if _, err := os.Stat(os.Getenv("FLAKY_MARKER")); err != nil {
                os.WriteFile(os.Getenv("FLAKY_MARKER"), nil, 0o644)
                t.Fatal("first attempt fails")
            }
        }
        """,
    )
    repo.commit()
    env = {**gha_env, "FLAKY_MARKER": str(tmp_path / "marker")}
    args = ("test", "--rerun-fails=2", "--count=1", "--junit=j.xml", "--no-cover", "--json")
    run = goci(*args, env=env, cwd=repo.root)
    assert run.code == 1, run.stdout + run.stderr
    out = run.json()
    assert (out["passed"], out["failed"], out["flaky"], out["failed-tests"]) == (False, 0, 1, [])
    reason = (
        "every failed test passed on attempt 2, but the package failed: "
        "leak check: goroutine leaked"
    )
    assert f"::error::example.com/leak/leaky failed: {reason}" in run.stderr
    assert "| `example.com/leak/leaky` | 1 | ❌ fail |" in run.summary
    assert "in 2 go test runs" in run.summary  # one rerun: after it, no test is left to name
    suite = ET.parse(repo.root / "j.xml").getroot().find("testsuite")  # noqa: S314
    assert suite is not None
    cases = {str(c.get("name")): c for c in suite.findall("testcase")}
    assert sorted(cases) == ["TestFlaky", "[package]"]
    assert cases["TestFlaky"].find("failure") is None
    assert cases["TestFlaky"].find("flakyFailure") is not None
    failure = cases["[package]"].find("failure")
    assert failure is not None
    assert failure.get("message") == f"example.com/leak/leaky failed: {reason}"


def test_a_test_binary_that_died_is_rerun_whole_and_the_tests_it_never_ran_count(
    make_repo: Callable[..., GoRepo],
    goci: Callable[..., GociRun],
    gha_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """A panic kills the test binary: the tests after it never ran and left no events. The
    package runs again whole, and a test failing there fails it."""
    repo = make_repo()
    repo.module(".", "example.com/crash")
    repo.package("p", "p", "func P() int { return 1 }\n")
    write_ran_helper(repo, "p", "p")
    repo.write(
        "p/p_test.go",
        """
        package p

        import (
            "os"
            "testing"
        )

        func TestA(t *testing.T) {
            ran("TestA")
            if _, err := os.Stat(os.Getenv("FLAKY_MARKER")); err != nil {
                os.WriteFile(os.Getenv("FLAKY_MARKER"), nil, 0o644)
                panic("flaky crash")
            }
        }

        func TestB(t *testing.T) { ran("TestB"); t.Fatal("always broken") }

        func TestC(t *testing.T) { ran("TestC") }
        """,
    )
    repo.commit()
    ran = tmp_path / "ran.log"
    env = {**gha_env, "FLAKY_MARKER": str(tmp_path / "marker"), "RAN_LOG": str(ran)}
    args = ("test", "--rerun-fails=1", "--count=1", "--junit=j.xml", "--no-cover", "--json")
    run = goci(*args, env=env, cwd=repo.root)
    assert run.code == 1, run.stdout + run.stderr
    # the first run died in TestA; the rerun ran every test
    assert ran.read_text().split() == ["TestA", "TestA", "TestB", "TestC"]
    out = run.json()
    assert (out["passed"], out["flaky"], out["tests"]) == (False, 1, 3)
    assert out["failed-tests"] == ["example.com/crash/p.TestB"]
    assert "::warning::example.com/crash/p.TestA is flaky" in run.stderr
    suite = ET.parse(repo.root / "j.xml").getroot().find("testsuite")  # noqa: S314
    assert suite is not None
    cases = {str(c.get("name")): c for c in suite.findall("testcase")}
    assert sorted(cases) == ["TestA", "TestB", "TestC"]
    assert cases["TestB"].find("failure") is not None
    assert cases["TestA"].find("flakyFailure") is not None
    assert cases["TestC"].find("failure") is None


def test_a_rerun_stays_within_the_users_run(
    make_repo: Callable[..., GoRepo],
    goci: Callable[..., GociRun],
    gha_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """``--run TestA/fast`` leaves TestA/excluded out: the rerun of the flaky TestA/fast (and of
    TestB, failing on its own with only its selected subtest passing) must leave it out too."""
    repo = make_repo()
    repo.module(".", "example.com/sel")
    repo.package("s", "s", "func S() int { return 1 }\n")
    write_ran_helper(repo, "s", "s")
    repo.write(
        "s/s_test.go",
        """
        package s

        import (
            "os"
            "testing"
        )

        func once(t *testing.T, name string) {
            marker := os.Getenv("FLAKY_MARKER") + name
            if _, err := os.Stat(marker); err != nil {
                os.WriteFile(marker, nil, 0o644)
                t.Fatal("flaky")
            }
        }

        func TestA(t *testing.T) {
            t.Run("fast", func(t *testing.T) { ran(t.Name()); once(t, "a") })
            t.Run("excluded", func(t *testing.T) { ran(t.Name()); t.Fatal("not selected") })
        }

        func TestB(t *testing.T) {
            t.Run("fast", func(t *testing.T) { ran(t.Name()) })
            t.Run("excluded", func(t *testing.T) { ran(t.Name()); t.Fatal("not selected") })
            once(t, "b")
        }
        """,
    )
    repo.commit()
    ran = tmp_path / "ran.log"
    env = {**gha_env, "FLAKY_MARKER": str(tmp_path / "marker"), "RAN_LOG": str(ran)}
    args = ("test", "--run=Test[AB]/fast", "--rerun-fails=2", "--count=1", "--no-cover", "--json")
    run = goci(*args, env=env, cwd=repo.root)
    assert run.code == 0, run.stdout + run.stderr
    # each selected subtest once, then again in the rerun; the excluded ones never
    assert sorted(ran.read_text().split()) == ["TestA/fast"] * 2 + ["TestB/fast"] * 2
    out = run.json()
    assert (out["passed"], out["failed"], out["failed-tests"]) == (True, 0, [])
    assert out["flaky"] == 3  # TestA/fast, its parent TestA, and TestB


def test_plain_go_test_sees_the_same_packages(
    mono: GoRepo, goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    """goci tests what plain ``go test`` of the modules in use tests: the same packages, the
    same tests (subtests included) and the same outcomes, nothing more and nothing less."""
    env = gha(mono, tmp_path)
    run = goci("test", "--no-cover", "--junit=plain/junit.xml", env=env, cwd=mono.root)
    assert run.code == 0, run.stderr
    suites = ET.parse(mono.root / "plain/junit.xml").getroot().findall("testsuite")  # noqa: S314
    ours_packages = {suite.get("name") for suite in suites}
    ours_tests = {
        (case.get("classname"), case.get("name"), _junit_outcome(case))
        for suite in suites
        for case in suite.findall("testcase")
    }
    plain = subprocess.run(
        [mono.env["GOCI_GO"], "test", "-json", "example.com/lib/...", "example.com/svc/..."],
        cwd=mono.root,
        env=mono.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    events = [json.loads(line) for line in plain.splitlines() if line.startswith("{")]
    final = ("pass", "fail", "skip")
    plain_packages = {e["Package"] for e in events if e["Action"] in final and not e.get("Test")}
    plain_tests = {
        (e["Package"], e["Test"], e["Action"])
        for e in events
        if e["Action"] in final and e.get("Test")
    }
    assert ours_packages == plain_packages == set(PACKAGES)
    assert ours_tests == plain_tests
    assert ("example.com/svc/api", "TestHandleSub/negative", "pass") in ours_tests


def _junit_outcome(case: ET.Element) -> str:
    if case.find("failure") is not None or case.find("error") is not None:
        return "fail"
    return "skip" if case.find("skipped") is not None else "pass"


# ---- pure parts: shard assignment and flags -----------------------------------------------


def test_shards_are_deterministic_disjoint_and_longest_first() -> None:
    from goci.gotest.shards import assign, parse_shard

    names = [f"example.com/m/p{i}" for i in range(10)]
    timings = {name: float(i + 1) for i, name in enumerate(names)}
    first = assign(names, 3, timings=timings)
    assert first == assign(list(reversed(names)), 3, timings=dict(reversed(timings.items())))
    flat = [p for shard in first.shards for p in shard]
    assert sorted(flat) == sorted(names) and len(flat) == len(set(flat))
    assert first.by == "timings"
    assert max(first.loads) - min(first.loads) <= max(timings.values())
    assert "example.com/m/p9" in first.shards[0]  # the longest goes first, to shard 1
    by_count = assign(names, 2, test_counts={n: (5 if n.endswith("p0") else 1) for n in names})
    assert by_count.by == "test count"
    assert by_count.shards[0] == ("example.com/m/p0", "example.com/m/p6", "example.com/m/p8")
    assert by_count.loads == (7.0, 7.0)
    assert parse_shard(" 2 / 4 ").label == "2/4"


def test_race_means_atomic_mode_and_flags_pass_through() -> None:
    from goci.gotest.batch import common_flags
    from goci.gotest.results import TestOptions

    options = TestOptions(race=True, tags=("a", "b"), timeout="5m", count=1, parallel=3)
    assert options.mode == "atomic"
    assert common_flags(options) == ["-race", "-tags=a,b", "-timeout=5m", "-count=1", "-p=3"]
    assert TestOptions(race=True, covermode="count").mode == "count"


def test_the_starting_line_names_the_shard_only_when_there_are_several() -> None:
    from goci.gotest.results import TestOptions
    from goci.gotest.run import _Plan, _starting
    from goci.gotest.shards import Shard

    unlisted, options = _Plan([], -1, "one shard", False), TestOptions(parallel=2)
    assert _starting(unlisted, 1, Shard(1, 1), options) == (
        "testing every package the patterns name in 1 go test run, 2 packages at a time"
    )
    listed = _Plan([], 40, "timings", True)
    assert _starting(listed, 3, Shard(2, 3), TestOptions()) == (
        "testing 0 of 40 packages (shard 2/3, by timings) in 3 go test runs, "
        "GOMAXPROCS packages at a time"
    )
