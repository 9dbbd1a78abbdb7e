"""``goci matrix``: Go versions × platforms (× services × shards) as a ``strategy.matrix``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from goci.command import Command, Context, Result
from goci.matrix import goreleases
from goci.matrix.plan import plan_from_words, service_list
from goci.options import Option
from goci.runtime import markdown_table

OPTIONS = (
    Option(
        name="go-versions",
        kind="list",
        default=["go.mod"],
        help="Go versions: 1.24.3, 1.24, stable, oldstable, go.mod, toolchain (default: go.mod)",
    ),
    Option(
        name="platforms",
        kind="list",
        default=["linux/amd64"],
        help="os/arch[/variant][+cgo] targets, e.g. linux/amd64 linux/arm/v7 darwin/arm64",
    ),
    Option(
        name="services",
        help="JSON list of services (from changed-packages); [] gives an empty matrix",
    ),
    Option(name="shards", kind="int", default=1, help="split each job's tests into N shards"),
    Option(name="include", kind="json", help="GitHub matrix include: a JSON list of objects"),
    Option(name="exclude", kind="json", help="GitHub matrix exclude: a JSON list of objects"),
    Option(
        name="runners",
        kind="json",
        help='runner per os/arch, e.g. {"linux/arm64": "my-arm", "darwin/arm64": null}',
    ),
    Option(
        name="offline",
        kind="bool",
        default=False,
        help="do not fetch Go's release list: exact versions only (stable etc. are refused)",
    ),
    Option(
        name="releases-url",
        help=f"Go's release list (default: ${goreleases.URL_VARIABLE} or {goreleases.DEFAULT_URL})",
    ),
    Option(
        name="release-go-version",
        help="the planned Go version (exact or its minor) that builds what is published "
        "(default: the newest)",
    ),
)
OUTPUTS = ("matrix", "empty", "count", "go-versions", "coverage-go-version", "release-go-version")


def run(values: Mapping[str, Any], ctx: Context) -> Result:
    plan = plan_from_words(
        ctx.cwd,
        ctx.go,
        go_versions=values["go_versions"],
        platform_words=values["platforms"],
        services=service_list(values["services"]),
        shards=values["shards"],
        include=values["include"],
        exclude=values["exclude"],
        runners=values["runners"],
        offline=values["offline"],
        releases_url=goreleases.releases_url(ctx.env, values["releases_url"]),
        release_go=values["release_go_version"] or "",
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
            [f"matrix: {plan.count} jobs, Go {', '.join(plan.go_versions)}"]
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
    summary = f"### Build matrix: {plan.count} jobs\n\n" + (
        markdown_table(["job", "runner", "tests"], rows) if rows else "Nothing to build or test."
    )
    return Result(outputs=outputs, report=report, summary=summary)


COMMAND = Command(
    path=("matrix",),
    help="plan a Go versions × platforms matrix for strategy.matrix",
    options=OPTIONS,
    outputs=OUTPUTS,
    run=run,
)
