"""What several commands share: the store options, opening a store, who is acting, and paths.

Commands do not import one another (each is loaded only when it runs); what ``artifact upload``
and ``promote`` both need to open a store, and what ``test`` and ``coverage merge`` both need to
check a user-given path, lives here once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from goci.command import Context
from goci.errors import bad_input
from goci.options import Option
from goci.release.stores import Store, Tuning, open_store, url_password

STORE_OPTIONS = (
    Option(
        name="store",
        default="file://.goci-store",
        help="where releases go: file://DIR or s3://bucket/prefix",
        metavar="URL",
    ),
    Option(
        name="endpoint-url",
        default="",
        help="S3 endpoint for MinIO, SeaweedFS, R2 (default: AWS_ENDPOINT_URL_S3 or AWS)",
        metavar="URL",
    ),
    Option(name="workers", kind="int", default=8, help="parallel transfers"),
    Option(name="part-size-mb", kind="int", default=8, help="multipart part size in MiB"),
    Option(
        name="multipart-threshold-mb",
        kind="int",
        default=32,
        help="files larger than this many MiB are sent in parts, in parallel",
    ),
    Option(name="retries", kind="int", default=4, help="attempts per request on transient errors"),
    Option(
        name="stale-after",
        default="1h",
        help="an unfinished upload of a writer that cannot be proven gone counts as abandoned "
        "after this long idle (e.g. 30m, 2h); a dead writer's is removed at once",
        metavar="DURATION",
    ),
)
_DURATION = re.compile(r"^(\d{1,9})([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def mask_credentials(ctx: Context, *urls: str) -> None:
    """Mask the secrets of the environment, and any user-info a URL carries (refused later,
    but it must not show in the log even then)."""
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        if ctx.env.get(name):
            ctx.runtime.mask(ctx.env[name])
    for url in (*urls, ctx.env.get("AWS_ENDPOINT_URL_S3", ""), ctx.env.get("AWS_ENDPOINT_URL", "")):
        secret = url_password(url)
        if secret:
            ctx.runtime.mask(secret)
            ctx.runtime.mask(secret.partition(":")[2] or secret)


def stale_after(values: Mapping[str, Any]) -> float:
    """``--stale-after`` in seconds (``90``, ``30m``, ``2h``, ``1d``)."""
    match = _DURATION.match(str(values["stale_after"]).strip())
    if not match:
        raise bad_input("--stale-after", values["stale_after"], "a duration like 30m, 2h or 1d")
    return float(int(match.group(1)) * _UNITS[match.group(2)])


def store_from(values: Mapping[str, Any], ctx: Context) -> Store:
    """Open the store the options name (credentials are checked here, before any upload)."""
    for name in ("workers", "part_size_mb", "retries", "multipart_threshold_mb"):
        if values[name] < 1:
            raise bad_input(f"--{name.replace('_', '-')}", values[name], "a number >= 1")
    mask_credentials(ctx, values["store"], values["endpoint_url"])
    stale_after(values)
    tuning = Tuning(
        part_size=max(5, values["part_size_mb"]) * 1024 * 1024,
        multipart_threshold=values["multipart_threshold_mb"] * 1024 * 1024,
        workers=values["workers"],
        attempts=values["retries"],
    )
    return open_store(
        values["store"],
        endpoint_url=values["endpoint_url"],
        env=ctx.env,
        cwd=ctx.cwd,
        tuning=tuning,
    )


def actor(env: Mapping[str, str]) -> str:
    """Who is publishing: the GitHub actor, the Drone author, or the local user."""
    for name in ("GITHUB_ACTOR", "DRONE_COMMIT_AUTHOR", "CI_COMMIT_AUTHOR", "USER", "USERNAME"):
        if env.get(name):
            return env[name]
    return "unknown"


def workspace_path(ctx: Context, option: str, value: str) -> Path:
    """A user-given output/input path, refused when it escapes the workspace.

    Allowed: inside the working folder, the git repository it is in, ``GITHUB_WORKSPACE`` or
    ``RUNNER_TEMP`` (where actions keep scratch files).
    """
    path = ctx.path(value)
    roots = [ctx.cwd.resolve()]
    for name in ("GITHUB_WORKSPACE", "RUNNER_TEMP"):
        if ctx.env.get(name):
            roots.append(Path(ctx.env[name]).resolve())
    top = ctx.git.run("rev-parse", "--show-toplevel", check=False)
    if top.ok and top.stdout.strip():
        roots.append(Path(top.stdout.strip()).resolve())
    resolved = path.resolve()
    if any(resolved == r or r in resolved.parents for r in roots):
        return resolved
    raise bad_input(f"--{option}", value, "a path inside the working directory or the repository")
