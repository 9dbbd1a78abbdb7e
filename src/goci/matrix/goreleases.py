"""Go's own release list, and the version words a matrix accepts (``1.24``, ``stable``, ``go.mod``).

Aliases must mean what go.dev means by them on the day the plan runs, so they resolve through
the list that go.dev publishes (``?mode=json&include=all``): newest first, each entry
``{"version": "go1.25.5", "stable": true, "files": [...]}``. The list is fetched once per run
(memoised), with a short timeout; ``offline`` keeps exact versions working without it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cachetools import TTLCache, cached

from goci.errors import InputError, ToolError
from goci.tools.workspace import Module, go_directive

DEFAULT_URL = "https://go.dev/dl/?mode=json&include=all"
URL_VARIABLE = "GOCI_GO_RELEASES_URL"
DEFAULT_TIMEOUT = 10.0
ACCEPTED = (
    "exact versions (1.24.3, 1.25rc1), minors (1.24), stable, oldstable, go.mod (the highest "
    "`go` line of the modules in use) or toolchain (their highest `toolchain` line)"
)

_VERSION = re.compile(r"^(?:go)?(\d+)\.(\d+)(?:\.(\d+))?((?:rc|beta)\d+)?$")
_MINOR_X = re.compile(r"^(?:go)?(\d+)\.(\d+)\.x$")


@dataclass(frozen=True, order=True)
class GoVersion:
    """A parsed Go version; a release candidate sorts before its final release."""

    major: int
    minor: int
    patch: int
    final: int  # 1 for a release, 0 for rc/beta, so that sorting is right
    pre: str = ""
    has_patch: bool = True

    @classmethod
    def parse(cls, text: str) -> GoVersion | None:
        match = _VERSION.match(text.strip())
        if not match:
            return None
        major, minor, patch, pre = match.groups()
        return cls(
            int(major),
            int(minor),
            int(patch or 0),
            0 if pre else 1,
            pre or "",
            has_patch=patch is not None,
        )

    @property
    def minor_key(self) -> tuple[int, int]:
        return (self.major, self.minor)

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}"
        if self.has_patch:
            base += f".{self.patch}"
        return base + self.pre


@dataclass(frozen=True)
class Release:
    """One entry of Go's release list."""

    version: str  # without the "go" prefix: 1.25.5, 1.26rc1, 1.20
    stable: bool


def parse_releases(data: object) -> tuple[Release, ...]:
    """Read go.dev's JSON (a list of ``{"version": "go1.x.y", "stable": bool, ...}``)."""
    if not isinstance(data, list):
        raise ToolError("Go release list: expected a JSON array of releases")
    releases = []
    for item in data:
        if not isinstance(item, Mapping) or not isinstance(item.get("version"), str):
            raise ToolError(f"Go release list: an entry has no version: {str(item)[:80]}")
        name = item["version"].removeprefix("go")
        if GoVersion.parse(name) is not None:
            releases.append(Release(name, bool(item.get("stable"))))
    return tuple(releases)


@cached(cache=TTLCache(maxsize=8, ttl=900))
def fetch_releases(url: str, timeout: float = DEFAULT_TIMEOUT) -> tuple[Release, ...]:
    """Download and parse the release list; memoised so one run asks go.dev at most once."""
    import httpx

    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
        response.raise_for_status()
        data = response.json()
    except httpx.InvalidURL as exc:
        raise InputError(f"Go release list: {url!r} is not a valid URL ({exc})") from None
    except httpx.HTTPError as exc:
        raise ToolError(
            f"cannot fetch Go's release list from {url} ({type(exc).__name__}: {exc}); "
            "retry, or pass --offline and give exact versions"
        ) from exc
    except ValueError as exc:
        raise ToolError(f"Go release list from {url} is not JSON ({exc})") from exc
    return parse_releases(data)


def gomod_versions(modules: Sequence[Module]) -> tuple[str | None, str | None]:
    """The highest ``go`` line and the highest ``toolchain`` line over the modules in use.

    The highest ``go`` line is the oldest Go that can build every module: the minimum the
    repository must support.
    """
    gos: list[GoVersion] = []
    toolchains: list[GoVersion] = []
    for module in modules:
        go_line, toolchain = go_directive(module.gomod)
        if go_line is None:
            raise InputError(
                f"go-versions: 'go.mod' asks for the go line, but {module.gomod} has none; "
                "add a `go 1.x` line or give versions explicitly"
            )
        parsed = GoVersion.parse(go_line)
        if parsed is not None:
            gos.append(parsed)
        if toolchain:
            parsed_tc = GoVersion.parse(toolchain.removeprefix("go").split("+")[0].split("-")[0])
            if parsed_tc is not None:
                toolchains.append(parsed_tc)
    return (str(max(gos)) if gos else None, str(max(toolchains)) if toolchains else None)


@dataclass(frozen=True)
class Resolver:
    """Turns version words into exact versions, with or without the release list."""

    releases: tuple[Release, ...] | None  # None: offline
    go_line: str | None = None
    toolchain_line: str | None = None

    def _need_list(self, word: str) -> tuple[Release, ...]:
        if self.releases is None:
            raise InputError(
                f"go-versions: {word!r} needs Go's release list, which --offline does not "
                "fetch; give exact versions (1.24.3) or drop --offline"
            )
        return self.releases

    def _stable_minors(self) -> list[tuple[int, int]]:
        minors = {
            v.minor_key
            for r in self._need_list("stable")
            if r.stable and (v := GoVersion.parse(r.version))
        }
        return sorted(minors, reverse=True)

    def _newest_of_minor(self, word: str, key: tuple[int, int]) -> str:
        candidates = [
            (v, r.version)
            for r in self._need_list(word)
            if (v := GoVersion.parse(r.version)) and v.minor_key == key
        ]
        stable = [c for c in candidates if c[0].final]
        chosen = stable or candidates
        if not chosen:
            known = self._stable_minors()
            newest = f"{known[0][0]}.{known[0][1]}" if known else "none"
            raise InputError(
                f"go-versions: {word!r} is not a Go release (no {key[0]}.{key[1]}.x exists; "
                f"the newest minor is {newest})"
            )
        return max(chosen)[1]

    def resolve(self, word: str) -> str:
        """One version word -> an exact version (or a minor, offline)."""
        text = word.strip()
        if text == "stable":
            minors = self._stable_minors()
            if not minors:
                raise InputError("go-versions: 'stable': the release list has no stable release")
            return self._newest_of_minor(text, minors[0])
        if text == "oldstable":
            minors = self._stable_minors()
            if len(minors) < 2:
                raise InputError("go-versions: 'oldstable': the release list has one minor only")
            return self._newest_of_minor(text, minors[1])
        if text in ("go.mod", "toolchain"):
            line = self.go_line if text == "go.mod" else (self.toolchain_line or self.go_line)
            if line is None:
                raise InputError(f"go-versions: {text!r}: no module in use declares a go line")
            return self._exact_or_minor(line, f"{text} ({line})")
        minor_x = _MINOR_X.match(text)
        if minor_x:
            text = f"{minor_x.group(1)}.{minor_x.group(2)}"
        return self._exact_or_minor(text, word)

    def _exact_or_minor(self, text: str, word: str) -> str:
        version = GoVersion.parse(text)
        if version is None:
            raise InputError(f"go-versions: {word!r} is not valid; accepted: {ACCEPTED}")
        if self.releases is None:
            return str(version)
        names = {r.version for r in self.releases}
        if not version.has_patch and not version.pre:
            # A minor means its newest patch (as setup-go reads it); before 1.21 the first
            # release of a minor had no ".0", so "1.20" is a minor here too.
            return self._newest_of_minor(word, version.minor_key)
        if str(version) in names:
            return str(version)
        if version.patch == 0 and version.final and f"{version.major}.{version.minor}" in names:
            return f"{version.major}.{version.minor}"
        same_minor = sorted(
            (v for r in self.releases if (v := GoVersion.parse(r.version))),
            reverse=True,
        )
        newest = next((v for v in same_minor if v.minor_key == version.minor_key), None)
        hint = f"; the newest {version.major}.{version.minor} is {newest}" if newest else ""
        raise InputError(f"go-versions: {word!r} is not a Go release{hint}")


def resolve_versions(
    words: Sequence[str],
    *,
    modules: Sequence[Module] = (),
    offline: bool = False,
    url: str = DEFAULT_URL,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[str, ...]:
    """Exact versions for the version words, deduplicated, in the order given."""
    go_line = toolchain_line = None
    if any(w.strip() in ("go.mod", "toolchain") for w in words):
        if not modules:
            raise InputError("go-versions: 'go.mod' needs a Go module here (no go.mod found)")
        go_line, toolchain_line = gomod_versions(modules)
    offline_check = Resolver(None, go_line, toolchain_line)
    for word in words:  # a misspelt word is refused before anything is fetched
        if word.strip() not in ("stable", "oldstable"):
            offline_check.resolve(word)
    # Online, every word is checked against the list (a typo like 1.24.99 is caught here).
    releases = fetch_releases(url, timeout) if words and not offline else None
    resolver = Resolver(releases, go_line, toolchain_line)
    seen: dict[str, None] = {}
    for word in words:
        seen.setdefault(resolver.resolve(word), None)
    return tuple(seen)


def _order(version: str) -> tuple[Any, ...]:
    parsed = GoVersion.parse(version)
    if parsed is not None:
        return (1, parsed)
    return (0, tuple(int(n) for n in re.findall(r"\d+", version)))


def newest(versions: Sequence[str]) -> str:
    """The newest of exact versions (a release candidate before its release), or ``""``."""
    return max(versions, key=_order) if versions else ""


def pick(versions: Sequence[str], wanted: str, input_name: str) -> str:
    """The one planned version that ``wanted`` names (exact, or its minor), else the newest.

    Go versions cut coverage blocks differently, and two builds of one binary must never meet
    in a release, so a workflow merges and publishes what one version made.
    """
    word = wanted.strip().removeprefix("go")
    if not word:
        return newest(versions)
    chosen = [v for v in versions if v == word or v.startswith(word + ".")]
    if len(chosen) != 1:
        raise InputError(
            f"{input_name}: {word!r} is not valid; accepted: one of the planned Go versions "
            f"({', '.join(versions) or 'none'}), exact or its minor"
        )
    return chosen[0]


def releases_url(env: Mapping[str, str], given: str | None = None) -> str:
    """The release list's address: the option, then GOCI_GO_RELEASES_URL, then go.dev.

    Checked here, where the message can name where it came from, rather than deep in httpx.
    """
    if given:
        return check_url(given, "--releases-url")
    return check_url(env.get(URL_VARIABLE) or DEFAULT_URL, URL_VARIABLE)


def check_url(url: str, name: str) -> str:
    """``url`` if it is an http(s) URL, else bad input naming ``name``."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise InputError(
            f"{name}: {url[:200]!r} is not a valid URL ({exc}); accepted: an http(s) URL "
            f"such as {DEFAULT_URL}"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not url.isprintable():
        raise InputError(
            f"{name}: {url[:200]!r} is not valid; accepted: an http(s) URL such as {DEFAULT_URL}"
        )
    return url
