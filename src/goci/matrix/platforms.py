"""Build targets: the one model of an ``os/arch[/variant][+cgo]`` platform.

A platform word is validated against ``go tool dist list`` of the Go in use (run once per Go),
so a typo (``linux/amd65``) is caught before a matrix of jobs starts, with the closest valid
pair suggested. Everything that names a target says it through :class:`Platform`: the word
itself (the matrix, ``--target``, ``build.json``), the environment ``go`` reads (builds, the
package graph, cache keys), the part of a build cache key, the ``dist/{service}/{folder}``
name that releases are made of, and the ``--runners`` keys that may name the runner that runs
it (:mod:`goci.matrix.runners` chooses one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from goci.errors import InputError, closest
from goci.tools.gotool import Go

# arch -> (environment variable, accepted values as written after the second slash)
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "arm": ("GOARM", ("v5", "v6", "v7")),
    "amd64": ("GOAMD64", ("v1", "v2", "v3", "v4")),
    "386": ("GO386", ("sse2", "softfloat")),
    "arm64": ("GOARM64", tuple(f"v8.{i}" for i in range(10)) + tuple(f"v9.{i}" for i in range(6))),
    "mips": ("GOMIPS", ("hardfloat", "softfloat")),
    "mipsle": ("GOMIPS", ("hardfloat", "softfloat")),
    "mips64": ("GOMIPS64", ("hardfloat", "softfloat")),
    "mips64le": ("GOMIPS64", ("hardfloat", "softfloat")),
    "ppc64": ("GOPPC64", ("power8", "power9", "power10")),
    "ppc64le": ("GOPPC64", ("power8", "power9", "power10")),
    "riscv64": ("GORISCV64", ("rva20u64", "rva22u64", "rva23u64")),
}
# What ``go env`` must say to tell the target it builds for (see Platform.from_go_env).
GO_ENV_NAMES = (
    "GOOS",
    "GOARCH",
    "CGO_ENABLED",
    *sorted({name for name, _ in VARIANTS.values()}),
)
# Operating systems a release folder may name: the publish job has no Go to ask.
KNOWN_GOOS = (
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "illumos",
    "ios",
    "js",
    "linux",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
)
# Compiled (and kept) by re when first used: cache-key loads this module but never needs it.
_FOLDER = r"^(" + "|".join(KNOWN_GOOS) + r")-[a-z0-9]+(?:-[a-z0-9.]+)?$"
ACCEPTED = (
    "os/arch[/variant][+cgo] as listed by `go tool dist list` (e.g. linux/amd64, linux/arm/v7)"
)


class Platform(NamedTuple):
    """One build target."""

    os: str
    arch: str
    variant: str = ""
    cgo: bool = False

    @property
    def pair(self) -> str:
        return f"{self.os}/{self.arch}"

    @property
    def spec(self) -> str:
        """The word that names it (``linux/arm/v7``, ``linux/amd64+cgo``): what ``--target``,
        ``--platforms`` and ``matrix.platform`` take."""
        return (
            self.pair + (f"/{self.variant}" if self.variant else "") + ("+cgo" if self.cgo else "")
        )

    @property
    def folder(self) -> str:
        """Its folder under ``dist/{service}/`` and in a release: ``linux-amd64``,
        ``linux-arm-v7``. cgo is not part of it (see :func:`check_folders`)."""
        return f"{self.os}-{self.arch}" + (f"-{self.variant}" if self.variant else "")

    @property
    def exe_suffix(self) -> str:
        return ".exe" if self.os == "windows" else ""

    @property
    def variant_variable(self) -> str:
        """The variable that selects the variant (``GOAMD64``), or ``""`` for none."""
        return VARIANTS[self.arch][0] if self.arch in VARIANTS else ""

    @property
    def variant_value(self) -> str:
        """The variant as Go reads it from its variable: GOARM wants ``7``, not ``v7``."""
        return self.variant.removeprefix("v") if self.arch == "arm" else self.variant

    @property
    def cache_label(self) -> str:
        """Its part of a build cache key: ``linux-arm-7-cgo0``, ``linux-amd64-v3-cgo1``."""
        variant = f"-{self.variant_value}" if self.variant else ""
        return f"{self.os}-{self.arch}{variant}-cgo{int(self.cgo)}"

    @property
    def runner_keys(self) -> tuple[str, ...]:
        """The ``--runners`` keys that may name its runner, the most specific first."""
        return ((f"{self.pair}/{self.variant}",) if self.variant else ()) + (self.pair,)

    def overrides(self) -> dict[str, str]:
        """What the word itself says, as variables for ``go``: GOOS and GOARCH, the variant's
        variable when one is named, CGO_ENABLED=1 with ``+cgo``. Anything the word leaves open
        stays as the environment has it (``go list``, ``go env`` for cache keys)."""
        values = {"GOOS": self.os, "GOARCH": self.arch}
        if self.variant:
            values[self.variant_variable] = self.variant_value
        if self.cgo:
            values["CGO_ENABLED"] = "1"
        return values

    def env(self) -> dict[str, str]:
        """The whole environment of a reproducible ``go build``: cgo off unless asked for."""
        return {**self.overrides(), "CGO_ENABLED": "1" if self.cgo else "0"}

    @classmethod
    def from_go_env(cls, values: Mapping[str, str]) -> Platform:
        """The target ``go env`` (asked for :data:`GO_ENV_NAMES`) says it builds for.

        The variant is Go's own value, defaults included (``GOAMD64=v1``), so that a cache key
        names exactly what was compiled; it is not checked against :data:`VARIANTS`.
        """
        arch = values["GOARCH"]
        variable = VARIANTS[arch][0] if arch in VARIANTS else ""
        variant = values.get(variable, "") if variable else ""
        if arch == "arm" and variant:
            variant = "v" + variant
        return cls(values["GOOS"], arch, variant, values.get("CGO_ENABLED") == "1")


class DistList(NamedTuple):
    """What one Go toolchain can build: os/arch pairs and which of them support cgo."""

    pairs: frozenset[str]
    cgo: frozenset[str]

    @classmethod
    def from_json(cls, entries: Sequence[Mapping[str, Any]]) -> DistList:
        pairs = frozenset(f"{e['GOOS']}/{e['GOARCH']}" for e in entries)
        cgo = frozenset(f"{e['GOOS']}/{e['GOARCH']}" for e in entries if e.get("CgoSupported"))
        return cls(pairs, cgo)


_DIST_CACHE: dict[tuple[str, str], DistList] = {}


def dist_list(go: Go, cwd: Path) -> DistList:
    """``go tool dist list -json`` of this go (once per process and executable)."""
    key = (go.exe, go.environment().get("GOROOT", ""))
    if key not in _DIST_CACHE:
        result = go.run("tool", "dist", "list", "-json", cwd=cwd)
        _DIST_CACHE[key] = DistList.from_json(json.loads(result.stdout))
    return _DIST_CACHE[key]


def _variant(word: str, arch: str, given: str, input_name: str) -> str:
    if arch not in VARIANTS:
        raise InputError(f"{input_name}: {word!r}: {arch} has no variants")
    name, values = VARIANTS[arch]
    variant = "v" + given if arch == "arm" and not given.startswith("v") else given
    if variant not in values:
        raise InputError(
            f"{input_name}: {word!r}: {variant!r} is not a {name} value{closest(variant, values)}; "
            f"accepted: {', '.join(values)}"
        )
    return variant


def parse(word: str, known: DistList, *, input_name: str = "platforms") -> Platform:
    """One platform word -> a Platform, or an InputError naming the closest valid one."""
    text = word.strip()
    cgo = text.endswith("+cgo")
    parts = text.removesuffix("+cgo").split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InputError(f"{input_name}: {word!r} is not os/arch[/variant][+cgo]; use {ACCEPTED}")
    pair = f"{parts[0]}/{parts[1]}"
    if pair not in known.pairs:
        hint = closest(pair, sorted(known.pairs))
        raise InputError(
            f"{input_name}: {word!r} is not a platform this Go can build for{hint}; "
            "see `go tool dist list`"
        )
    variant = _variant(word, parts[1], parts[2], input_name) if len(parts) == 3 else ""
    if cgo and pair not in known.cgo:
        raise InputError(f"{input_name}: {word!r}: Go has no cgo support for {pair}")
    return Platform(parts[0], parts[1], variant, cgo)


def parse_all(
    words: Sequence[str], known: DistList, *, input_name: str = "platforms"
) -> tuple[Platform, ...]:
    """Every word parsed, duplicates dropped, in the order given."""
    seen: dict[Platform, None] = {}
    for word in words:
        seen.setdefault(parse(word, known, input_name=input_name), None)
    return tuple(seen)


def check_folders(targets: Iterable[Platform], input_name: str = "platforms") -> None:
    """Refuse two targets that build into one ``dist/{service}/{folder}``.

    ``linux/amd64`` and ``linux/amd64+cgo`` share ``linux-amd64``: built side by side their
    binaries overwrite each other, and built in two jobs their artifacts hold the same paths,
    which download-artifact extracts into one folder with no defined winner.
    """
    by_folder: dict[str, Platform] = {}
    for target in targets:
        first = by_folder.setdefault(target.folder, target)
        if first != target:
            raise InputError(
                f"{input_name}: {first.spec!r} and {target.spec!r} both build into the folder "
                f"{target.folder!r} (dist/{{service}}/{target.folder}, cgo is not part of the "
                "name), where one's binaries would replace the other's; keep one of them"
            )


def is_folder_name(name: str) -> bool:
    """Whether ``name`` is a target folder (``linux-amd64``, ``linux-arm-v7``) of a release."""
    return bool(re.match(_FOLDER, name))
