"""Upload 8 binaries of 20 MB to a local SeaweedFS: goci vs a sequential boto3 loop.

Both runs send the same files to the same server (fresh prefixes), measured in the same run.
goci uploads files and multipart parts in parallel and also does what the loop does not:
checks every file against SHA256SUMS first, sends Content-MD5 with every part, and verifies
each object after upload. Prints both times, MB/s and the ratio (baseline time / goci time).

    .venv/bin/python bench/upload.py            # 8 x 20 MB (the issue's size)
    .venv/bin/python bench/upload.py --quick    # 8 x 4 MB
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from goci.release.local import load_release  # noqa: E402
from goci.release.pack import BuildInfo, pack  # noqa: E402
from goci.release.stores import Tuning, open_store  # noqa: E402
from goci.release.upload import upload_all  # noqa: E402
from support.seaweed import BUCKET, Seaweed  # noqa: E402

TARGETS = (
    "linux-amd64",
    "linux-arm64",
    "linux-386",
    "darwin-amd64",
    "darwin-arm64",
    "windows-amd64",
    "windows-arm64",
    "freebsd-amd64",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 x 4 MB instead of 8 x 20 MB")
    parser.add_argument("--size-mb", type=int, default=0, help="override the size of each file")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both uploads")
    args = parser.parse_args()
    size_mb = args.size_mb or (4 if args.quick else 20)
    size = size_mb * 1024 * 1024
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="goci-bench-upload-") as tmp:
        root = Path(tmp)
        dist = root / "dist"
        for target in TARGETS:
            folder = dist / "svc" / target
            folder.mkdir(parents=True)
            (folder / "svc").write_bytes(rng.randbytes(size))
        packed = pack(
            dist, "svc", "dev", "20250102030405", BuildInfo(build_time=datetime.now(timezone.utc))
        )
        release = load_release(dist, packed.manifest.release)
        files = [release.path / f.path for f in release.manifest.files]
        total_mb = size_mb * len(files)

        server = Seaweed(root / "seaweed")
        server.start()
        baselines: list[float] = []
        measured: list[float] = []
        try:
            client = server.client()
            env = server.env(dict(os.environ))

            def run_baseline(round_: int) -> None:
                started = time.perf_counter()
                for path in files:
                    key = f"baseline{round_}/{path.parent.name}/{path.name}"
                    client.upload_file(str(path), BUCKET, key)
                baselines.append(time.perf_counter() - started)

            def run_goci(round_: int) -> None:
                store = open_store(
                    f"s3://{BUCKET}/goci{round_}",
                    env=env,
                    cwd=root,
                    tuning=Tuning(workers=8, attempts=4),
                )
                store.read("warm-up")  # both sides start with a connected client
                started = time.perf_counter()
                upload_all(store, [release], workers=4)
                measured.append(time.perf_counter() - started)

            # Alternate the order (ABBA...) so neither side always meets a fuller server.
            for round_ in range(args.rounds):
                first, second = (
                    (run_baseline, run_goci) if round_ % 2 == 0 else (run_goci, run_baseline)
                )
                first(round_)
                second(round_)
        finally:
            server.stop()
        baseline = statistics.median(baselines)
        goci_time = statistics.median(measured)

    print(f"files:    {len(files)} x {size_mb} MB = {total_mb} MB to SeaweedFS on 127.0.0.1")
    print(f"rounds:   {args.rounds} (medians; order alternates)")
    print(f"baseline: {baseline:6.2f} s  {total_mb / baseline:7.1f} MB/s  (sequential upload_file)")
    print(f"goci:     {goci_time:6.2f} s  {total_mb / goci_time:7.1f} MB/s  (verified, parallel)")
    print(f"ratio:    {baseline / goci_time:.2f}x (baseline time / goci time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
