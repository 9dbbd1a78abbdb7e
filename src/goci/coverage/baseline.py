"""The coverage a default-branch run leaves for later runs, and the change against it.

A run on the default branch keeps its per-package numbers as ``coverage-summary.json``
(total, per package, per file, commit, Go version); a pull request compares its own numbers
with it. goci tests only the packages a change can reach, so a run's profile measures those
packages completely (every test that can run their code ran) and the others not at all: the
numbers of a run are therefore its own for the packages it tested and the baseline's for the
rest. Saved that way, the baseline stays complete across affected-only runs, and a pull
request's total moves only by what its change did.

That holds only between numbers counted the same way, so a summary records its scope: with
-coverpkg a package's statements count as covered when any package's tests run them, without
it only when its own tests do (``go test -cover``), and the same code reads higher. A baseline
of another scope (or of none recorded: goci's default was -coverpkg before it wrote one) is
neither mixed into a run's numbers nor compared with them.

Affected-only runs also mean that the first summary a default branch keeps has numbers for the
packages its run tested and no others; the rest fill in as later runs test them. A summary
lists the packages it has no numbers for yet (``unmeasured``), so that a package measured for
the first time is not taken for a new one: it is left out of both sides of the change.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from goci.coverage.merge import Input
from goci.coverage.report import CoverageReport, percent
from goci.errors import InputError
from goci.release.stores import ConflictError, Store

SUMMARY_NAME = "coverage-summary.json"
FORMAT = 1
# A summary's "scope": how its numbers were counted ("" when it does not say).
SCOPES = {
    "own": "each package's own statements run by its own tests (go test -cover)",
    "coverpkg": "statements run by any package's tests (-coverpkg)",
    "": "a way it does not record (no goci sidecars, or written before goci recorded it)",
}
# What a package's figure in a merged report counts, by scope (the report's "per package" line).
PER_PACKAGE = {
    "own": "its own statements, covered by its own tests",
    "coverpkg": "its own statements, covered by any package's tests",
    "": "its own statements, covered as the profiles count them",
}


@dataclass(frozen=True)
class Counts:
    statements: int
    covered: int

    @property
    def percent(self) -> float:
        return percent(self.covered, self.statements)


@dataclass(frozen=True)
class Summary:
    """A run's coverage per package and file, and where it came from."""

    commit: str
    commit_time: int  # committer time: a later commit's baseline replaces an earlier one
    go_version: str
    packages: Mapping[str, Counts]
    files: Mapping[str, Counts]
    scope: str = ""  # a key of SCOPES
    # Packages of the modules in use it has no numbers for: none of its runs tested them yet.
    unmeasured: tuple[str, ...] = ()

    @property
    def statements(self) -> int:
        return sum(c.statements for c in self.packages.values())

    @property
    def covered(self) -> int:
        return sum(c.covered for c in self.packages.values())

    @property
    def percent(self) -> float:
        return percent(self.covered, self.statements)

    def to_json(self) -> dict[str, Any]:
        def table(items: Mapping[str, Counts]) -> dict[str, Any]:
            return {
                name: {"statements": c.statements, "covered": c.covered}
                for name, c in sorted(items.items())
            }

        return {
            "format": FORMAT,
            "commit": self.commit,
            "commit_time": self.commit_time,
            "go_version": self.go_version,
            "scope": self.scope,
            "total": round(self.percent, 1),
            "statements": self.statements,
            "covered": self.covered,
            "packages": table(self.packages),
            "files": table(self.files),
            "unmeasured": sorted(self.unmeasured),
        }

    def encoded(self) -> bytes:
        return (json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n").encode()


def _counts(value: Any, where: str) -> Counts:
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("statements"), int)
        or not isinstance(value.get("covered"), int)
        or not 0 <= value["covered"] <= value["statements"]
    ):
        raise ValueError(f"{where} is not {{statements, covered}} with 0 <= covered <= statements")
    return Counts(value["statements"], value["covered"])


def parse_summary(data: bytes, source: str) -> Summary:
    """A coverage-summary.json read back; anything else is one InputError naming ``source``."""
    try:
        obj = json.loads(data)
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise ValueError(f"not a goci coverage summary of format {FORMAT}")
        tables = {}
        for kind in ("packages", "files"):
            items = obj.get(kind)
            if not isinstance(items, dict):
                raise ValueError(f"{kind!r} is not an object")
            tables[kind] = {str(k): _counts(v, f"{kind}[{k!r}]") for k, v in items.items()}
        unmeasured = obj.get("unmeasured", [])
        if not isinstance(unmeasured, list) or not all(isinstance(u, str) for u in unmeasured):
            raise ValueError("'unmeasured' is not a list of package paths")
        scope = obj.get("scope", "")
        if scope not in SCOPES:
            raise ValueError(f"'scope' is {scope!r}, not one of {', '.join(map(repr, SCOPES))}")
        return Summary(
            commit=str(obj.get("commit", "")),
            commit_time=int(obj.get("commit_time") or 0),
            go_version=str(obj.get("go_version", "")),
            packages=tables["packages"],
            files=tables["files"],
            scope=scope,
            unmeasured=tuple(unmeasured),
        )
    except (ValueError, TypeError, RecursionError) as exc:
        raise InputError(
            f"{source}: not a readable {SUMMARY_NAME} ({exc}); goci coverage merge writes "
            "it: remove it, and the next default-branch run writes a new one"
        ) from None


def summary_of(
    report: CoverageReport,
    inputs: Sequence[Input],
    *,
    commit: str,
    commit_time: int,
    go_version: str,
) -> Summary:
    return Summary(
        commit=commit,
        commit_time=commit_time,
        go_version=go_version,
        packages={p.package: Counts(p.statements, p.covered) for p in report.packages},
        files={f.file: Counts(f.statements, f.covered) for f in report.files},
        scope=scope_of(inputs),
    )


def scope_of(inputs: Sequence[Input]) -> str:
    """How the merged profiles were counted: "" when one does not say or they disagree."""
    scopes = set()
    for item in inputs:
        if item.kind == "shard":
            continue
        if item.sidecar is None:
            return ""
        scopes.add("coverpkg" if item.sidecar.coverpkg else "own")
    return scopes.pop() if len(scopes) == 1 else ""


def tested_packages(inputs: Sequence[Input]) -> frozenset[str] | None:
    """The packages whose tests made the inputs; None when an input does not say."""
    packages: set[str] = set()
    for item in inputs:
        if item.kind == "shard":
            continue
        # one profile per package (its package) or per go test run (the packages it ran)
        sidecar = item.sidecar
        named = (sidecar.package,) if sidecar and sidecar.package else ()
        if sidecar is None or not (named or sidecar.packages):
            return None
        packages.update(named or sidecar.packages)
    return frozenset(packages)


def comparable(current: Summary, baseline: Summary) -> bool:
    """Whether the two were counted the same way: only then may they be compared or mixed."""
    return current.scope == baseline.scope


def effective(
    current: Summary,
    baseline: Summary | None,
    tested: frozenset[str] | None,
    exists: Callable[[str], bool],
) -> Summary:
    """This run's numbers for the packages it tested, the baseline's for every other one.

    A baseline counted another way is not mixed in (the numbers would mean nothing).

    ``tested`` None means the run measured everything it lists (plain profiles say nothing of
    which tests ran). A baseline package absent from this run is kept while it ``exists``.
    """
    if baseline is None or tested is None or not comparable(current, baseline):
        return current
    kept = {
        name
        for name in baseline.packages
        if name not in tested and (name in current.packages or exists(name))
    }
    packages = {n: c for n, c in current.packages.items() if n not in kept}
    packages.update((n, baseline.packages[n]) for n in kept)
    files = {n: c for n, c in current.files.items() if posixpath.dirname(n) not in kept}
    files.update((n, c) for n, c in baseline.files.items() if posixpath.dirname(n) in kept)
    return replace(current, packages=packages, files=files)


def with_unmeasured(summary: Summary, in_use: frozenset[str]) -> Summary:
    """``summary`` listing the packages of ``in_use`` it has no numbers for."""
    return replace(summary, unmeasured=tuple(sorted(in_use - set(summary.packages))))


def _without(summary: Summary, packages: frozenset[str]) -> Summary:
    """``summary`` without the numbers of ``packages`` (nor of their files)."""
    return replace(
        summary,
        packages={n: c for n, c in summary.packages.items() if n not in packages},
        files={n: c for n, c in summary.files.items() if posixpath.dirname(n) not in packages},
    )


@dataclass(frozen=True)
class PackageDelta:
    package: str
    before: Counts | None  # None: a new package
    after: Counts | None  # None: gone

    @property
    def points(self) -> float:
        """The change in percentage points (a gone package counts as dropping to 0)."""
        old = self.before.percent if self.before else 0.0
        new = self.after.percent if self.after else 0.0
        return new - old


@dataclass(frozen=True)
class Delta:
    baseline: Summary
    current: Summary  # this run's numbers, less those of first_measured
    packages: tuple[PackageDelta, ...]  # only the packages whose numbers changed, worst first
    # Packages the baseline listed as unmeasured that this run has numbers for: not a change.
    first_measured: tuple[str, ...] = ()

    @property
    def points(self) -> float:
        return round(self.current.percent, 1) - round(self.baseline.percent, 1)


def compare(current: Summary, baseline: Summary) -> Delta:
    """Total and per-package change; unchanged packages are left out, drops come first.

    A package the baseline lists as unmeasured is left out of both sides: it existed, and its
    numbers appearing now changes nothing (a package the baseline did not know at all is new,
    and its numbers count). Only summaries counted the same way compare (:func:`comparable`):
    anything else is a ValueError, a caller's mistake.
    """
    if not comparable(current, baseline):
        raise ValueError(f"compare: scopes {current.scope!r} and {baseline.scope!r} differ")
    first = frozenset(current.packages) & frozenset(baseline.unmeasured)
    current = _without(current, first)
    changed = []
    for name in sorted(set(current.packages) | set(baseline.packages)):
        before, after = baseline.packages.get(name), current.packages.get(name)
        if before != after:
            changed.append(PackageDelta(name, before, after))
    changed.sort(key=lambda d: (d.points, d.package))
    return Delta(baseline, current, tuple(changed), tuple(sorted(first)))


def store_key(branch: str) -> str:
    """Under ``dev/``: the credentials that may write dev releases may write this too."""
    return f"dev/.goci-coverage/{branch}/{SUMMARY_NAME}"


def read_store(store: Store, branch: str) -> Summary | None:
    found = store.read(store_key(branch))
    return parse_summary(found[0], store.location(store_key(branch))) if found else None


def save_store(store: Store, summary: Summary, branch: str, attempts: int = 5) -> str:
    """Write ``summary`` as the branch's baseline unless a later commit's is already there.

    Two default-branch runs may finish at once: each write is conditional on what it read,
    and a writer that lost re-reads and decides again, so the later commit's numbers stay.
    """
    key = store_key(branch)
    for _ in range(attempts):
        found = store.read(key)
        if found is not None:
            there = parse_summary(found[0], store.location(key))
            if there.commit_time > summary.commit_time:
                return f"kept {there.commit[:12]}: a later commit's baseline is already there"
        try:
            if found is None:
                store.put_bytes(key, summary.encoded(), if_absent=True)
            else:
                store.put_bytes(key, summary.encoded(), if_match=found[1])
        except ConflictError:
            continue
        return f"saved to {store.location(key)}"
    return f"not saved: {key} kept changing under {attempts} attempts"
