"""Coverage minimums: for the total, per package, and per file or package by glob.

A miss is a verdict (exit 1) whose message names what fell short, by how much, and against
which minimum, so a failing job says what to fix.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from goci.coverage.report import CoverageReport, fmt
from goci.errors import InputError


@dataclass(frozen=True)
class Threshold:
    glob: str
    minimum: float


@dataclass(frozen=True)
class Shortfall:
    kind: str  # "total" | "package" | "file"
    name: str
    actual: float
    required: float

    @property
    def message(self) -> str:
        what = "total coverage" if self.kind == "total" else f"{self.kind} {self.name}"
        gap = self.required - self.actual
        return (
            f"{what}: {fmt(self.actual)}% is below the required {fmt(self.required)}% "
            f"(short by {fmt(gap) if gap >= 0.05 else f'{gap:.2f}'} points)"
        )


def parse_threshold(text: str, name: str = "--threshold") -> Threshold:
    """``GLOB=PERCENT`` (``example.com/m/internal/*=60``) -> a per-path minimum."""
    glob, sep, value = text.rpartition("=")
    try:
        minimum = float(value.strip().rstrip("%"))
    except ValueError:
        minimum = -1.0
    if not sep or not glob.strip() or not 0 <= minimum <= 100:
        raise InputError(
            f"{name}: {text!r} is not valid; use GLOB=PERCENT, e.g. 'example.com/m/internal/*=60'"
        )
    return Threshold(glob.strip(), minimum)


def check_thresholds(
    cov: CoverageReport,
    *,
    min_total: float | None = None,
    min_package: float | None = None,
    overrides: Sequence[Threshold] = (),
) -> tuple[Shortfall, ...]:
    """Every minimum that was missed: the total, each package, and files or packages by glob.

    A package matched by an override glob uses the override's minimum instead of
    ``min_package`` (the last matching glob wins); a file matched by a glob must meet it too.
    """
    short: list[Shortfall] = []
    if min_total is not None and cov.percent < min_total and _real(cov.statements):
        short.append(Shortfall("total", "", cov.percent, min_total))
    for package in cov.packages:
        required = min_package
        for rule in overrides:
            if fnmatch.fnmatchcase(package.package, rule.glob):
                required = rule.minimum
        if required is not None and package.statements and package.percent < required:
            short.append(Shortfall("package", package.package, package.percent, required))
    for file in cov.files:
        rules = [r for r in overrides if fnmatch.fnmatchcase(file.file, r.glob)]
        if rules and file.statements and file.percent < rules[-1].minimum:
            short.append(Shortfall("file", file.file, file.percent, rules[-1].minimum))
    return tuple(short)


def _real(statements: int) -> bool:
    return statements > 0
