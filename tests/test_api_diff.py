"""``goci api-diff``: every kind of API change, classified by Go's own type checker.

One real repository, tagged v1.0.0, whose change touches a package in every way apidiff's
rules name (constants, variables, functions, fields, embedded structs, interfaces sealed and
not, method sets, generic types, type sets, comparability, implementations), adds a package,
deletes one, and changes a v0 module and a module that moves to /v2. The expected set of
changes is written out in full, so a missing and an extra report both fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from goci.api import compare
from goci.api.trees import overlay_fits, touched_folders
from goci.changed.diff import FileChange
from support.goci_run import GociRun
from support.gorepo import GoRepo

SHAPES_OLD = """
package shapes

const Max = 10
const Name = "shapes"

var Default = 1

func Area(w, h int) int { return w * h }
func Gone()             {}

type Point struct{ X, Y int }
type Inner struct{ Z int }
type Outer struct {
    Inner
    Label string
}
type Shape interface{ Area() int }
type Sealed interface {
    Area() int
    sealed()
}
type Box struct{ W, H int }

func (b Box) Area() int { return b.W * b.H }
func (b *Box) Grow()    {}
func (b Box) Describe() string { return "box" }

type List[T any] struct{ items []T }

func (l *List[T]) Push(v T) { l.items = append(l.items, v) }
func Map[T, U any](xs []T, f func(T) U) []U { return nil }
func Keys[K comparable, V any](m map[K]V) []K { return nil }

type Number interface{ ~int | ~float64 }
type Key struct{ A string }
type Pair[K comparable, V any] struct{ Key K }
"""
SHAPES_NEW = """
package shapes

const Max = 11
const Name = "shapes"

var Default = int64(1)

func Area(w, h, d int) int { return w * h * d }
func Added()               {}

type Point struct{ X, Y, Z int }
type Inner struct{ Z string }
type Outer struct {
    Inner
    Label string
}
type Shape interface {
    Area() int
    Perimeter() int
}
type Sealed interface {
    Area() int
    Perimeter() int
    sealed()
}
type Box struct{ W, H int }

func (b Box) Area() int  { return b.W * b.H }
func (b Box) Scale() Box { return b }
func (b Box) Describe(verbose bool) string { return "box" }

type List[T comparable] struct{ items []T }

func (l *List[T]) Push(v T) { l.items = append(l.items, v) }
func Map[T, U any](xs []T, f func(T) U) []U { return nil }
func Keys[K comparable, V any](m map[K]V, limit int) []K { return nil }

type Number interface{ ~int | ~float64 | ~int64 }
type Pair[K comparable, V any] struct {
    Key   K
    Value V
}
type Key struct {
    A string
    F func()
}
"""
SHAPES = "example.com/api/shapes"
EXPECTED = {
    SHAPES: {
        ("Max", "changed", False),
        ("Default", "changed", False),
        ("Area", "changed", False),
        ("Gone", "removed", False),
        ("Added", "added", True),
        ("Point.Z", "added", True),
        ("Inner.Z", "changed", False),
        ("Outer.Z", "changed", False),  # promoted from the embedded Inner
        ("Shape.Perimeter", "added", False),  # clients may implement Shape
        ("Sealed.Perimeter", "added", True),  # an unexported method: only embedding
        ("(*Box).Grow", "removed", False),
        ("Box.Scale", "added", True),
        ("Box.Describe", "changed", False),  # a method's signature
        ("Keys", "changed", False),  # a generic function's signature
        ("Pair.Value", "added", True),  # a field of a generic type...
        ("Pair", "changed", False),  # ...of type V (any): Pair is no longer comparable
        ("Box", "changed", False),  # no longer implements Shape
        ("List", "changed", False),  # type parameter any -> comparable
        ("Number", "changed", False),  # type set
        ("Key.F", "added", True),
        ("Key", "changed", False),  # no longer comparable
    },
    "example.com/api/fresh": {("New", "added", True), ("T", "added", True)},
    "example.com/api/legacy": {("Old", "removed", False)},
    "example.com/v0mod/lib": {("F", "changed", False)},
    "example.com/majr/v2/m": {("Drop", "removed", False)},
}


@pytest.fixture(scope="module")
def api_repo(
    tmp_path_factory: pytest.TempPathFactory, go_binary: Path, shared_go_dirs: dict[str, Path]
) -> tuple[GoRepo, str]:
    from support.gotools import hermetic_env

    repo = GoRepo(tmp_path_factory.mktemp("api") / "repo", hermetic_env(go_binary, shared_go_dirs))
    repo.module(".", "example.com/api")
    repo.write("shapes/shapes.go", SHAPES_OLD)
    repo.write("legacy/legacy.go", "package legacy\n\nfunc Old() {}\n")
    repo.write("internal/x/x.go", "package x\n\nfunc X() {}\n")
    repo.write("cmd/tool/main.go", "package main\n\nfunc main() {}\n")
    repo.module("v0mod", "example.com/v0mod")
    repo.write("v0mod/lib/lib.go", "package lib\n\nfunc F(a int) {}\n")
    repo.module("majr", "example.com/majr")
    repo.write("majr/m/m.go", "package m\n\nfunc Keep() {}\n\nfunc Drop() {}\n")
    base = repo.commit("v1")
    repo.git("tag", "v1.0.0")
    repo.git("tag", "majr/v1.0.0")
    repo.write("shapes/shapes.go", SHAPES_NEW)
    repo.delete("legacy/legacy.go")
    repo.write(
        "fresh/fresh.go", "package fresh\n\nfunc New() int { return 1 }\n\ntype T struct{}\n"
    )
    repo.write("internal/x/x.go", "package x\n\nfunc Y() {}\n")
    repo.write("cmd/tool/main.go", "package main\n\nfunc main() { println() }\n")
    repo.write("v0mod/lib/lib.go", "package lib\n\nfunc F(a, b int) {}\n")
    repo.module("majr", "example.com/majr/v2")
    repo.write("majr/m/m.go", "package m\n\nfunc Keep() {}\n")
    repo.commit("change")
    return repo, base


def test_every_kind_of_change_is_found_and_classified(
    api_repo: tuple[GoRepo, str], goci: Callable[..., GociRun], gha_env: dict[str, str]
) -> None:
    repo, base = api_repo
    run = goci("api-diff", "--base", base, "--json", env=gha_env, cwd=repo.root)
    assert run.code == 0, run.stderr
    out = run.json()
    found = {
        p["package"]: {(c["name"], c["change"], c["compatible"]) for c in p["changes"]}
        for p in out["packages"]
    }
    assert found == EXPECTED
    excused = {p["package"]: p["excused"] for p in out["packages"]}
    assert excused == {
        SHAPES: "",
        "example.com/api/fresh": "",
        "example.com/api/legacy": "",
        "example.com/v0mod/lib": "v0 module (no release tag)",
        "example.com/majr/v2/m": "new major version v2",
    }
    assert out["summary"] == {"compatible": 8, "breaking": 18, "blocking": 16}
    shapes = next(p for p in out["packages"] if p["package"] == SHAPES)
    area = next(c for c in shapes["changes"] if c["name"] == "Area")
    assert (area["old"], area["new"]) == (
        "func Area(w int, h int) int",
        "func Area(w int, h int, d int) int",
    )
    assert "### API: 8 compatible, 18 breaking" in run.summary
    assert (
        "`internal/x` (an internal package)" in run.summary
        and "`cmd/tool` (a main package)" in run.summary
    )

    failing = goci("api-diff", "--base", base, "--fail-on-breaking", env=gha_env, cwd=repo.root)
    assert failing.code == 1
    assert f"::error title=api-diff::{SHAPES}: 15 breaking API changes" in failing.stderr
    assert "example.com/v0mod/lib" not in failing.stderr.split("::error")[-1]


def test_only_excused_breaking_changes_pass_fail_on_breaking(
    api_repo: tuple[GoRepo, str],
    goci: Callable[..., GociRun],
    go_env: dict[str, str],
    tmp_path: Path,
) -> None:
    repo, _base = api_repo
    clone = GoRepo(tmp_path / "clone", go_env)
    clone.git("pull", "-q", str(repo.root), "main")
    clone.git("fetch", "-q", "--tags", str(repo.root))
    before = clone.head()
    clone.write("v0mod/lib/lib.go", "package lib\n\nfunc G() {}\n")
    clone.commit("v0 breaks")
    run = goci(
        "api-diff", "--base", before, "--fail-on-breaking", "--json", env=go_env, cwd=clone.root
    )
    assert run.code == 0, run.stderr
    assert run.json()["summary"] == {"compatible": 1, "breaking": 1, "blocking": 0}


def test_touched_folders_are_non_test_go_files_outside_testdata() -> None:
    changes = [
        FileChange("M", "a/a.go"),
        FileChange("M", "a/a_test.go"),
        FileChange("A", "b/testdata/x.go"),
        FileChange("D", "c/c.go"),
        FileChange("M", "README.md"),
        FileChange("M", "root.go"),
        FileChange("M", "_tools/t.go"),
    ]
    assert touched_folders(changes) == ["", "a", "c"]


def test_without_a_base_nothing_is_compared(
    api_repo: tuple[GoRepo, str], goci: Callable[..., GociRun], go_env: dict[str, str]
) -> None:
    repo, _base = api_repo
    run = goci("api-diff", "--json", env=go_env, cwd=repo.root)
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["summary"] == {"compatible": 0, "breaking": 0, "blocking": 0}


def test_a_go_only_change_reads_the_base_through_an_overlay_as_an_extraction_would(
    api_repo: tuple[GoRepo, str],
    goci: Callable[..., GociRun],
    go_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Modified, deleted and added packages, .go files only: the overlay path; the same
    answer as the full extraction of the merge base (the path a go.mod change takes)."""
    repo, _base = api_repo
    clone = GoRepo(tmp_path / "clone", go_env)
    clone.git("pull", "-q", str(repo.root), "main")
    clone.git("fetch", "-q", "--tags", str(repo.root))
    before = clone.head()
    clone.write("shapes/shapes.go", SHAPES_OLD)  # every change of the fixture, backwards
    clone.delete("fresh/fresh.go")
    clone.write("added/added.go", "package added\n\n// A is new.\nconst A = 1\n")
    clone.commit("go files only")
    argv = ("api-diff", "--base", before, "--json")
    inside = clone.root / "shapes"  # from a folder below the top, as working-directory does
    seen: list[bool] = []
    real = overlay_fits  # the function compare imported from trees and calls

    def fits_as_real(changes: Iterable[FileChange]) -> bool:
        seen.append(real(changes))
        return seen[-1]

    def never_fits(changes: Iterable[FileChange]) -> bool:
        seen.append(False)
        return False

    monkeypatch.setattr(compare, "overlay_fits", fits_as_real)
    overlaid = goci(*argv, env=go_env, cwd=inside)
    monkeypatch.setattr(compare, "overlay_fits", never_fits)
    extracted = goci(*argv, env=go_env, cwd=inside)
    assert seen == [True, False]
    assert overlaid.code == extracted.code == 0, overlaid.stderr + extracted.stderr
    assert overlaid.json() == extracted.json()
    found = {
        p["package"]: {(c["name"], c["change"]) for c in p["changes"]}
        for p in overlaid.json()["packages"]
    }
    assert found["example.com/api/fresh"] == {("New", "removed"), ("T", "removed")}
    assert found["example.com/api/added"] == {("A", "added")}
    assert ("Gone", "added") in found[SHAPES] and ("Added", "removed") in found[SHAPES]
    assert set(found) == {SHAPES, "example.com/api/fresh", "example.com/api/added"}
