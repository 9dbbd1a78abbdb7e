"""The plan: Go versions × platforms × services × shards, as a GitHub ``strategy.matrix``.

The output is ready for ``strategy.matrix: ${{ fromJSON(...) }}``: an ``include`` list whose
entries carry everything a job needs (``go``, ``os``, ``arch``, ``platform``, ``runner``,
``cross``, ``service``, ``shard``, ``name``, the ``folder`` its binaries go to and an
``artifact`` name that upload-artifact accepts), and the plan names the Go version whose
coverage is merged and the one that builds what is published, so no workflow computes them.
``include``/``exclude`` follow GitHub's own rules, so a workflow author's intuition carries
over, and the 256-job limit is checked here, where the message can say which axis to cut,
instead of at run time on GitHub. Two platforms that would build into one folder are refused
here too, before two jobs upload the same paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goci.errors import InputError
from goci.matrix import goreleases, platforms
from goci.matrix import runners as runner_choice
from goci.matrix.platforms import Platform
from goci.matrix.runners import Runner
from goci.tools.gotool import Go
from goci.tools.workspace import discover

GITHUB_LIMIT = 256
_ARTIFACT_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# The keys that come from the axes; include may add or overwrite the others (runner, name, ...).
AXIS_KEYS = ("go", "os", "arch", "platform", "variant", "cgo", "service", "shard")


@dataclass(frozen=True)
class Matrix:
    """A planned matrix; ``include`` is what GitHub reads."""

    include: tuple[Mapping[str, Any], ...]
    go_versions: tuple[str, ...]
    platforms: tuple[Platform, ...]
    services: tuple[str, ...] | None
    shards: int
    coverage_go: str = ""
    release_go: str = ""

    @property
    def count(self) -> int:
        return len(self.include)

    @property
    def empty(self) -> bool:
        return not self.include

    def as_json(self) -> dict[str, Any]:
        return {"include": [dict(entry) for entry in self.include]}


def service_list(value: Any, input_name: str = "services") -> tuple[str, ...] | None:
    """Services from changed-packages: a JSON list of import paths (or objects naming them).

    None means "not given" (no service axis); an empty list means nothing changed.
    """
    if value is None or value == "":
        return None
    given = value
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            if text.startswith(("[", "{", '"')):  # meant as JSON: never guess at a broken one
                detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deep"
                raise InputError(
                    f"{input_name}: {text[:80]!r} is not valid JSON ({detail}); accepted: a "
                    'JSON list of main package import paths or ./folders (e.g. ["./cmd/api"]) '
                    "or words separated by spaces or commas"
                ) from None
            value = [part for part in text.replace(",", " ").split() if part]
    if not isinstance(value, list):
        raise InputError(
            f"{input_name}: {str(given)[:80]!r} is not valid; accepted: a JSON list of main "
            'package import paths or ./folders (e.g. ["example.com/app/cmd/api"])'
        )
    names: list[str] = []
    for item in value:
        if isinstance(item, Mapping):
            item = item.get("import_path") or item.get("path") or item.get("name")
        if not isinstance(item, str) or not item.strip():
            raise InputError(f"{input_name}: {item!r} is not a package import path or folder")
        if item.strip() not in names:
            names.append(item.strip())
    return tuple(names)


def short_service(service: str) -> str:
    """The last element of an import path or folder: what a person calls the service."""
    parts = [p for p in service.rstrip("/").split("/") if p not in ("", ".")]
    if len(parts) > 1 and parts[-1].startswith("v") and parts[-1][1:].isdigit():
        parts = parts[:-1]
    return parts[-1] if parts else service


def entry_name(entry: Mapping[str, Any]) -> str:
    """A readable job name: ``go1.25.5 linux/arm64 (cross) api shard 1/2``."""
    words = [f"go{entry.get('go', '?')}", str(entry.get("platform", ""))]
    if entry.get("cross"):
        words.append("(cross)")
    if entry.get("service"):
        words.append(short_service(str(entry["service"])))
    if entry.get("shard"):
        words.append(f"shard {entry['shard']}")
    return " ".join(w for w in words if w)


def _base_entry(
    go: str, platform: Platform, runners: Mapping[str, Runner | None]
) -> dict[str, Any]:
    runner, cross = runner_choice.runner_for(platform, runners)
    entry: dict[str, Any] = {
        "go": go,
        "os": platform.os,
        "arch": platform.arch,
        "platform": platform.spec,
        "folder": platform.folder,
    }
    if platform.variant:
        entry["variant"] = platform.variant
    if platform.cgo:
        entry["cgo"] = True
    entry["runner"] = runner
    entry["cross"] = cross
    return entry


def check_objects(value: Any, input_name: str) -> list[dict[str, Any]]:
    if value is None or value == "":
        return []
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise InputError(
            f"{input_name}: {json.dumps(value)[:80]!r} is not valid; accepted: a JSON list of "
            'objects as in GitHub\'s matrix syntax, e.g. [{"os": "windows", "go": "1.24.3"}]'
        )
    return [dict(v) for v in value]


def _matches(entry: Mapping[str, Any], obj: Mapping[str, Any], keys: Sequence[str]) -> bool:
    return all(entry.get(k) == obj[k] for k in keys)


def apply_exclude(
    entries: list[dict[str, Any]], exclude: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """GitHub's exclude: drop every entry that matches all the key/values of one object."""
    for obj in exclude:
        unknown = [k for k in obj if k not in AXIS_KEYS]
        if unknown:
            raise InputError(
                f"exclude: key {unknown[0]!r} is not a matrix axis; axes: {', '.join(AXIS_KEYS)}"
            )
    return [e for e in entries if not any(_matches(e, obj, list(obj)) for obj in exclude)]


def apply_include(
    entries: list[dict[str, Any]],
    include: Sequence[Mapping[str, Any]],
    runners: Mapping[str, Runner | None],
    known: platforms.DistList | None,
) -> list[dict[str, Any]]:
    """GitHub's include: extend every entry whose axis values agree, else add a new entry.

    An object's key/values are added to each entry they do not contradict on an axis key
    (runner, name and other added keys may be overwritten); an object that fits no entry
    becomes an entry of its own.
    """
    result = [dict(e) for e in entries]
    originals = [dict(e) for e in entries]
    for obj in include:
        fitted = False
        for entry, original in zip(result, originals, strict=True):
            clash = any(
                k in AXIS_KEYS and k in original and original[k] != v for k, v in obj.items()
            )
            if not clash:
                entry.update(obj)
                fitted = True
        if not fitted:
            result.append(_new_entry(obj, runners, known))
            originals.append(dict(result[-1]))
    return result


def _new_entry(
    obj: Mapping[str, Any], runners: Mapping[str, Runner | None], known: platforms.DistList | None
) -> dict[str, Any]:
    missing = [k for k in ("go", "os", "arch") if k not in obj]
    if missing:
        raise InputError(
            f"include: {json.dumps(dict(obj))[:80]!r} matches no planned entry, and a new entry "
            f"needs go, os and arch (missing {', '.join(missing)})"
        )
    word = str(obj.get("platform") or f"{obj['os']}/{obj['arch']}")
    platform = (
        platforms.parse(word, known, input_name="include")
        if known is not None
        else Platform(str(obj["os"]), str(obj["arch"]))
    )
    entry = _base_entry(str(obj["go"]), platform, runners)
    entry.update(obj)
    return entry


def _entry_platform(entry: Mapping[str, Any]) -> Platform:
    return Platform(
        str(entry["os"]), str(entry["arch"]), str(entry.get("variant", "")), bool(entry.get("cgo"))
    )


def _named(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each entry with its ``name`` first and an ``artifact`` name made of it: only letters,
    digits and ``._-`` (upload-artifact refuses ``/`` and ``:``), unique within the plan."""
    named: list[dict[str, Any]] = []
    taken: set[str] = set()
    for entry in entries:
        name = entry.get("name") or entry_name(entry)
        artifact = base = _ARTIFACT_UNSAFE.sub("_", str(name))
        count = 1
        while artifact in taken:
            count += 1
            artifact = f"{base}_{count}"
        taken.add(artifact)
        rest = {k: v for k, v in entry.items() if k not in ("name", "artifact")}
        named.append({"name": name, **rest, "artifact": artifact})
    return named


def _too_big(count: int, axes: Mapping[str, int]) -> InputError:
    sizes = " × ".join(f"{name} {n}" for name, n in axes.items() if n > 1) or "includes"
    name, size = max(axes.items(), key=lambda item: item[1])
    keep = max(1, size * GITHUB_LIMIT // count)
    return InputError(
        f"matrix: {count} entries ({sizes}) is more than GitHub's limit of {GITHUB_LIMIT} jobs; "
        f"cut {name} from {size} to {keep} or fewer, or split the matrix"
    )


def plan(
    go_versions: Sequence[str],
    targets: Sequence[Platform],
    *,
    services: Sequence[str] | None = None,
    shards: int = 1,
    include: Any = None,
    exclude: Any = None,
    runners: Mapping[str, Runner | None] | None = None,
    known: platforms.DistList | None = None,
    release_go: str = "",
) -> Matrix:
    """Multiply the axes, apply exclude then include (GitHub's order), check the limit."""
    if not 1 <= shards <= GITHUB_LIMIT:
        raise InputError(
            f"shards: {shards!r} is not valid; accepted: a whole number from 1 to {GITHUB_LIMIT}"
        )
    runners = dict(runners or {})
    includes = check_objects(include, "include")
    excludes = check_objects(exclude, "exclude")
    service_axis: Sequence[str | None] = services if services is not None else [None]
    entries: list[dict[str, Any]] = []
    for go in go_versions:
        for platform in targets:
            base = _base_entry(go, platform, runners)
            for service in service_axis:
                for shard in range(1, shards + 1):
                    entry = dict(base)
                    if service is not None:
                        entry["service"] = service
                    if shards > 1:
                        entry["shard"] = f"{shard}/{shards}"
                    entries.append(entry)
    if services is not None and not services:
        entries = []  # nothing changed: the plan is empty, includes have nothing to extend
    else:
        entries = apply_exclude(entries, excludes)
        entries = apply_include(entries, includes, runners, known)
    platforms.check_folders(_entry_platform(e) for e in entries)
    entries = _named(entries)
    axes = {
        "go-versions": len(go_versions),
        "platforms": len(targets),
        "services": len(services) if services is not None else 1,
        "shards": shards,
    }
    if len(entries) > GITHUB_LIMIT:
        raise _too_big(len(entries), axes)
    return Matrix(
        tuple(entries),
        tuple(go_versions),
        tuple(targets),
        tuple(services) if services is not None else None,
        shards,
        coverage_go=goreleases.newest(go_versions),
        release_go=goreleases.pick(go_versions, release_go, "release-go-version"),
    )


def plan_from_words(
    root: Path,
    go: Go,
    *,
    go_versions: Sequence[str],
    platform_words: Sequence[str],
    services: Sequence[str] | None = None,
    shards: int = 1,
    include: Any = None,
    exclude: Any = None,
    runners: Any = None,
    offline: bool = False,
    releases_url: str = goreleases.DEFAULT_URL,
    release_go: str = "",
) -> Matrix:
    """The whole plan from user words: versions resolved, platforms validated, axes multiplied.

    What can be checked offline (platforms against ``go tool dist list``, the JSON inputs) is
    checked before Go's release list is fetched.
    """
    if not go_versions:
        raise InputError(f"go-versions: none given; accepted: {goreleases.ACCEPTED}")
    if not platform_words:
        raise InputError("platforms: none given; accepted: os/arch pairs such as linux/amd64")
    known = platforms.dist_list(go, root)
    targets = platforms.parse_all(platform_words, known)
    check_objects(include, "include")
    check_objects(exclude, "exclude")
    runner_map = runner_choice.parse_runners(runners)
    needs_modules = any(w.strip() in ("go.mod", "toolchain") for w in go_versions)
    modules = discover(root, go).modules if needs_modules else ()
    versions = goreleases.resolve_versions(
        go_versions, modules=modules, offline=offline, url=releases_url
    )
    return plan(
        versions,
        targets,
        services=services,
        shards=shards,
        include=include,
        exclude=exclude,
        runners=runner_map,
        known=known,
        release_go=release_go,
    )
