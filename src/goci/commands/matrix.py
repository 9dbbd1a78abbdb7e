"""``goci matrix``: Go versions × platforms (× services × shards) as a ``strategy.matrix``."""

from __future__ import annotations

import json
from typing import Any

from goci.command import Command, Context, Result
from goci.matrix import goreleases
from goci.matrix.plan import GITHUB_LIMIT, check_objects, plan_from_words, service_list
from goci.matrix.runners import parse_runners
from goci.options import Options, option
from goci.runtime import counted, markdown_table


class MatrixOptions(Options):
    go_versions: tuple[str, ...] = option(
        kind="list",
        default=["go.mod"],
        help="Go versions: 1.24.3, 1.24, stable, oldstable, go.mod, toolchain (default: go.mod)",
    )
    platforms: tuple[str, ...] = option(
        kind="list",
        default=["linux/amd64"],
        help="os/arch[/variant][+cgo] targets, e.g. linux/amd64 linux/arm/v7 darwin/arm64",
    )
    services: str | None = option(
        help="JSON list of services (from changed-packages); [] gives an empty matrix",
        check=service_list,
    )
    shards: int = option(
        kind="int",
        default=1,
        minimum=1,
        maximum=GITHUB_LIMIT,
        help="split each job's tests into N shards",
    )
    include: Any = option(
        kind="json", help="GitHub matrix include: a JSON list of objects", check=check_objects
    )
    exclude: Any = option(
        kind="json", help="GitHub matrix exclude: a JSON list of objects", check=check_objects
    )
    runners: Any = option(
        kind="json",
        help='runner per os/arch, e.g. {"linux/arm64": "my-arm", "darwin/arm64": null}',
        check=parse_runners,
    )
    offline: bool = option(
        kind="bool",
        default=False,
        help="do not fetch Go's release list: exact versions only (stable etc. are refused)",
    )
    releases_url: str | None = option(
        help=f"Go's release list (default: ${goreleases.URL_VARIABLE} or {goreleases.DEFAULT_URL})",
        check=goreleases.check_url,
    )
    release_go_version: str | None = option(
        help="the planned Go version (exact or its minor) that builds what is published "
        "(default: the newest)",
    )


OUTPUTS = ("matrix", "empty", "count", "go-versions", "coverage-go-version", "release-go-version")


def run(opts: MatrixOptions, ctx: Context) -> Result:
    plan = plan_from_words(
        ctx.cwd,
        ctx.go,
        go_versions=opts.go_versions,
        platform_words=opts.platforms,
        services=service_list(opts.services),
        shards=opts.shards,
        include=opts.include,
        exclude=opts.exclude,
        runners=opts.runners,
        offline=opts.offline,
        releases_url=goreleases.releases_url(ctx.env, opts.releases_url),
        release_go=opts.release_go_version or "",
    )
    outputs = {
        "matrix": plan.as_json(),
        "empty": plan.empty,
        "count": plan.count,
        "go-versions": list(plan.go_versions),
        "coverage-go-version": plan.coverage_go,
        "release-go-version": plan.release_go,
    }
    if plan.empty:
        report = "matrix: empty (no services to build or test)"
    else:
        report = "\n".join(
            [f"matrix: {counted(plan.count, 'job')}, Go {', '.join(plan.go_versions)}"]
            + [f"  {e['name']}  on {json.dumps(e['runner'])}" for e in plan.include]
        )
    rows = [
        [
            str(e.get("name", "")),
            f"`{json.dumps(e.get('runner'))}`",
            "cross" if e.get("cross") else "native",
        ]
        for e in plan.include
    ]
    summary = f"### Build matrix: {counted(plan.count, 'job')}\n\n" + (
        markdown_table(["job", "runner", "tests"], rows) if rows else "Nothing to build or test."
    )
    return Result(outputs=outputs, report=report, summary=summary)


COMMAND = Command(
    path=("matrix",),
    help="plan a Go versions × platforms matrix for strategy.matrix",
    settings=MatrixOptions,
    outputs=OUTPUTS,
    run=run,
)
