"""One unit of work: one ``go test -json`` of a batch of packages of one module, one profile.

Plain ``go test ./...`` already runs packages in parallel (``-p``) and loads the package graph
once; one run per package would load it again for every package. So goci gives go a whole
batch (a module, or this shard's part of it: packages of one module share their -coverpkg)
and reads every package's verdict, tests, timing, coverage figure and build errors back out
of the event stream. ``-coverprofile`` with several packages writes one profile holding every
package's blocks, exactly what one plain run of the same packages writes.

In a go.work workspace the batch is the whole workspace, run in the go.work's folder, unless
the modules' -coverpkg differ (see :func:`one_workspace_batch`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from goci.gotest.events import Parsed, base_package, parse_stream, stderr_build_output
from goci.gotest.results import BuildError, Package, PackageResult, TestOptions
from goci.tools.gotool import Go
from goci.tools.workspace import Module, Workspace

_BUILD_LOCATION = re.compile(r"^([^\s:][^:]*\.go):(\d+)(?::\d+)?: (.*)$")
# go test stops each test binary at its own -timeout (10 minutes by default); the batch as a
# whole may take longer than one go call usually may, so its limit is the CI job's.
BATCH_TIMEOUT = 6 * 3600.0
# Windows limits a command line to 32,767 characters; a longer batch is cut in parts.
MAX_ARGS_CHARS = 24_000


@dataclass(frozen=True)
class Batch:
    """Packages tested by one ``go test``: listed ones, or patterns to expand.

    Of one module, run in its folder, or of several modules of a go.work, run in ``folder``.
    """

    modules: tuple[Module, ...]
    args: tuple[str, ...]  # import paths, or patterns as seen from the folder go runs in
    packages: tuple[Package, ...] = ()  # what was listed (empty: whatever go reports)
    folder: Path | None = None  # where go runs: the one module's folder unless set

    @property
    def cwd(self) -> Path:
        return self.folder or self.modules[0].dir

    @property
    def name(self) -> str:
        """The module's path, or ``workspace`` for several (profiles and errors name it)."""
        return self.modules[0].path if len(self.modules) == 1 else "workspace"

    def coverpkg(self, options: TestOptions) -> tuple[str, ...]:
        """The batch's -coverpkg: its module's; none for a batch of several modules, which
        :func:`one_workspace_batch` makes only where every module has none."""
        return options.coverpkg_for(self.modules[0].path) if len(self.modules) == 1 else ()


@dataclass(frozen=True)
class BatchResult:
    results: tuple[PackageResult, ...]
    profile: Path | None
    error: str = ""  # go failed, but not for any package it reported on
    strays: tuple[str, ...] = ()  # names go reported that are no package of the module
    broken_alone: tuple[str, ...] = ()  # packages whose own code (or test code) does not build
    runs: int = 1  # go test runs it took


def common_flags(options: TestOptions) -> list[str]:
    flags = []
    if options.race:
        flags.append("-race")
    if options.tags:
        flags.append("-tags=" + ",".join(options.tags))
    if options.timeout:
        flags.append("-timeout=" + options.timeout)
    if options.count is not None:
        flags.append(f"-count={options.count}")
    if options.parallel:
        flags.append(f"-p={options.parallel}")
    return flags


def go_test_args(batch: Batch, options: TestOptions, profile: Path | None) -> list[str]:
    args = ["test", "-json", *common_flags(options)]
    if options.run:
        args.append("-run=" + options.run)
    if profile is not None:
        args += [f"-covermode={options.mode}", f"-coverprofile={profile}"]
        coverpkg = batch.coverpkg(options)
        if coverpkg:
            args.append("-coverpkg=" + ",".join(coverpkg))
    return [*args, *batch.args]


def split_batch(batch: Batch, limit: int = MAX_ARGS_CHARS) -> list[Batch]:
    """The batch in parts whose arguments fit on one command line (usually just one part)."""
    parts: list[list[str]] = [[]]
    size = 0
    for arg in batch.args:
        if parts[-1] and size + len(arg) + 1 > limit:
            parts.append([])
            size = 0
        parts[-1].append(arg)
        size += len(arg) + 1
    if len(parts) == 1:
        return [batch]
    return [
        replace(
            batch,
            args=tuple(part),
            packages=tuple(p for p in batch.packages if p.import_path in set(part)),
        )
        for part in parts
    ]


def package_of(name: str, modules: Sequence[Module]) -> Package | None:
    """A package go reported on, placed by its import path in the folder of the module it
    belongs to (of nested modules, the innermost: the longest module path)."""
    best: Module | None = None
    for module in modules:
        if (name == module.path or name.startswith(module.path + "/")) and (
            best is None or len(module.path) > len(best.path)
        ):
            best = module
    if best is None:
        return None
    rel = name[len(best.path) + 1 :]
    return Package(name, best.dir / rel if rel else best.dir, best.path, best.dir, 0)


def _build_errors(text: str, cwd: Path) -> tuple[BuildError, ...]:
    errors = []
    for line in text.splitlines():
        match = _BUILD_LOCATION.match(line.strip())
        if match:
            path = Path(match.group(1))
            errors.append(
                BuildError(
                    path if path.is_absolute() else cwd / path, int(match.group(2)), match.group(3)
                )
            )
    return tuple(errors)


def _stderr_part(package: str, sections: Mapping[str, str]) -> str:
    """Go before 1.24: the package's own builds, else every package build that failed (one of
    them is the dependency that broke it; a test build breaks only its own package)."""
    own = [text for name, text in sections.items() if base_package(name) == package]
    return "".join(own or [text for name, text in sections.items() if " [" not in name])


def package_result(
    package: Package, parsed: Parsed, stderr_sections: Mapping[str, str], stderr: str, cwd: Path
) -> PackageResult:
    """One package's verdict: a build failure, a pass (a skip counts as one), a failure (also
    with every test passing, as a TestMain that exits non-zero does), or an error when go
    printed no verdict at all. ``cwd`` is where go ran: the compiler's file names are relative
    to it."""
    if parsed.build_failed:
        outcome = "build-fail"
    elif parsed.outcome in ("pass", "skip"):
        outcome = "pass"
    elif parsed.outcome == "fail":
        outcome = "fail"
    else:
        outcome = "error"
    build_output = parsed.build_output
    if outcome in ("build-fail", "error") and not build_output:
        build_output = _stderr_part(package.import_path, stderr_sections) or stderr
    return PackageResult(
        package=package,
        outcome=outcome,
        elapsed=parsed.elapsed,
        tests=parsed.tests,
        coverage=parsed.coverage,
        output=parsed.output,
        build_output=build_output,
        build_errors=_build_errors(build_output, cwd),
        coverage_of=parsed.coverage_of,
        cached=parsed.cached,
        ran=parsed.ran,
        finished=parsed.finished,
    )


def batch_results(batch: Batch, stdout: str, stderr: str, returncode: int) -> BatchResult:
    """Every package's result from one run's streams and exit code; pure, for recorded runs.

    Also the run's own error (go failed, yet no package it reported on did: its stderr, so the
    failure is never lost), the names go reported that are not packages of the module (a
    pattern go could not resolve) and the packages whose own code does not build.
    """
    parsed = parse_stream(stdout)
    sections = stderr_build_output(stderr)
    empty = Parsed("", (), "", "", "", False)
    packages: list[Package] = list(batch.packages)
    strays: list[str] = []
    if not packages:
        for name in parsed:
            found = package_of(name, batch.modules)
            if found is None:
                strays.append(name)
            else:
                packages.append(found)
    results = tuple(
        package_result(p, parsed.get(p.import_path, empty), sections, stderr, batch.cwd)
        for p in packages
    )
    alone = tuple(
        r.package.import_path
        for r in results
        if r.outcome == "build-fail"
        and (
            parsed.get(r.package.import_path, empty).own_build_failed
            or any(base_package(name) == r.package.import_path for name in sections)
        )
    )
    error = ""
    if returncode != 0 and all(r.ok for r in results):
        error = stderr.strip() or f"go test exited with status {returncode} and printed no error"
    return BatchResult(results, None, error, tuple(strays), alone)


def _has_blocks(profile: Path) -> bool:
    with profile.open("rb") as handle:
        handle.readline()  # the mode line
        return bool(handle.readline().strip())


def _run_once(go: Go, batch: Batch, options: TestOptions, profile: Path | None) -> BatchResult:
    result = go.run(
        *go_test_args(batch, options, profile),
        cwd=batch.cwd,
        check=False,
        timeout=BATCH_TIMEOUT,
    )
    return batch_results(batch, result.stdout, result.stderr, result.returncode)


def _retry_without_broken(
    go: Go, batch: Batch, options: TestOptions, first: BatchResult
) -> Batch | None:
    """The packages whose build a package that does not compile broke without their using it.

    With -coverpkg and several packages, go 1.22+ links every matched package into every test
    binary of the run, so one package that does not compile fails them all (``FailedBuild``
    names it), where a go test per package fails only the packages that import it. Those that
    neither are broken nor import a broken package (``go list`` says which) run again, in one
    go test: a package that does not take part in the run is built into none of its binaries.
    Its profile then lacks the broken packages' blocks, as a run per package would.
    """
    broken = set(first.broken_alone)
    victims = [
        r.package.import_path
        for r in first.results
        if r.outcome == "build-fail" and r.package.import_path not in broken
    ]
    if not broken or not victims or not batch.coverpkg(options):
        return None
    flags = ["-tags=" + ",".join(options.tags)] if options.tags else []
    listed = go.list_json(
        "-e",
        *flags,
        *victims,
        cwd=batch.cwd,
        fields="ImportPath,Deps,TestImports,XTestImports",
    )
    uses_broken = {
        str(item.get("ImportPath"))
        for item in listed
        if any(broken & set(item.get(key) or ()) for key in ("Deps", "TestImports", "XTestImports"))
    }
    if all(v in uses_broken for v in victims):
        return None  # each of them imports a broken package: the first run said it all
    rest = tuple(
        r.package for r in first.results if r.package.import_path not in broken | uses_broken
    )
    return replace(batch, args=tuple(p.import_path for p in rest), packages=rest)


def run_batch(go: Go, batch: Batch, options: TestOptions, profile: Path | None) -> BatchResult:
    """``go test -json`` of the batch; its coverage goes to ``profile`` (unique per run).

    When packages that do not build break the others' builds (see
    :func:`_retry_without_broken`), the others run again and that run's profile stands.
    """
    done = _run_once(go, batch, options, profile)
    retry = _retry_without_broken(go, batch, options, done) if profile is not None else None
    if retry is not None and profile is not None:
        profile.unlink(missing_ok=True)
        again = _run_once(go, retry, options, profile)
        redone = {r.package.import_path: r for r in again.results}
        done = BatchResult(
            tuple(redone.get(r.package.import_path, r) for r in done.results),
            None,
            again.error,
            done.strays + again.strays,
            done.broken_alone,
            runs=2,
        )
    kept: Path | None = None
    if profile is not None and profile.is_file():
        if _has_blocks(profile):
            kept = profile
        else:
            profile.unlink()
    return replace(done, profile=kept)


def module_batches(packages: Sequence[Package], modules: Sequence[Module]) -> list[Batch]:
    """Listed packages grouped into one batch per module (in the order given)."""
    by_dir = {m.dir: m for m in modules}
    groups: dict[Path, list[Package]] = {}
    for package in packages:
        groups.setdefault(package.module_dir, []).append(package)
    batches = []
    for folder, members in groups.items():
        module = by_dir.get(folder) or Module(members[0].module, folder)
        batches.append(Batch((module,), tuple(p.import_path for p in members), tuple(members)))
    return batches


def _seen_from(folder: Path, batch: Batch) -> list[str]:
    """The batch's arguments as go reads them in ``folder``: an import path as it is, a
    relative pattern (``./...``, ``./sub``) rebased from the folder the batch ran in."""
    args = []
    for arg in batch.args:
        if arg.startswith("."):
            tree = arg.endswith("...")
            target = os.path.normpath(batch.cwd / (arg.removesuffix("...").rstrip("/") or "."))
            try:
                rel = os.path.relpath(target, folder).replace(os.sep, "/")
                arg = "." if rel == "." else f"./{rel}"
            except ValueError:  # on another drive (Windows): go takes the folder as it is
                arg = target
            arg += "/..." if tree else ""
        args.append(arg)
    return args


def one_workspace_batch(
    batches: Sequence[Batch], workspace: Workspace, options: TestOptions
) -> list[Batch]:
    """The batches as one, run in the go.work's folder, where a go.work is in effect and no
    module has a -coverpkg of its own.

    go then loads the package graph once and schedules every package ``-p`` at a time, in
    the order given (a shard's slowest first); a run per module loads it once per module, and
    two such runs at once crowd
    the same cores (the worst case of bench/pipeline.py, 198 packages in 6 modules: 18.5 s in
    one go test, 21 s in six). A package's result and its blocks in the profile do not depend
    on the run it was in. With -coverpkg, each module's packages share a list of their own, so
    each module keeps a run.
    """
    if workspace.gowork is None or len(batches) < 2 or any(b.coverpkg(options) for b in batches):
        return list(batches)
    folder = workspace.gowork.parent
    return [
        Batch(
            tuple(m for b in batches for m in b.modules),
            tuple(arg for b in batches for arg in _seen_from(folder, b)),
            tuple(p for b in batches for p in b.packages),
            folder,
        )
    ]
