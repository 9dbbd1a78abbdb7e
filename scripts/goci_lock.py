"""requirements.lock: goci's runtime dependencies pinned by hash, and the checks that keep it so.

The setup action installs exactly these pins with ``pip install --require-hashes`` in jobs that
may hold store credentials. The lock is made by one documented command (``python3 dev.py
lock``, which runs :data:`LOCK_COMMAND`) and must:

* still satisfy pyproject.toml: every dependency pinned, at a version its specifier accepts, in
  every environment goci supports, and nothing pinned "via goci" that pyproject no longer asks
  for (:func:`lock_problems`, run by ``dev.py lint`` and the tests; no network);
* give every supported runner a wheel of every pin it needs, since the setup installs wheels
  only (:func:`wheel_problems`, run by ``dev.py lock``; asks the package index).

requirements-dev.lock pins, the same way, what ``dev.py`` installs into .venv: the runtime pins
(the very versions of requirements.lock, which it is compiled against), the test and lint tools
of pyproject.toml's ``dev`` extra and the build backend of goci's editable install
(requirements-dev.in). Without it a clean clone's CI took whatever ruff, mypy and pytest were
newest that day, and a new formatter style could fail the lint of a commit that changed nothing;
the editable install's build also fetched setuptools unchecked. :func:`dev_lock_problems` is its
offline check.

    python scripts/goci_lock.py lock [--upgrade]  # re-make both locks, then check them
    python scripts/goci_lock.py check             # the offline check
    python scripts/goci_lock.py wheels            # the wheel check (network)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the dev venv of 3.10 has tomli (pytest needs it)
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
CONSTRAINTS = ROOT / "requirements.constraints"
LOCK_COMMAND = (
    "uv pip compile pyproject.toml --universal --python-version 3.10 --generate-hashes "
    "--constraint requirements.constraints --output-file requirements.lock"
)
DEV_LOCK = ROOT / "requirements-dev.lock"
DEV_INPUT = ROOT / "requirements-dev.in"
DEV_LOCK_COMMAND = (
    "uv pip compile pyproject.toml requirements-dev.in --extra dev --universal "
    "--python-version 3.10 --generate-hashes --constraint requirements.constraints "
    "--constraint requirements.lock --output-file requirements-dev.lock"
)
PYTHONS = ("3.10", "3.11", "3.12", "3.13")  # goci's own CI tests 3.13 too


@dataclass(frozen=True)
class Runner:
    """A kind of runner goci supports, as markers see it and as wheels are tagged for it."""

    name: str
    sys_platform: str
    platform_system: str
    machine: str
    os_name: str
    wheel_platforms: tuple[str, ...]
    pythons: tuple[str, ...] = PYTHONS


RUNNERS = (
    Runner("linux x64", "linux", "Linux", "x86_64", "posix",
           ("manylinux_2_39_x86_64", "manylinux_2_34_x86_64", "manylinux_2_28_x86_64",
            "manylinux2014_x86_64")),
    Runner("linux arm64", "linux", "Linux", "aarch64", "posix",
           ("manylinux_2_39_aarch64", "manylinux_2_34_aarch64", "manylinux_2_28_aarch64",
            "manylinux2014_aarch64")),
    Runner("macOS arm64", "darwin", "Darwin", "arm64", "posix", ("macosx_14_0_arm64",)),
    Runner("macOS x64", "darwin", "Darwin", "x86_64", "posix", ("macosx_14_0_x86_64",)),
    Runner("Windows x64", "win32", "Windows", "AMD64", "nt", ("win_amd64",)),
    # python.org builds for Windows on Arm start at 3.11.
    Runner("Windows arm64", "win32", "Windows", "ARM64", "nt", ("win_arm64",), PYTHONS[1:]),
)  # fmt: skip


def marker_environment(runner: Runner, python: str) -> dict[str, str]:
    """What ``packaging`` evaluates markers against, for CPython ``python`` on ``runner``."""
    full = f"{python}.0"
    return {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": runner.os_name,
        "platform_machine": runner.machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": runner.platform_system,
        "platform_version": "",
        "python_full_version": full,
        "python_version": python,
        "sys_platform": runner.sys_platform,
    }


@dataclass(frozen=True)
class LockedPin:
    name: str
    version: str
    marker: Marker | None
    hashes: tuple[str, ...]
    direct: bool  # "via goci (pyproject.toml)"

    def applies(self, environment: dict[str, str]) -> bool:
        return self.marker is None or self.marker.evaluate(environment)


_REQUIREMENT_LINE = re.compile(
    r"^(?P<spec>[A-Za-z0-9][^\s;\\]*==[^\s;\\]+)\s*(?:;(?P<marker>[^\\]*))?"
)


def read_lock(text: str) -> list[LockedPin]:
    """Each pin of the lock, with its marker, hashes and whether goci asks for it directly."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if _REQUIREMENT_LINE.match(line):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
    pins = []
    for block in blocks:
        match = _REQUIREMENT_LINE.match(block[0])
        assert match
        name, version = match["spec"].split("==", 1)
        marker = (match["marker"] or "").strip()
        body = "\n".join(block)
        pins.append(
            LockedPin(
                canonicalize_name(name),
                version,
                Marker(marker) if marker else None,
                tuple(re.findall(r"--hash=sha256:([0-9a-f]{64})", body)),
                "goci (pyproject.toml)" in body,
            )
        )
    return pins


def lock_problems(
    pyproject: str,
    lock: str,
    constraints: str,
    *,
    command: str = LOCK_COMMAND,
    extras: tuple[str, ...] = (),
    more: str = "",
) -> list[str]:
    """Why ``lock`` is not the current lock of ``pyproject`` (empty when it is): of its
    dependencies, those of ``extras`` and the requirement lines of ``more``, made by
    ``command``."""
    problems: list[str] = []
    header = [line.strip("# ").strip() for line in lock.splitlines()[:2]]
    if len(header) < 2 or header[1] != command:
        problems.append(f"the lock was not made by `{command}` (run `python3 dev.py lock`)")
    pins = read_lock(lock)
    project = tomllib.loads(pyproject)["project"]
    wanted = [
        Requirement(r)
        for r in [
            *project["dependencies"],
            *(r for extra in extras for r in project["optional-dependencies"][extra]),
            *_requirement_lines(more),
        ]
    ]
    bounds = [Requirement(r) for r in _requirement_lines(constraints)]
    names = {canonicalize_name(r.name) for r in wanted}
    for pin in pins:
        if not pin.hashes:
            problems.append(f"{pin.name}=={pin.version} has no --hash")
        if pin.direct and pin.name not in names:
            problems.append(
                f"{pin.name} is pinned for goci, but pyproject.toml does not ask for it"
            )
    for runner, python in environments():
        environment = marker_environment(runner, python)
        where = f"{runner.name}, Python {python}"
        chosen: dict[str, LockedPin] = {}
        for pin in pins:
            if pin.applies(environment):
                if pin.name in chosen:
                    problems.append(f"{pin.name} is pinned twice for {where}")
                chosen[pin.name] = pin
        for requirement in (*wanted, *bounds):
            if requirement.marker and not requirement.marker.evaluate(environment):
                continue
            pin_or_none = chosen.get(canonicalize_name(requirement.name))
            if pin_or_none is None:
                if requirement in wanted:
                    problems.append(f"{requirement} is not pinned for {where}")
            elif not requirement.specifier.contains(pin_or_none.version, prereleases=True):
                problems.append(
                    f"{requirement} does not accept the pinned {pin_or_none.version} ({where})"
                )
    return list(dict.fromkeys(problems))


def dev_lock_problems(
    pyproject: str, dev_lock: str, constraints: str, dev_input: str, lock: str
) -> list[str]:
    """Why ``dev_lock`` is not the current dev lock (empty when it is): it must pin everything
    .venv needs, and goci's runtime dependencies at the versions of requirements.lock, so that
    the tests run what the setup action installs."""
    problems = lock_problems(
        pyproject, dev_lock, constraints, command=DEV_LOCK_COMMAND, extras=("dev",), more=dev_input
    )
    runtime, dev = read_lock(lock), read_lock(dev_lock)
    for runner, python in environments():
        environment = marker_environment(runner, python)
        chosen = {pin.name: pin.version for pin in dev if pin.applies(environment)}
        for pin in runtime:
            if pin.applies(environment) and chosen.get(pin.name, pin.version) != pin.version:
                problems.append(
                    f"{pin.name}=={chosen[pin.name]}, but requirements.lock pins {pin.version} "
                    f"({runner.name}, Python {python})"
                )
    return list(dict.fromkeys(problems))


def _requirement_lines(text: str) -> list[str]:
    return [
        line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()
    ]


def environments() -> list[tuple[Runner, str]]:
    """Every (runner, Python version) goci supports."""
    return [(runner, python) for runner in RUNNERS for python in runner.pythons]


def _wheels_missing(pins: list[LockedPin], runner: Runner, python: str, folder: Path) -> str:
    """pip's complaint when one of ``pins`` has no wheel for ``runner`` and ``python``."""
    environment = marker_environment(runner, python)
    subset = folder / "requirements.txt"
    subset.write_text(
        "".join(
            f"{p.name}=={p.version} " + " ".join(f"--hash=sha256:{h}" for h in p.hashes) + "\n"
            for p in pins
            if p.applies(environment)
        )
    )
    platforms = [f"--platform={tag}" for tag in runner.wheel_platforms]
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--disable-pip-version-check", "--require-hashes", "--only-binary=:all:", *platforms,
         f"--python-version={python}", "--implementation=cp", "--dest", str(folder / "wheels"),
         "-r", str(subset)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode == 0:
        return ""
    reason = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
    return f"{runner.name}, Python {python}: {reason}"


def wheel_problems(lock: str) -> list[str]:
    """Pins that some supported runner has no wheel for (asks the package index through pip)."""
    pins = read_lock(lock)
    with tempfile.TemporaryDirectory(prefix="goci-lock-wheels-") as folder:
        jobs = []
        with ThreadPoolExecutor(max_workers=6) as pool:
            for index, (runner, python) in enumerate(environments()):
                work = Path(folder) / str(index)
                work.mkdir()
                jobs.append(pool.submit(_wheels_missing, pins, runner, python, work))
        return [problem for job in jobs if (problem := job.result())]


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "check"
    if what == "lock":  # the dev lock second: it is compiled against the runtime lock
        for made_by in (LOCK_COMMAND, DEV_LOCK_COMMAND):
            command = [sys.executable, "-m", *made_by.split(), *argv[1:]]
            if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:
                return 1
        return main(["wheels"]) or main(["check"])
    found: list[tuple[Path, str]] = []
    if what == "check":
        pyproject, constraints = (ROOT / "pyproject.toml").read_text(), CONSTRAINTS.read_text()
        found += [(LOCK, p) for p in lock_problems(pyproject, LOCK.read_text(), constraints)]
        dev = dev_lock_problems(
            pyproject, DEV_LOCK.read_text(), constraints, DEV_INPUT.read_text(), LOCK.read_text()
        )
        found += [(DEV_LOCK, p) for p in dev]
    elif what == "wheels":
        found += [(LOCK, p) for p in wheel_problems(LOCK.read_text())]
    else:
        print(__doc__)
        return 2
    for path, problem in found:
        print(f"{path.name}: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
