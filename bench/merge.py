"""Merge speed: 40 coverage profiles of 200,000 blocks each, goci vs ``go tool covdata merge``.

The data is real: a generated Go program with about 200,000 coverage blocks is built with
``-cover`` and run 40 times (each run takes other branches) with its own GOCOVERDIR. The
baseline merges those 40 binary folders with ``go tool covdata merge``; goci merges the same
data as 40 text profiles (``go tool covdata textfmt`` of each folder, as ``go test
-coverprofile`` would have written them). Both are timed in the same run and the figure
printed is blocks merged per second and each side's peak RSS (each runs as its own process:
``goci coverage merge`` as a user runs it), with the ratio.

``--one N`` measures the other shape instead: one text profile of N blocks (2,000,000 blocks
are about 126 MB, what one large monorepo's unsharded run writes), merged alone by ``goci
coverage merge``: its time and peak RSS, then again writing Cobertura and LCOV too (streamed:
half a gigabyte of XML for 2,000,000 blocks).

    .venv/bin/python bench/merge.py            # 40 x ~200,000 blocks
    .venv/bin/python bench/merge.py --quick    # 40 x ~20,000 blocks
    .venv/bin/python bench/merge.py --one 2000000
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


def measured(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process (``wait4``: its own, not its siblings')."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}")
    return elapsed, usage.ru_maxrss / 1024  # Linux reports KiB


def goci_merge(inputs: str, out: str) -> list[str]:
    """``goci coverage merge``, run in the folder that holds both (its workspace)."""
    return [sys.executable, "-m", "goci", "coverage", "merge", inputs, "--out", out]


def one_profile(blocks: int, env: dict[str, str]) -> int:
    """One profile of ``blocks`` blocks (count mode) over generated sources, 100 blocks a file."""
    with tempfile.TemporaryDirectory(prefix="goci-bench-merge-one-") as tmp:
        root = Path(tmp)
        (root / "go.mod").write_text("module example.com/monorepo\n\ngo 1.21\n")
        profile = root / "in" / "coverage.out"
        profile.parent.mkdir()
        with profile.open("w") as handle:
            handle.write("mode: count\n")
            for f in range((blocks + 99) // 100):
                rel = f"svc{f // 1_000:03d}/pkg{f // 20:05d}/f{f}.go"
                source = root / rel
                source.parent.mkdir(parents=True, exist_ok=True)
                funcs = min(100, blocks - 100 * f)
                source.write_text(
                    f"package pkg{f // 20:05d}\n\n"
                    + "".join(f"func g{f}x{k:07d}() int {{\n\treturn 1\n}}\n" for k in range(funcs))
                )
                col = len(f"func g{f}x0000000() int {{")  # the brace opens the block
                handle.writelines(
                    f"example.com/monorepo/{rel}:{3 + 3 * k}.{col},{5 + 3 * k}.2 1 {k % 3}\n"
                    for k in range(funcs)
                )
        size = profile.stat().st_size / 1e6
        seconds, rss = measured(goci_merge("in", "merged.out"), env, root)
        formats = [*goci_merge("in", "merged.out"), "--cobertura=c.xml", "--lcov=l.info"]
        with_formats, formats_rss = measured(formats, env, root)
        written = ((root / "c.xml").stat().st_size + (root / "l.info").stat().st_size) / 1e6
    print(f"one profile: {blocks:,} blocks ({size:.0f} MB)")
    print(
        f"goci coverage merge (text):      {seconds:6.2f}s  {blocks / seconds:12,.0f} blocks/s  "
        f"peak RSS {rss:7.0f} MB"
    )
    print(
        f"  and Cobertura + LCOV:          {with_formats:6.2f}s  "
        f"{blocks / with_formats:12,.0f} blocks/s  peak RSS {formats_rss:7.0f} MB "
        f"({written:.0f} MB written)"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 20,000 blocks per profile")
    parser.add_argument("--profiles", type=int, default=40)
    parser.add_argument("--one", type=int, default=0, metavar="N", help="one profile of N blocks")
    args = parser.parse_args()
    blocks = 20_000 if args.quick else 200_000
    go = os.environ.get("GOCI_GO") or shutil.which("go") or "go"
    env = {
        **os.environ,
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "",
        "GOWORK": "off",
        "PYTHONPATH": str(ROOT / "src"),
    }
    if args.one:
        return one_profile(args.one, env)
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
        baseline, baseline_rss = measured(
            [
                go,
                "tool",
                "covdata",
                "merge",
                "-i=" + ",".join(map(str, dirs)),
                f"-o={root / 'merged-bin'}",
            ],
            env,
            root,
        )
        ours, ours_rss = measured(goci_merge("profiles", "merged.out"), env, root)
        merged_blocks = sum(1 for _ in (root / "merged.out").open()) - 1
        assert merged_blocks == per_profile, (merged_blocks, per_profile)

    print(f"profiles: {len(texts)} x {per_profile:,} blocks = {total_blocks:,} blocks")
    print(
        f"go tool covdata merge (binary):  {baseline:6.2f}s  "
        f"{total_blocks / baseline:12,.0f} blocks/s  peak RSS {baseline_rss:7.0f} MB"
    )
    print(
        f"goci coverage merge (text):      {ours:6.2f}s  {total_blocks / ours:12,.0f} blocks/s  "
        f"peak RSS {ours_rss:7.0f} MB"
    )
    print(f"ratio (covdata time / goci time): {baseline / ours:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
