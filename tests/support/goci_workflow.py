"""What a test needs to run goci's own workflows (go-ci.yml, go-promote.yml) here.

A snapshot of goci as a checkout of it would have it, Go's release list on loopback (go.dev's
format, listing the Go toolchains a test has), and a :class:`WorkflowRunner` for one run of
a repository whose setup-go hands out those toolchains.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from support.gorepo import GoRepo
from support.gotools import version_of
from support.workflow_runner import JobResult, Repo, WorkflowRunner

ROOT = Path(__file__).resolve().parents[2]
GO_CI = ROOT / ".github" / "workflows" / "go-ci.yml"
GO_PROMOTE = ROOT / ".github" / "workflows" / "go-promote.yml"
APP = "acme/shop"
GOCI = "acme/goci"
DEV_KEYS = {"GOCI_STORE_ACCESS_KEY_ID": "dev-key-id", "GOCI_STORE_SECRET_ACCESS_KEY": "dev-secret"}
PROD_KEYS = {
    "GOCI_STORE_ACCESS_KEY_ID": "prod-key-id",
    "GOCI_STORE_SECRET_ACCESS_KEY": "prod-secret",
}

STUB_SETUP = r"""#!/usr/bin/env bash
set -euo pipefail
deps="$RUNNER_TOOL_CACHE/goci/deps-stub"
bin="$RUNNER_TEMP/goci-setup/bin"
if [ "${1:-}" = where ]; then
  if [ -x "$bin/goci" ]; then # set up earlier in this job, as the real one says
    echo "restore=false"
  elif [ -f "$deps/installed" ]; then # kept by the runner
    printf 'path=%s\nkey=goci-deps-stub-linux\nrestore=false\n' "$deps"
  else
    printf 'path=%s\nkey=goci-deps-stub-linux\nrestore=true\n' "$deps"
  fi | tee -a "$GITHUB_OUTPUT"
  exit 0
fi
if [ -x "$bin/goci" ]; then
  echo "goci setup: set up earlier in this job"
elif [ -f "$deps/installed" ]; then
  echo "goci setup: reusing goci's dependencies in $deps"
else
  mkdir -p "$deps"
  echo stub >"$deps/installed"
  echo "goci setup: installing goci's locked dependencies into $deps"
fi
mkdir -p "$bin"
printf '#!/bin/sh\nexec "%s" -m goci "$@"\n' '@PYTHON@' >"$bin/goci"
chmod +x "$bin/goci"
echo "$bin" >>"$GITHUB_PATH"
"""


def snapshot_goci(root: Path) -> Path:
    """goci's actions, scripts and sources as a checkout of goci would have them (a snapshot,
    so that the source id setup-goci.sh computes cannot change during the test)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("action.yml", "pyproject.toml"):
        shutil.copy2(ROOT / name, root / name)
    for name in ("actions", "scripts", "src"):
        shutil.copytree(ROOT / name, root / name, ignore=ignore)
    # The real setup installs goci's locked dependencies from PyPI and reuses a venv only once
    # verified (tests/test_setup_action.py runs it); here `goci` is this test's interpreter,
    # and the dependencies one file in the tool cache, installed or reused as the real ones.
    stub = root / "scripts" / "setup-goci.sh"
    stub.write_text(STUB_SETUP.replace("@PYTHON@", sys.executable), encoding="utf-8")
    GoRepo(root, {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull}).commit("goci snapshot")
    return root


class _Releases(BaseHTTPRequestHandler):
    body = b"[]"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def release_list(gos: list[Path]) -> Iterator[str]:
    """Go's release list (go.dev's format) on loopback, listing these Gos as stable; its URL."""
    handler: type[_Releases] = type("Handler", (_Releases,), {})
    handler.body = json.dumps(
        [{"version": f"go{version_of(go)}", "stable": True, "files": []} for go in gos]
    ).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/dl/?mode=json&include=all"
    finally:
        server.shutdown()
        server.server_close()


def make_runner(
    tmp: Path,
    name: str,
    repo: GoRepo,
    env: dict[str, str],
    gos: list[Path],
    goci_root: Path,
    *,
    ref: str,
    before: str,
    sha: str,
    on_approval: Callable[[str, str, Mapping[str, JobResult]], None] | None = None,
    keep: tuple[str, ...] = (),
) -> WorkflowRunner:
    """A runner for one workflow run: setup-go hands out the first of ``gos`` whose version
    starts with the one asked for (``stable`` and the like get the first).

    Each job gets its Go from setup-go (PATH), as on GitHub, and a fresh HOME, so its own Go
    caches: of the suite's variables only those named in ``keep`` (say GOCACHE) stay.
    """
    versions = [(version_of(go), go) for go in gos]

    def setup_go(wanted: str) -> Path:
        return next((go for v, go in versions if v.startswith(wanted)), gos[0])

    dropped = {"GOCACHE", "GOMODCACHE", "GOPATH", "GOCI_GO"} - set(keep)
    runner_env = {k: v for k, v in env.items() if k not in dropped}
    runner_env["PIP_NO_INDEX"] = "1"  # a reinstall of goci must fail here, never reach PyPI
    return WorkflowRunner(
        tmp / name,
        repositories={APP: Repo(repo.root), GOCI: Repo(goci_root, link=True)},
        env=runner_env,
        github={
            "repository": APP,
            "sha": sha,
            "ref": ref,
            "event_name": "push",
            "run_id": str(4000 + len(name)),
        },
        event={
            "before": before,
            "after": sha,
            "ref": ref,
            "repository": {"default_branch": "main", "full_name": APP},
        },
        secrets=DEV_KEYS,
        environments={"production": PROD_KEYS},
        on_approval=on_approval,
        setup_go=setup_go,
        fresh_home=True,
        cache_root=tmp / "caches",
    )
