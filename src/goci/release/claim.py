"""Claims: a release belongs to the first publish that claims it, before any byte is sent.

Only the manifest used to be written conditionally, so two publishes of one version with
different files could both write their objects and leave a manifest that matches neither.
Now ``prod/{service}-v{semver}/claim.json`` is created with a conditional write (create only
if absent) before any object of the version; it names the content (the SHA-256 of the
release's ``SHA256SUMS``, which lists every file's digest). Exactly one writer creates it; a
writer of other content stops without writing anything; a writer of the same content (a
retry after a kill, a promotion of the very bytes a tag publish sends) resumes, which is safe
because every object it writes is byte-identical.

A claim whose publish was killed and never rerun keeps the version: rerun that publish with
the same build to finish it, or, to publish other files under the version, delete the claim
and the objects under the version (the refusal names the claim and who made it).

A dev release is claimed the same way (``dev/{service}-{stamp}``: two jobs of one commit share
the name, a rerun on a newer Go with other bytes, say); without it two such publishes wrote
their objects over each other and one of them left a manifest over the other's bytes. Unlike a
prod version, a complete dev release may be rebuilt: :func:`take_over` hands its name to the
new content, replacing the claim with a write conditional on its ETag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from goci.errors import ToolError, VerdictError
from goci.release.manifest import MANIFEST
from goci.release.names import ReleaseName
from goci.release.stores import ConflictError, Store

CLAIM = "claim.json"
SCHEMA = "goci.claim/v1"
_ATTEMPTS = 5


@dataclass(frozen=True)
class Claim:
    """Who claimed a version, when, and for which content."""

    release: str
    sha256sums: str
    commit: str = ""
    by: str = ""
    at: str = ""

    def to_json(self) -> bytes:
        data = {
            "schema": SCHEMA,
            "release": self.release,
            "sha256sums": self.sha256sums,
            "commit": self.commit,
            "by": self.by,
            "at": self.at,
        }
        return (json.dumps(data, indent=2) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes | str, source: str) -> Claim:
        try:
            raw: Any = json.loads(data)
            if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
                raise ValueError(f"schema is not {SCHEMA}")
            fields = [raw.get(k, "") for k in ("release", "sha256sums", "commit", "by", "at")]
            if not all(isinstance(f, str) for f in fields) or not fields[1]:
                raise ValueError("release, sha256sums, commit, by and at must be text")
            return cls(*fields)
        except (ValueError, RecursionError) as exc:
            raise VerdictError(
                f"{source} is not a goci claim ({exc}); it blocks this version: delete it if no "
                "publish of this version is running"
            ) from None

    def describe(self) -> str:
        who = f" by {self.by}" if self.by else ""
        when = f" at {self.at}" if self.at else ""
        commit = f", commit {self.commit[:12]}" if self.commit else ""
        return f"claimed{who}{when} (SHA256SUMS {self.sha256sums[:12]}{commit})"


def claim_key(name: ReleaseName) -> str:
    return f"{name.folder}/{CLAIM}"


def claim_version(store: Store, name: ReleaseName, mine: Claim) -> bool:
    """Claim ``name`` for ``mine``'s content. True when created now, False when resuming a
    claim of the same content; VerdictError (nothing written) when another content holds it."""
    key = claim_key(name)
    for _ in range(_ATTEMPTS):
        try:
            store.put_bytes(key, mine.to_json(), if_absent=True)
            return True
        except ConflictError:
            found = store.read(key)
        if found is None:
            continue  # removed between our write and our read: try again
        theirs = Claim.from_json(found[0], store.location(key))
        if theirs.sha256sums == mine.sha256sums:
            return False
        raise VerdictError(refusal(store, name, theirs))
    raise ToolError(f"store {store.url}: {key} keeps appearing and vanishing; try again")


def take_over(store: Store, name: ReleaseName, theirs: str, mine: Claim) -> bool:
    """Claim a complete dev release, whose manifest lists the content ``theirs`` (its
    SHA256SUMS digest), for ``mine``, and hide it. True when claimed now, False when ``mine``
    held it already; VerdictError (nothing touched) when another content holds it.

    The claim is replaced only while it is the very object read (a write conditional on its
    ETag), and the manifest is removed only after that: of two rebuilds at once one replaces
    the claim, and the other finds a claim that is no longer ``theirs`` and stops without
    having removed anything, not even the winner's manifest once it is published. The files
    change only after the manifest is gone, so no reader sees them change under it.
    """
    key = claim_key(name)
    for _ in range(_ATTEMPTS):
        found = store.read(key)
        if found is None:  # a release from before claims: claimed as a new one
            created = claim_version(store, name, mine)
            _hide(store, name)
            return created
        held = Claim.from_json(found[0], store.location(key))
        if held.sha256sums == mine.sha256sums:
            _hide(store, name)
            return False
        if held.sha256sums != theirs:
            raise VerdictError(refusal(store, name, held))
        try:
            store.put_bytes(key, mine.to_json(), if_match=found[1])
        except ConflictError:
            continue  # changed since read: read again
        _hide(store, name)
        return True
    raise ToolError(f"store {store.url}: {key} keeps changing; try again")


def _hide(store: Store, name: ReleaseName) -> None:
    store.delete([f"{name.folder}/{MANIFEST}"])


def holder(store: Store, name: ReleaseName) -> Claim | None:
    """The claim of ``name`` as stored now, or None when nobody claimed it."""
    key = claim_key(name)
    found = store.read(key)
    return Claim.from_json(found[0], store.location(key)) if found is not None else None


def still_mine(store: Store, name: ReleaseName, mine: Claim) -> None:
    """VerdictError unless the claim still names ``mine``'s content: checked before the
    manifest makes a release complete, as a dev release's claim can be taken over."""
    theirs = holder(store, name)
    if theirs is None or theirs.sha256sums != mine.sha256sums:
        who = theirs.describe() if theirs is not None else "claimed by nobody"
        raise VerdictError(
            f"{store.location(name.folder)} was taken over by another publish while this upload "
            f"ran (now {who}); this publish did not complete it"
        )


def give_up(store: Store, name: ReleaseName, mine: Claim, written: list[str]) -> str:
    """Undo a writer that claimed ``name`` and stopped before it was complete: remove the
    objects it wrote, then its claim, so that the version is free again; what was done, in
    words.

    Without this a promotion stopped by a dev release rewritten under it kept the version
    claimed for content that can no longer be promoted, and every later attempt was refused.
    The objects go first: while the claim stands no writer of other content writes under the
    version, so every object removed is one of ours. The claim goes only while it is still
    ours (a prod claim is never replaced, only removed and made again), and nothing is
    touched once a manifest is there: a writer of the same content that resumed our claim
    completed the version, with these very bytes.
    """
    where = store.location(name.folder)
    if store.read(f"{name.folder}/{MANIFEST}") is not None:
        return f"{where} was completed meanwhile by a publish of the same files; it is kept"
    store.delete(sorted(set(written)))
    if holder(store, name) != mine:
        return (
            f"removed the {len(written)} object(s) it had copied; {store.location(claim_key(name))}"
            " is no longer its claim and is kept"
        )
    store.delete([claim_key(name)])
    return f"removed the {len(written)} object(s) it had copied and its claim: {where} is free"


def refusal(store: Store, name: ReleaseName, theirs: Claim) -> str:
    """Why a release is not ours, and what an operator can do about it."""
    where = store.location(name.folder)
    instead = (
        "Publish a new version"
        if name.env == "prod"
        else "Pack it with another --timestamp, or publish from a new commit"
    )
    if store.read(f"{name.folder}/{MANIFEST}") is not None:
        return (
            f"{where} is already published with different files ({theirs.describe()}); "
            + ("a prod version is immutable" if name.env == "prod" else "another publish won")
            + f" ({instead[0].lower()}{instead[1:]})"
        )
    return (
        f"{where} is {theirs.describe()} with different files and is not complete: another "
        f"publish of this release is running or was killed. {instead}; or rerun "
        f"that publish with the same build to finish it; or, if it was abandoned, delete "
        f"{store.location(claim_key(name))} and the objects under {where}/ and try again"
    )
