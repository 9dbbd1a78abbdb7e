"""``goci promote``: copy a verified dev release to prod and move the ``current`` pointer."""

from __future__ import annotations

from datetime import datetime, timezone

from goci.command import Command, Context, Result
from goci.commands._shared import StoreOptions, opened_store
from goci.errors import InputError, bad_input
from goci.options import label_of, option
from goci.release import promote as core
from goci.release.manifest import MANIFEST, SHA256_HEX
from goci.release.names import parse_semver, validate_service
from goci.release.rollback import rollback
from goci.release.stores import Store
from goci.runtime import markdown_table


def check_sha256(text: str, label: str = "--sums-digest") -> str:
    """A SHA-256 in hex (64 digits, either case)."""
    if not SHA256_HEX.match(text.lower()):
        raise bad_input(label, text, "accepted: a SHA-256 in hex (64 digits 0-9, a-f)")
    return text.lower()


class PromoteOptions(StoreOptions):
    service: str = option(
        required=True, help="service name (name or group/name)", check=validate_service
    )
    source: str = option(
        name="from",
        default="latest",
        help="dev release to promote: dev/{service}-{YYYYMMDDHHMMSS} or latest",
    )
    version: str = option(
        default="", help="semantic version of the prod release", check=parse_semver
    )
    rollback: bool = option(
        kind="bool",
        default=False,
        help="point current back to the previous prod version",
    )
    resolve_only: bool = option(
        kind="bool",
        default=False,
        help="only name the exact dev release --from means (outputs from and sums-digest), "
        "write nothing",
    )
    sums_digest: str = option(
        default="",
        help="promote only if the dev release's SHA256SUMS file has this SHA-256 (go-promote.yml "
        "passes the one --resolve-only showed the reviewers)",
        metavar="SHA256",
        check=check_sha256,
    )


def run(opts: PromoteOptions, ctx: Context) -> Result:
    service = validate_service(opts.service)
    if opts.rollback and opts.version:
        raise InputError("--version: not used with --rollback (it goes back one version)")
    if not opts.rollback:
        if not opts.version:
            raise InputError("--version is required to promote (a semantic version like 1.4.0)")
        parse_semver(opts.version)
    if opts.resolve_only and opts.rollback:
        raise InputError("--resolve-only: not used with --rollback (nothing to resolve)")
    if opts.sums_digest and (opts.rollback or opts.resolve_only):
        raise InputError(
            f"{label_of(opts, 'sums_digest')}: not used with "
            + ("--rollback (it promotes nothing)" if opts.rollback else "--resolve-only")
        )
    core.source_name(service, opts.source)  # a bad --from is refused before the store is opened
    with opened_store(opts, ctx) as store:
        if opts.resolve_only:
            return resolve_only(store, service, opts.source, opts.version)
        return _promote_or_roll_back(opts, ctx, store, service)


def _promote_or_roll_back(opts: PromoteOptions, ctx: Context, store: Store, service: str) -> Result:
    who = ctx.ci.actor
    when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if opts.rollback:
        done = rollback(store, service, who=who, when=when)
        report = f"{service}: current rolled back from {done.previous} to {done.version}"
    else:
        done = core.promote(
            store,
            service,
            opts.source,
            opts.version,
            who=who,
            when=when,
            workers=opts.workers,
            stale_after=opts.stale_after_seconds,
            approved_sha256sums=opts.sums_digest,
        )
        verb = "already promoted (identical)" if done.unchanged else "promoted"
        report = (
            f"{service}: {done.promoted_from} {verb} to {done.release}; current = "
            f"{done.version}" + (f" (was {done.previous})" if done.previous else "")
        ) + "".join(f"\n  cleaned: {c}" for c in done.cleaned)
        if opts.sums_digest:
            report += f"\n  SHA256SUMS sha256 {done.sha256sums}: the approved one"
    summary = "### Promotion\n\n" + markdown_table(
        ["service", "current", "previous", "from", "by"],
        [[service, done.version, done.previous or "-", done.promoted_from or "-", who]],
    )
    return Result(
        outputs={
            "manifest-url": done.manifest_url,
            "version": done.version,
            "current": done.release,
            "previous": done.previous,
            "from": done.promoted_from,
            "sums-digest": done.sha256sums,
        },
        report=report,
        summary=summary,
    )


def resolve_only(store: Store, service: str, source: str, version: str) -> Result:
    """Name the exact dev release ``--from`` means now, and write nothing.

    go-promote.yml runs this before the approval gate, so that reviewers approve one fixed
    release (shown in the summary) and the gated job promotes that release, not "latest".
    """
    version = parse_semver(version)  # the bare version: --version v1.4.0 is prod/api-v1.4.0
    name = core.resolve_source(store, service, source)
    key = f"{name.folder}/{MANIFEST}"
    manifest = core.read_dev_manifest(store, service, name)  # refused now, not after approval
    core.check_sums(store, manifest, name.folder)  # the digest shown must describe the files
    summary = "### Release to promote\n\n" + markdown_table(
        ["service", "release", "to", "commit", "targets", "SHA256SUMS sha256"],
        [
            [
                service,
                name.folder,
                f"prod/{service}-v{version}",
                f"`{manifest.commit}`" if manifest.commit else "-",
                " ".join(manifest.targets),
                manifest.sha256sums,
            ]
        ],
    )
    return Result(
        outputs={
            "manifest-url": store.location(key),
            "version": version,
            "current": "",
            "previous": "",
            "from": name.folder,
            "sums-digest": manifest.sha256sums,
        },
        report=f"{service}: {source or 'latest'} is {name.folder} (commit {manifest.commit})",
        summary=summary,
    )


COMMAND = Command(
    path=("promote",),
    help="verify a dev release and publish it as an immutable prod version",
    settings=PromoteOptions,
    outputs=("manifest-url", "version", "current", "previous", "from", "sums-digest"),
    run=run,
)
