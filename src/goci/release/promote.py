"""``promote``: copy a verified dev release to ``prod/{service}-v{semver}`` and move ``current``.

Nothing is rebuilt: the exact bytes of the dev release are copied (server-side on S3) after
every one of them was read back and matched against the dev manifest, so a corrupted object
stops the promotion before anything is written. Each copy is made only while its source
still is the object that was verified (its ETag), and the copy is hashed again, so a dev
object swapped after verification is never promoted. The prod version is claimed before the
first copy (:mod:`goci.release.claim`), so a promotion racing a tag publish of other files either
wins whole or writes nothing. The ``prod/{service}/current`` pointer is changed by
compare-and-swap (a conditional write that fails when someone else changed it first, then
re-read and retried), so concurrent promotions never lose one another's update, and a
promotion run again never moves it back from a newer version.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from goci.errors import InputError, VerdictError, bad_input
from goci.release.checksums import parse_sums
from goci.release.claim import Claim, claim_key, claim_version, give_up
from goci.release.manifest import MANIFEST, SUMS, Manifest, check_build_records, with_promotion
from goci.release.names import (
    ReleaseName,
    parse_release,
    precedence,
    refuse_other_digits,
    release_name,
    validate_service,
)
from goci.release.pointer import Pointer, read_pointer, update_pointer
from goci.release.stores import ConflictError, Store
from goci.release.upload import STALE_AFTER, clean_leftovers, dev_releases
from goci.tools.hashing import sha256_bytes


@dataclass(frozen=True)
class Promoted:
    """The outcome of a promotion or rollback."""

    service: str
    version: str
    release: str
    manifest_url: str
    previous: str
    promoted_from: str
    copied: int
    unchanged: bool = False
    cleaned: tuple[str, ...] = ()
    sha256sums: str = ""  # the SHA-256 of the promoted SHA256SUMS (none for a rollback)


def resolve_source(store: Store, service: str, source: str) -> ReleaseName:
    """``latest``, ``dev/{service}-{stamp}``, ``{service}-{stamp}`` or a bare stamp."""
    name = source_name(service, source)
    if name is None:
        stamps = dev_releases(store, service)
        if not stamps:
            raise VerdictError(f"no dev release of {service} in {store.url} to promote")
        return release_name("dev", service, stamps[-1])
    return name


def source_name(service: str, source: str) -> ReleaseName | None:
    """The dev release ``--from`` names (None for ``latest``), checked without the store, so
    that a typo is refused before anything is opened."""
    refuse_other_digits(source, "--from")  # named as given, before it is completed below
    text = source.strip()
    if text in ("", "latest"):
        return None
    if text.isascii() and text.isdigit():  # a bare stamp; other digits are refused below
        text = f"dev/{service}-{text}"
    elif not text.startswith(("dev/", "prod/")):
        text = f"dev/{text}"
    name = parse_release(text, "--from")
    if name.env != "dev":
        raise bad_input(
            "--from", source, "a dev release (dev/{service}-{YYYYMMDDHHMMSS}) or latest"
        )
    if name.service != service:
        raise bad_input("--from", source, f"a dev release of --service {service!r}")
    return name


def verify_remote(
    store: Store, manifest: Manifest, prefix: str, doing: str = "promotion"
) -> dict[str, str]:
    """Read back every file of a release and compare it with its manifest; stop on a mismatch.

    Returns the ETag each object had when its bytes were read, for copies that must take
    exactly those objects.
    """
    sums_key = f"{prefix}/{SUMS}"
    etags = {sums_key: check_sums(store, manifest, prefix)}
    checks = [(f"{prefix}/{f.path}", f.size, f.sha256) for f in manifest.files]
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="goci-verify") as pool:
        results = list(pool.map(lambda c: store.hash(c[0]), checks))
    problems = []
    for (key, size, digest), found in zip(checks, results, strict=True):
        if found is None:
            problems.append(f"{key} (missing)")
        elif found.sha256 != digest or size not in (-1, found.size):
            problems.append(
                f"{key} (sha256 {found.sha256}, size {found.size}; manifest says {digest})"
            )
        else:
            etags[key] = found.etag
    if problems:
        raise VerdictError(
            f"{store.location(prefix)} does not match its manifest; {doing} stopped before "
            "writing anything: " + "; ".join(problems)
        )
    return etags


def check_sums(store: Store, manifest: Manifest, prefix: str) -> str:
    """The ETag of the release's SHA256SUMS, once its bytes are the ones the manifest's
    ``sha256sums`` names and it lists exactly the manifest's files with their hashes.

    Reviewers approve the SHA256SUMS digest, and every file is verified against its manifest
    entry: without this check the two are never tied together, so a manifest rewritten with
    another file's hash (dev credentials suffice) beside the approved SHA256SUMS would promote
    bytes nobody reviewed, while prod's SHA256SUMS went on naming the reviewed ones.
    """
    key = f"{prefix}/{SUMS}"
    where = store.location(key)
    found = store.read(key)
    if found is None:
        raise VerdictError(f"{where} is missing: not a complete release; nothing was promoted")
    data, etag = found
    if sha256_bytes(data) != manifest.sha256sums:
        raise VerdictError(
            f"{where} has sha256 {sha256_bytes(data)}, its manifest says {manifest.sha256sums}; "
            "nothing was promoted"
        )
    try:
        listed = parse_sums(data.decode("utf-8"), source=where)
    except (UnicodeDecodeError, InputError) as error:
        raise VerdictError(
            f"{where} is not a SHA256SUMS file ({error}); nothing was promoted"
        ) from None
    expected = {f.path: f.sha256 for f in manifest.files}
    if listed != expected:
        differ = sorted(
            p for p in listed.keys() | expected.keys() if listed.get(p) != expected.get(p)
        )
        raise VerdictError(
            f"{where} and {store.location(f'{prefix}/{MANIFEST}')} disagree about "
            f"{', '.join(differ)}: the manifest does not describe the files SHA256SUMS names; "
            "nothing was promoted"
        )
    return etag


def read_dev_manifest(store: Store, service: str, dev: ReleaseName) -> Manifest:
    """The manifest of a complete dev release of ``service``, its build records checked."""
    key = f"{dev.folder}/{MANIFEST}"
    found = store.read(key)
    if found is None:
        raise VerdictError(
            f"{store.location(dev.folder)} has no {MANIFEST}: not a complete release"
        )
    manifest = Manifest.from_json(found[0], store.location(key))
    if manifest.service != service or manifest.name != dev.folder:
        raise VerdictError(f"{store.location(dev.folder)}: its manifest names {manifest.name}")
    check_build_records(manifest, store.location(dev.folder))
    return manifest


class SourceChanged(VerdictError):
    """A dev object was no longer the one verified when its copy was made."""


def _copy_verified(
    store: Store,
    manifest: Manifest,
    dev: ReleaseName,
    prod: ReleaseName,
    etags: dict[str, str],
    workers: int,
    written: list[str],
) -> int:
    """Copy every file and SHA256SUMS server-side, each only while it is still the object
    that was verified; how many were copied. Each copy made is added to ``written`` (also
    when another one stops the promotion), so that it can be taken back."""
    pairs = [
        (f"{dev.folder}/{f.path}", f"{prod.folder}/{f.path}", f.sha256) for f in manifest.files
    ]
    pairs.append((f"{dev.folder}/{SUMS}", f"{prod.folder}/{SUMS}", manifest.sha256sums))

    stopped = threading.Event()  # once one source changed, no further copy is started

    def copy(pair: tuple[str, str, str]) -> None:
        src, dst, digest = pair
        if stopped.is_set():
            return
        try:
            store.copy(src, dst, digest, if_match=etags[src])
        except ConflictError:
            stopped.set()
            raise SourceChanged(f"{store.location(src)} changed after it was verified") from None
        written.append(dst)

    # Leaving the pool waits for every copy under way, so ``written`` is whole when it raises.
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="goci-copy") as pool:
        list(pool.map(copy, pairs))
    return len(pairs)


def _copy_claimed(
    store: Store,
    manifest: Manifest,
    dev: ReleaseName,
    prod: ReleaseName,
    etags: dict[str, str],
    workers: int,
    claim: Claim,
    created: bool,
) -> int:
    """The copies of a version claimed for these files, by this promotion (``created``) or
    before it (a killed run, or one running now). When the dev release changes under them no
    run of this promotion can complete the version any more: a claim of our own is handed
    back (copies and claim removed) before it says so; an earlier one is not ours to remove."""
    written: list[str] = []
    try:
        return _copy_verified(store, manifest, dev, prod, etags, workers, written)
    except SourceChanged as exc:
        if created:
            then = (
                f"this promotion {give_up(store, prod, claim, written)}. Review {dev.folder} "
                "as it is now (resolve it again and have it approved again), then promote again"
            )
        else:
            then = (
                "its claim was made before this promotion (another run of it is going on, or "
                f"was killed) and is kept; once that run is over, review {dev.folder} as it is "
                f"now and promote again, or delete {store.location(claim_key(prod))} and the "
                "objects under the version"
            )
        raise VerdictError(
            f"{exc}: the dev release was rebuilt or rewritten while this promotion ran, so "
            f"{store.location(prod.folder)} was not published; {then}"
        ) from None


def _publish_manifest(store: Store, manifest: Manifest, prod: ReleaseName) -> bool:
    """Write the prod manifest last, only where none is; True when another writer's identical
    one got there first."""
    key = f"{prod.folder}/{MANIFEST}"
    try:
        store.put_bytes(key, manifest.to_json().encode(), if_absent=True)
    except ConflictError:
        other = store.read(key)
        if other is None or not Manifest.from_json(other[0], key).same_files(manifest):
            raise VerdictError(
                f"{store.location(prod.folder)} was published by someone else with "
                "different files during this promotion"
            ) from None
        return True
    return False


def _refuse_going_back(store: Store, prod: ReleaseName, current: Pointer | None) -> None:
    """Refuse to promote a version published before while ``current`` is at a newer one.

    Such a run is a promotion run once more (GitHub's "Re-run jobs" on an old run, say), and
    it would quietly put an older release back into production; going back stays what
    ``--rollback`` does, on purpose and verified.
    """
    if current is not None and precedence(current.version) > precedence(prod.version):
        raise VerdictError(
            f"{store.location(prod.folder)} was published before, and "
            f"prod/{prod.service}/current has moved on to the newer {current.version}: "
            f"promoting {prod.version} again would move production back, so current stays "
            f"at {current.version}. To go back on purpose, roll back (--rollback: one version "
            f"a run, each verified first); to ship this build, promote it as a version above "
            f"{current.version}"
        )


def _point_current(
    store: Store, prod: ReleaseName, who: str, when: str, *, again: bool
) -> tuple[Pointer | None, Pointer]:
    """Move ``current`` to the prod version (a no-op when it is there already); ``again``:
    the version was published before this run (judged again on the pointer the
    compare-and-swap reads, so a newer promotion finishing meanwhile counts too)."""

    def point(old: Pointer | None) -> Pointer:
        if old is not None and old.version == prod.version:
            return old
        if again:
            _refuse_going_back(store, prod, old)
        history = (old.version, *old.history) if old else ()
        history = tuple(v for v in history if v != prod.version)
        return Pointer(prod.service, prod.version, prod.folder, history, when, who, "promote")

    return update_pointer(store, prod.service, point)


def check_approved(store: Store, dev: ReleaseName, manifest: Manifest, approved: str) -> None:
    """Refuse a dev release whose SHA256SUMS is not the one reviewers approved.

    A dev release is not immutable: a rebuild, or anyone holding the dev credentials, can
    replace its files and manifest under the same name while the promotion waits for
    approval. Pinning the name alone would then put bytes nobody reviewed into prod; pinning
    SHA256SUMS (which names every file's SHA-256) pins the content. The copies that follow
    take only the objects verified against this manifest (their ETags), so what is promoted
    is what was approved.
    """
    if manifest.sha256sums != approved.lower():
        raise VerdictError(
            f"{store.location(dev.folder)} changed after it was approved: its SHA256SUMS is "
            f"sha256 {manifest.sha256sums}, the approved one {approved.lower()}; nothing was "
            "promoted (start the promotion again to review the release as it is now)"
        )


def promote(
    store: Store,
    service: str,
    source: str,
    version: str,
    *,
    who: str,
    when: str,
    workers: int = 4,
    stale_after: float = STALE_AFTER,
    approved_sha256sums: str = "",
) -> Promoted:
    """Verify a dev release, copy it to prod (claimed, immutable), then point ``current``.

    With ``approved_sha256sums``, only the dev release whose SHA256SUMS has that SHA-256.
    """
    validate_service(service)
    dev = resolve_source(store, service, source)
    prod = release_name("prod", service, version)
    manifest = read_dev_manifest(store, service, dev)
    if approved_sha256sums:
        check_approved(store, dev, manifest, approved_sha256sums)
    etags = verify_remote(store, manifest, dev.folder)
    current = read_pointer(store, service)  # a damaged one stops us before anything is written
    prod_key = f"{prod.folder}/{MANIFEST}"
    existing = store.read(prod_key)
    copied = 0
    if existing is not None:
        if current is None or current.version != prod.version:
            _refuse_going_back(store, prod, current)
        published = Manifest.from_json(existing[0], store.location(prod_key))
        if not published.same_files(manifest):
            raise VerdictError(
                f"{store.location(prod.folder)} already exists with different files; a prod "
                "version is immutable (promote to a new version)"
            )
        unchanged = True
        verify_remote(store, published, prod.folder)
    else:
        claim = Claim(prod.folder, manifest.sha256sums, manifest.commit, who, when)
        created = claim_version(store, prod, claim)
        copied = _copy_claimed(store, manifest, dev, prod, etags, workers, claim, created)
        promoted = with_promotion(manifest, prod, dev.folder, who, when)
        unchanged = _publish_manifest(store, promoted, prod)
    cleaned = clean_leftovers(store, f"{prod.folder}/", stale_after)
    old, new = _point_current(store, prod, who, when, again=existing is not None)
    return Promoted(
        service=service,
        version=new.version,
        release=new.release,
        manifest_url=store.location(prod_key),
        previous=old.version if old else "",
        promoted_from=dev.folder,
        copied=copied,
        unchanged=unchanged,
        cleaned=cleaned,
        sha256sums=manifest.sha256sums,
    )
