"""Coverage change against the default branch: coverage-summary.json, the delta, --max-drop.

A default-branch run tests everything and keeps its summary; a pull request tests only the
package its change reaches. Its total must move only by what that package did: the other
package keeps its baseline numbers (were it taken from the pull request's profile, where
its tests did not run, it would show as a drop to almost nothing).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from goci.coverage.baseline import (
    Counts,
    Summary,
    compare,
    effective,
    parse_summary,
    read_store,
    save_store,
    store_key,
)
from goci.errors import InputError
from goci.release.stores import open_store
from support.goci_run import GociRun
from support.gorepo import GoRepo
from support.seaweed import BUCKET

FILES = {
    "go.mod": "module example.com/d\n\ngo 1.21\n",
    "a/a.go": """
        package a

        func One() int { return 1 }

        func Two(x int) int {
            if x > 0 {
                return 2
            }
            return -2
        }
        """,
    "a/a_test.go": """
        package a

        import "testing"

        func TestOne(t *testing.T) { _ = One() }

        func TestTwo(t *testing.T) { _, _ = Two(1), Two(-1) }
        """,
    "b/b.go": """
        package b

        func Three() int { return 3 }

        func Four() int { return 4 }
        """,
    "b/b_test.go": """
        package b

        import "testing"

        func TestThree(t *testing.T) { _ = Three() }
        """,
}


def summary(commit_time: int, **packages: tuple[int, int]) -> Summary:
    return Summary(
        commit=f"c{commit_time}",
        commit_time=commit_time,
        go_version="go1.26",
        packages={f"m/{p}": Counts(*n) for p, n in packages.items()},
        files={f"m/{p}/{p}.go": Counts(*n) for p, n in packages.items()},
    )


def test_untested_packages_keep_their_baseline_and_gone_ones_go() -> None:
    base = summary(1, a=(10, 8), b=(10, 5), gone=(4, 4), kept=(6, 3))
    # the pull request tested a only; b's tests did not run (its profile numbers mean nothing)
    current = summary(2, a=(12, 6), b=(10, 0), new=(2, 2))
    merged = effective(current, base, frozenset({"m/a", "m/new"}), lambda p: p == "m/kept")
    assert merged.packages == {
        "m/a": Counts(12, 6),
        "m/b": Counts(10, 5),
        "m/kept": Counts(6, 3),
        "m/new": Counts(2, 2),
    }
    assert set(merged.files) == {f"{p}/{p.split('/')[1]}.go" for p in merged.packages}
    assert merged.files["m/b/b.go"] == Counts(10, 5)
    # plain profiles (no sidecars) measured everything they list
    assert effective(current, base, None, lambda p: True) == current
    # a baseline counted another way (-coverpkg, say) is never mixed in
    other = dataclasses.replace(base, scope="coverpkg")
    assert effective(current, other, frozenset({"m/a", "m/new"}), lambda p: True) == current
    with pytest.raises(ValueError, match="scopes '' and 'coverpkg' differ"):
        compare(current, other)  # nor compared

    delta = compare(merged, base)
    assert [(d.package, d.before, d.after) for d in delta.packages] == [
        ("m/gone", Counts(4, 4), None),  # -100 points
        ("m/a", Counts(10, 8), Counts(12, 6)),  # -30
        ("m/new", None, Counts(2, 2)),  # +100
    ]
    assert delta.points == pytest.approx(round(merged.percent, 1) - round(base.percent, 1))


def test_a_summary_round_trips_and_a_broken_one_is_named() -> None:
    one = summary(7, a=(3, 1))
    assert parse_summary(one.encoded(), "x") == one
    own = Summary("c", 1, "go1.26", {}, {}, scope="own")
    assert parse_summary(own.encoded(), "x").scope == "own"
    # a summary written before goci recorded the scope does not say how it was counted
    old = json.loads(own.encoded())
    del old["scope"]
    assert parse_summary(json.dumps(old).encode(), "x").scope == ""
    partial = dataclasses.replace(own, unmeasured=("m/b", "m/c"))
    assert parse_summary(partial.encoded(), "x") == partial
    del old["unmeasured"]  # nor did it list the packages it had no numbers for
    assert parse_summary(json.dumps(old).encode(), "x").unmeasured == ()
    with pytest.raises(InputError, match=r"^s\.json: .*'unmeasured' is not a list"):
        parse_summary(json.dumps({**old, "unmeasured": "m/b"}).encode(), "s.json")
    with pytest.raises(InputError, match=r"^s\.json: .*'scope' is 'other', not one of"):
        parse_summary(json.dumps({**old, "scope": "other"}).encode(), "s.json")
    with pytest.raises(InputError, match=r"^s\.json: not a readable coverage-summary\.json"):
        parse_summary(
            b'{"format": 1, "packages": {"p": {"statements": 1, "covered": 5}}}', "s.json"
        )


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_two_default_branch_runs_saving_at_once_leave_the_later_commits(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "file":
        url, env, endpoint = f"file://{tmp_path / 'store'}", {}, ""
    else:  # a real SeaweedFS: its conditional writes decide the race
        seaweed = request.getfixturevalue("seaweed")
        url, env = f"s3://{BUCKET}/baseline-{uuid.uuid4().hex[:8]}", seaweed.env()
        endpoint = seaweed.endpoint
    stores = [open_store(url, endpoint_url=endpoint, env=env, cwd=tmp_path) for _ in range(8)]
    runs = [summary(t, a=(10, t)) for t in range(1, 9)]
    said: list[str] = []
    gate = threading.Barrier(len(runs))

    def save(index: int) -> None:
        gate.wait()
        said.append(save_store(stores[index], runs[index], "main"))

    threads = [threading.Thread(target=save, args=(i,)) for i in range(len(runs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert read_store(stores[0], "main") == runs[-1]
    assert all(s.startswith(("saved", "kept")) for s in said), said
    assert store_key("main") == "dev/.goci-coverage/main/coverage-summary.json"
    # an older commit's run arriving late keeps the newer baseline
    assert save_store(stores[0], summary(3, a=(10, 0)), "main").startswith("kept c8")
    for store in stores:
        store.close()


@pytest.fixture
def repo(make_repo: Callable[..., GoRepo]) -> GoRepo:
    repo = make_repo("d")
    repo.write_files(FILES)
    repo.commit("base")
    return repo


def test_pull_request_total_moves_only_by_its_tested_package(
    repo: GoRepo, goci: Callable[..., GociRun], gha_env: dict[str, str], tmp_path: Path
) -> None:
    go_env = gha_env
    store = f"file://{tmp_path / 'store'}"
    # the default branch: everything tested, the summary kept in the store and as a file
    assert goci("test", "--out", "cov1", env=go_env, cwd=repo.root).code == 0
    main = goci("coverage", "merge", "cov1", "--out", "main.out", "--summary-json",
                "main-summary.json", "--baseline-store", store, "--save-baseline", "--json",
                env=go_env, cwd=repo.root)  # fmt: skip
    assert main.code == 0, main.stderr
    assert main.json()["headline"].endswith("(no baseline)")
    kept = json.loads((repo.root / "main-summary.json").read_text())
    assert kept["packages"] == {
        "example.com/d/a": {"statements": 4, "covered": 4},
        "example.com/d/b": {"statements": 2, "covered": 1},
    }
    assert (kept["commit"], kept["total"]) == (repo.head(), 83.3)

    # the pull request drops a's test of Two; only a is tested
    repo.write("a/a_test.go", FILES["a/a_test.go"].replace("_, _ = Two(1), Two(-1)", ""))
    repo.commit("fewer tests")
    tested = goci("test", "--packages", "example.com/d/a", "--out", "cov2", env=go_env,
                  cwd=repo.root)  # fmt: skip
    assert tested.code == 0, tested.stderr
    for source in (["--baseline", "main-summary.json"], ["--baseline-store", store]):
        Path(gha_env["GITHUB_STEP_SUMMARY"]).write_text("")
        run = goci("coverage", "merge", "cov2", "--out", "pr.out", *source, "--max-drop", "5",
                   "--summary-json", "pr-summary.json", "--json", env=go_env,
                   cwd=repo.root)  # fmt: skip
        assert run.code == 1, run.stderr
        out = run.json()
        # a: 1 of 4 now; b keeps 1 of 2: 2 of 6 = 33.3%, against 5 of 6 = 83.3%
        assert out["total-change"] == "-50.0"
        assert out["headline"] == "total 33.3% (-50.0)"
        assert "total coverage fell 50.0 points (83.3% -> 33.3%), more than --max-drop 5.0" in (
            run.stderr
        )
        assert "| `example.com/d/a` | 100.0% | 25.0% | -75.0 |" in run.summary
        assert "example.com/d/b" not in run.summary.split("#### Coverage change")[1]
    relaxed = goci("coverage", "merge", "cov2", "--out", "pr.out", "--baseline",
                   "main-summary.json", "--max-drop", "60", env=go_env, cwd=repo.root)  # fmt: skip
    assert relaxed.code == 0, relaxed.stderr


def test_no_baseline_says_so_and_passes(
    repo: GoRepo, goci: Callable[..., GociRun], gha_env: dict[str, str]
) -> None:
    go_env = gha_env
    assert goci("test", "--out", "cov", env=go_env, cwd=repo.root).code == 0
    run = goci("coverage", "merge", "cov", "--out", "c.out", "--baseline", "missing.json",
               "--max-drop", "0", "--json", env=go_env, cwd=repo.root)  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.json()["total-change"] == ""
    assert "No baseline found" in run.summary
    bad = goci("coverage", "merge", "cov", "--out", "c.out", "--max-drop", "101", env=go_env,
               cwd=repo.root)  # fmt: skip
    assert bad.code == 2 and "--max-drop" in bad.stderr and "101" in bad.stderr


def stored_baseline(url: str, cwd: Path) -> Summary | None:
    store = open_store(url, env={}, cwd=cwd)
    try:
        return read_store(store, "main")
    finally:
        store.close()


def test_a_baseline_counted_another_way_is_neither_compared_nor_mixed(
    repo: GoRepo, goci: Callable[..., GociRun], gha_env: dict[str, str], tmp_path: Path
) -> None:
    """A baseline from -coverpkg (goci's old default) and a run without it: the same code
    reads differently, so the run neither compares with it nor keeps its numbers for the
    packages it did not test, and saves its own only once it has tested every package."""
    go_env, store = gha_env, f"file://{tmp_path / 'store'}"
    assert goci("test", "--coverpkg=module", "--out", "cov1", env=go_env, cwd=repo.root).code == 0
    main = goci("coverage", "merge", "cov1", "--out", "m.out", "--baseline-store", store,
                "--save-baseline", "--summary-json", "base.json", env=go_env,
                cwd=repo.root)  # fmt: skip
    assert main.code == 0, main.stderr
    repo.write("a/a_test.go", FILES["a/a_test.go"].replace("_, _ = Two(1), Two(-1)", ""))
    repo.commit("fewer tests")
    assert goci("test", "--packages", "example.com/d/a", "--out", "cov2", env=go_env,
                cwd=repo.root).code == 0  # fmt: skip
    Path(gha_env["GITHUB_STEP_SUMMARY"]).write_text("")
    run = goci("coverage", "merge", "cov2", "--out", "pr.out", "--baseline-store", store,
               "--max-drop", "0", "--summary-json", "pr.json", "--save-baseline", "--json",
               env=go_env, cwd=repo.root)  # fmt: skip
    assert run.code == 0, run.stderr  # the 75-point drop of a is not measured against it
    out = run.json()
    assert out["total-change"] == ""
    assert out["headline"] == "total 25.0% (baseline not comparable)"
    assert (
        "counts statements run by any package's tests (-coverpkg), this run each package's own "
        "statements run by its own tests (go test -cover): not compared" in run.summary
    )
    pr = json.loads((repo.root / "pr.json").read_text())
    assert (pr["scope"], set(pr["packages"])) == ("own", {"example.com/d/a"})  # b not mixed in
    assert (
        "the baseline is kept: a summary of this run would lack 1 package it did not" in run.stderr
    )
    stored = stored_baseline(store, tmp_path)
    assert stored is not None and stored.scope == "coverpkg"  # the old one, untouched
    # go-ci.yml's way: the summary written over the baseline file it read keeps it too
    before = (repo.root / "base.json").read_bytes()
    in_place = goci("coverage", "merge", "cov2", "--out", "pr.out", "--baseline", "base.json",
                    "--summary-json", "base.json", env=go_env, cwd=repo.root)  # fmt: skip
    assert in_place.code == 0 and "the baseline is kept" in in_place.stderr, in_place.stderr
    assert (repo.root / "base.json").read_bytes() == before
    # a run that tests every package replaces it, and the next one compares again
    assert goci("test", "--out", "cov3", env=go_env, cwd=repo.root).code == 0
    full = goci("coverage", "merge", "cov3", "--out", "f.out", "--baseline-store", store,
                "--save-baseline", env=go_env, cwd=repo.root)  # fmt: skip
    assert full.code == 0 and "baseline not saved" not in full.stderr, full.stderr
    stored = stored_baseline(store, tmp_path)
    assert stored is not None and (stored.scope, stored.commit) == ("own", repo.head())
    again = goci("coverage", "merge", "cov2", "--out", "pr.out", "--baseline-store", store,
                 "--json", env=go_env, cwd=repo.root)  # fmt: skip
    assert again.code == 0 and again.json()["total-change"] == "+0.0", again.stderr


def test_a_package_measured_for_the_first_time_is_not_a_change(
    repo: GoRepo, goci: Callable[..., GociRun], gha_env: dict[str, str]
) -> None:
    """go-ci.yml's first default-branch run with a base tests only what its change reached (a),
    so the baseline it keeps has no numbers for b. The next pull request tests b: b's 50% is
    not a drop from a's 100% (it was never measured), while a package the pull request adds
    still counts; once a default-branch run has tested b, b compares as any package does."""
    go_env, files = gha_env, ["--baseline", "base.json", "--summary-json", "base.json"]

    def merge(profiles: str, *args: str) -> GociRun:
        Path(gha_env["GITHUB_STEP_SUMMARY"]).write_text("")
        return goci("coverage", "merge", profiles, "--out", "m.out", *args, "--json",
                    env=go_env, cwd=repo.root)  # fmt: skip

    def change_section(run: GociRun) -> str:
        return run.summary.split("#### Coverage change")[1].split("\n#### ")[0]

    def tested(out: str, *packages: str) -> None:
        args = [a for p in packages for a in ("--packages", f"example.com/d/{p}")]
        assert goci("test", *args, "--out", out, env=go_env, cwd=repo.root).code == 0

    tested("main1", "a")
    first = merge("main1", *files)
    assert first.code == 0, first.stderr
    kept = json.loads((repo.root / "base.json").read_text())
    assert (set(kept["packages"]), kept["unmeasured"]) == ({"example.com/d/a"}, ["example.com/d/b"])

    repo.write("b/b.go", FILES["b/b.go"] + "\n// Five is documented.\n")
    repo.commit("touch b")
    tested("pr1", "b")
    pr = merge("pr1", "--baseline", "base.json", "--max-drop", "0")
    assert pr.code == 0, pr.stderr  # 4/4 + 1/2 against 4/4 would be a 16.7-point drop
    assert (pr.json()["total-change"], pr.json()["headline"]) == ("+0.0", "total 83.3% (+0.0)")
    assert "1 package measured for the first time (the baseline had no numbers" in pr.summary
    assert "| `example.com/d/b` |" not in change_section(pr)

    repo.write("c/c.go", "package c\n\nfunc Six() int { return 6 }\n")
    repo.commit("a new package, untested")
    tested("pr2", "b", "c")
    new = merge("pr2", "--baseline", "base.json", "--max-drop", "0")
    assert new.code == 1  # c is new: its 0 of 1 statements is a real drop, 4/4 -> 4/5
    assert new.json()["total-change"] == "-20.0", new.stderr
    assert "| `example.com/d/c` | - | 0.0% | +0.0 |" in change_section(new)
    assert "| `example.com/d/b` |" not in change_section(new)

    tested("main2", "b", "c")  # the default branch tests b: the baseline is complete
    second = merge("main2", *files)
    assert second.code == 0, second.stderr
    kept = json.loads((repo.root / "base.json").read_text())
    assert (set(kept["packages"]), kept["unmeasured"]) == (
        {f"example.com/d/{p}" for p in "abc"},
        [],
    )
    again = merge("pr1", "--baseline", "base.json", "--max-drop", "0")
    assert again.code == 0 and again.json()["total-change"] == "+0.0", again.stderr
    assert "measured for the first time" not in again.summary
