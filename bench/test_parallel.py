"""Per-package parallel tests with coverage: ``goci test --parallel`` vs ``go test -coverprofile``.

A generated module of 200 packages (each with a few functions and tests that do a little
work) is tested both ways with a warm build cache (each command runs once unmeasured first)
and ``-count=1`` (no cached test results). goci runs with ``--coverpkg self``, so both measure
each package's own statements; ``--coverpkg-module`` adds a second pair with -coverpkg over the
whole module (goci's default) against the same flag on plain go test. Printed: both times and
the ratio (go test time / goci time; above 1 means goci is faster).

    .venv/bin/python bench/test_parallel.py            # 200 packages
    .venv/bin/python bench/test_parallel.py --quick    # 40 packages
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
    label: str, go_argv: list[str], goci_argv: list[str], cwd: Path, env: dict[str, str]
) -> None:
    for argv in (go_argv, goci_argv):  # warm the build cache, unmeasured
        timed(argv, cwd, env)
    baseline = timed(go_argv, cwd, env)
    ours = timed(goci_argv, cwd, env)
    print(f"{label}")
    print(f"  go test ./... (one invocation):  {baseline:7.2f}s")
    print(f"  goci test --parallel:            {ours:7.2f}s")
    print(f"  ratio (go test time / goci time): {baseline / ours:.2f}x", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 packages instead of 200")
    parser.add_argument("--parallel", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--coverpkg-module", action="store_true", help="also compare with -coverpkg=module/..."
    )
    args = parser.parse_args()
    packages = 40 if args.quick else 200
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
            "PYTHONPATH": str(ROOT / "src"),
        }
        goci = [sys.executable, "-m", "goci", "test", f"--parallel={args.parallel}", "--count=1"]
        print(f"{packages} packages, {args.parallel} CPUs, warm build cache, -count=1", flush=True)
        pair(
            "coverage of each package's own statements",
            [go, "test", "-count=1", f"-coverprofile={root / 'plain.out'}", "./..."],
            [*goci, "--coverpkg=self", "--out=goci-self"],
            module,
            env,
        )
        if args.coverpkg_module:
            pair(
                "coverage of the whole module from every package (-coverpkg)",
                [
                    go,
                    "test",
                    "-count=1",
                    "-coverpkg=example.com/big/...",
                    f"-coverprofile={root / 'plain-module.out'}",
                    "./...",
                ],
                [*goci, "--out=goci-module"],
                module,
                env,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
