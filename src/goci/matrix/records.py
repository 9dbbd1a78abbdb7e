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

from goci.ci_env import CiEnv
from goci.errors import InputError
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


# What a stamped version may hold: it goes into -ldflags.
SAFE_STAMP = re.compile(r"^[A-Za-z0-9._+~:@/=-]*$")
_TAG_SEMVER = re.compile(
    r"^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$"
)


def _precedence(tag: str) -> tuple[tuple[int, ...], int, tuple[tuple[int, int, str], ...]] | None:
    """Semantic Versioning's order of ``v``-tags (None for another tag): a release above its
    pre-releases, numbers compared as numbers (v1.10.0 above v1.9.0), build metadata ignored."""
    match = _TAG_SEMVER.match(tag)
    if not match:
        return None
    core = tuple(int(part) for part in match.groups()[:3])
    if match.group(4) is None:
        return core, 1, ()
    ids = match.group(4).split(".")
    return core, 0, tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in ids)


def _event_tag(env: Mapping[str, str]) -> str:
    """The tag the CI run was started for (a tag push), or ''."""
    event = CiEnv.from_env(env).event
    return event.ref.removeprefix("refs/tags/") if event.is_tag else ""


def tag_version(git: Git, env: Mapping[str, str]) -> str:
    """The release tag on HEAD, or '' when HEAD is not tagged.

    Several tags may point at one commit (``v2.0.0-rc.1`` kept on the commit that became
    ``v2.0.0``): the tag the run was pushed for (GitHub, Drone) wins, else the highest version
    by semver, else the last ``v``-tag, else the last tag. It is stamped into -ldflags, so it
    is held to the same characters as ``--version``.
    """
    result = git.run("tag", "--points-at", "HEAD", check=False)
    tags = sorted(t for t in result.stdout.split() if t)
    pushed = _event_tag(env)
    ranked = [(rank, tag) for tag in tags if (rank := _precedence(tag)) is not None]
    if pushed in tags:
        chosen = pushed
    elif ranked:
        chosen = max(ranked)[1]
    else:
        chosen = ([t for t in tags if re.match(r"^v[0-9]", t)] or tags or [""])[-1]
    if chosen and not SAFE_STAMP.match(chosen):
        raise InputError(
            f"the tag on HEAD, {chosen!r}, cannot be stamped (accepted: letters, digits and "
            ". _ + ~ : @ / = -): give --version"
        )
    return chosen


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
