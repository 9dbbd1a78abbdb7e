"""Per job: does the build cache come from actions/cache or from the store, and how does the go
command start the server?

``build-cache: store`` needs a Go that speaks GOCACHEPROG (1.24 or newer; 1.21 to 1.23 keep the
actions/cache tarball) and a store. The go command reads ``GOCACHEPROG`` as a command line that
it splits on spaces, honouring a field that starts with a quote up to the same quote (Go's
cmd/internal/quoted, no escapes), so every value is quoted that way when it needs to be.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from goci.errors import InputError

MODES = ("actions", "store")
FIRST_GO = (1, 24)
_GO_VERSION = r"go(\d+)\.(\d+)"  # compiled by re when first used: actions mode never asks
STATS_FILE = "goci-cacheprog.jsonl"


class BuildCachePlan(NamedTuple):
    """How this job caches its builds: ``mode`` and, in store mode, the GOCACHEPROG value."""

    requested: str
    mode: str
    reason: str
    gocacheprog: str = ""
    read_only: bool = False
    stats: str = ""
    store: str = ""


def speaks_cacheprog(go_version: str) -> bool:
    """Whether ``go env GOVERSION`` (``go1.24.3``, ``devel go1.27-abc ...``) has GOCACHEPROG."""
    match = re.search(_GO_VERSION, go_version)
    return match is not None and (int(match.group(1)), int(match.group(2))) >= FIRST_GO


def go_quote(word: str) -> str:
    """``word`` as one field of a command line the go command splits (cmd/internal/quoted)."""
    if word and not re.search(r"\s", word) and word[0] not in "'\"":
        return word
    for quote in ("'", '"'):
        if quote not in word:
            return f"{quote}{word}{quote}"
    raise InputError(
        f"GOCACHEPROG: {word!r} holds both kinds of quote and a space or a leading quote, "
        "which the go command cannot read back; use another folder or store name"
    )


def _wanted(requested: str, store: str, has_credentials: bool) -> tuple[str, str]:
    """The mode asked for: ``''`` means the store when one is given with credentials (a file
    store counts: it needs none), else actions/cache."""
    if requested not in ("", *MODES):
        raise InputError(
            f"--build-cache: {requested!r} is not valid; use actions, store or nothing (store "
            "when a build-cache store and its credentials are given)"
        )
    if requested:
        return requested, ""
    if not store.strip():
        return "actions", "no build-cache store given"
    if store.strip().lower().startswith("s3://") and not has_credentials:
        return "actions", "no store credentials (AWS_ACCESS_KEY_ID) given"
    return "store", ""


def plan(
    requested: str,
    *,
    go_version: str,
    store: str,
    endpoint_url: str = "",
    namespace: str = "",
    local: str = "",
    stats: str = "",
    read_only: bool,
    has_credentials: bool = True,
    program: tuple[str, ...] = ("goci",),
) -> BuildCachePlan:
    """The build cache of one job: ``store`` when asked for and possible, else ``actions``."""
    mode, why = _wanted(requested, store, has_credentials)
    tarball = "actions/cache restores a GOCACHE tarball"
    if mode == "actions":
        return BuildCachePlan(requested, "actions", f"{why}: {tarball}" if why else tarball)
    if not store.strip():
        raise InputError(
            "--build-cache-store: build-cache store needs a store (file://DIR or "
            "s3://bucket/prefix)"
        )
    if not speaks_cacheprog(go_version):
        return BuildCachePlan(
            requested,
            "actions",
            f"{go_version or 'this Go'} has no GOCACHEPROG (Go 1.24 or newer has): {tarball}",
        )
    words = [*program, "cacheprog", "--store", store]
    for flag, value in (
        ("--endpoint-url", endpoint_url),
        ("--namespace", namespace),
        ("--local", local),
        ("--stats", stats),
    ):
        words += [flag, value] if value else []
    words.append("--read-only" if read_only else "--no-read-only")
    access = "read-only (not a trusted event)" if read_only else "read-write"
    return BuildCachePlan(
        requested,
        "store",
        f"GOCACHEPROG serves the build cache from the store, {access}",
        " ".join(go_quote(w) for w in words),
        read_only,
        stats,
        store,
    )
