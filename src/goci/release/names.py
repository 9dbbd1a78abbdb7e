"""Release names: ``dev/{service}-{YYYYMMDDHHMMSS}`` and ``prod/{service}-v{semver}``.

A name becomes folders on disk and keys in a store, so every part of it is validated (service
segments, semantic versions, UTC stamps, ``{os}-{arch}`` target folders, file names) and a name
is parsed by an anchored suffix, so that no service name can pass for another's release.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from goci.errors import InputError, bad_input
from goci.matrix.platforms import is_folder_name

Env = Literal["dev", "prod"]
ENVS: tuple[Env, ...] = ("dev", "prod")

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# ASCII digits only, spelled [0-9]: ``\d`` (and ``int``/``strptime``) also take Arabic-Indic or
# fullwidth digits, which would make a stamp that sorts as ``latest`` or a version that only
# looks like another. ``\Z``, not ``$``, which also matches before a final newline.
_SEMVER = re.compile(
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?\Z"
)
STAMP_DIGITS = "[0-9]{14}"
_STAMP = re.compile(rf"^{STAMP_DIGITS}\Z")
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_DEV_RELEASE = re.compile(rf"^dev/(?P<service>.+)-(?P<stamp>{STAMP_DIGITS})\Z")

RELEASE_FORMS = "dev/{service}-{YYYYMMDDHHMMSS} or prod/{service}-v{semver}"


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


def refuse_other_digits(text: str, option: str) -> None:
    """Bad input when ``text`` holds a digit other than 0-9 (Arabic-Indic, fullwidth, ...).

    Such a digit reads as a number to Python (``int``, ``strptime``, ``\\d``) but sorts after
    every ASCII stamp and looks like another version, so ``dev/api-2٠000101000000`` would
    become ``latest`` and ``1.0.1٠`` a lookalike of ``1.0.10``: said plainly, not as a bad
    shape.
    """
    odd = sorted({ch for ch in text if ch.isdigit() and not ch.isascii()})
    if odd:
        shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in odd)
        raise bad_input(option, text, f"ASCII digits 0-9 only; it has the digit(s) {shown}")


def validate_service(name: str, option: str = "--service") -> str:
    """A service name is ``name`` or ``group/name``: never absolute, ``..`` or control chars."""
    accepted = "use 'name' or 'group/name' of letters, digits, '.', '_' and '-'"
    if not name or _has_control(name):
        raise bad_input(option, name, accepted + " (no control characters)")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise bad_input(option, name, accepted + " (not an absolute path)")
    parts = name.split("/")
    if any(p in ("..", ".") for p in parts) or ".." in name:
        raise bad_input(option, name, accepted + " (no '..': names may not leave the folder)")
    if len(parts) > 2:
        raise bad_input(option, name, accepted + " (at most one '/')")
    if not all(_SEGMENT.match(p) for p in parts):
        raise bad_input(option, name, accepted)
    if parts[0] in ENVS:
        raise bad_input(option, name, accepted + " ('dev' and 'prod' are the release folders)")
    return name


def parse_semver(text: str, option: str = "--version") -> str:
    """``v1.2.3`` or ``1.2.3-rc.1`` -> the version without ``v``; anything else is bad input."""
    refuse_other_digits(text, option)
    value = text.strip()
    bare = value[1:] if value.startswith("v") else value
    if not _SEMVER.match(bare) or _has_control(value):
        raise bad_input(option, text, "use a semantic version like 1.4.0 or v1.4.0-rc.1")
    return bare


def precedence(version: str) -> tuple[object, ...]:
    """A sort key of a version as semver ranks them (``1.2.0-rc.1 < 1.2.0 < 1.10.0``; build
    metadata counts for nothing): which of two prod versions is the newer."""
    bare = parse_semver(version)
    core, _, pre = bare.split("+", 1)[0].partition("-")
    numbers = tuple(int(n) for n in core.split("."))
    if not pre:
        return (*numbers, (1,))
    ids = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in pre.split("."))
    return (*numbers, (0, ids))


def version_from_tag(ref: str, service: str) -> str | None:
    """The version of a tag ``v1.2.3`` or ``{service}/v1.2.3`` (full ref or bare tag), else None."""
    tag = ref.removeprefix("refs/tags/")
    for prefix in ("", f"{service}/"):
        rest = tag[len(prefix) :] if tag.startswith(prefix) else None
        if rest and rest.startswith("v") and _SEMVER.match(rest[1:]):
            return rest[1:]
    return None


def parse_stamp(text: str, option: str = "--timestamp") -> str:
    """A dev release's UTC time, ``YYYYMMDDHHMMSS`` in ASCII digits."""
    refuse_other_digits(text, option)
    if not _STAMP.match(text):
        raise bad_input(option, text, "use UTC time as YYYYMMDDHHMMSS, e.g. 20250102030405")
    try:
        datetime.strptime(text, "%Y%m%d%H%M%S")
    except ValueError:
        raise bad_input(option, text, "use a real UTC date and time as YYYYMMDDHHMMSS") from None
    return text


def stamp_of(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


@dataclass(frozen=True)
class ReleaseName:
    """``dev/{service}-{stamp}`` or ``prod/{service}-v{version}``: the key prefix of a release."""

    env: Env
    service: str
    version: str

    @property
    def folder(self) -> str:
        suffix = self.version if self.env == "dev" else f"v{self.version}"
        return f"{self.env}/{self.service}-{suffix}"

    def __str__(self) -> str:
        return self.folder


def release_name(env: Env, service: str, version: str) -> ReleaseName:
    """A release name that reads back as exactly these parts, or bad input.

    ``prod/api-v1.0.0-v2.0.0`` could be ``api`` at ``1.0.0-v2.0.0`` or ``api-v1.0.0`` at
    ``2.0.0``: such a name is refused here, so no folder or key is ever ambiguous.
    """
    validate_service(service)
    name = (
        ReleaseName("dev", service, parse_stamp(version))
        if env == "dev"
        else ReleaseName("prod", service, parse_semver(version))
    )
    readings = _readings(name.folder)
    if readings != [name]:
        others = ", ".join(f"{r.service!r} at {r.version!r}" for r in readings if r != name)
        raise bad_input(
            "--version",
            version,
            f"a version that keeps {name.folder} unambiguous (it also reads as {others})",
        )
    return name


def _readings(text: str) -> list[ReleaseName]:
    """Every way ``text`` splits into a valid service and stamp or version."""
    dev = _DEV_RELEASE.match(text)
    if dev:
        service = dev.group("service")
        return [ReleaseName("dev", service, dev.group("stamp"))] if _is_service(service) else []
    if not text.startswith("prod/"):
        return []
    found = []
    start = len("prod/")
    while (cut := text.find("-v", start)) != -1:
        service, version = text[len("prod/") : cut], text[cut + 2 :]
        if _is_service(service) and _SEMVER.match(version) and not _has_control(version):
            found.append(ReleaseName("prod", service, version))
        start = cut + 1
    return found


def _is_service(name: str) -> bool:
    try:
        validate_service(name)
    except InputError:
        return False
    return True


def parse_release(text: str, option: str = "--release") -> ReleaseName:
    """Read ``dev/api-20250102030405`` or ``prod/group/api-v1.2.3`` back into its parts.

    The suffix is anchored: a dev name ends in exactly 14 digits, a prod name in ``-v`` and a
    semantic version, so ``dev/my-vault-20260101120000`` is the service ``my-vault``.
    """
    refuse_other_digits(text, option)
    folder = text.strip().strip("/").removeprefix(".goci/").removeprefix("dist/")
    readings = _readings(folder)
    if len(readings) == 1:
        name = readings[0]
        if name.env == "dev":
            parse_stamp(name.version, option)
        return name
    if readings:
        choices = " or ".join(f"service {r.service!r} at {r.version!r}" for r in readings)
        raise bad_input(option, text, f"an unambiguous release name (this reads as {choices})")
    service = re.sub(rf"-(?:{STAMP_DIGITS}|v[^/]*)$", "", folder.partition("/")[2])
    if folder.startswith(("dev/", "prod/")) and service:
        validate_service(service, option)  # say what is wrong with the service part
    raise bad_input(option, text, f"use {RELEASE_FORMS}")


def is_target(name: str) -> bool:
    """Whether ``name`` is a target folder of a release (the platform model's folder name)."""
    return is_folder_name(name)
