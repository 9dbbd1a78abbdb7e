"""``prod/{service}/current``: which prod version is live, changed only by compare-and-swap.

Promotions and rollbacks race; each reads the pointer with its ETag and writes only if it is
still that object (re-reading and retrying otherwise), so no update is lost and the history
stays a true record of what was live.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from goci.errors import InputError, ToolError, VerdictError, bad_input
from goci.release.names import parse_semver, release_name, validate_service
from goci.release.stores import ConflictError, Store

POINTER_ATTEMPTS = 50


@dataclass(frozen=True)
class Pointer:
    """``prod/{service}/current``: the live version and the ones before it (newest first)."""

    service: str
    version: str
    release: str
    history: tuple[str, ...]
    updated_at: str
    updated_by: str
    action: str

    def to_json(self) -> bytes:
        data = {
            "service": self.service,
            "version": self.version,
            "release": self.release,
            "history": list(self.history),
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
            "action": self.action,
        }
        return (json.dumps(data, indent=2) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes, source: str) -> Pointer:
        try:
            raw: dict[str, Any] = json.loads(data)
            pointer = cls(
                service=str(raw["service"]),
                version=str(raw["version"]),
                release=str(raw["release"]),
                history=tuple(str(v) for v in raw.get("history", [])),
                updated_at=str(raw.get("updated_at", "")),
                updated_by=str(raw.get("updated_by", "")),
                action=str(raw.get("action", "")),
            )
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            # RecursionError: JSON nested thousands deep, which json.loads cannot read either
            raise VerdictError(f"{source} is not a goci pointer: {exc}") from None
        pointer.check(source)
        return pointer

    def check(self, source: str) -> None:
        """A VerdictError naming the pointer ``source`` unless every version in it is a
        version of its service: rollback turns ``history`` into a release name, and a
        hand-edited ``../../x`` used to come back as a bad ``--version`` nobody gave."""
        try:
            validate_service(self.service, "its service")
            for field, version in (
                ("version", self.version),
                *(("history", v) for v in self.history),
            ):
                if parse_semver(version, f"its {field}") != version:
                    raise bad_input(f"its {field}", version, "a version without 'v' or spaces")
                release_name("prod", self.service, version)  # and one name, never two
        except InputError as exc:
            raise VerdictError(
                f"{source} is not a goci pointer of {self.service!r}: {exc}. It names what is "
                "live and what was, so goci will not guess: restore it from a backup or fix it "
                "by hand (version and history hold semantic versions like 1.4.0)"
            ) from None
        if self.release != f"prod/{self.service}-v{self.version}":
            raise VerdictError(
                f"{source} is not a goci pointer: its release {self.release!r} is not the one "
                f"its version {self.version!r} names; restore it from a backup or fix it by hand"
            )


def pointer_key(service: str) -> str:
    return f"prod/{service}/current"


def read_pointer(store: Store, service: str) -> Pointer | None:
    found = store.read(pointer_key(service))
    return Pointer.from_json(found[0], store.location(pointer_key(service))) if found else None


def update_pointer(
    store: Store,
    service: str,
    change: Callable[[Pointer | None], Pointer],
    *,
    attempts: int = POINTER_ATTEMPTS,
) -> tuple[Pointer | None, Pointer]:
    """Compare-and-swap the pointer: read it with its ETag, write only if it is unchanged."""
    key = pointer_key(service)
    for attempt in range(attempts):
        found = store.read(key)
        old = Pointer.from_json(found[0], store.location(key)) if found else None
        new = change(old)
        try:
            if found is None:
                store.put_bytes(key, new.to_json(), if_absent=True)
            else:
                store.put_bytes(key, new.to_json(), if_match=found[1])
            return old, new
        except ConflictError:
            time.sleep(min(0.5, 0.01 * 2 ** min(attempt, 6)) * random.random())  # noqa: S311
    raise ToolError(
        f"store {store.url}: {key} kept changing under us ({attempts} attempts); "
        "another promotion is running, try again"
    )
