"""A fresh runner's build cache: none, an actions/cache tarball, or ``goci cacheprog`` on SeaweedFS.

The generated monorepo (300 packages in 6 modules with a go.work, as bench/pipeline.py uses)
is built and tested once as "the previous run on main" twice over: once into a plain GOCACHE,
which is then packed the way actions/cache packs it (tar through ``zstd -T0``), and once through
``goci cacheprog`` into a real SeaweedFS server on 127.0.0.1. Then one package changes, and a
fresh runner (empty GOCACHE) runs ``go build ./... && go test ./...`` three ways, timed:

* cold: no cache at all;
* tarball: the whole previous GOCACHE extracted first (the extract is counted; the download,
  which a real runner also pays, is not);
* cacheprog: ``GOCACHEPROG="goci cacheprog --store s3://..."``: what the build asks for is
  fetched from the store, object by object.

Then a four-target matrix (``go build`` for linux/amd64, linux/arm64, darwin/arm64,
windows/amd64, each job on a fresh runner) shows what sharing saves in storage: the bytes in
the store after all four against the sum of four GOCACHE tarballs. Last, the server's own time
per ``get`` (the store round trips taken out), median over every get of the cacheprog run.
Targets: cacheprog <= 0.3x cold and <= 1.0x the tarball restore; overhead under 1 ms.

    .venv/bin/python bench/remote_cache.py                     # 300 packages, four targets
    .venv/bin/python bench/remote_cache.py --per-module 20 --targets linux/amd64,linux/arm64
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from goci.cache.cacheprog import stats as cachestats
from goci.cache.cacheprog.plan import go_quote
from goci.release.stores import open_store
from pipeline import touch
from support.affected_monorepo import Monorepo, generate
from support.seaweed import BUCKET, Seaweed

TARGETS = "linux/amd64,linux/arm64,darwin/arm64,windows/amd64"


def run_go(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def gocacheprog(store: str, namespace: str, stats: Path) -> str:
    words = [sys.executable, "-m", "goci", "cacheprog", "--store", store]
    words += ["--namespace", namespace, "--stats", str(stats), "--no-read-only"]
    return " ".join(go_quote(w) for w in words)


def build_and_test(repo: Monorepo, go: str, env: dict[str, str], *, test: bool = True) -> float:
    started = time.perf_counter()
    run_go([go, "build", *repo.go_patterns()], repo.root, env)
    if test:
        run_go([go, "test", *repo.go_patterns()], repo.root, env)
    return time.perf_counter() - started


def pack(gocache: Path, tarball: Path) -> int:
    """Pack a GOCACHE as actions/cache does (tar | zstd -T0); the archive's size."""
    run_go(
        [
            "tar",
            "--use-compress-program",
            "zstd -T0 -3",
            "-cf",
            str(tarball),
            "-C",
            str(gocache),
            ".",
        ],
        gocache.parent,
        dict(os.environ),
    )
    return tarball.stat().st_size


def extract(tarball: Path, gocache: Path) -> float:
    started = time.perf_counter()
    gocache.mkdir(parents=True)
    run_go(
        ["tar", "--use-compress-program", "zstd -d", "-xf", str(tarball), "-C", str(gocache)],
        gocache.parent,
        dict(os.environ),
    )
    return time.perf_counter() - started


class Runner:
    """Fresh runners: each gets its own empty GOCACHE under ``scratch``."""

    def __init__(self, scratch: Path, env: dict[str, str]) -> None:
        self.scratch = scratch
        self.env = env

    def fresh(self, name: str, **extra: str) -> dict[str, str]:
        folder = self.scratch / f"runner-{name}-{uuid.uuid4().hex[:6]}"
        folder.mkdir(parents=True)
        return {**self.env, "GOCACHE": str(folder / "gocache"), **extra}


def matrix(
    repo: Monorepo, go: str, runner: Runner, store: str, tarballs: Path, targets: list[str]
) -> tuple[int, int]:
    """Four jobs' storage: the sum of their GOCACHE tarballs, and one shared store's bytes."""
    tar_bytes = 0
    namespace = f"bench/matrix-{uuid.uuid4().hex[:6]}"
    stats = runner.scratch / "matrix-stats.jsonl"
    for target in targets:
        goos, goarch = target.split("/")
        plain = runner.fresh(f"plain-{goos}-{goarch}", GOOS=goos, GOARCH=goarch)
        build_and_test(repo, go, plain, test=False)
        tar_bytes += pack(Path(plain["GOCACHE"]), tarballs / f"{goos}-{goarch}.tar.zst")
        shared = runner.fresh(
            f"shared-{goos}-{goarch}",
            GOOS=goos,
            GOARCH=goarch,
            GOCACHEPROG=gocacheprog(store, namespace, stats),
        )
        build_and_test(repo, go, shared, test=False)
        print(f"  {target}: built plain and through cacheprog", flush=True)
    opened = open_store(store, env=runner.env, cwd=runner.scratch)
    store_bytes = sum(o.size for o in opened.list_objects(f"{namespace}/"))
    opened.close()
    return tar_bytes, store_bytes


def mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=6)
    parser.add_argument("--per-module", type=int, default=50)
    parser.add_argument("--targets", default=TARGETS, help="the matrix, comma-separated")
    args = parser.parse_args()
    go = shutil.which("go") or "go"
    scratch = Path(tempfile.mkdtemp(prefix="goci-remote-cache-"))
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-modcacherw", "GOPROXY": "off"}
    for name in ("GOWORK", "GOCACHEPROG", "GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_ENV"):
        env.pop(name, None)
    seaweed = Seaweed(scratch / "seaweed")
    seaweed.start()
    try:
        env = seaweed.env(env)
        env["GOMODCACHE"] = str(scratch / "mod")
        runner = Runner(scratch, env)
        repo = generate(
            scratch / "mono", modules=args.modules, per_module=args.per_module, seed=3,
            workspace=True,
        )  # fmt: skip
        store = f"s3://{BUCKET}/bench-remote-cache"
        namespace = "bench/mono"
        print(
            f"{len(repo.packages)} packages in {args.modules} modules; SeaweedFS on "
            f"{seaweed.endpoint}; {os.cpu_count()} CPUs (a shared machine: figures are noisy)",
            flush=True,
        )
        # The previous run on main: a GOCACHE to pack, and the store filled through cacheprog.
        previous = runner.fresh("previous")
        build_and_test(repo, go, previous)
        tarball = scratch / "gocache.tar.zst"
        tar_size = pack(Path(previous["GOCACHE"]), tarball)
        filling = runner.fresh(
            "fill", GOCACHEPROG=gocacheprog(store, namespace, scratch / "fill.jsonl")
        )
        build_and_test(repo, go, filling)
        print(f"previous run stored: tarball {mib(tar_size)}", flush=True)

        changed = random.Random(5).choice(sorted(repo.packages))
        touch(repo, changed, 1, "called")
        print(f"one package changed: {changed}", flush=True)

        cold = build_and_test(repo, go, runner.fresh("cold"))
        restored = runner.fresh("tarball")
        unpacked = extract(tarball, Path(restored["GOCACHE"]))
        tar_total = unpacked + build_and_test(repo, go, restored)
        stats = scratch / "cacheprog.jsonl"
        shared = build_and_test(
            repo, go, runner.fresh("cacheprog", GOCACHEPROG=gocacheprog(store, namespace, stats))
        )
        counts = cachestats.total(stats.read_text().splitlines())

        print(f"\ncold (no cache)                    {cold:7.1f}s")
        print(f"tarball (extract {unpacked:4.1f}s counted)     {tar_total:7.1f}s")
        print(f"goci cacheprog on SeaweedFS        {shared:7.1f}s")
        print(f"  {counts.line(store)} ({counts.processes} go commands)")
        print(
            f"cacheprog / cold: {shared / cold:.2f} (target <= 0.3); "
            f"cacheprog / tarball: {shared / tar_total:.2f} (target <= 1.0)"
        )
        median = counts.median_overhead_ms()
        print(
            f"server time per get, store round trips excluded: median "
            f"{median if median is None else f'{median:.2f} ms'} over {counts.gets} gets "
            "(target < 1 ms)"
        )

        targets = [t for t in args.targets.split(",") if t]
        print(f"\nmatrix of {len(targets)} targets (go build), each on a fresh runner:", flush=True)
        tar_bytes, store_bytes = matrix(repo, go, runner, store, scratch, targets)
        print(
            f"sum of {len(targets)} GOCACHE tarballs {mib(tar_bytes)}; one shared store "
            f"{mib(store_bytes)} ({store_bytes / tar_bytes:.2f}x)"
        )
    finally:
        seaweed.stop()
        subprocess.run(["chmod", "-R", "u+w", str(scratch)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
