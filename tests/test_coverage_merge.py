"""``goci coverage merge``: merge rules, refusals, bad input, exact totals with real go."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goci.coverage import report as coverage
from goci.coverage.merge import merge as merge_profiles
from goci.errors import InputError, VerdictError
from goci.tools.gotool import Go
from support.cover_repo import make_monorepo, module_env, unsharded_profile
from support.goci_run import GociRun, actions_env
from support.gorepo import GoRepo
from support.refusal import refused

A = "example.com/m/a/a.go"


def profile(path: Path, mode: str, *lines: str, sidecar: dict[str, str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"mode: {mode}\n" + "".join(line + "\n" for line in lines))
    if sidecar is not None:
        Path(f"{path}.json").write_text(json.dumps(sidecar))
    return path


def body(path: Path) -> list[str]:
    return path.read_text().splitlines()


# ---- merge rules (no go needed) -----------------------------------------------------------


def test_set_mode_ors_and_count_mode_adds(tmp_path: Path) -> None:
    one = profile(tmp_path / "s1.out", "set", f"{A}:3.1,4.2 1 1", f"{A}:5.1,6.2 2 0")
    two = profile(tmp_path / "s2.out", "set", f"{A}:3.1,4.2 1 1", f"{A}:5.1,6.2 2 1")
    merge_profiles([one, two], out=tmp_path / "set.out")
    assert body(tmp_path / "set.out") == ["mode: set", f"{A}:3.1,4.2 1 1", f"{A}:5.1,6.2 2 1"]

    c1 = profile(tmp_path / "c1.out", "count", f"{A}:3.1,4.2 1 3", f"{A}:5.1,6.2 2 0")
    c2 = profile(tmp_path / "c2.out", "count", f"{A}:5.1,6.2 2 4", f"{A}:3.1,4.2 1 2")
    merge_profiles([c1, c2], out=tmp_path / "count.out")
    assert body(tmp_path / "count.out") == ["mode: count", f"{A}:3.1,4.2 1 5", f"{A}:5.1,6.2 2 4"]


BLOCKS = [(f"example.com/m/{f}.go", line) for f in ("a", "b/c") for line in range(1, 40, 3)]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    inputs=st.lists(
        st.lists(st.tuples(st.sampled_from(BLOCKS), st.integers(0, 5)), max_size=12),
        min_size=1,
        max_size=5,
    ),
    order=st.randoms(),
)
def test_merge_is_a_sorted_sum_whatever_the_input_order(
    tmp_path: Path, inputs: list[list[tuple[tuple[str, int], int]]], order: object
) -> None:
    expected: dict[tuple[str, int], int] = {}
    paths = []
    for index, blocks in enumerate(inputs):
        lines = [f"{f}:{line}.2,{line + 1}.5 1 {count}" for (f, line), count in blocks]
        paths.append(profile(tmp_path / f"in{index}" / "p.out", "count", *lines))
        for key, count in blocks:
            expected[key] = expected.get(key, 0) + count
    order.shuffle(paths)  # type: ignore[attr-defined]
    result = merge_profiles(paths, out=tmp_path / "merged.out")
    want = ["mode: count"] + [
        f"{f}:{line}.2,{line + 1}.5 1 {expected[(f, line)]}" for f, line in sorted(expected)
    ]
    assert body(tmp_path / "merged.out") == want
    assert result.blocks == len(expected)


def test_memory_follows_distinct_blocks_not_inputs(tmp_path: Path) -> None:
    lines = [f"{A}:{n}.1,{n}.9 1 {n % 2}" for n in range(1, 200)]
    paths = [profile(tmp_path / f"p{i}.out", "set", *lines) for i in range(30)]
    result = merge_profiles(paths, out=tmp_path / "m.out")
    assert result.blocks == 199
    assert result.lines_read == 30 * 200


def test_same_block_with_other_statement_count_is_refused_naming_both(tmp_path: Path) -> None:
    one = profile(tmp_path / "one.out", "set", f"{A}:3.1,4.2 1 1")
    two = profile(tmp_path / "two.out", "set", f"{A}:3.1,4.2 2 1")
    with pytest.raises(InputError) as caught:
        merge_profiles([one, two], out=tmp_path / "m.out")
    message = str(caught.value)
    assert str(two) in message and str(one) in message and A in message
    assert "different sources or Go versions" in message
    assert not (tmp_path / "m.out").exists()


def test_overlapping_blocks_with_other_bounds_are_refused(tmp_path: Path) -> None:
    one = profile(tmp_path / "one.out", "set", f"{A}:3.1,6.2 2 1")
    two = profile(tmp_path / "two.out", "set", f"{A}:4.1,5.2 1 1")
    with pytest.raises(
        InputError,
        match=r"two\.out: block 4\.1,5\.2 of .*a\.go overlaps block 3\.1,6\.2 from .*one\.out",
    ):
        merge_profiles([one, two], out=tmp_path / "m.out")
    assert not (tmp_path / "m.out").exists()


def test_mixed_modes_are_refused(tmp_path: Path) -> None:
    one = profile(tmp_path / "one.out", "set", f"{A}:3.1,4.2 1 1")
    two = profile(tmp_path / "two.out", "count", f"{A}:3.1,4.2 1 1")
    with pytest.raises(
        InputError, match=r"two\.out: mode 'count' differs from mode 'set' of .*one\.out"
    ):
        merge_profiles([one, two], out=None)


def test_different_commits_or_go_versions_need_allow_mixed(tmp_path: Path) -> None:
    meta = {"commit": "a" * 40, "go_version": "go1.26.8", "shard": "1/1"}
    one = profile(tmp_path / "one.out", "set", f"{A}:3.1,4.2 1 1", sidecar=meta)
    two = profile(
        tmp_path / "two.out", "set", f"{A}:3.1,4.2 1 0", sidecar={**meta, "commit": "b" * 40}
    )
    with pytest.raises(
        InputError, match=r"two\.out: commit b+ differs from commit a+ of .*one\.out.*--allow-mixed"
    ):
        merge_profiles([one, two], out=None)
    three = profile(
        tmp_path / "three.out",
        "set",
        f"{A}:3.1,4.2 1 0",
        sidecar={**meta, "go_version": "go1.25.5"},
    )
    with pytest.raises(InputError, match=r"Go version go1\.25\.5 differs from Go version go1\.26"):
        merge_profiles([one, three], out=None)
    mixed = merge_profiles([one, two, three], out=None, allow_mixed=True)
    assert mixed.commits == ("a" * 40, "b" * 40)
    assert mixed.go_versions == ("go1.25.5", "go1.26.8")


def test_expect_shards_names_the_missing_ones(tmp_path: Path) -> None:
    for index in (1, 3):
        profile(
            tmp_path / f"job{index}" / "p.cover",
            "set",
            f"{A}:3.1,4.2 1 1",
            sidecar={"shard": f"{index}/3"},
        )
    with pytest.raises(VerdictError, match=r"shard\(s\) 2 of 3 are missing \(found 2: 1/3, 3/3\)"):
        merge_profiles([tmp_path], out=None, expect_shards=3)
    # a shard that got no packages still counts: goci test leaves a marker for it
    (tmp_path / "job2").mkdir()
    (tmp_path / "job2" / "goci-shard-2of3.x.json").write_text(json.dumps({"shard": "2/3"}))
    assert merge_profiles([tmp_path], out=None, expect_shards=3).shards == ("1/3", "2/3", "3/3")


# ---- the command: bad input ---------------------------------------------------------------


@pytest.fixture
def gha(gha_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    (tmp_path / "work").mkdir()
    return gha_env


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "in.out: empty profile"),
        ("mode: set\nexample.com/m/a.go:1.1,2.2 1\n", "in.out:2: truncated line"),
        ("mode: set\nexample.com/m/a.go:1.1,2.2 1 x\n", "in.out:2: count 'x' is not a number"),
        (
            "mode: set\nexample.com/m/a.go:1.1,2.2 y 1\n",
            "in.out:2: statement count 'y' is not a number",
        ),
        ("mode: sometimes\n", "in.out:1: unknown mode 'sometimes'; accepted: set, count, atomic"),
        (
            "mode: set\nexample.com/m/a.go:1.1,2.2 1 1\nexample.com/m/a.go:3 1 1\n",
            "in.out:3: truncated or malformed line",
        ),
    ],
)
def test_bad_profiles_exit_2_naming_file_and_line(
    goci: Callable[..., GociRun], gha: dict[str, str], tmp_path: Path, text: str, message: str
) -> None:
    work = tmp_path / "work"
    (work / "in.out").write_text(text)
    run = goci("coverage", "merge", "in.out", "--out=merged.out", env=gha, cwd=work)
    assert run.code == 2, run.stderr
    assert message in run.stderr
    assert f"::error::{message.split(':')[0]}" in run.stderr
    assert run.outputs == {}
    assert sorted(p.name for p in work.iterdir()) == ["in.out"]  # nothing half-written


def test_zero_inputs_and_missing_paths_exit_2(
    goci: Callable[..., GociRun], gha: dict[str, str], tmp_path: Path
) -> None:
    work = tmp_path / "work"
    none = goci("coverage", "merge", env=gha, cwd=work)
    assert none.code == 2 and "no inputs" in none.stderr
    (work / "empty-dir").mkdir()
    empty = goci("coverage", "merge", "empty-dir", env=gha, cwd=work)
    assert empty.code == 2 and "no coverage profile found in" in empty.stderr
    missing = goci("coverage", "merge", "nope", env=gha, cwd=work)
    assert missing.code == 2 and "DIR_OR_FILE: 'nope' is not valid" in missing.stderr


# ---- with real go: exact totals, reports, thresholds --------------------------------------


@pytest.fixture(scope="module")
def covered(
    tmp_path_factory: pytest.TempPathFactory, go_binary: Path, shared_go_dirs: dict[str, Path]
) -> tuple[GoRepo, Path]:
    root = tmp_path_factory.mktemp("cov")
    repo = make_monorepo(root / "repo", module_env(go_binary, shared_go_dirs))
    return repo, unsharded_profile(repo, root / "unsharded.out")


def cover_func(repo: GoRepo, path: Path) -> list[tuple[str, str, str]]:
    out = repo.go("tool", "cover", f"-func={path}").stdout
    return [tuple(line.split()) for line in out.splitlines()]  # type: ignore[misc]


def test_totals_and_functions_equal_go_tool_cover_func(
    covered: tuple[GoRepo, Path], tmp_path: Path
) -> None:
    repo, unsharded = covered
    merged = tmp_path / "merged.out"
    merge_profiles([unsharded], out=merged)
    go = Go(repo.env, exe=repo.env["GOCI_GO"])
    cov = coverage.report(merged, root=repo.root, go=go)
    ours = [(f"{f.file}:{f.line}:", f.name, f"{coverage.fmt(f.percent)}%") for f in cov.functions]
    ours.append(("total:", "(statements)", f"{cov.total}%"))
    assert ours == cover_func(repo, merged) == cover_func(repo, unsharded)
    # package-level closures do not count; closures inside functions do, as in go tool cover
    assert [f.name for f in cov.functions if f.file.endswith("calc.go")] == ["Square", "Twice"]


def test_gocoverdir_inputs_merge_with_text_profiles(
    covered: tuple[GoRepo, Path], tmp_path: Path
) -> None:
    repo, _ = covered
    exe = tmp_path / "server"
    repo.go("build", "-cover", "-covermode=set", "-o", str(exe), "./cmd/server", cwd="svc")
    for name in ("run1", "run2"):
        (tmp_path / "data" / name).mkdir(parents=True)
        subprocess.run(
            [exe],
            env={**repo.env, "GOCOVERDIR": str(tmp_path / "data" / name)},
            check=True,
            capture_output=True,
        )
    go = Go(repo.env, exe=repo.env["GOCI_GO"])
    result = merge_profiles([tmp_path / "data"], out=tmp_path / "m.out", go=go)
    assert [i.kind for i in result.inputs] == ["covdata", "covdata"]
    reference = tmp_path / "ref.out"
    repo.go(
        "tool",
        "covdata",
        "textfmt",
        f"-i={tmp_path / 'data' / 'run1'},{tmp_path / 'data' / 'run2'}",
        f"-o={reference}",
    )
    assert cover_func(repo, tmp_path / "m.out") == cover_func(repo, reference)
    main = [line for line in body(tmp_path / "m.out") if "cmd/server/main.go" in line]
    assert len(main) == 1 and main[0].endswith(" 1 1")


def test_reports_outputs_and_summary(
    covered: tuple[GoRepo, Path], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    repo, unsharded = covered
    env = actions_env(tmp_path / "gha", repo.env)
    run = goci(
        "coverage",
        "merge",
        str(unsharded),
        "--out=out/merged.out",
        "--cobertura=out/cobertura.xml",
        "--lcov=out/lcov.info",
        "--html=out/coverage.html",
        "--json",
        env=env,
        cwd=repo.root,
    )
    assert run.code == 0, run.stderr
    out = run.json()
    total = cover_func(repo, unsharded)[-1][-1].rstrip("%")
    assert out["total"] == run.outputs["total"] == total
    assert out["profile"] == str(repo.root / "out/merged.out")
    assert out["passed"] is True
    xml = ET.parse(repo.root / "out/cobertura.xml").getroot()  # noqa: S314
    classes = {c.get("filename") for c in xml.iter("class")}
    assert "lib/nothing/nothing.go" in classes and "svc/api/api.go" in classes
    lcov = (repo.root / "out/lcov.info").read_text()
    assert lcov.count("end_of_record") == 5
    assert "SF:lib/mathx/mathx.go\nFN:3,Add\nFN:5,Mul\n" in lcov
    assert "<html" in (repo.root / "out/coverage.html").read_text()
    assert f"### Coverage: {total}%" in run.summary
    assert "| `example.com/lib/nothing` | 3 | 0 | 0.0% |" in run.summary
    assert "#### Least covered files" in run.summary


def test_thresholds_overrides_and_excludes(
    covered: tuple[GoRepo, Path], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    repo, unsharded = covered
    env = actions_env(tmp_path / "gha", repo.env)
    args = ("coverage", "merge", str(unsharded), "--out=t.out", "--json")
    total = float(cover_func(repo, unsharded)[-1][-1].rstrip("%"))
    low = goci(*args, f"--min-total={total + 10}", env=env, cwd=repo.root)
    assert low.code == 1
    assert (
        f"total coverage: {total:.1f}% is below the required {total + 10:.1f}% "
        "(short by 10.0 points)" in low.stderr
    )
    assert low.outputs["passed"] == "false"
    # --min-package names the package; an override glob lowers the bar for that package only
    pkg = goci(
        *args, "--min-package=50", "--threshold=example.com/lib/nothing=0", env=env, cwd=repo.root
    )
    assert pkg.code == 1
    assert "package example.com/lib/nothing" not in pkg.stderr
    assert "package example.com/lib/mathx" not in pkg.stderr
    assert (
        "package example.com/svc/cmd/server: 0.0% is below the required 50.0% "
        "(short by 50.0 points)" in pkg.stderr
    )
    # a file glob holds files to their own minimum
    per_file = goci(*args, "--threshold=*/calc.go=90", env=env, cwd=repo.root)
    assert per_file.code == 1 and "file example.com/lib/calc/calc.go: " in per_file.stderr
    # excludes leave packages out of every number
    fine = goci(
        *args,
        "--exclude=example.com/*/nothing",
        "--exclude=*/cmd/*",
        "--min-package=15",
        env=env,
        cwd=repo.root,
    )
    assert fine.code == 0, fine.stderr
    assert float(fine.json()["total"]) > total
    bad = goci(*args, "--threshold=nothing", env=env, cwd=repo.root)
    assert bad.code == 2 and "--threshold: 'nothing' is not valid; use GLOB=PERCENT" in bad.stderr


def test_file_outside_any_module_is_bad_input(
    covered: tuple[GoRepo, Path], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    repo, _ = covered
    env = actions_env(tmp_path / "gha", repo.env)
    ghost = profile(
        repo.root / "ghost" / "g.out",
        "set",
        "example.com/lib/mathx/mathx.go:3.24,3.40 1 1",
        "example.com/ghost/g.go:1.1,2.2 1 1",
    )
    run = goci("coverage", "merge", str(ghost), "--out=ghost.out", env=env, cwd=repo.root)
    assert run.code == 2
    # The input and its line that name the file: the merged profile was never written.
    assert f"{ghost}:3: example.com/ghost/g.go is not a file of any module in use" in run.stderr
    assert "ghost.out" not in run.stderr
    assert not (repo.root / "ghost.out").exists()
    assert not list(repo.root.glob(".ghost.out*"))


# ---- profiles must name the repository's files and match their source -----------------------


def merge(goci: Callable[..., GociRun], repo: GoRepo, tmp_path: Path, text: str) -> GociRun:
    """Merge ``text`` as one profile into ``in/<test>/m.out`` of the shared repository."""
    work = repo.root / "in" / tmp_path.name
    work.mkdir(parents=True)
    (work / "p.out").write_text(text)
    env = actions_env(tmp_path / "gha", repo.env)
    out = f"--out=in/{tmp_path.name}/m.out"
    return goci("coverage", "merge", str(work / "p.out"), out, env=env, cwd=repo.root)


def merged(repo: GoRepo, tmp_path: Path) -> Path:
    return repo.root / "in" / tmp_path.name / "m.out"


def test_a_statement_count_the_source_contradicts_is_refused(
    covered: tuple[GoRepo, Path], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    repo, unsharded = covered
    lines = unsharded.read_text().splitlines()
    hits: dict[str, int] = {}  # mathx.go's blocks -> hit in any test binary
    for line in lines:
        if "lib/mathx/mathx.go:" in line:
            position, _, count = line.rsplit(" ", 2)
            hits[position] = max(hits.get(position, 0), int(count))
    add = next(p for p, hit in hits.items() if hit and ":3." in p)  # Add's body: 1 statement
    # Every test binary's line for that block claims 100000: the total would read ~100%.
    lifted = [f"{add} 100000 1" if x.startswith(add + " ") else x for x in lines]
    run = merge(goci, repo, tmp_path, "\n".join(lifted) + "\n")
    refused(
        run,
        f"example.com/lib/mathx/mathx.go: block {add.split(':')[1]} claims 100000 "
        "statements, but go tool cover counts 1 there in",
    )
    assert not merged(repo, tmp_path).exists()
    # A block go tool cover never makes (inside the file, with a plausible count) is refused
    # too, and so is a file whose uncovered blocks were left out.
    invented = merge(goci, repo, tmp_path / "x", "\n".join([*lines, A_FAKE_BLOCK]) + "\n")
    line = refused(invented, "example.com/lib/mathx/mathx.go: block 5.1,5.5 claims 1 statements")
    assert "go tool cover makes no block there" in line
    uncovered = [p for p, hit in hits.items() if not hit]
    assert uncovered  # Mul's zero branch: no test binary reaches it
    trimmed = [x for x in lines if x.rsplit(" ", 2)[0] not in uncovered]
    partial = merge(goci, repo, tmp_path / "y", "\n".join(trimmed) + "\n")
    refused(partial, "example.com/lib/mathx/mathx.go: the profile lists")
    # the real profile is accepted
    ok = merge(goci, repo, tmp_path / "z", unsharded.read_text())
    assert ok.code == 0, ok.stderr


A_FAKE_BLOCK = "example.com/lib/mathx/mathx.go:5.1,5.5 1 1"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("/etc/hostname", "is an absolute path"),
        ("C:/go/src/fmt/print.go", "is an absolute path"),
        ("example.com/lib/../../../etc/passwd", "climbs out with '..'"),
        ("./../outside.go", "climbs out with '..'"),
        ("example.com/lib/" + "x" * 200_000 + ".go", "is too long for a file name"),
        ("example.com/lib/x\tz.go", "holds control characters"),
    ],
    ids=["absolute", "drive", "dotdot", "dot-dotdot", "enametoolong", "control"],
)
def test_profiles_name_files_inside_the_repository_only(
    covered: tuple[GoRepo, Path],
    goci: Callable[..., GociRun],
    tmp_path: Path,
    name: str,
    problem: str,
) -> None:
    repo, _ = covered
    run = merge(goci, repo, tmp_path, f"mode: set\n{name}:1.1,2.2 1 1\n")
    line = refused(run, f"in/{tmp_path.name}/p.out:2: the file name ")
    assert problem in line
    assert len(line) < 400  # one readable line, not 200k characters
    assert not merged(repo, tmp_path).exists()


def test_a_profile_naming_a_go_file_outside_the_repository_is_refused(
    covered: tuple[GoRepo, Path], goci: Callable[..., GociRun], tmp_path: Path
) -> None:
    """A symbolic link inside a module that points out of the repository reads nothing."""
    repo, _ = covered
    outside = tmp_path / "outside.go"
    outside.write_text("package mathx\n\nfunc Secret() int { return 1 }\n")
    link = repo.root / "lib" / "mathx" / "secret.go"
    link.symlink_to(outside)
    try:
        run = merge(
            goci, repo, tmp_path, "mode: set\nexample.com/lib/mathx/secret.go:3.20,3.30 1 1\n"
        )
    finally:
        link.unlink()
    given = repo.root / "in" / tmp_path.name / "p.out"
    refused(run, f"{given}:2: example.com/lib/mathx/secret.go is not a file inside")
    assert str(merged(repo, tmp_path)) not in run.stderr


@pytest.mark.parametrize(
    ("sidecar", "message"),
    [
        ({"tags": 5}, "'tags' is 5, not a list of strings"),
        ({"commit": ["a"]}, "'commit' is [\"a\"], not a string"),
        ({"coverpkg": [1]}, "'coverpkg' is [1], not a list of strings"),
    ],
)
def test_a_sidecar_with_fields_of_the_wrong_type_is_refused(
    covered: tuple[GoRepo, Path],
    goci: Callable[..., GociRun],
    tmp_path: Path,
    sidecar: dict[str, object],
    message: str,
) -> None:
    repo, unsharded = covered
    work = repo.root / "in" / tmp_path.name
    work.mkdir(parents=True)
    (work / "p.out").write_text(unsharded.read_text())
    (work / "p.out.json").write_text(json.dumps(sidecar))
    env = actions_env(tmp_path / "gha", repo.env)
    run = goci("coverage", "merge", str(work), "--out=m.out", env=env, cwd=repo.root)
    refused(run, f"{work / 'p.out.json'}: {message}")
    assert re.search(r"remove it or run goci test again$", run.stderr.splitlines()[0])
