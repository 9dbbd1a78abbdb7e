"""Speed of ``goci cache-key`` on a 500-module workspace against ``sha256sum`` of its go.sum files.

Generates a go.work workspace of 500 modules, each with a go.mod requiring a few dozen modules
and a go.sum of 100-300 lines in the real format, then times, in the same run, the whole
``goci cache-key --json`` command (a new process each time: Python start-up, ``go env``, the
workspace, hashing every go.mod/go.sum) and the floor of the job, ``sha256sum`` over the same
go.sum files, the two in turns. Prints both medians and the median ratio of the pairs; the aim
is at most 2.5x (issue 16).

goci runs as the setup action runs it: through its launcher (scripts/goci_main.py), which keeps
compiled modules in a folder of the job, on the python of a venv made as the setup action makes
its own (no pip, no setuptools: nothing in it runs at start-up, unlike a development venv's
``.pth`` files). cache-key imports none of goci's dependencies, so the venv holds none. Each
timed run gets a new job folder that the setup action's own check (``goci --version``,
untimed) has filled, so cache-key compiles its own modules as the first cache-key of a job
does; "again" is a second cache-key in the same job.
Where the rest goes is printed beside it: the interpreter alone (``python -c pass``), the
standard library modules the command cannot do without (argparse, pathlib, subprocess,
...: the floor of any goci command on Python 3.10-3.12, before one line of goci runs), goci's
imports for the command (compiled already, no work done) and the command's core run in-process.

    .venv/bin/python bench/cache_key.py            # 500 modules
    .venv/bin/python bench/cache_key.py --quick    # 100 modules
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable
from pathlib import Path

# What cache-key's path needs from the standard library: the parser, named tuples (typing),
# paths, the go subprocess, hashing, JSON output. Not dataclasses: it loads inspect, ~18 ms.
STDLIB_NEEDED = ("argparse", "hashlib", "json", "pathlib", "subprocess", "typing")


def fake_hash(rng: random.Random) -> str:
    return "h1:" + base64.b64encode(rng.randbytes(32)).decode()


def generate(root: Path, modules: int, seed: int = 7) -> list[Path]:
    """A go.work workspace of ``modules`` modules; returns their go.sum files."""
    rng = random.Random(seed)
    upstream = [
        (f"github.com/org{i % 40}/lib{i}", f"v{rng.randint(0, 3)}.{rng.randint(0, 30)}.{i % 10}")
        for i in range(600)
    ]
    sums = []
    uses = []
    for index in range(modules):
        folder = root / "modules" / f"m{index:03d}"
        folder.mkdir(parents=True)
        deps = sorted(rng.sample(upstream, rng.randint(50, 150)))
        requires = "\n".join(f"\t{path} {version}" for path, version in deps[:40])
        (folder / "go.mod").write_text(
            f"module example.com/mono/m{index:03d}\n\ngo 1.22\n\nrequire (\n{requires}\n)\n"
        )
        lines = []
        for path, version in deps:  # two lines per module version, as go writes them
            lines.append(f"{path} {version} {fake_hash(rng)}")
            lines.append(f"{path} {version}/go.mod {fake_hash(rng)}")
        (folder / "go.sum").write_text("\n".join(sorted(lines)) + "\n")
        (folder / "doc.go").write_text(f"package m{index:03d}\n")
        sums.append(folder / "go.sum")
        uses.append(f"\t./modules/m{index:03d}")
    (root / "go.work").write_text("go 1.22\n\nuse (\n" + "\n".join(uses) + "\n)\n")
    return sums


def make_venv(folder: Path) -> str:
    """A venv as goci_deps.py makes the setup action's (links on POSIX, no pip); its python."""
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(str(folder))
    return str(folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system, children included) of one run of ``argv``.

    CPU time is printed too because on a shared machine the wall time of a short process is
    mostly waiting for a core.
    """
    cpu, started = child_cpu(), time.perf_counter()
    subprocess.run(
        argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - started, child_cpu() - cpu


def medians(times: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def median_time(
    runs: int,
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    prepare: Callable[[], None] | None = None,
) -> tuple[float, float]:
    """Median wall and CPU time of ``argv``, each run after ``prepare`` (untimed)."""
    times = []
    for _ in range(runs):
        if prepare is not None:
            prepare()
        times.append(one_run(argv, env, cwd))
    return medians(times)


def paired(
    runs: int,
    argv: list[str],
    baseline: list[str],
    env: dict[str, str],
    cwd: Path,
    prepare: Callable[[], None],
) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    """``argv`` (after ``prepare``) and ``baseline`` in turns: both medians, and the median of
    the pairs' ratios (wall, CPU). Taken in turns, a change in the machine's load over the
    run weighs on both sides alike; timed one side after the other it moved the ratio by a
    third from run to run."""
    ours, theirs = [], []
    for _ in range(runs):
        prepare()
        ours.append(one_run(argv, env, cwd))
        theirs.append(one_run(baseline, env, cwd))
    ratios = [(o[0] / t[0], o[1] / max(t[1], 1e-3)) for o, t in zip(ours, theirs, strict=True)]
    return medians(ours), medians(theirs), medians(ratios)


def in_process(runs: int, root: Path, env: dict[str, str]) -> tuple[float, float]:
    """``goci.cache.keys.compute`` alone (go calls included, Python start-up and imports not),
    from this checkout's sources (not whichever goci the venv has installed)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from goci.cache.keys import compute
    from goci.ci_env import CiEnv
    from goci.tools.gotool import Go

    go = Go(env, exe=shutil.which("go") or "go")
    walls, cpus = [], []
    for _ in range(runs):
        cpu, started = time.process_time() + child_cpu(), time.perf_counter()
        compute(root, go, CiEnv.from_env(env))
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() + child_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 modules instead of 500")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each (median)")
    args = parser.parse_args()
    modules = 100 if args.quick else 500
    launcher = Path(__file__).resolve().parent.parent / "scripts" / "goci_main.py"
    sha256sum = shutil.which("sha256sum")
    if sha256sum is None:
        print("sha256sum not found (coreutils)", file=sys.stderr)
        return 2
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": ""}
    env.pop("GOWORK", None)
    env.pop("GITHUB_ACTIONS", None)
    scratch = Path(tempfile.mkdtemp(prefix="goci-bench-cachekey-"))
    job = scratch / "job-pycache"
    python = make_venv(scratch / "venv")
    goci = [python, str(launcher), str(job)]

    def new_job() -> None:
        """A new job's folder, filled by the setup action's check as in a real job."""
        shutil.rmtree(job, ignore_errors=True)
        subprocess.run([*goci, "--version"], env=env, check=True, stdout=subprocess.DEVNULL)

    try:
        sums = generate(scratch / "mono", modules)
        lines = sum(len(p.read_text().splitlines()) for p in sums)
        size = sum(p.stat().st_size for p in sums)
        print(
            f"workspace: {modules} modules, {lines} go.sum lines ({size / 1e6:.1f} MB), "
            f"{args.runs} runs each"
        )
        new_job()
        check = subprocess.run(
            [*goci, "cache-key", "--json"],
            cwd=scratch / "mono",
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert '"deps-hash"' in check.stdout, check.stdout
        assert f"{2 * modules + 1} files" in check.stderr, check.stderr
        relative = [str(p.relative_to(scratch / "mono")) for p in sums]
        command = [*goci, "cache-key", "--json"]
        baseline = [sha256sum, *relative]
        (goci_wall, goci_cpu), (base_wall, base_cpu), (ratio_wall, ratio_cpu) = paired(
            args.runs, command, baseline, env, scratch / "mono", new_job
        )
        again_wall, again_cpu = median_time(args.runs, command, env, scratch / "mono")
        core_wall, core_cpu = in_process(args.runs, scratch / "mono", env)
        bare = [python, "-c", "pass"]
        bare_wall, bare_cpu = median_time(args.runs, bare, env, scratch / "mono")
        stdlib = [python, "-c", f"import {', '.join(STDLIB_NEEDED)}"]
        stdlib_wall, stdlib_cpu = median_time(args.runs, stdlib, env, scratch / "mono")
        # As the launcher loads them: goci's modules from the job's folder (filled by the
        # runs above), the standard library from the interpreter's own compiled files.
        imports = [
            python,
            "-c",
            f"import sys; sys.path[0] = {str(launcher.parent)!r}; import goci_main; "
            f"goci_main.prepare({str(job)!r}); import goci.cli, goci.commands.cache_key",
        ]
        load_wall, load_cpu = median_time(args.runs, imports, env, scratch / "mono")
        digest = hashlib.sha256(check.stdout.encode()).hexdigest()[:8]
        print(f"{'':20}{'wall':>10}{'cpu':>10}")
        print(f"{'goci cache-key':20}{goci_wall * 1000:8.1f}ms{goci_cpu * 1000:8.1f}ms  ({digest})")
        print(f"{'  again in the job':20}{again_wall * 1000:8.1f}ms{again_cpu * 1000:8.1f}ms")
        print(f"{'  python -c pass':20}{bare_wall * 1000:8.1f}ms{bare_cpu * 1000:8.1f}ms")
        print(f"{'  python + stdlib':20}{stdlib_wall * 1000:8.1f}ms{stdlib_cpu * 1000:8.1f}ms")
        print(f"{'  python + imports':20}{load_wall * 1000:8.1f}ms{load_cpu * 1000:8.1f}ms")
        print(f"{'  core, in-process':20}{core_wall * 1000:8.1f}ms{core_cpu * 1000:8.1f}ms")
        print(f"{'sha256sum go.sum':20}{base_wall * 1000:8.1f}ms{base_cpu * 1000:8.1f}ms")
        print(
            f"{'ratio':20}{ratio_wall:9.2f}x{ratio_cpu:9.2f}x"
            "  (median of the runs' ratios, cache-key and sha256sum taken in turns; aim: <= 2.5x)"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
