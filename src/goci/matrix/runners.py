"""Which runner runs each platform's jobs: the one that runs it natively, else a cross-compiled
mark on the build host.

Apart from :mod:`goci.matrix.platforms` because only the matrix asks, while every job's
cache-key loads the platforms (see bench/cache_key.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from goci.errors import InputError
from goci.matrix.platforms import Platform

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


def parse_runners(value: Any, input_name: str = "runners") -> dict[str, Runner | None]:
    """The ``--runners`` mapping: ``{"linux/arm64": "my-arm", "darwin/arm64": null}``."""
    if value is None or value == "":
        return {}
    if not isinstance(value, Mapping):
        raise InputError(
            f"{input_name}: {json.dumps(value)[:80]!r} is not valid; accepted: a JSON object "
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
                f"{input_name}: {key!r}: {label!r} is not valid; accepted: os/arch keys with a "
                "label, a list of labels or null"
            )
        mapping[str(key)] = label
    return mapping


def runner_for(platform: Platform, runners: Mapping[str, Runner | None]) -> tuple[Runner, bool]:
    """The runner label for ``platform`` and whether it is cross-compiled there."""
    given = next((key for key in platform.runner_keys if key in runners), None)
    native: Runner | None
    if given is not None:
        native = runners[given]
    elif platform.runner_keys[0] in NOT_NATIVE:
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
