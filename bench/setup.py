"""What the setup action costs a job: reusing a verified venv against installing it again.

A persistent runner keeps goci's dependency venv in its tool cache; a later job reuses it only
after scripts/goci_deps.py has traced every file back to a locked wheel. The alternative is a
venv per job under RUNNER_TEMP, which is what every job on a GitHub-hosted runner pays anyway.
This runs scripts/setup-goci.sh as a job would (a fresh RUNNER_TEMP per job, the machine's own
Python) and times, median of N:

* the next job, reusing the verified venv (the check, the launcher, the first goci call);
* a later goci action of the same job (nothing checked again);
* the next job after a previous one tampered with the venv (found, reinstalled from the kept
  wheels, no network);
* a job that installs from the package index into an empty tool cache (pip's own cache warm:
  the best case of a venv per job).

The first install needs the package index (pip's cache serves the later ones).

    .venv/bin/python bench/setup.py           # 3 runs
    .venv/bin/python bench/setup.py --quick   # 1 run
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def system_python() -> str:
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    found = shutil.which("python3", path=path)
    if not found:
        sys.exit("no python3 on PATH outside this venv")
    return found


class Runner:
    """A persistent runner: one tool cache, a fresh RUNNER_TEMP for every job."""

    def __init__(self, folder: Path, python: str) -> None:
        self.folder = folder
        self.python = python
        self.jobs = 0

    def new_job(self) -> Path:
        self.jobs += 1
        temp = self.folder / f"job{self.jobs}"
        temp.mkdir(parents=True)
        return temp

    def setup(self, temp: Path) -> str:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(
            RUNNER_TEMP=str(temp),
            RUNNER_TOOL_CACHE=str(self.folder / "toolcache"),
            GITHUB_PATH=str(temp / "github_path"),
            GOCI_PYTHON=self.python,
        )
        run = subprocess.run(
            ["bash", str(ROOT / "scripts" / "setup-goci.sh")],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            sys.exit(f"setup failed:\n{run.stdout}{run.stderr}")
        return run.stderr

    def home(self) -> Path:
        return next(p for p in (self.folder / "toolcache" / "goci").glob("deps-*") if p.is_dir())


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def tamper(runner: Runner) -> None:
    """What a previous job could leave: a changed module and a .pth file."""
    site = next((runner.home() / "venv").glob("lib/python3*/site-packages"))
    module = site / "httpx" / "__init__.py"
    module.write_text(module.read_text() + "\nimport os\n")
    (site / "zzz.pth").write_text("import os\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run instead of three")
    args = parser.parse_args()
    runs = 1 if args.quick else 3
    python = system_python()
    times: dict[str, list[float]] = {k: [] for k in ("reuse", "same", "tampered", "fresh")}
    with tempfile.TemporaryDirectory(prefix="goci-bench-setup-") as folder:
        runner = Runner(Path(folder) / "runner", python)
        runner.setup(runner.new_job())  # the first install (may need the network)
        home = runner.home()
        files = sum(1 for p in home.rglob("*") if p.is_file())
        wheels = len(list((home / "wheels").glob("*.whl")))
        for _ in range(runs):
            job = runner.new_job()
            times["reuse"].append(timed(functools.partial(runner.setup, job)))
            times["same"].append(timed(functools.partial(runner.setup, job)))
            tamper(runner)
            log = ""

            def reinstall() -> None:
                nonlocal log
                log = runner.setup(runner.new_job())

            times["tampered"].append(timed(reinstall))
            if "not reusing" not in log:
                sys.exit("the tampered venv was reused: the check is broken")
            fresh = Runner(Path(folder) / f"fresh{len(times['fresh'])}", python)
            times["fresh"].append(timed(functools.partial(fresh.setup, fresh.new_job())))
            shutil.rmtree(fresh.folder)
    base = statistics.median(times["reuse"])
    version = subprocess.check_output([python, "--version"], text=True).split()[-1]
    print(
        f"goci setup, {wheels} locked wheels, {files} files in the tool cache "
        f"(Python {version}), median of {runs}:"
    )
    rows = (
        ("next job: verify, then reuse the venv", "reuse"),
        ("same job: a later goci action", "same"),
        ("next job after tampering: reinstall from kept wheels", "tampered"),
        ("venv per job: install from the index (pip cache warm)", "fresh"),
    )
    for label, key in rows:
        value = statistics.median(times[key])
        print(f"  {label:<56} {value:7.2f} s  {value / base:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
