"""What ``goci test`` knows about a profile it wrote, kept beside it, and which shards ran.

A text profile says nothing of the commit, Go version, target, mode or shard it came from; the
merge needs those to refuse mixing profiles that cannot be added and to notice a missing shard.
Each profile gets a JSON sidecar, and each shard a marker (even a shard that got no packages).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goci.errors import InputError
from goci.tools.atomic import write_atomic

SIDECAR_SUFFIX = ".json"
SHARD_MARKER_PREFIX = "goci-shard-"


@dataclass(frozen=True)
class Sidecar:
    """What ``goci test`` knows about a profile it wrote, kept next to it as JSON."""

    commit: str = ""
    go_version: str = ""
    goos: str = ""
    goarch: str = ""
    mode: str = ""
    tags: tuple[str, ...] = ()
    package: str = ""
    shard: str = ""
    coverpkg: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()  # the packages one go test run wrote the profile for

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 1,
            "commit": self.commit,
            "go_version": self.go_version,
            "goos": self.goos,
            "goarch": self.goarch,
            "mode": self.mode,
            "tags": list(self.tags),
            "package": self.package,
            "shard": self.shard,
            "coverpkg": list(self.coverpkg),
            "packages": list(self.packages),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "sidecar") -> Sidecar:
        """Read a sidecar's fields; a field of the wrong type is an InputError naming it."""

        def text(name: str) -> str:
            value = data.get(name)
            if value is None:
                return ""
            if not isinstance(value, str):
                raise _bad_field(source, name, value, "a string")
            return value

        def words(name: str) -> tuple[str, ...]:
            value = data.get(name)
            if value is None:
                return ()
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _bad_field(source, name, value, "a list of strings")
            return tuple(value)

        return cls(
            commit=text("commit"),
            go_version=text("go_version"),
            goos=text("goos"),
            goarch=text("goarch"),
            mode=text("mode"),
            tags=words("tags"),
            package=text("package"),
            shard=text("shard"),
            coverpkg=words("coverpkg"),
            packages=words("packages"),
        )


def _bad_field(source: str, name: str, value: object, accepted: str) -> InputError:
    return InputError(
        f"{source}: {name!r} is {json.dumps(value, default=str)[:60]}, not {accepted}; "
        "goci test writes this file: remove it or run goci test again"
    )


def sidecar_path(profile: Path) -> Path:
    return profile.with_name(profile.name + SIDECAR_SUFFIX)


def write_sidecar(profile: Path, sidecar: Sidecar) -> Path:
    """Write the sidecar of ``profile`` (temp name, then rename: never half-written)."""
    path = sidecar_path(profile)
    write_atomic(path, json.dumps(sidecar.to_json(), indent=2, sort_keys=True) + "\n")
    return path


def read_sidecar(profile: Path) -> Sidecar | None:
    path = sidecar_path(profile)
    if not path.is_file():
        return None
    return Sidecar.from_json(_json_object(path, "sidecar"), str(path))


def write_shard_marker(folder: Path, name: str, sidecar: Sidecar, packages: Sequence[str]) -> Path:
    """Say that a shard ran (even one that got no packages), so a merge can count shards."""
    path = folder / f"{SHARD_MARKER_PREFIX}{name}.json"
    data = {**sidecar.to_json(), "packages": list(packages)}
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


def read_marker(path: Path) -> Sidecar:
    return Sidecar.from_json(_json_object(path, "shard marker"), str(path))


def _json_object(path: Path, what: str) -> dict[str, Any]:
    """The JSON object a sidecar or shard marker holds; anything else is one clear error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise InputError(f"{path}: not a readable goci {what} ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a readable goci {what} (expected a JSON object)")
    return data
