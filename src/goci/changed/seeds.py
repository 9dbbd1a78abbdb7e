"""Why a package is listed: each starting point of the propagation with the file that put it there.

The analysis first collects seeds (packages whose own files changed, tests that read a changed
file, dependency moves, "everything" with its reason) and only then walks the graph; keeping
the seeds apart makes the first reason recorded for a package the one a person reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reason:
    """Why a package is listed: the first changed file and the import chain that reached it."""

    file: str
    via: tuple[str, ...]
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "via": list(self.via)}
        if self.note:
            out["note"] = self.note
        return out

    def text(self) -> str:
        chain = " -> ".join(self.via)
        note = f" [{self.note}]" if self.note else ""
        return f"{self.file}{note}: {chain}" if chain else f"{self.file}{note}"


@dataclass(frozen=True)
class DepMove:
    """Dependencies whose version moved in one build list, and the main modules built with it:
    only their packages link what that list selects."""

    mains: frozenset[str]
    moved: Mapping[str, Reason]  # dependency module path -> why


@dataclass
class Seeds:
    """Starting points of the propagation, each with its reason (first one wins)."""

    build: dict[str, Reason] = field(default_factory=dict)
    tests: dict[str, Reason] = field(default_factory=dict)
    all_reasons: list[str] = field(default_factory=list)
    everything: bool = False
    whole_modules: dict[str, Reason] = field(default_factory=dict)
    dep_moves: list[DepMove] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    vendored: set[str] = field(default_factory=set)

    def add_build(self, pkg: str, reason: Reason) -> None:
        self.build.setdefault(pkg, reason)

    def add_vendored(self, pkg: str, reason: Reason) -> None:
        """A patched vendored copy of ``pkg``: a build change for its importers, while ``pkg``
        itself (vendored, or a local module of the same path) is no package to test for it."""
        if pkg not in self.build:
            self.vendored.add(pkg)
        self.add_build(pkg, reason)

    @property
    def unlisted(self) -> set[str]:
        """Seeds that only carry a change to their importers: never listed themselves."""
        return self.vendored - set(self.tests)

    def add_tests(self, pkg: str, reason: Reason) -> None:
        self.tests.setdefault(pkg, reason)

    def all_of(self, why: str) -> None:
        """Everything in the workspace runs."""
        self.everything = True
        self._note(why)

    def module_all(self, module: str, reason: Reason) -> None:
        """Everything in one module (and what depends on it) runs."""
        self.whole_modules.setdefault(module, reason)
        self._note(reason.note)

    def _note(self, why: str) -> None:
        if why not in self.all_reasons:
            self.all_reasons.append(why)

    @property
    def all(self) -> bool:
        return self.everything or bool(self.whole_modules)
