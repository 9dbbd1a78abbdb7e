"""The default branch's coverage baseline, as ``goci coverage merge`` reads, compares and
writes it (the rules themselves live in :mod:`goci.coverage.baseline`).

A summary that will be read as a baseline says which packages of the modules in use it has no
numbers for (``unmeasured``): goci tests only what a change reaches, so the first
default-branch run with a base measures a few packages, and the rest fill in as later runs test
them. Without the list, a package measured for the first time would look new to the next
pull request, and its figure would move the total by what nobody changed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from goci.command import Context
from goci.commands._shared import StoreOptions, opened_store
from goci.coverage import baseline as baselines
from goci.coverage.merge import MergeResult
from goci.coverage.report import CoverageReport, fmt
from goci.errors import GociError, InputError
from goci.gotest.listing import list_packages
from goci.runtime import counted
from goci.tools.atomic import write_atomic
from goci.tools.workspace import discover

if TYPE_CHECKING:
    from goci.commands._review import Review, ReviewOptions


def _branch(opts: ReviewOptions, ctx: Context) -> str:
    return opts.baseline_branch or ctx.ci.event.default_branch or "main"


def _store_options(opts: ReviewOptions) -> StoreOptions:
    return StoreOptions(store=opts.baseline_store, endpoint_url=opts.endpoint_url)


def _load(opts: ReviewOptions, ctx: Context) -> tuple[baselines.Summary | None, str]:
    """The baseline from the store first, then the file; and where it came from."""
    if opts.baseline_store:
        try:
            with opened_store(_store_options(opts), ctx) as store:
                found = baselines.read_store(store, _branch(opts, ctx))
            if found is not None:
                return found, f"{opts.baseline_store} ({_branch(opts, ctx)})"
        except InputError:
            raise
        except GociError as exc:
            ctx.runtime.warning(f"baseline store not readable: {str(exc).splitlines()[0]}")
    if opts.baseline:
        path = ctx.path(opts.baseline)
        if path.is_file():
            return baselines.parse_summary(path.read_bytes(), str(path)), opts.baseline
    return None, ""


def _exists(ctx: Context) -> Callable[[str], bool]:
    """Whether a package's folder still holds Go files (found through the modules in use)."""
    modules = sorted(discover(ctx.cwd, ctx.go).modules, key=lambda m: -len(m.path))

    @functools.cache
    def exists(package: str) -> bool:
        for module in modules:
            if package == module.path or package.startswith(module.path + "/"):
                folder = module.dir / package[len(module.path) :].lstrip("/")
                return folder.is_dir() and any(folder.glob("*.go"))
        return True  # not a module in use here: nothing says it is gone

    return exists


def _in_use(ctx: Context) -> frozenset[str]:
    """Every package of the modules in use (what a summary could have numbers for); go-ci.yml's
    report job restores no build cache, hence :meth:`Go.lister`."""
    return frozenset(
        p.import_path for p in list_packages(ctx.cwd, ctx.go.lister(cwd=ctx.cwd), None)
    )


def _note_first_measured(review: Review, delta: baselines.Delta) -> None:
    """Name the packages left out of the change, so that a reader who sees a package's figure
    in the table but not in the change knows why."""
    if delta.first_measured:
        review.baseline_note += (
            f"; {counted(len(delta.first_measured), 'package')} measured for the first time "
            f"(the baseline had no numbers for them yet) left out of the change: "
            + ", ".join(delta.first_measured[:10])
            + (", ..." if len(delta.first_measured) > 10 else "")
        )


def summarize(
    opts: ReviewOptions, ctx: Context, cov: CoverageReport, merged: MergeResult, review: Review
) -> None:
    """This run's coverage-summary.json, the change against the baseline, and the save."""
    git = ctx.git
    head = git.resolve("HEAD") if git.toplevel_or_none() else None
    current = baselines.summary_of(
        cov,
        merged.inputs,
        commit=head or (merged.commits[0] if merged.commits else ""),
        commit_time=git.commit_time(head) if head else 0,
        go_version=merged.go_versions[0] if merged.go_versions else "",
    )
    found, where = _load(opts, ctx)
    tested = baselines.tested_packages(merged.inputs)
    other_scope = found is not None and not baselines.comparable(current, found)
    if found is not None and other_scope:
        review.baseline_note = (
            f"the baseline ({where} at {found.commit[:12] or '?'}) counts "
            f"{baselines.SCOPES[found.scope]}, this run {baselines.SCOPES[current.scope]}: "
            "not compared, nor mixed into this run's numbers"
        )
        review.baseline_mark, found = "baseline not comparable", None
    summary = baselines.effective(current, found, tested, _exists(ctx))
    review.total = fmt(summary.percent)
    if found is not None:
        review.delta = baselines.compare(summary, found)
        review.baseline_note = f"against {where} at {found.commit[:12] or '?'}"
        _note_first_measured(review, review.delta)
    elif not other_scope:
        review.baseline_note = "no baseline found (the default branch keeps one after its next run)"
    if not (opts.summary_json or opts.save_baseline):
        return
    # Only a run that says which packages it tested can leave packages without numbers.
    in_use = _in_use(ctx) if tested is not None else frozenset()
    summary = baselines.with_unmeasured(summary, in_use)
    # A summary that replaces the baseline (saved, or written over its file) must not hold
    # only the tested packages of a new scope: the others would have no numbers at all.
    untested = len(in_use - tested) if other_scope and tested is not None else 0
    kept = (
        f"the baseline is kept: a summary of this run would lack {counted(untested, 'package')} "
        "it did not test; the first default-branch run that tests every package (no base) "
        "replaces it"
    )
    if opts.summary_json:
        target = ctx.workspace_path("summary-json", opts.summary_json)
        if untested and opts.baseline and target == ctx.path(opts.baseline):
            ctx.runtime.warning(kept)
        else:
            write_atomic(target, summary.encoded())
    if opts.save_baseline:
        if not opts.baseline_store:
            raise InputError("--save-baseline: needs --baseline-store, the store to keep it in")
        if untested:
            ctx.runtime.warning(kept)
            return
        with opened_store(_store_options(opts), ctx) as store:
            ctx.runtime.log("baseline " + baselines.save_store(store, summary, _branch(opts, ctx)))
