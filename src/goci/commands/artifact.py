"""``goci artifact pack`` and ``goci artifact upload``: releases in ``dist/`` and in a store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from goci.command import Command, Context, Result
from goci.commands._shared import StoreOptions, opened_store
from goci.errors import GociError, InputError, bad_input
from goci.options import Options, label_of, option
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
from goci.runtime import counted, markdown_table
from goci.tools.paths import ignore_goci_folders


class DistOptions(Options):
    """Where the builds and packed releases are (``artifact pack`` and ``artifact upload``)."""

    dist: str = option(
        default=".goci/dist", help="the build output folder (inside the working directory)"
    )

    def dist_path(self, ctx: Context) -> Path:
        """The dist folder, which must be there: pack and upload read what others wrote."""
        dist = ctx.workspace_path(label_of(self, "dist"), self.dist)
        if not dist.is_dir():
            raise bad_input(
                label_of(self, "dist"),
                self.dist,
                "a folder holding what goci build wrote (run goci build first)",
            )
        return dist


class PackOptions(DistOptions):
    env: str = option(default="dev", choices=("dev", "prod"), help="dev or prod release")
    service: tuple[str, ...] = option(
        kind="list",
        default=[],
        help="service(s) to pack, name or group/name (default: every one in dist)",
        check=validate_service,
    )
    version: str = option(default="", help="semantic version of a prod release", check=parse_semver)
    timestamp: str = option(
        default="",
        help="UTC YYYYMMDDHHMMSS of a dev release (default: the commit time)",
        check=parse_stamp,
    )


class UploadOptions(StoreOptions, DistOptions):
    release: tuple[str, ...] = option(
        kind="list",
        default=[],
        help="releases to send, e.g. dev/api-20250102030405 (default: all in dist)",
        check=parse_release,
    )
    keep: int = option(
        kind="int",
        default=0,
        minimum=0,
        help="dev releases to keep per service: the newest by stamp; never one newer than the "
        "release uploaded (0: all)",
    )
    github_release: bool = option(
        kind="bool",
        default=False,
        help="also attach the files and SHA256SUMS to the GitHub release of the tag "
        "(prod releases of the tag's version; a new release is published once all are in)",
    )
    tag: str = option(default="", help="tag of the GitHub release (default: the pushed tag)")
    github_token: str = option(
        default="",
        secret=True,
        help="token for the GitHub release (default: GITHUB_TOKEN)",
    )


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
    ref = ctx.ci.event.ref
    if not ref and in_git:
        head = ctx.git.run("symbolic-ref", "-q", "HEAD", check=False)
        ref = head.stdout.strip()
    return BuildInfo(commit, ref, go_version, moment, ctx.ci.run_url)


def prod_version(opts: PackOptions, ctx: Context, service: str, ref: str) -> str:
    if opts.version:
        return parse_semver(opts.version)
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


def run_pack(opts: PackOptions, ctx: Context) -> Result:
    dist = opts.dist_path(ctx)
    env: Env = "prod" if opts.env == "prod" else "dev"
    services = opts.service or discover_services(dist)
    if not services:
        raise bad_input(
            "--service", "", f"a service built into {dist}/{{service}}/{{os}}-{{arch}}/"
        )
    if opts.version and env == "dev":
        raise bad_input("--version", opts.version, "a version only with --env prod")
    for service in services:
        validate_service(service)
    stamp = parse_stamp(opts.timestamp) if opts.timestamp else ""
    if opts.version:
        parse_semver(opts.version)
    packed = []
    for service in services:
        info = build_info(ctx, dist, service)
        version = (
            prod_version(opts, ctx, service, info.ref)
            if env == "prod"
            else stamp or stamp_of(info.build_time)
        )
        ignore_goci_folders(dist)
        packed.append(pack(dist, service, env, version, info))
    sums = _sums_of((p.manifest.name, (p.path / SUMS).read_text()) for p in packed)
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
        f"({counted(len(p.manifest.files), 'file')}, {', '.join(p.manifest.targets)})"
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
    help="normalize .goci/dist/{service}/{os}-{arch} into a checksummed release folder",
    settings=PackOptions,
    outputs=("release", "version", "sha256sums", "path"),
    run=run_pack,
)


# --- upload --------------------------------------------------------------------------------


def _load_releases(opts: UploadOptions, dist: Path) -> list[LocalRelease]:
    names: Sequence[ReleaseName]
    if opts.release:
        names = [parse_release(r) for r in opts.release]
    else:
        names = find_releases(dist)
        if not names:
            raise bad_input(
                "--dist",
                opts.dist,
                "a folder holding dev/ or prod/ releases; run goci artifact pack first",
            )
    return [load_release(dist, n) for n in names]


def run_upload(opts: UploadOptions, ctx: Context) -> Result:
    dist = opts.dist_path(ctx)
    releases = _load_releases(opts, dist)
    with opened_store(opts, ctx) as store:
        github = _github_plan(opts, ctx, releases) if opts.github_release else None
        with ctx.runtime.group(f"upload to {store.url}"):
            results = upload_all(
                store,
                releases,
                workers=opts.workers,
                keep=opts.keep,
                who=ctx.ci.run_url or ctx.ci.actor,
                when=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                stale_after=opts.stale_after_seconds,
            )
            for r in results:
                ctx.runtime.log(
                    f"{r.status:9} {r.manifest_url} "
                    f"({counted(r.files, 'file')}, {r.sent} bytes sent)"
                )
    lines = []
    for r in results:
        if r.status == "unchanged":
            lines.append(f"{r.name.folder}: already in {store.url}, byte-identical: nothing to do")
        else:
            lines.append(
                f"{r.name.folder}: {r.status} ({counted(r.files, 'file')}) -> {r.manifest_url}"
            )
        lines.extend(f"  cleaned: {c}" for c in r.cleaned)
        lines.extend(f"  pruned {p}" for p in r.pruned)
        lines.extend([f"  kept: {r.prune_note}"] if r.prune_note else [])
    if github is not None:
        lines.append(_attach(releases, github))
    rows = [[r.name.folder, r.status, str(r.files), f"`{r.manifest_url}`"] for r in results]
    return Result(
        outputs={
            "manifest-url": "\n".join(r.manifest_url for r in results),
            "version": "\n".join(dict.fromkeys(r.manifest.version for r in releases)),
            "sha256sums": _sums_of((r.name.folder, r.sums_text) for r in releases),
            "release": "\n".join(r.name.folder for r in results),
        },
        report="\n".join(lines),
        summary="### Uploaded releases\n\n"
        + markdown_table(["release", "status", "files", "manifest"], rows),
    )


@dataclass(frozen=True)
class _GitHubRelease:
    """Where ``--github-release`` attaches the files: checked before anything is uploaded."""

    tag: str
    token: str
    repository: str
    api_url: str


def _github_plan(
    opts: UploadOptions, ctx: Context, releases: Sequence[LocalRelease]
) -> _GitHubRelease:
    from goci.release.ghrelease import check_attachable

    tag = opts.tag
    if not tag:
        ref = ctx.ci.event.ref
        tag = ref.removeprefix("refs/tags/") if ref.startswith("refs/tags/") else ""
    if not tag:
        raise bad_input("--tag", "", "a tag (or run on a tag push) to attach a GitHub release")
    check_attachable(releases, tag)
    token = opts.github_token or ctx.ci.token
    if not token:
        raise InputError("--github-token: not set (nor GITHUB_TOKEN); needed for --github-release")
    ctx.runtime.mask(
        token,
        name=label_of(opts, "github_token") if opts.github_token else "the job's GitHub token",
    )
    if ctx.ci.repository.count("/") != 1:
        raise bad_input("GITHUB_REPOSITORY", ctx.ci.repository, "owner/name")
    return _GitHubRelease(tag, token, ctx.ci.repository, ctx.ci.api_url)


def _attach(releases: Sequence[LocalRelease], github: _GitHubRelease) -> str:
    from goci.release.ghrelease import attach

    done = attach(
        releases,
        tag=github.tag,
        token=github.token,
        repository=github.repository,
        api_url=github.api_url,
    )
    return (
        f"GitHub release {done.tag}: {'created as a draft, ' if done.created else ''}"
        f"{len(done.uploaded)} uploaded, {len(done.kept)} already there"
        f"{', then published' if done.published else ''} ({done.release_url})"
    )


def _sums_of(folders: Iterable[tuple[str, str]]) -> str:
    """One ``sha256sum`` text for several releases: each path prefixed with its folder."""
    return "".join(
        f"{line[:66]}{folder}/{line[66:]}"
        for folder, text in folders
        for line in text.splitlines(keepends=True)
    )


UPLOAD = Command(
    path=("artifact", "upload"),
    help="upload packed releases (files, SHA256SUMS, manifest last) to a store",
    settings=UploadOptions,
    outputs=("manifest-url", "version", "sha256sums", "release"),
    run=run_upload,
)
