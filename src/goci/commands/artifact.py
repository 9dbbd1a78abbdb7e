"""``goci artifact pack`` and ``goci artifact upload``: releases in ``dist/`` and in a store."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from goci.changed.events import current_event
from goci.command import Command, Context, Result
from goci.commands._shared import STORE_OPTIONS, actor, stale_after, store_from
from goci.errors import GociError, InputError, bad_input
from goci.options import Option
from goci.release.local import LocalRelease, find_releases, load_release
from goci.release.manifest import SUMS
from goci.release.names import (
    Env,
    ReleaseName,
    parse_release,
    parse_semver,
    parse_stamp,
    stamp_of,
    validate_service,
    version_from_tag,
)
from goci.release.pack import BuildInfo, discover_services, pack, read_builds
from goci.release.upload import upload_all
from goci.runtime import markdown_table

DIST_OPTION = Option(
    name="dist", default="dist", help="the build output folder (inside the working directory)"
)


def workspace_path(ctx: Context, value: str, option: str) -> Path:
    """A user-given folder that must stay inside the working directory."""
    if not value or os.path.isabs(value) or ".." in Path(value).parts:
        raise bad_input(option, value, "a relative path inside the working directory")
    return ctx.cwd / value


# --- pack ----------------------------------------------------------------------------------


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return None


def run_url(env: Mapping[str, str]) -> str:
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        url = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
        attempt = env.get("GITHUB_RUN_ATTEMPT", "")
        return f"{url}/attempts/{attempt}" if attempt else url
    return env.get("DRONE_BUILD_LINK", "")


def build_info(ctx: Context, dist: Path, service: str) -> BuildInfo:
    """Facts for the manifest: ``build.json`` first, then git and ``go env GOVERSION``."""
    builds = read_builds(dist, service)
    first = builds[0] if builds else {}
    commit = str(first.get("commit") or "")
    in_git = ctx.git.resolve("HEAD") is not None
    if not commit and in_git:
        commit = ctx.git.resolve("HEAD") or ""
    go_version = str(first.get("go_version") or first.get("go") or "")
    if not go_version:
        try:
            go_version = ctx.go.version(cwd=ctx.cwd)
        except GociError:
            go_version = ""
    moment = _parse_time(first.get("build_time"))
    if moment is None:
        moment = (
            datetime.fromtimestamp(ctx.git.commit_time("HEAD"), timezone.utc)
            if in_git
            else datetime.now(timezone.utc)
        )
    ref = current_event(ctx.env).ref
    if not ref and in_git:
        head = ctx.git.run("symbolic-ref", "-q", "HEAD", check=False)
        ref = head.stdout.strip()
    return BuildInfo(commit, ref, go_version, moment, run_url(ctx.env))


def prod_version(values: Mapping[str, Any], ctx: Context, service: str, ref: str) -> str:
    if values["version"]:
        return parse_semver(values["version"])
    candidates = [ref] if ref.startswith("refs/tags/") else []
    if ctx.git.resolve("HEAD") is not None:
        tags = ctx.git.run("tag", "--points-at", "HEAD", check=False).stdout.split()
        candidates.extend(tags)
    for tag in candidates:
        found = version_from_tag(tag, service)
        if found:
            return found
    raise InputError(
        f"--version is required for --env prod of {service} (or a tag v1.2.3 or "
        f"{service}/v1.2.3 on HEAD)"
    )


def run_pack(values: Mapping[str, Any], ctx: Context) -> Result:
    dist = workspace_path(ctx, values["dist"], "--dist")
    env: Env = "prod" if values["env"] == "prod" else "dev"
    services = values["service"] or discover_services(dist)
    if not services:
        raise bad_input(
            "--service", "", f"a service built into {dist}/{{service}}/{{os}}-{{arch}}/"
        )
    if values["version"] and env == "dev":
        raise bad_input("--version", values["version"], "a version only with --env prod")
    for service in services:
        validate_service(service)
    stamp = parse_stamp(values["timestamp"]) if values["timestamp"] else ""
    if values["version"]:
        parse_semver(values["version"])
    packed = []
    for service in services:
        info = build_info(ctx, dist, service)
        version = (
            prod_version(values, ctx, service, info.ref)
            if env == "prod"
            else stamp or stamp_of(info.build_time)
        )
        packed.append(pack(dist, service, env, version, info))
    sums = "".join(
        f"{line[:66]}{p.manifest.name}/{line[66:]}"
        for p in packed
        for line in (p.path / SUMS).read_text().splitlines(keepends=True)
    )
    rows = [
        [
            p.manifest.name,
            ", ".join(p.manifest.targets),
            str(len(p.manifest.files)),
            "unchanged" if p.unchanged else "packed",
        ]
        for p in packed
    ]
    report = "\n".join(
        f"{'unchanged' if p.unchanged else 'packed   '} {p.path} "
        f"({len(p.manifest.files)} files, {', '.join(p.manifest.targets)})"
        for p in packed
    )
    return Result(
        outputs={
            "release": "\n".join(p.manifest.name for p in packed),
            "version": "\n".join(dict.fromkeys(p.manifest.version for p in packed)),
            "sha256sums": sums,
            "path": "\n".join(str(p.path) for p in packed),
        },
        report=report,
        summary="### Packed releases\n\n"
        + markdown_table(["release", "targets", "files", "status"], rows),
    )


PACK = Command(
    path=("artifact", "pack"),
    help="normalize dist/{service}/{os}-{arch} into a checksummed release folder",
    options=(
        Option(name="env", default="dev", choices=("dev", "prod"), help="dev or prod release"),
        Option(
            name="service",
            kind="list",
            default=[],
            help="service(s) to pack, name or group/name (default: every one in dist)",
        ),
        Option(name="version", default="", help="semantic version of a prod release"),
        Option(
            name="timestamp",
            default="",
            help="UTC YYYYMMDDHHMMSS of a dev release (default: the commit time)",
        ),
        DIST_OPTION,
    ),
    outputs=("release", "version", "sha256sums", "path"),
    run=run_pack,
)


# --- upload --------------------------------------------------------------------------------


def _load_releases(values: Mapping[str, Any], dist: Path) -> list[LocalRelease]:
    names: Sequence[ReleaseName]
    if values["release"]:
        names = [parse_release(r) for r in values["release"]]
    else:
        names = find_releases(dist)
        if not names:
            raise bad_input(
                "--dist",
                values["dist"],
                "a folder holding dev/ or prod/ releases; run goci artifact pack first",
            )
    return [load_release(dist, n) for n in names]


def run_upload(values: Mapping[str, Any], ctx: Context) -> Result:
    dist = workspace_path(ctx, values["dist"], "--dist")
    if values["keep"] < 0:
        raise bad_input("--keep", values["keep"], "a number >= 0 (0 keeps every dev release)")
    releases = _load_releases(values, dist)
    store = store_from(values, ctx)
    github = _github_plan(values, ctx) if values["github_release"] else None
    with ctx.runtime.group(f"upload to {store.url}"):
        results = upload_all(
            store,
            releases,
            workers=values["workers"],
            keep=values["keep"],
            who=run_url(ctx.env) or actor(ctx.env),
            when=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            stale_after=stale_after(values),
        )
        for r in results:
            ctx.runtime.log(f"{r.status:9} {r.manifest_url} ({r.files} files, {r.sent} bytes sent)")
    close = getattr(store, "close", None)
    if close:
        close()
    lines = []
    for r in results:
        if r.status == "unchanged":
            lines.append(f"{r.name.folder}: already in {store.url}, byte-identical: nothing to do")
        else:
            lines.append(f"{r.name.folder}: {r.status} ({r.files} files) -> {r.manifest_url}")
        lines.extend(f"  cleaned: {c}" for c in r.cleaned)
        lines.extend(f"  pruned {p}" for p in r.pruned)
    if github is not None:
        from goci.release.ghrelease import attach

        done = attach(releases, tag=github[0], token=github[1], repository=github[2], env=ctx.env)
        lines.append(
            f"GitHub release {done.tag}: {'created, ' if done.created else ''}"
            f"{len(done.uploaded)} uploaded, {len(done.kept)} already there ({done.release_url})"
        )
    sums = "".join(
        f"{line[:66]}{r.name.folder}/{line[66:]}"
        for r in releases
        for line in r.sums_text.splitlines(keepends=True)
    )
    rows = [[r.name.folder, r.status, str(r.files), f"`{r.manifest_url}`"] for r in results]
    return Result(
        outputs={
            "manifest-url": "\n".join(r.manifest_url for r in results),
            "version": "\n".join(dict.fromkeys(r.manifest.version for r in releases)),
            "sha256sums": sums,
            "release": "\n".join(r.name.folder for r in results),
        },
        report="\n".join(lines),
        summary="### Uploaded releases\n\n"
        + markdown_table(["release", "status", "files", "manifest"], rows),
    )


def _github_plan(values: Mapping[str, Any], ctx: Context) -> tuple[str, str, str]:
    tag = values["tag"]
    if not tag:
        ref = current_event(ctx.env).ref
        tag = ref.removeprefix("refs/tags/") if ref.startswith("refs/tags/") else ""
    if not tag:
        raise bad_input("--tag", "", "a tag (or run on a tag push) to attach a GitHub release")
    token = values["github_token"] or ctx.env.get("GITHUB_TOKEN", "")
    if not token:
        raise InputError("--github-token: not set (nor GITHUB_TOKEN); needed for --github-release")
    ctx.runtime.mask(token)
    repository = ctx.env.get("GITHUB_REPOSITORY", "")
    if repository.count("/") != 1:
        raise bad_input("GITHUB_REPOSITORY", repository, "owner/name")
    return tag, token, repository


UPLOAD = Command(
    path=("artifact", "upload"),
    help="upload packed releases (files, SHA256SUMS, manifest last) to a store",
    options=(
        *STORE_OPTIONS,
        DIST_OPTION,
        Option(
            name="release",
            kind="list",
            default=[],
            help="releases to send, e.g. dev/api-20250102030405 (default: all in dist)",
        ),
        Option(
            name="keep",
            kind="int",
            default=0,
            help="dev releases to keep per service, oldest pruned first (0: all)",
        ),
        Option(
            name="github-release",
            kind="bool",
            default=False,
            help="also attach the files and SHA256SUMS to the GitHub release of the tag",
        ),
        Option(name="tag", default="", help="tag of the GitHub release (default: the pushed tag)"),
        Option(
            name="github-token",
            default="",
            secret=True,
            help="token for the GitHub release (default: GITHUB_TOKEN)",
        ),
    ),
    outputs=("manifest-url", "version", "sha256sums", "release"),
    run=run_upload,
)
