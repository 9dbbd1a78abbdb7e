"""Real go with ``GOCACHEPROG="goci cacheprog ..."`` on real stores: SeaweedFS and a folder.

Each "machine" is a fresh GOCACHE (so a fresh local tier) on the same checkout. Machine A
fills SeaweedFS once for the module (``go build`` of a binary and ``go test``: the standard
library is compiled once, the expensive part); the others read it. The file-store tests build
a package with no imports, which costs the go command a second.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from goci.cache.cacheprog import stats as cachestats
from goci.cache.cacheprog.plan import go_quote
from support.gotools import go_exe, hermetic_env
from support.seaweed import BUCKET, Seaweed
from support.tcpcut import CutProxy

FILES = {
    "go.mod": "module example.com/fleet\n\ngo 1.24\n",
    "lib/lib.go": "package lib\n\nfunc Add(a, b int) int { return a + b }\n",
    "lib/lib_test.go": (
        'package lib\n\nimport "testing"\n\n'
        "func TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal(Add(1, 2))\n\t}\n}\n"
    ),
    "cmd/tiny/main.go": (
        'package main\n\nimport "example.com/fleet/lib"\n\n'
        "func main() { println(lib.Add(40, 2)) }\n"
    ),
}


def compiled(run: subprocess.CompletedProcess[str]) -> bool:
    """Whether a successful ``go build -x`` compiled or assembled anything."""
    assert run.returncode == 0, run.stderr
    return re.search(r"/(compile|asm) ", run.stderr) is not None


def write_module(root: Path) -> Path:
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@dataclass
class Machine:
    """A fresh GOCACHE and local tier, and go runs through goci cacheprog."""

    root: Path
    module: Path
    env: dict[str, str]
    store: str
    extra: tuple[str, ...] = ()

    @property
    def stats_file(self) -> Path:
        return self.root / "stats.jsonl"

    def go(self, *args: str) -> subprocess.CompletedProcess[str]:
        words = [sys.executable, "-m", "goci", "cacheprog", "--store", self.store]
        words += ["--namespace", "acme/fleet", "--stats", str(self.stats_file), *self.extra]
        env = {
            **self.env,
            "GOCACHE": str(self.root / "gocache"),
            "GOCACHEPROG": " ".join(go_quote(w) for w in words),
        }
        return subprocess.run(
            ["go", *args], cwd=self.module, env=env, capture_output=True, text=True, check=False
        )

    def counts(self) -> cachestats.Counts:
        return cachestats.total(self.stats_file.read_text().splitlines())


def machine(
    tmp: Path, name: str, module: Path, env: dict[str, str], store: str, *extra: str
) -> Machine:
    (tmp / name).mkdir(parents=True)
    return Machine(tmp / name, module, env, store, extra)


Fleet = tuple[Path, dict[str, str], str, Path]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, seaweed: Seaweed) -> Iterator[Fleet]:
    """Machine A's build and test, stored in SeaweedFS: (module, env, store URL, A's binary)."""
    tmp = tmp_path_factory.mktemp("fleet")
    dirs = {"GOMODCACHE": tmp / "modcache", "GOPATH": tmp / "gopath"}
    env = seaweed.env(hermetic_env(go_exe(), dirs))
    module = write_module(tmp / "module")
    store = f"s3://{BUCKET}/cacheprog-go/{uuid.uuid4().hex[:8]}"
    a = machine(tmp, "a", module, env, store)
    built = a.go("build", "-o", str(a.root / "tiny"), "./cmd/tiny")
    assert built.returncode == 0, built.stderr
    tested = a.go("test", "./lib")
    assert tested.returncode == 0 and "(cached)" not in tested.stdout, tested.stdout
    counts = a.counts()
    assert counts.puts > 0 and counts.uploads > 0 and counts.remote_hits == 0
    yield module, env, store, a.root / "tiny"


def test_a_second_machine_builds_from_the_store_and_its_tests_are_cached(
    fleet: Fleet, tmp_path: Path
) -> None:
    module, env, store, binary_a = fleet
    b = machine(tmp_path, "b", module, env, store)
    built = b.go("build", "-x", "-o", str(b.root / "tiny"), "./cmd/tiny")
    # Nothing compiled or assembled again: every package came from the store (only the link
    # that writes -o's file runs, as it does on any warm cache).
    assert not compiled(built)
    assert re.search(r"/link ", built.stderr)
    counts = b.counts()
    assert counts.remote_hits > 0 and counts.local_hits == 0 and counts.bad_objects == 0
    assert (b.root / "tiny").read_bytes() == binary_a.read_bytes()
    tested = b.go("test", "./lib")
    assert tested.returncode == 0, tested.stderr
    assert tested.stdout.split()[:2] == ["ok", "example.com/fleet/lib"]
    assert "(cached)" in tested.stdout


def test_a_store_killed_mid_build_leaves_the_build_green(
    fleet: Fleet, seaweed: Seaweed, tmp_path: Path
) -> None:
    module, env, store, binary_a = fleet
    proxy = CutProxy(seaweed.ports["s3.port"], cut_after=30)
    try:
        c = machine(tmp_path, "c", module, {**env, "AWS_ENDPOINT_URL_S3": proxy.endpoint}, store)
        built = c.go("build", "-o", str(c.root / "tiny"), "./cmd/tiny")
    finally:
        proxy.close()
    assert built.returncode == 0, built.stderr
    assert proxy.cut.is_set()
    assert (c.root / "tiny").read_bytes() == binary_a.read_bytes()
    counts = c.counts()
    assert counts.degraded and counts.remote_hits > 0 and counts.misses > 0
    assert counts.timeouts == 0  # a dead store is a quick miss, not a wait for the deadline
    assert "the build goes on with the local cache only" in built.stderr


def test_file_store_fill_hits_repair_and_read_only(go_env: dict[str, str], tmp_path: Path) -> None:
    module = write_module(tmp_path / "module")
    store_dir = tmp_path / "store"
    store = store_dir.as_uri()

    a = machine(tmp_path, "a", module, go_env, store)
    assert a.go("build", "./lib").returncode == 0
    objects = sorted(p for p in store_dir.rglob("*") if p.is_file())
    assert objects and all("acme/fleet/v1/" in p.as_posix() for p in objects)
    assert a.counts().misses == a.counts().gets > 0

    b = machine(tmp_path, "b", module, go_env, store)
    assert not compiled(b.go("build", "-x", "./lib"))
    assert b.counts().remote_hits > 0 and b.counts().bad_objects == 0

    largest = max(objects, key=lambda p: p.stat().st_size)
    corrupted = largest.read_bytes()[:-8] + bytes(8)
    largest.write_bytes(corrupted)
    c = machine(tmp_path, "c", module, go_env, store)
    assert c.go("build", "./lib").returncode == 0
    assert c.counts().bad_objects >= 1 and c.counts().misses >= 1
    assert largest.read_bytes() != corrupted  # repaired by the put after the miss
    d = machine(tmp_path, "d", module, go_env, store)
    assert not compiled(d.go("build", "-x", "./lib"))  # the repaired entry serves it
    assert d.counts().remote_hits > 0 and d.counts().bad_objects == 0

    before = {p: p.stat().st_mtime_ns for p in store_dir.rglob("*")}
    (module / "lib" / "lib.go").write_text(
        "package lib\n\nfunc Add(a, b int) int { return b + a }\n"
    )
    e = machine(tmp_path, "e", module, go_env, store, "--read-only")
    assert e.go("build", "./lib").returncode == 0
    assert e.counts().puts > 0 and e.counts().uploads == 0
    assert {p: p.stat().st_mtime_ns for p in store_dir.rglob("*")} == before
