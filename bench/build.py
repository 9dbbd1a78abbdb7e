"""Benchmark: ``goci build`` (parallel across targets) against a plain sequential loop of
``go build`` calls with the same flags, on a generated repo of 4 services x 4 targets.

Both start from a warm build cache (one untimed warm-up each), and every timed run writes into
a fresh folder, as a CI job does. Prints the time ratio and the stripped/unstripped size ratio.

    .venv/bin/python bench/build.py [--quick] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = ["linux/amd64", "linux/arm64", "darwin/arm64", "windows/amd64"]
FLAGS = ["-trimpath", "-buildvcs=auto", "-mod=readonly", "-ldflags=-s -w"]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def generate(root: Path, services: int) -> list[str]:
    """A module with shared libraries and ``services`` main packages using them."""
    write(root / "go.mod", "module example.com/bench\n\ngo 1.21\n")
    for lib in range(4):
        body = "\n".join(
            f"func F{lib}_{n}(s string) string {{ return strings.Repeat(s, {n % 3 + 1}) }}"
            for n in range(40)
        )
        write(
            root / f"internal/lib{lib}/lib.go",
            f'package lib{lib}\n\nimport "strings"\n\n{body}\n',
        )
    packages = []
    for n in range(services):
        write(
            root / f"cmd/svc{n}/main.go",
            'package main\n\nimport (\n\t"encoding/json"\n\t"fmt"\n\t"net/http"\n'
            + "".join(f'\t"example.com/bench/internal/lib{i}"\n' for i in range(4))
            + ')\n\nvar version = "dev"\n\nfunc main() {\n'
            + f'\tb, _ := json.Marshal(lib{n % 4}.F{n % 4}_1("svc{n}"))\n'
            + '\thttp.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {})\n'
            + '\tfmt.Println(string(b), version, lib0.F0_0("x"), lib1.F1_0("y"),'
            + ' lib2.F2_0("z"), lib3.F3_0("w"))\n}\n',
        )
        packages.append(f"example.com/bench/cmd/svc{n}")
    env = {**os.environ, "GIT_AUTHOR_DATE": "2025-01-02T03:04:05Z"}
    env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"]
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.email=b@example.com", "-c", "user.name=bench", "commit", "-qm", "bench"],
    ):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)
    return packages


def run_goci(root: Path, out: str, targets: list[str], env: dict[str, str], *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "goci", "build", "--platforms", " ".join(targets), "--strip",
         "--out", out, "--dir", str(root), *extra],
        env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    return time.perf_counter() - started


def runs(times: list[float]) -> str:
    return f"{statistics.median(times):6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})"


def run_loop(
    root: Path, out: Path, packages: list[str], targets: list[str], env: dict[str, str]
) -> float:
    started = time.perf_counter()
    for target in targets:
        goos, goarch = target.split("/")
        for package in packages:
            name = package.rsplit("/", 1)[-1] + (".exe" if goos == "windows" else "")
            subprocess.run(
                ["go", "build", *FLAGS, "-o", str(out / f"{goos}-{goarch}" / name), package],
                cwd=root,
                env={**env, "GOOS": goos, "GOARCH": goarch, "CGO_ENABLED": "0"},
                check=True,
            )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 services x 2 targets")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (median)")
    args = parser.parse_args()
    services, targets = (2, TARGETS[:2]) if args.quick else (4, TARGETS)
    work = Path(tempfile.mkdtemp(prefix="goci-bench-build-"))
    env = {**os.environ, "GOFLAGS": "", "GOTOOLCHAIN": "local", "GOPROXY": "off"}
    env.setdefault(
        "GOCACHE",
        str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "goci-bench-gocache"),
    )
    try:
        root = work / "repo"
        packages = generate(root, services)
        print(
            f"{services} services x {len(targets)} targets; warming the build cache ...", flush=True
        )
        run_goci(root, "dist/warm", targets, env)
        run_loop(root, work / "warm", packages, targets, env)
        loop_t: list[float] = []
        same_t: list[float] = []
        full_t: list[float] = []
        for n in range(args.repeat):
            loop_t.append(run_loop(root, work / f"loop{n}", packages, targets, env))
            same_t.append(run_goci(root, f"dist/same{n}", targets, env, "--no-compare-size"))
            full_t.append(run_goci(root, f"dist/run{n}", targets, env))
        loop_s = statistics.median(loop_t)
        records = [json.loads(p.read_text()) for p in (root / "dist/run0").glob("*/*/build.json")]
        stripped = sum(r["size"] for r in records)
        unstripped = sum(r["unstripped_size"] for r in records)
        print(f"sequential go build loop (one call per binary): {runs(loop_t)}")
        print(f"goci build --strip --no-compare-size:            {runs(same_t)}")
        print(f"goci build --strip (+ unstripped link per binary): {runs(full_t)}")
        print(f"speed-up, same work:           {loop_s / statistics.median(same_t):.2f}x")
        print(f"speed-up, with size reporting: {loop_s / statistics.median(full_t):.2f}x")
        print(
            f"stripped/unstripped size: {stripped / unstripped:.3f} ({stripped / 1048576:.1f} MiB"
            f" vs {unstripped / 1048576:.1f} MiB over {len(records)} binaries)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
