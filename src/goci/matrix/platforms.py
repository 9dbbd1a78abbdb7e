"""Build targets: ``os/arch[/variant][+cgo]`` words, checked against what ``go`` can build.

A platform word is validated against ``go tool dist list`` of the Go in use, so a typo
(``linux/amd65``) is caught before a matrix of jobs starts, with the closest valid pair
suggested. Each platform is mapped to the GitHub-hosted runner that runs it natively, or
marked cross-compiled (built on Linux, its tests not run) when none does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

# The GitHub-hosted runner that runs each os/arch natively.
DEFAULT_RUNNERS: dict[str, str] = {
    "linux/amd64": "ubuntu-latest",
    "linux/386": "ubuntu-latest",
    "linux/arm64": "ubuntu-24.04-arm",
    "darwin/arm64": "macos-latest",
    "darwin/amd64": "macos-15-intel",
    "windows/amd64": "windows-latest",
    "windows/386": "windows-latest",
    "windows/arm64": "windows-11-arm",
}
# Variants that hosted runners do not promise to run (AVX-512 is not on every machine).
NOT_NATIVE = {"linux/amd64/v4", "windows/amd64/v4", "darwin/amd64/v4"}
BUILD_HOST = "linux/amd64"

Runner = str | list[str]


@dataclass(frozen=True, order=True)
class Platform:
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
        """The word that names it (``linux/arm/v7``, ``linux/amd64+cgo``)."""
        return (
            self.pair + (f"/{self.variant}" if self.variant else "") + ("+cgo" if self.cgo else "")
        )

    @property
    def folder(self) -> str:
        """Its folder under ``dist/{service}/``: ``linux-amd64``, ``linux-arm-v7``."""
        return f"{self.os}-{self.arch}" + (f"-{self.variant}" if self.variant else "")

    @property
    def exe_suffix(self) -> str:
        return ".exe" if self.os == "windows" else ""

    def env(self) -> dict[str, str]:
        """GOOS, GOARCH, the variant's variable and CGO_ENABLED for ``go build``."""
        values = {"GOOS": self.os, "GOARCH": self.arch, "CGO_ENABLED": "1" if self.cgo else "0"}
        if self.variant:
            name, _ = VARIANTS[self.arch]
            values[name] = self.variant.removeprefix("v") if self.arch == "arm" else self.variant
        return values


@dataclass(frozen=True)
class DistList:
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


def parse(word: str, known: DistList, *, input_name: str = "platforms") -> Platform:
    """One platform word -> a Platform, or an InputError naming the closest valid one."""
    text = word.strip()
    cgo = text.endswith("+cgo")
    text = text.removesuffix("+cgo")
    parts = text.split("/")
    accepted = "os/arch[/variant][+cgo] as listed by `go tool dist list` (e.g. linux/amd64)"
    if len(parts) not in (2, 3) or not all(parts):
        raise InputError(f"{input_name}: {word!r} is not valid; accepted: {accepted}")
    pair = f"{parts[0]}/{parts[1]}"
    if pair not in known.pairs:
        hint = closest(pair, sorted(known.pairs))
        raise InputError(
            f"{input_name}: {word!r} is not a platform this Go can build for{hint}; "
            "see `go tool dist list`"
        )
    variant = ""
    if len(parts) == 3:
        arch = parts[1]
        if arch not in VARIANTS:
            raise InputError(f"{input_name}: {word!r}: {arch} has no variants")
        name, values = VARIANTS[arch]
        variant = parts[2]
        if arch == "arm" and not variant.startswith("v"):
            variant = "v" + variant
        if variant not in values:
            hint = closest(variant, values)
            raise InputError(
                f"{input_name}: {word!r}: {variant!r} is not a {name} value{hint}; "
                f"accepted: {', '.join(values)}"
            )
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


def parse_runners(value: Any) -> dict[str, Runner | None]:
    """The ``--runners`` mapping: ``{"linux/arm64": "my-arm", "darwin/arm64": null}``."""
    if value is None or value == "":
        return {}
    if not isinstance(value, Mapping):
        raise InputError(
            f"runners: {json.dumps(value)[:80]!r} is not valid; accepted: a JSON object "
            "mapping os/arch to a runner label, a list of labels, or null for cross-compiled"
        )
    mapping: dict[str, Runner | None] = {}
    for key, label in value.items():
        ok_label = (
            label is None
            or isinstance(label, str)
            or (isinstance(label, list) and all(isinstance(x, str) for x in label))
        )
        if "/" not in str(key) or not ok_label:
            raise InputError(
                f"runners: {key!r}: {label!r} is not valid; accepted: os/arch keys with a label, "
                "a list of labels or null"
            )
        mapping[str(key)] = label
    return mapping


def runner_for(platform: Platform, runners: Mapping[str, Runner | None]) -> tuple[Runner, bool]:
    """The runner label for ``platform`` and whether it is cross-compiled there."""
    with_variant = f"{platform.pair}/{platform.variant}" if platform.variant else platform.pair
    native: Runner | None
    if with_variant in runners:
        native = runners[with_variant]
    elif platform.pair in runners:
        native = runners[platform.pair]
    elif with_variant in NOT_NATIVE:
        native = None
    else:
        native = DEFAULT_RUNNERS.get(platform.pair)
    if native is not None:
        return native, False
    if platform.cgo:
        raise InputError(
            f"platforms: {platform.spec!r}: cgo needs a runner that runs {platform.pair} "
            "natively; map one with --runners or drop +cgo"
        )
    host = runners.get(BUILD_HOST) or DEFAULT_RUNNERS[BUILD_HOST]
    return host, True
