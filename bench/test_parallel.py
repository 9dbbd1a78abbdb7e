"""``goci test`` against what teams run instead: ``go test -coverprofile``, gotestsum.

A generated module of 200 packages (a chain of small packages, each with a few functions and
two tests that do a little work) is tested every way with a warm build cache (each command
runs once unmeasured first) and ``-count=1`` (no cached test results), the best of N runs;
goci runs as the setup action runs it (its launcher, with one job's pycache).
Three pairs, each printed as both times and the ratio (baseline time / goci time; 1.0x or
more means goci is at least as fast):

* each package's own statements: ``go test -coverprofile ./...`` against ``goci test`` (its
  default);
* the whole module from every package: ``go test -coverpkg=<module>/... -coverprofile ./...``
  against ``goci test --coverpkg=module``;
* JUnit: gotestsum ``--junitfile`` (built from the Go module proxy, so the bench needs the
  network once) running ``go test -coverprofile ./...`` against
  ``goci test --junit``.

    .venv/bin/python bench/test_parallel.py            # 200 packages, best of 3
    .venv/bin/python bench/test_parallel.py --quick    # 40 packages, best of 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOTESTSUM = "gotest.tools/gotestsum@v1.13.0"


def generate(folder: Path, packages: int) -> None:
    (folder / "go.mod").write_text("module example.com/big\n\ngo 1.21\n")
    for n in range(packages):
        pkg = folder / f"p{n:03d}"
        pkg.mkdir()
        dep = f'import "example.com/big/p{n - 1:03d}"\n\n' if n else ""
        call = f"p{n - 1:03d}.Value(x)" if n else "x"
        (pkg / "p.go").write_text(
            f"package p{n:03d}\n\n{dep}"
            "func Value(x int) int {\n\tif x%2 == 0 {\n\t\treturn x / 2\n\t}\n"
            f"\treturn {call}\n}}\n\n"
            "func Work(n int) int {\n\ts := 0\n\tfor i := 0; i < n; i++ {\n"
            "\t\tif i%3 == 0 {\n\t\t\ts += i\n\t\t} else {\n\t\t\ts ^= i\n\t\t}\n"
            "\t}\n\treturn s\n}\n"
        )
        (pkg / "p_test.go").write_text(
            f'package p{n:03d}\n\nimport "testing"\n\n'
            "func TestValue(t *testing.T) {\n\tif Value(4) != 2 {\n"
            "\t\tt.Fatal(Value(4))\n\t}\n}\n\n"
            "func TestWork(t *testing.T) {\n\tif Work(3_000_000) == -1 {\n\t\tt.Fatal()\n\t}\n}\n"
        )


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(argv)}")
    return elapsed


def pair(
    label: str,
    baseline: tuple[str, list[str]],
    ours: tuple[str, list[str]],
    cwd: Path,
    env: dict[str, str],
    repeats: int,
) -> float:
    """Best of ``repeats`` for each side, taking turns so that load hits both alike."""
    for _name, argv in (baseline, ours):  # warm the build cache, unmeasured
        timed(argv, cwd, env)
    theirs_s, ours_s = [], []
    for _ in range(repeats):
        theirs_s.append(timed(baseline[1], cwd, env))
        ours_s.append(timed(ours[1], cwd, env))
    best_theirs, best_ours = min(theirs_s), min(ours_s)
    ratio = best_theirs / best_ours
    print(label)
    print(f"  {baseline[0]:44} {best_theirs:7.2f}s")
    print(f"  {ours[0]:44} {best_ours:7.2f}s")
    print(f"  ratio ({baseline[0].split()[0]} time / goci time): {ratio:.2f}x", flush=True)
    return ratio


def gotestsum(folder: Path, go: str, env: dict[str, str]) -> str:
    """gotestsum built by ``go install`` from the module proxy (the network, once)."""
    install_env = {**env, "GOBIN": str(folder), "GOFLAGS": "-mod=mod"}
    install_env.pop("GOPROXY", None)  # the real proxy, whatever a test setup left behind
    subprocess.run([go, "install", GOTESTSUM], env=install_env, check=True, cwd=folder)
    return str(folder / "gotestsum")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 packages, best of 1")
    parser.add_argument("--packages", type=int, default=0, help="packages (default 200)")
    parser.add_argument("--repeats", type=int, default=0, help="runs per side (default 3)")
    args = parser.parse_args()
    packages = args.packages or (40 if args.quick else 200)
    repeats = args.repeats or (1 if args.quick else 3)
    go = os.environ.get("GOCI_GO") or shutil.which("go") or "go"
    with tempfile.TemporaryDirectory(prefix="goci-bench-test-") as tmp:
        root = Path(tmp)
        module = root / "big"
        module.mkdir()
        generate(module, packages)
        env = {
            **os.environ,
            "GOCI_GO": go,
            "GOCACHE": str(root / "gocache"),
            "GOTOOLCHAIN": "local",
            "GOFLAGS": "",
            "GOWORK": "off",
        }
        tool = gotestsum(root, go, env)
        # As the setup action runs it in a job: the launcher, with the job's pycache (filled by
        # the unmeasured first run, as a job's earlier goci steps fill it). A machine-wide
        # PYTHONDONTWRITEBYTECODE would otherwise make every run compile goci again.
        launcher = [sys.executable, str(ROOT / "scripts" / "goci_main.py"), str(root / "pycache")]
        goci = [*launcher, "test", "--count=1"]
        plain = [go, "test", "-count=1", f"-coverprofile={root / 'plain.out'}", "./..."]
        print(
            f"{packages} packages, {os.cpu_count()} CPUs, warm build cache, -count=1, "
            f"best of {repeats} (a shared machine: figures are noisy)",
            flush=True,
        )
        ratios = {
            "own statements": pair(
                "coverage of each package's own statements",
                ("go test -coverprofile ./...", plain),
                ("goci test", [*goci, "--out=goci-self"]),
                module,
                env,
                repeats,
            ),
            "-coverpkg module": pair(
                "coverage of the whole module from every package (-coverpkg)",
                (
                    "go test -coverpkg=<module>/... ./...",
                    [
                        go,
                        "test",
                        "-count=1",
                        "-coverpkg=example.com/big/...",
                        f"-coverprofile={root / 'plain-module.out'}",
                        "./...",
                    ],
                ),
                ("goci test --coverpkg=module", [*goci, "--coverpkg=module", "--out=goci-module"]),
                module,
                env,
                repeats,
            ),
            "JUnit": pair(
                "JUnit XML and coverage of each package's own statements",
                (
                    "gotestsum --junitfile -- -coverprofile",
                    [tool, f"--junitfile={root / 'gotestsum.xml'}", "--", *plain[2:]],
                ),
                (
                    "goci test --junit",
                    [*goci, "--out=goci-junit", "--junit=goci.xml"],
                ),
                module,
                env,
                repeats,
            ),
        }
        print("ratios: " + ", ".join(f"{name} {value:.2f}x" for name, value in ratios.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
