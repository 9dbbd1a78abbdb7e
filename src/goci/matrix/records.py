"""What a build records beside each binary (``build.json``), and the facts it is stamped with.

Pack publishes a binary only when it matches the record the build wrote next to it, so the
record carries the binary's size and SHA-256 along with the commit, its time (never the clock),
the Go version and the flags; ``--profile`` reads which build steps really ran from Go's own
action graph.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from goci.matrix.platforms import Platform
from goci.matrix.services import MainPackage
from goci.tools.gittool import Git

BUILD_JSON = "build.json"
SCHEMA = 1


@dataclass(frozen=True)
class Artifact:
    """One built binary."""

    package: MainPackage
    target: Platform
    path: Path  # final location: out/{service}/{target}/{binary}
    size: int
    unstripped_size: int | None
    sha256: str

    @property
    def service(self) -> str:
        return self.package.service


@dataclass(frozen=True)
class BuildFacts:
    """What every binary of one build is stamped with, and records in its ``build.json``."""

    go_version: str
    commit: str | None
    build_time: str | None
    version: str
    version_var: str | None
    strip: bool
    cgo: bool
    flags: tuple[str, ...]


@dataclass(frozen=True)
class ProfileEntry:
    """One step of the build that really ran (not served from the cache)."""

    target: str
    package: str
    mode: str
    seconds: float


def tag_version(git: Git) -> str:
    """The release tag on HEAD (``v1.2.3`` preferred), or '' when HEAD is not tagged."""
    result = git.run("tag", "--points-at", "HEAD", check=False)
    tags = sorted(t for t in result.stdout.split() if t)
    plain = [t for t in tags if re.match(r"^v\d", t)]
    return (plain or tags or [""])[-1]


def read_profile(graph_files: Sequence[Path], target: str) -> tuple[list[ProfileEntry], int]:
    """Steps that ran, with their time, from Go's own action graph (``-debug-actiongraph``)."""
    entries: list[ProfileEntry] = []
    cached = 0
    for path in graph_files:
        if not path.is_file():
            continue
        for action in json.loads(path.read_text(encoding="utf-8")):
            if not action.get("Package") or action.get("Mode") not in ("build", "link"):
                continue
            if not action.get("Cmd"):
                cached += 1
                continue
            seconds = (action.get("CmdReal") or 0) / 1e9
            entries.append(ProfileEntry(target, action["Package"], action["Mode"], seconds))
    return entries, cached


def build_record(artifact: Artifact, facts: BuildFacts) -> dict[str, Any]:
    """The ``build.json`` written beside each binary (read by ``goci artifact pack``)."""
    package, target = artifact.package, artifact.target
    return {
        "schema": SCHEMA,
        "service": package.service,
        "import_path": package.import_path,
        "module": package.module,
        "binary": artifact.path.name,
        "target": target.spec,
        "goos": target.os,
        "goarch": target.arch,
        "variant": target.variant,
        "cgo": facts.cgo or target.cgo,
        "go_version": facts.go_version,
        "commit": facts.commit,
        "build_time": facts.build_time,
        "version": facts.version,
        "version_var": facts.version_var,
        "stripped": facts.strip,
        "size": artifact.size,
        "unstripped_size": artifact.unstripped_size,
        "sha256": artifact.sha256,
        "flags": list(facts.flags),
    }


def commit_info(git: Git, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The commit and its time (never the clock: SOURCE_DATE_EPOCH outside git)."""
    commit = git.resolve("HEAD") if git.run("rev-parse", "--git-dir", check=False).ok else None
    seconds: int | None = None
    if commit is not None:
        seconds = git.commit_time("HEAD")
    elif env.get("SOURCE_DATE_EPOCH", "").strip().isdigit():
        seconds = int(env["SOURCE_DATE_EPOCH"])
    when = (
        datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if seconds is not None
        else None
    )
    return commit, when
