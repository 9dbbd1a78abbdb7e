"""Small releases for race and integrity tests: a few bytes per binary, packed in milliseconds.

The bytes are not programs (the races are about which writer's bytes a store ends up with,
not what they do); everything else is what goci build and goci pack really write: the layout
``dist/{service}/{os}-{arch}/{binary}``, a ``build.json`` with the binary's size and SHA-256,
and a release packed by goci's own ``pack``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from goci.cli import main
from goci.release.local import LocalRelease, load_release
from goci.release.manifest import MANIFEST
from goci.release.names import Env
from goci.release.pack import BuildInfo, pack
from goci.release.stores import Store
from goci.tools.hashing import sha256_file

TARGETS = ("linux-amd64", "linux-arm64")
WHEN = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def build_output(
    dist: Path, service: str, payload: bytes, targets: Iterable[str] = TARGETS
) -> None:
    """What goci build leaves: a binary per target and the build.json that vouches for it."""
    binary = service.rsplit("/", 1)[-1]
    for target in targets:
        folder = dist / service / target
        folder.mkdir(parents=True, exist_ok=True)
        data = payload + b" " + target.encode()
        (folder / binary).write_bytes(data)
        record = {
            "schema": 1,
            "service": service,
            "binary": binary,
            "target": target.replace("-", "/", 1),
            "commit": hashlib.sha1(payload).hexdigest(),  # noqa: S324 - a stand-in commit id
            "go_version": "go1.22.0",
            "build_time": "2025-01-02T03:04:05Z",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "stripped": True,
        }
        (folder / "build.json").write_text(json.dumps(record, indent=2) + "\n")


def packed(
    ws: Path, service: str, payload: bytes, env: Env = "prod", version: str = "1.0.0"
) -> LocalRelease:
    """A workspace whose dist/ holds one packed release of ``payload``."""
    dist = ws / ".goci" / "dist"
    if (dist / service).exists():
        shutil.rmtree(dist / service)
    build_output(dist, service, payload)
    info = BuildInfo(commit=hashlib.sha1(payload).hexdigest(), build_time=WHEN)  # noqa: S324
    done = pack(dist, service, env, version, info)
    return load_release(dist, done.manifest.release)


def assert_complete(
    store: Store, folder: str, files: dict[str, str] | None = None
) -> dict[str, Any]:
    """The release at ``folder`` is whole: its manifest lists exactly the objects under it
    (plus SHA256SUMS and the claim), each holding the bytes the manifest says. Returns the
    manifest; with ``files`` ({path: sha256}), the manifest must list exactly those."""
    found = store.read(f"{folder}/{MANIFEST}")
    assert found is not None, f"{folder} has no manifest"
    manifest: dict[str, Any] = json.loads(found[0])
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    if files is not None:
        assert listed == files
    keys = {k for k in store.list_keys(f"{folder}/") if "/.goci-uploads/" not in k}
    extra = {f"{folder}/SHA256SUMS", f"{folder}/{MANIFEST}", f"{folder}/claim.json"}
    assert keys - extra == {f"{folder}/{p}" for p in listed}, keys
    for path, digest in listed.items():
        assert stored_sha256(store, f"{folder}/{path}") == digest, (folder, path)
    assert stored_sha256(store, f"{folder}/SHA256SUMS") == manifest["sha256sums"]
    return manifest


def stored_sha256(store: Store, key: str) -> str | None:
    """The SHA-256 of the bytes a reader downloads (hashed here, not by the store)."""
    found = store.read(key)
    return hashlib.sha256(found[0]).hexdigest() if found else None


def local_files(release: LocalRelease) -> dict[str, str]:
    return {f.path: sha256_file(release.path / f.path) for f in release.manifest.files}


def race(calls: list[list[str]], envs: list[dict[str, str]]) -> list[int]:
    """Run ``goci ARGS`` for every call at the same moment (threads behind a barrier) and
    return the exit codes; ``main`` is the CLI entry point, so the codes are the real ones."""
    start = threading.Barrier(len(calls))
    codes = [-1] * len(calls)

    def one(index: int) -> None:
        start.wait()
        codes[index] = main(calls[index], env=envs[index])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def open_pipe_to(fifo: Path, proc: subprocess.Popen[Any]) -> BinaryIO:
    """The write end of ``fifo``, once ``proc`` opened it to read (so its temporary file
    exists). If ``proc`` exits without opening it, fail instead of waiting forever."""

    def unblock() -> None:
        proc.wait()
        with contextlib.suppress(OSError):  # a reader of our own ends the blocked open
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))

    threading.Thread(target=unblock, daemon=True).start()
    pipe = fifo.open("wb")
    if proc.poll() is not None:
        pipe.close()
        raise AssertionError(f"the writer exited ({proc.returncode}) before it read {fifo}")
    return pipe
