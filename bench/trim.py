"""What a trimmed build cache costs: the next warm build on it against one on the untrimmed cache.

Generates a module of 80 packages (plus main), builds four "generations" of its code into one
build cache (the history a CI cache piles up), then plays one CI run: restore (a copy),
``goci cache mark``, build the current code, ``goci cache trim``. The next run changes one
package and builds again; that build is timed on the trimmed cache and on the untrimmed one
(a fresh copy of each per run, median of N). Prints the sizes and the time ratio (aim: ~1.0x,
the trim keeps everything the next run needs), and, for scale, the same build on a cache
trimmed to a budget of half of what the run used.

    .venv/bin/python bench/trim.py            # 80 packages, 3 runs
    .venv/bin/python bench/trim.py --quick    # 20 packages, 2 runs
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

BODY = """
import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
{imports})

const Generation = {gen}

type Record{index} struct {{
	Name  string            `json:"name"`
	Tags  []string          `json:"tags"`
	Attrs map[string]string `json:"attrs"`
}}

func Describe{index}(names []string) string {{
	sort.Strings(names)
	record := Record{index}{{Name: strings.Join(names, ","), Attrs: map[string]string{{}}}}
	out, _ := json.Marshal(record)
	return fmt.Sprintf("%s/%d/%s", "{index}", Generation, out){uses}
}}
"""

EXTRA = """
func Table{index}x{n}(rows [][]string) map[string][]string {{
	out := map[string][]string{{}}
	for i, row := range rows {{
		key := fmt.Sprintf("%d-%d-%d", {n}, Generation, i)
		for _, cell := range row {{
			if strings.HasPrefix(cell, "#") || len(cell) > {n}+Generation {{
				continue
			}}
			out[key] = append(out[key], strings.ToUpper(cell))
		}}
		sort.Strings(out[key])
	}}
	return out
}}
"""
FUNCTIONS = 25
GENERATIONS = 4


def write_module(root: Path, packages: int, gen: int, only: int | None = None) -> None:
    """Write the module; ``only`` rewrites just that package (a small change)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text("module example.com/bench\n\ngo 1.21\n")
    for index in range(packages):
        if only is not None and index != only:
            continue
        deps = [d for d in (index - 1, index // 2) if 0 <= d < index]
        deps = sorted(set(deps))
        imports = "".join(f'\t"example.com/bench/p{d:03d}"\n' for d in deps)
        uses = "".join(f" + p{d:03d}.Describe{d}(nil)" for d in deps)
        folder = root / f"p{index:03d}"
        folder.mkdir(exist_ok=True)
        text = BODY.format(imports=imports, gen=gen, index=index, uses=uses)
        # Bulk, so that the project's own code (what piles up across runs) weighs something.
        text += "".join(EXTRA.format(index=index, n=n, gen=gen) for n in range(FUNCTIONS))
        (folder / "p.go").write_text(f"package p{index:03d}\n" + text)
    if only is None:
        calls = "\n".join(f"\tprintln(p{i:03d}.Describe{i}(nil))" for i in range(packages))
        imports = "\n".join(f'\t"example.com/bench/p{i:03d}"' for i in range(packages))
        (root / "main.go").write_text(
            f"package main\n\nimport (\n{imports}\n)\n\nfunc main() {{\n{calls}\n}}\n"
        )


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    return subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def folder_size(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file())


def timed_build(repo: Path, cache: Path, scratch: Path, env: dict[str, str], runs: int) -> float:
    """Median time of ``go build`` of the next run's code, each on a fresh copy of ``cache``."""
    times = []
    for attempt in range(runs):
        copy = scratch / f"build-{cache.name}-{attempt}"
        shutil.copytree(cache, copy, symlinks=True)
        started = time.perf_counter()
        run(["go", "build", "-o", os.devnull, "."], repo, {**env, "GOCACHE": str(copy)})
        times.append(time.perf_counter() - started)
        shutil.rmtree(copy)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 packages, 2 runs")
    parser.add_argument("--runs", type=int, default=0, help="timed builds of each (median)")
    args = parser.parse_args()
    packages, runs = (20, 2) if args.quick else (80, 3)
    runs = args.runs or runs
    goci = shutil.which("goci", path=str(Path(sys.executable).parent)) or "goci"
    scratch = Path(tempfile.mkdtemp(prefix="goci-bench-trim-"))
    env = {
        **os.environ,
        "GOTOOLCHAIN": "local",
        "GOPROXY": "off",
        "GOFLAGS": "",
        "CGO_ENABLED": "0",
        "GOMODCACHE": str(scratch / "modcache"),
    }
    for name in ("GITHUB_ACTIONS", "GITHUB_ENV", "GITHUB_OUTPUT", "GOCI_CACHE_MARK"):
        env.pop(name, None)
    try:
        repo, history = scratch / "repo", scratch / "history"
        for gen in range(GENERATIONS):  # what earlier runs left in the saved cache
            write_module(repo, packages, gen)
            run(["go", "build", "-o", os.devnull, "."], repo, {**env, "GOCACHE": str(history)})

        # This run: restore, mark, build the current code (a 4th generation), trim.
        restored = scratch / "restored"
        shutil.copytree(history, restored, symlinks=True)
        cache_env = {**env, "GOCACHE": str(restored)}
        mark = json.loads(run([goci, "cache", "mark", "--json"], repo, cache_env))["mark"]
        write_module(repo, packages, GENERATIONS)
        run(["go", "build", "-o", os.devnull, "."], repo, cache_env)
        untrimmed = scratch / "untrimmed"
        shutil.copytree(restored, untrimmed, symlinks=True)
        budget_cache = scratch / "budget"
        shutil.copytree(restored, budget_cache, symlinks=True)
        trim = [goci, "cache", "trim", "--json", "--unused-since", mark]
        trimmed_out = json.loads(run([*trim, "--max-size", "none"], repo, cache_env))
        half = trimmed_out["size-after"] // 2
        run([*trim, "--max-size", str(half)], repo, {**env, "GOCACHE": str(budget_cache)})

        # The next run changes one package in the middle and builds.
        write_module(repo, packages, GENERATIONS + 1, only=packages // 2)
        t_untrimmed = timed_build(repo, untrimmed, scratch, env, runs)
        t_trimmed = timed_build(repo, restored, scratch, env, runs)
        t_budget = timed_build(repo, budget_cache, scratch, env, 1)  # slow, and only for scale
        sizes = {p: folder_size(p) / 2**20 for p in (untrimmed, restored, budget_cache)}
        print(
            f"module: {packages} packages + main; {GENERATIONS} saved generations, "
            f"{runs} timed builds each"
        )
        print(
            f"trim removed {trimmed_out['removed-files']} files "
            f"({trimmed_out['removed-bytes'] / 2**20:.1f} MiB)"
        )
        print(f"{'cache':28}{'size':>10}{'next build':>12}")
        print(f"{'untrimmed':28}{sizes[untrimmed]:7.1f}MiB{t_untrimmed:11.2f}s")
        print(f"{'trimmed (unused-since)':28}{sizes[restored]:7.1f}MiB{t_trimmed:11.2f}s")
        print(f"{'trimmed to half (budget)':28}{sizes[budget_cache]:7.1f}MiB{t_budget:11.2f}s")
        print(f"size ratio  trimmed/untrimmed  {sizes[restored] / sizes[untrimmed]:.2f}x")
        print(f"build ratio trimmed/untrimmed  {t_trimmed / t_untrimmed:.2f}x  (aim: ~1.0x)")
        print(f"build ratio half-budget/untrimmed {t_budget / t_untrimmed:.2f}x  (for scale)")
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(scratch)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
