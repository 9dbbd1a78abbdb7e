"""Merge speed: 40 coverage profiles of 200,000 blocks each, goci vs ``go tool covdata merge``.

The data is real: a generated Go program with about 200,000 coverage blocks is built with
``-cover`` and run 40 times (each run takes other branches) with its own GOCOVERDIR. The
baseline merges those 40 binary folders with ``go tool covdata merge``; goci merges the same
data as 40 text profiles (``go tool covdata textfmt`` of each folder, as ``go test
-coverprofile`` would have written them). Both are timed in the same run and the figure
printed is blocks merged per second, with the ratio.

    .venv/bin/python bench/merge.py            # 40 x ~200,000 blocks
    .venv/bin/python bench/merge.py --quick    # 40 x ~20,000 blocks
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from goci.coverage.merge import merge

IFS_PER_FUNC = 100


def generate(folder: Path, blocks: int) -> None:
    """A main package whose functions hold ``if`` chains: two blocks per ``if`` in cover's cut."""
    funcs = max(1, blocks // (2 * IFS_PER_FUNC))
    (folder / "go.mod").write_text("module example.com/bench\n\ngo 1.21\n")
    per_file = 50
    for start in range(0, funcs, per_file):
        lines = ["package main\n"]
        for f in range(start, min(funcs, start + per_file)):
            lines.append(f"func f{f}(x int) int {{\n\ty := 0")
            for i in range(IFS_PER_FUNC):
                lines.append(f"\tif x%{i + 2} == 0 {{\n\t\ty += {i}\n\t}}")
            lines.append("\treturn y\n}\n")
        (folder / f"f{start // per_file}.go").write_text("\n".join(lines))
    calls = "\n".join(f"\t_ = f{f}(x)" for f in range(funcs))
    (folder / "main.go").write_text(
        'package main\n\nimport (\n\t"os"\n\t"strconv"\n)\n\n'
        f"func main() {{\n\tx, _ := strconv.Atoi(os.Args[1])\n{calls}\n}}\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 20,000 blocks per profile")
    parser.add_argument("--profiles", type=int, default=40)
    args = parser.parse_args()
    blocks = 20_000 if args.quick else 200_000
    go = os.environ.get("GOCI_GO") or shutil.which("go") or "go"
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "", "GOWORK": "off"}
    with tempfile.TemporaryDirectory(prefix="goci-bench-merge-") as tmp:
        root = Path(tmp)
        src = root / "src"
        src.mkdir()
        generate(src, blocks)
        exe = root / "bench.exe"
        print(
            f"building a program with ~{blocks:,} coverage blocks (go build -cover) ...", flush=True
        )
        started = time.perf_counter()
        subprocess.run(
            [go, "build", "-cover", "-covermode=count", "-o", str(exe), "."],
            cwd=src,
            env=env,
            check=True,
        )
        print(f"  built in {time.perf_counter() - started:.1f}s", flush=True)
        dirs, texts = [], []
        for n in range(args.profiles):
            folder = root / "covdata" / f"run{n:02d}"
            folder.mkdir(parents=True)
            subprocess.run(
                [str(exe), str(n + 1)], env={**env, "GOCOVERDIR": str(folder)}, check=True
            )
            text = root / "profiles" / f"job{n:02d}" / "coverage.out"
            text.parent.mkdir(parents=True)
            subprocess.run(
                [go, "tool", "covdata", "textfmt", f"-i={folder}", f"-o={text}"],
                env=env,
                check=True,
            )
            dirs.append(folder)
            texts.append(text)
        per_profile = sum(1 for _ in texts[0].open()) - 1
        total_blocks = per_profile * len(texts)

        (root / "merged-bin").mkdir()
        started = time.perf_counter()
        subprocess.run(
            [
                go,
                "tool",
                "covdata",
                "merge",
                "-i=" + ",".join(map(str, dirs)),
                f"-o={root / 'merged-bin'}",
            ],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        baseline = time.perf_counter() - started

        started = time.perf_counter()
        result = merge([root / "profiles"], out=root / "merged.out")
        ours = time.perf_counter() - started
        assert result.blocks == per_profile

    print(f"profiles: {len(texts)} x {per_profile:,} blocks = {total_blocks:,} blocks")
    print(
        f"go tool covdata merge (binary):  {baseline:6.2f}s  "
        f"{total_blocks / baseline:12,.0f} blocks/s"
    )
    print(f"goci coverage merge (text):      {ours:6.2f}s  {total_blocks / ours:12,.0f} blocks/s")
    print(f"ratio (covdata time / goci time): {baseline / ours:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
