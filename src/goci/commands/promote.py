"""``goci promote``: copy a verified dev release to prod and move the ``current`` pointer."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from goci.command import Command, Context, Result
from goci.commands._shared import STORE_OPTIONS, actor, stale_after, store_from
from goci.errors import InputError, VerdictError
from goci.options import Option
from goci.release import promote as core
from goci.release.manifest import MANIFEST, Manifest, check_build_records
from goci.release.names import parse_semver, validate_service
from goci.release.stores import Store
from goci.runtime import markdown_table


def run(values: Mapping[str, Any], ctx: Context) -> Result:
    service = validate_service(values["service"])
    if values["rollback"] and values["version"]:
        raise InputError("--version: not used with --rollback (it goes back one version)")
    if not values["rollback"]:
        if not values["version"]:
            raise InputError("--version is required to promote (a semantic version like 1.4.0)")
        parse_semver(values["version"])
    store = store_from(values, ctx)
    if values["resolve_only"]:
        if values["rollback"]:
            raise InputError("--resolve-only: not used with --rollback (nothing to resolve)")
        return resolve_only(store, service, values["from"], values["version"])
    who = actor(ctx.env)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if values["rollback"]:
        done = core.rollback(store, service, who=who, when=when)
        report = f"{service}: current rolled back from {done.previous} to {done.version}"
    else:
        done = core.promote(
            store,
            service,
            values["from"],
            values["version"],
            who=who,
            when=when,
            workers=values["workers"],
            stale_after=stale_after(values),
        )
        verb = "already promoted (identical)" if done.unchanged else "promoted"
        report = (
            f"{service}: {done.promoted_from} {verb} to {done.release}; current = "
            f"{done.version}" + (f" (was {done.previous})" if done.previous else "")
        ) + "".join(f"\n  cleaned: {c}" for c in done.cleaned)
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
        },
        report=report,
        summary=summary,
    )


def resolve_only(store: Store, service: str, source: str, version: str) -> Result:
    """Name the exact dev release ``--from`` means now, and write nothing.

    go-promote.yml runs this before the approval gate, so that reviewers approve one fixed
    release (shown in the summary) and the gated job promotes that release, not "latest".
    """
    name = core.resolve_source(store, service, source)
    key = f"{name.folder}/{MANIFEST}"
    found = store.read(key)
    if found is None:
        raise VerdictError(
            f"{store.location(name.folder)} has no {MANIFEST}: not a complete release"
        )
    manifest = Manifest.from_json(found[0], store.location(key))
    check_build_records(manifest, store.location(name.folder))  # refused now, not after approval
    summary = "### Release to promote\n\n" + markdown_table(
        ["service", "release", "to", "commit", "targets", "SHA256SUMS sha256"],
        [
            [
                service,
                name.folder,
                f"prod/{service}-v{version}",
                manifest.commit or "-",
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
        },
        report=f"{service}: {source or 'latest'} is {name.folder} (commit {manifest.commit})",
        summary=summary,
    )


COMMAND = Command(
    path=("promote",),
    help="verify a dev release and publish it as an immutable prod version",
    options=(
        *STORE_OPTIONS,
        Option(name="service", required=True, help="service name (name or group/name)"),
        Option(
            name="from",
            default="latest",
            help="dev release to promote: dev/{service}-{YYYYMMDDHHMMSS} or latest",
        ),
        Option(name="version", default="", help="semantic version of the prod release"),
        Option(
            name="rollback",
            kind="bool",
            default=False,
            help="point current back to the previous prod version",
        ),
        Option(
            name="resolve-only",
            kind="bool",
            default=False,
            help="only name the exact dev release --from means (output from), write nothing",
        ),
    ),
    outputs=("manifest-url", "version", "current", "previous", "from"),
    run=run,
)
