"""Build output for artifact tests: real ``go build`` of tiny mains into goci build's layout.

``dist/{service}/{os}-{arch}/{binary}`` with a ``build.json`` (binary, size, SHA-256, as goci
build writes it) beside each binary of ``api`` (and none beside ``tools/worker``, so both paths
of pack are used). The binaries are built
once per test process into a template repository and copied for each test.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from support.gorepo import GoRepo

TARGETS = (("linux", "amd64"), ("linux", "arm64"))
SERVICES = {"api": "cmd/api", "tools/worker": "cmd/worker"}
STAMP = "20250102030405"  # the fixed commit date of go_env, as pack names dev releases

_templates: dict[str, Path] = {}


def _cleanup(path: Path) -> None:
    subprocess.run(["chmod", "-R", "u+w", str(path)], check=False)
    shutil.rmtree(path, ignore_errors=True)


def _template(env: Mapping[str, str]) -> Path:
    key = env.get("GOCI_GO", "go")
    if key in _templates:
        return _templates[key]
    root = Path(tempfile.mkdtemp(prefix="goci-artifacts-"))
    atexit.register(_cleanup, root)
    repo = GoRepo(root / "repo", env)
    repo.module(".", "example.com/shop")
    for service, folder in SERVICES.items():
        name = service.rsplit("/", 1)[-1]
        repo.write(f"{folder}/main.go", f'package main\n\nfunc main() {{ println("{name}") }}\n')
    commit = repo.commit("services")
    goversion = repo.go("env", "GOVERSION").stdout.strip()
    for goos, goarch in TARGETS:
        # One go build per target for all services (go links them in parallel).
        scratch = repo.root / ".build" / f"{goos}-{goarch}"
        scratch.mkdir(parents=True)
        subprocess.run(
            [key, "build", "-trimpath", "-ldflags=-s -w", "-o", f"{scratch}/",
             *(f"./{folder}" for folder in SERVICES.values())],
            cwd=repo.root,
            env={**env, "GOOS": goos, "GOARCH": goarch, "CGO_ENABLED": "0"},
            check=True,
            capture_output=True,
        )  # fmt: skip
        for service, folder in SERVICES.items():
            name = service.rsplit("/", 1)[-1]
            out = repo.root / ".goci" / "dist" / service / f"{goos}-{goarch}"
            out.mkdir(parents=True, exist_ok=True)
            (scratch / Path(folder).name).rename(out / name)
            if service == "api":
                (out / "build.json").write_text(
                    json.dumps(
                        {
                            "service": service,
                            "import_path": f"example.com/shop/{folder}",
                            "target": f"{goos}/{goarch}",
                            "go_version": goversion,
                            "commit": commit,
                            "build_time": "2025-01-02T03:04:05Z",
                            "binary": name,
                            "size": (out / name).stat().st_size,
                            "sha256": hashlib.sha256((out / name).read_bytes()).hexdigest(),
                            "stripped": True,
                        }
                    )
                )
    shutil.rmtree(repo.root / ".build")
    _templates[key] = repo.root
    return repo.root


def workspace(dest: Path, env: Mapping[str, str]) -> Path:
    """A fresh copy of the template repository (git history and dist/) at ``dest``."""
    shutil.copytree(_template(env), dest, symlinks=True)
    return dest


def big_release_source(dist: Path, service: str, sizes: Mapping[str, int], seed: int = 1) -> None:
    """Large stand-in binaries (random bytes) where a test needs multipart uploads."""
    import random

    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    for target, size in sizes.items():
        folder = dist / service / target
        folder.mkdir(parents=True, exist_ok=True)
        (folder / service.rsplit("/", 1)[-1]).write_bytes(rng.randbytes(size))


def rebuild(binary: Path, data: bytes) -> None:
    """New bytes for a built binary, with the build.json beside it updated as goci build would."""
    binary.write_bytes(data)
    record_path = binary.parent / "build.json"
    if record_path.exists():
        record = json.loads(record_path.read_text())
        record.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
        record_path.write_text(json.dumps(record))
