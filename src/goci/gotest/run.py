"""Run Go tests one package per unit, several units at once, each with its own coverage.

One ``go test -json`` per package gives every package its own profile file (named uniquely, so
a rerun or a second invocation never overwrites another's), its own timing for the next
sharding, and a failure that names its package. ``-coverpkg`` defaults to the packages of the
package's own module, so code exercised from another package counts, and packages without
tests are run too (Go 1.22+ then reports their statements as uncovered), which is what makes
the merged total equal the total of one unsharded ``go test -coverpkg`` run.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from goci.coverprofile import Sidecar, write_shard_marker, write_sidecar
from goci.errors import InputError
from goci.gotest import shards as sharding
from goci.tools.gittool import Git
from goci.tools.gotool import Go
from goci.tools.workspace import Module, Workspace, discover

Log = Callable[[str], None]

_TEST_FUNC = re.compile(r"^func\s+(?:Test|Example|Fuzz)\w*\s*\(", re.MULTILINE)
_FAIL_LOCATION = re.compile(r"^\s+([\w./\\-]+\.go):(\d+): ?(.*)$")
_BUILD_LOCATION = re.compile(r"^([^\s:][^:]*\.go):(\d+)(?::\d+)?: (.*)$")
_COVERAGE = re.compile(r"coverage: ([\d.]+%|\[no statements\])")
_LIST_FIELDS = "ImportPath,Dir,Name,TestGoFiles,XTestGoFiles,GoFiles,Module,Error"


@dataclass(frozen=True)
class Package:
    """One unit of work: a package to test, and the module it belongs to."""

    import_path: str
    dir: Path
    module: str
    module_dir: Path
    test_count: int


@dataclass(frozen=True)
class TestOptions:
    """What is passed through to ``go test``; ``coverpkg=()`` means "the package's module"."""

    coverpkg: tuple[str, ...] = ()
    covermode: str = ""
    race: bool = False
    tags: tuple[str, ...] = ()
    timeout: str = ""
    run: str = ""
    count: int | None = None
    parallel: int = 0
    rerun_fails: int = 0

    @property
    def mode(self) -> str:
        return self.covermode or ("atomic" if self.race else "set")

    def coverpkg_for(self, package: Package) -> tuple[str, ...]:
        if not self.coverpkg:
            return (f"{package.module}/...",)
        if self.coverpkg == ("self",):
            return ()
        return self.coverpkg

    def describe_coverpkg(self) -> str:
        if not self.coverpkg:
            return "each package's own module (-coverpkg=<module>/...)"
        if self.coverpkg == ("self",):
            return "each package's own statements only (no -coverpkg)"
        return "-coverpkg=" + ",".join(self.coverpkg)


@dataclass(frozen=True)
class TestCase:
    package: str
    name: str
    outcome: str  # "pass" | "fail" | "skip"
    elapsed: float
    output: str
    file: str = ""  # as Go printed it, relative to the package folder
    line: int = 0
    message: str = ""
    flaky: bool = False
    attempts: int = 1

    @property
    def top(self) -> str:
        return self.name.split("/", 1)[0]


@dataclass(frozen=True)
class BuildError:
    path: Path
    line: int
    message: str


@dataclass(frozen=True)
class PackageResult:
    package: Package
    outcome: str  # "pass" | "fail" | "build-fail" | "error"
    elapsed: float
    tests: tuple[TestCase, ...]
    coverage: str
    profile: Path | None
    output: str = ""
    build_output: str = ""
    build_errors: tuple[BuildError, ...] = ()

    @property
    def failed_tests(self) -> tuple[TestCase, ...]:
        """Failing tests that have no failing subtest (the ones to annotate)."""
        failed = [t for t in self.tests if t.outcome == "fail"]
        names = {t.name for t in failed}
        return tuple(t for t in failed if not any(n.startswith(t.name + "/") for n in names))

    @property
    def flaky_tests(self) -> tuple[TestCase, ...]:
        return tuple(t for t in self.tests if t.flaky)

    @property
    def ok(self) -> bool:
        return self.outcome == "pass"


@dataclass(frozen=True)
class TestRun:
    """Everything one ``goci test`` did."""

    results: tuple[PackageResult, ...]
    shard: sharding.Shard
    shard_by: str
    all_packages: int
    profile_dir: Path
    options: TestOptions
    timings_used: bool = False

    @property
    def passed(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> tuple[TestCase, ...]:
        return tuple(t for r in self.results for t in r.failed_tests)

    @property
    def flaky(self) -> tuple[TestCase, ...]:
        return tuple(t for r in self.results for t in r.flaky_tests)

    @property
    def broken(self) -> tuple[PackageResult, ...]:
        """Packages that did not build or could not run at all."""
        return tuple(r for r in self.results if r.outcome in ("build-fail", "error"))

    @property
    def test_count(self) -> int:
        return sum(1 for r in self.results for t in r.tests if "/" not in t.name)

    @property
    def profiles(self) -> tuple[Path, ...]:
        return tuple(r.profile for r in self.results if r.profile is not None)


# ---- which packages -----------------------------------------------------------------------


def _count_tests(folder: Path, files: Iterable[str]) -> int:
    total = 0
    for name in files:
        try:
            text = (folder / name).read_bytes().decode("utf-8", "replace")  # go says if invalid
            total += len(_TEST_FUNC.findall(text))
        except OSError:
            continue
    return total


def _package(item: Mapping[str, Any], workspace: Workspace) -> Package | None:
    folder = Path(item.get("Dir") or "")
    module_info = item.get("Module") or {}
    module: Module | None = None
    if module_info.get("Dir"):
        module = Module(str(module_info["Path"]), Path(module_info["Dir"]))
    elif item.get("Dir"):
        module = workspace.module_for(folder)
    if module is None or not item.get("Dir"):
        return None
    tests = [*(item.get("TestGoFiles") or []), *(item.get("XTestGoFiles") or [])]
    return Package(
        str(item["ImportPath"]), folder, module.path, module.dir, _count_tests(folder, tests)
    )


def _modules_of_pattern(pattern: str, workspace: Workspace, root: Path) -> list[tuple[Module, str]]:
    """A ``./dir/...`` above the modules (a go.work root) means every module below it."""
    if pattern.startswith(".") and pattern.endswith("/..."):
        folder = (root / pattern[: -len("/...")]).resolve()
        if workspace.module_for(folder) is None:
            below = [m for m in workspace.modules if folder in m.dir.parents]
            if below:
                return [(m, "./...") for m in below]
    return [_module_of_pattern(pattern, workspace, root)]


def _module_of_pattern(pattern: str, workspace: Workspace, root: Path) -> tuple[Module, str]:
    """The module a --packages entry belongs to, and the entry as seen from that module."""
    if pattern.startswith((".", "/")):
        base = pattern[: -len("/...")] if pattern.endswith("/...") else pattern
        folder = (root / base).resolve()
        module = workspace.module_for(folder)
        if module is None:
            raise InputError(
                f"--packages: {pattern!r} is not in any module in use; modules: "
                + ", ".join(m.path for m in workspace.modules)
            )
        rel = os.path.relpath(folder, module.dir).replace(os.sep, "/")
        local = "./" + ("" if rel == "." else rel)
        return module, (local.rstrip("/") or ".") + ("/..." if pattern.endswith("/...") else "")
    best: Module | None = None
    for module in workspace.modules:
        if (pattern == module.path or pattern.startswith(module.path + "/")) and (
            best is None or len(module.path) > len(best.path)
        ):
            best = module
    if best is None:
        raise InputError(
            f"--packages: {pattern!r} is not in any module in use; accepted: import paths or "
            "./folders of the modules " + ", ".join(m.path for m in workspace.modules)
        )
    return best, pattern


def list_packages(
    root: Path, go: Go, patterns: Sequence[str] | None, *, tags: Sequence[str] = ()
) -> list[Package]:
    """The packages to test: ``./...`` of every module in use, or exactly ``patterns``."""
    workspace = discover(root, go)
    jobs: dict[Path, tuple[Module, list[str]]] = {}
    if patterns is None:
        for module in workspace.modules:
            jobs[module.dir] = (module, ["./..."])
    else:
        for pattern in patterns:
            for module, local in _modules_of_pattern(pattern, workspace, root):
                jobs.setdefault(module.dir, (module, []))[1].append(local)
    flags = ["-tags=" + ",".join(tags)] if tags else []
    found: dict[str, Package] = {}
    for module, args in jobs.values():
        for item in go.list_json("-e", *flags, *args, cwd=module.dir, fields=_LIST_FIELDS):
            if item.get("Error") and not (item.get("Dir") and Path(item["Dir"]).is_dir()):
                raise InputError(
                    f"--packages: {item.get('ImportPath')!r} cannot be tested: "
                    f"{item['Error'].get('Err', '').strip()}"
                )
            package = _package(item, workspace)
            if package is not None:
                found.setdefault(package.import_path, package)
    return sorted(found.values(), key=lambda p: p.import_path)


# ---- one unit -----------------------------------------------------------------------------


@dataclass
class _TestState:
    outcome: str = ""
    elapsed: float = 0.0
    output: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Parsed:
    """What one ``go test -json`` said about one package."""

    outcome: str
    tests: tuple[TestCase, ...]
    coverage: str
    output: str
    build_output: str
    build_failed: bool


def parse_events(text: str, import_path: str) -> Parsed:
    """Read test2json events (tests, package result, build output) for ``import_path``.

    Lines that are not events (go's own messages, a truncated line) are skipped, and a field
    of an unexpected type reads as absent: a test's output can never break the report.
    """
    tests: dict[str, _TestState] = {}
    package_output: list[str] = []
    build_output: list[str] = []
    outcome = ""
    build_failed = False
    for event in _events(text):
        action = event.action
        if action == "build-output":
            build_output.append(event.output)
            continue
        if action == "build-fail":
            build_failed = True
            continue
        if event.package not in ("", import_path):
            continue
        if event.test:
            state = tests.setdefault(event.test, _TestState())
            if action == "output":
                state.output.append(event.output)
            elif action in ("pass", "fail", "skip"):
                state.outcome = action
                state.elapsed = event.elapsed
            continue
        if action == "output":
            package_output.append(event.output)
        elif action in ("pass", "fail", "skip"):
            outcome = action
            if event.failed_build:
                build_failed = True
    cases = []
    for name, state in tests.items():
        output = "".join(state.output)
        where = _failure_location(output) if state.outcome == "fail" else ("", 0, "")
        cases.append(
            TestCase(import_path, name, state.outcome or "fail", state.elapsed, output, *where)
        )
    joined = "".join(package_output)
    match = _COVERAGE.search(joined)
    return Parsed(
        outcome=outcome,
        tests=tuple(cases),
        coverage=match.group(1) if match else "",
        output=joined,
        build_output="".join(build_output),
        build_failed=build_failed,
    )


@dataclass(frozen=True)
class _Event:
    """One test2json event, each field of the type test2json writes ('' / 0 when not)."""

    action: str
    package: str
    test: str
    output: str
    elapsed: float
    failed_build: bool

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> _Event:
        def text(name: str) -> str:
            value = data.get(name)
            return value if isinstance(value, str) else ""

        elapsed = data.get("Elapsed")
        seconds = (
            float(elapsed)
            if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool)
            else 0.0
        )
        return cls(
            action=text("Action"),
            package=text("Package"),
            test=text("Test"),
            output=text("Output"),
            elapsed=seconds if math.isfinite(seconds) and seconds >= 0 else 0.0,
            failed_build=bool(text("FailedBuild")),
        )


def _events(text: str) -> Iterable[_Event]:
    """test2json writes one JSON object per line (``\n``; other separators are text)."""
    for line in text.split("\n"):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(data, dict):
            yield _Event.of(data)


def _failure_location(output: str) -> tuple[str, int, str]:
    for line in output.splitlines():
        match = _FAIL_LOCATION.match(line)
        if match:
            return match.group(1), int(match.group(2)), match.group(3).strip()
    return "", 0, ""


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


def _slug(import_path: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", import_path).strip("_") or "package"


def _common_flags(options: TestOptions) -> list[str]:
    flags = []
    if options.race:
        flags.append("-race")
    if options.tags:
        flags.append("-tags=" + ",".join(options.tags))
    if options.timeout:
        flags.append("-timeout=" + options.timeout)
    if options.count is not None:
        flags.append(f"-count={options.count}")
    return flags


def run_unit(go: Go, package: Package, options: TestOptions, profile: Path | None) -> PackageResult:
    """``go test -json`` of one package; its coverage goes to ``profile`` (unique per unit)."""
    args = ["test", "-json", *_common_flags(options)]
    if options.run:
        args.append("-run=" + options.run)
    if profile is not None:
        args += [f"-covermode={options.mode}", f"-coverprofile={profile}"]
        coverpkg = options.coverpkg_for(package)
        if coverpkg:
            args.append("-coverpkg=" + ",".join(coverpkg))
    args.append(package.import_path)
    started = time.monotonic()
    result = go.run(*args, cwd=package.module_dir, check=False)
    elapsed = time.monotonic() - started
    unit = unit_result(package, result.stdout, result.stderr, result.returncode, elapsed)
    kept: Path | None = None
    if profile is not None and profile.is_file():
        if profile.stat().st_size and unit.outcome != "build-fail":
            kept = profile
        else:
            profile.unlink()
    return replace(unit, profile=kept)


def unit_result(
    package: Package, stdout: str, stderr: str, returncode: int, elapsed: float
) -> PackageResult:
    """What one ``go test -json`` run of ``package`` said, from its streams and exit code.

    Pure, so that recorded streams cover every outcome without running go: a build failure,
    a pass (a skip counts as one), a failure (also with every test passing, as a TestMain
    that exits non-zero does), or an error when go printed no result at all.
    """
    parsed = parse_events(stdout, package.import_path)
    if parsed.build_failed:
        outcome = "build-fail"
    elif parsed.outcome in ("pass", "skip"):
        outcome = "pass" if returncode == 0 or parsed.outcome == "skip" else "fail"
    elif parsed.outcome == "fail":
        outcome = "fail"
    else:
        outcome = "error"
    build_output = parsed.build_output
    if outcome == "error" and not build_output:
        build_output = stderr
    return PackageResult(
        package=package,
        outcome=outcome,
        elapsed=elapsed,
        tests=parsed.tests,
        coverage=parsed.coverage,
        profile=None,
        output=parsed.output if parsed.output or returncode == 0 else stderr,
        build_output=build_output,
        build_errors=_build_errors(build_output, package.module_dir),
    )


def rerun_failed(
    go: Go, result: PackageResult, options: TestOptions, attempts: int
) -> PackageResult:
    """Rerun only the failed top-level tests, up to ``attempts`` times, without coverage.

    The first run's coverage stands; a test that passes on a rerun is flaky: reported
    separately, and no longer failing the package when every failure was like that.
    """
    if result.outcome != "fail" or attempts <= 0:
        return result
    failing = sorted({t.top for t in result.tests if t.outcome == "fail"})
    if not failing:
        return result
    recovered: dict[str, int] = {}
    remaining = list(failing)
    rerun_options = replace(options, count=1)
    for attempt in range(1, attempts + 1):
        if not remaining:
            break
        pattern = "^(" + "|".join(re.escape(name) for name in remaining) + ")$"
        again = run_unit(go, result.package, replace(rerun_options, run=pattern), None)
        outcomes = {t.name: t.outcome for t in again.tests}
        for name in list(remaining):
            if outcomes.get(name) == "pass":
                recovered[name] = attempt + 1
                remaining.remove(name)
    if not recovered:
        return result
    tests = tuple(
        replace(t, outcome="pass", flaky=True, attempts=recovered[t.top])
        if t.outcome == "fail" and t.top in recovered
        else t
        for t in result.tests
    )
    outcome = "pass" if not remaining else "fail"
    return replace(result, tests=tests, outcome=outcome)


# ---- the whole run ------------------------------------------------------------------------


def _sidecar_base(go: Go, root: Path, options: TestOptions, shard: sharding.Shard) -> Sidecar:
    values = go.env_values(["GOVERSION", "GOOS", "GOARCH"], cwd=root)
    commit = ""
    git = Git(root, go.environment())
    probe = git.run("rev-parse", "--verify", "--quiet", "HEAD", check=False)
    if probe.ok:
        commit = probe.stdout.strip()
    return Sidecar(
        commit=commit,
        go_version=values["GOVERSION"],
        goos=values["GOOS"],
        goarch=values["GOARCH"],
        mode=options.mode,
        tags=options.tags,
        shard=shard.label,
    )


def run_tests(
    root: Path,
    go: Go,
    *,
    packages: Sequence[str] | None = None,
    shard: sharding.Shard | None = None,
    out: Path,
    options: TestOptions | None = None,
    timings: Path | None = None,
    coverage: bool = True,
    log: Log | None = None,
) -> TestRun:
    """Test this shard's packages, in parallel, each with its own coverage profile under ``out``.

    ``packages=None`` means every package of every module in use; an empty list means nothing
    to test (a valid, passing run).
    """
    options = options or TestOptions()
    shard = shard or sharding.Shard(1, 1)
    say = log or (lambda _msg: None)
    found = (
        []
        if packages is not None and not packages
        else list_packages(root, go, packages, tags=options.tags)
    )
    known = sharding.read_timings(timings)
    by_name = {p.import_path: p for p in found}
    plan = sharding.assign(
        list(by_name),
        shard.total,
        timings=known,
        test_counts={p.import_path: p.test_count for p in found},
    )
    mine = [by_name[name] for name in plan.packages(shard)]
    out.mkdir(parents=True, exist_ok=True)
    token = f"{shard.index}of{shard.total}-{uuid.uuid4().hex[:8]}"
    base = _sidecar_base(go, root, options, shard) if coverage else None
    mean = (sum(known.values()) / len(known)) if known else 0.0
    order = sorted(
        mine, key=lambda p: (-known.get(p.import_path, mean), -p.test_count, p.import_path)
    )
    workers = max(1, options.parallel or os.cpu_count() or 1)
    say(
        f"testing {len(mine)} of {len(found)} packages (shard {shard.label}, by {plan.by}), "
        f"{workers} at a time"
    )

    def one(package: Package) -> PackageResult:
        profile = out / f"{_slug(package.import_path)}.{token}.cover" if coverage else None
        result = run_unit(go, package, options, profile)
        if options.rerun_fails:
            result = rerun_failed(go, result, options, options.rerun_fails)
        if result.profile is not None and base is not None:
            write_sidecar(
                result.profile,
                replace(base, package=package.import_path, coverpkg=options.coverpkg_for(package)),
            )
        say(f"{result.outcome:10} {package.import_path} ({result.elapsed:.1f}s)")
        return result

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, order))
    results.sort(key=lambda r: r.package.import_path)
    if base is not None:
        write_shard_marker(
            out, f"{shard.index}of{shard.total}.{token}", base, [p.import_path for p in mine]
        )
    if timings is not None and results:
        sharding.write_timings(timings, {r.package.import_path: r.elapsed for r in results})
    return TestRun(
        results=tuple(results),
        shard=shard,
        shard_by=plan.by,
        all_packages=len(found),
        profile_dir=out,
        options=options,
        timings_used=bool(known),
    )
