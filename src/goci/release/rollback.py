"""``promote --rollback``: point ``prod/{service}/current`` back at the version before it.

Going back needs no review, as the version was reviewed when it was promoted; but its objects
are read back against its manifest first, as a promotion reads a dev release's, so a version
whose files went missing or were changed since is never put back into production.
"""

from __future__ import annotations

from goci.errors import VerdictError
from goci.release.manifest import MANIFEST, Manifest
from goci.release.names import ReleaseName, release_name, validate_service
from goci.release.pointer import Pointer, update_pointer
from goci.release.promote import Promoted, verify_remote
from goci.release.stores import Store


def verify_prod(store: Store, target: ReleaseName) -> None:
    """Read back every object of a published prod version against its manifest (and the
    manifest's SHA256SUMS): a rollback puts it into production without a new review, so a
    version whose objects went missing or changed must stop it, as it stops a promotion."""
    key = f"{target.folder}/{MANIFEST}"
    found = store.read(key)
    if found is None:
        raise VerdictError(f"{store.location(target.folder)} is gone; cannot roll back to it")
    manifest = Manifest.from_json(found[0], store.location(key))
    if manifest.service != target.service or manifest.name != target.folder:
        raise VerdictError(
            f"{store.location(key)} names {manifest.name}, not {target.folder}; "
            "cannot roll back to it"
        )
    verify_remote(store, manifest, target.folder, doing="rollback")


def rollback(store: Store, service: str, *, who: str, when: str) -> Promoted:
    """Point ``current`` back at the version before it, once every object of that version
    was read back and matched its manifest."""
    validate_service(service)
    verified: set[str] = set()  # the compare-and-swap may call back() again, on a new pointer

    def back(old: Pointer | None) -> Pointer:
        if old is None:
            raise VerdictError(f"{service} has no prod/{service}/current pointer to roll back")
        if not old.history:
            raise VerdictError(
                f"{service} is at {old.version} with no previous version to roll back to"
            )
        target = release_name("prod", service, old.history[0])
        if target.version not in verified:
            verify_prod(store, target)
            verified.add(target.version)
        return Pointer(
            service, target.version, target.folder, old.history[1:], when, who, "rollback"
        )

    old, new = update_pointer(store, service, back)
    return Promoted(
        service=service,
        version=new.version,
        release=new.release,
        manifest_url=store.location(f"{new.release}/{MANIFEST}"),
        previous=old.version if old else "",
        promoted_from=old.release if old else "",
        copied=0,
    )
