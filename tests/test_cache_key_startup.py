"""``goci cache-key`` starts every CI job, so it loads what it uses and nothing else (issue 16).

Its speed is timed in bench/cache_key.py, never here. What the suite can check without a clock
is what a real run imported: a fresh interpreter runs ``goci cache-key`` to the end and lists
``sys.modules``. goci's own modules must be exactly the ones the command needs, and none of
the costly modules other commands or other code paths use may come with them; a test that
fails here names the import that someone put back on the path.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from support.goci_run import actions_env, read_key_values
from support.gorepo import GoRepo

# Runs goci as the console script does, then writes the names of the loaded modules to argv[1].
PROBE = """
import sys
from goci.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w", encoding="utf-8") as handle:
    handle.write("\\n".join(sorted(sys.modules)))
sys.exit(code)
"""

# Everything of goci that `goci cache-key` (build cache: actions, no --target) loads.
GOCI_MODULES = {
    "goci",
    "goci.cache",
    "goci.cache.cacheprog",
    "goci.cache.cacheprog.plan",  # the build-cache plan (actions here), not the server
    "goci.cache.keys",
    "goci.changed",
    "goci.changed.events",  # the CI event: whether this run may save the caches
    "goci.ci_env",
    "goci.cli",
    "goci.command",
    "goci.commands",
    "goci.commands._buildcache",
    "goci.commands.cache_key",
    "goci.errors",
    "goci.matrix",
    "goci.matrix.platforms",  # the target's part of the build key
    "goci.options",
    "goci.runtime",
    "goci.tools",
    "goci.tools._proc",
    "goci.tools.gotool",
    "goci.tools.hashing",
    "goci.tools.workspace",
}

# Costly to import and of no use to cache-key: stores and their clients, temporary folders,
# archives, networking, other commands' helpers.
NOT_LOADED = {
    "shutil",  # argparse asks it for the terminal width; cli.py does without
    "tempfile",
    "concurrent.futures",
    "tarfile",
    "zipfile",
    "lzma",
    "bz2",
    "socket",
    "ssl",
    "http.client",
    "urllib.request",
    "email",
    "difflib",
    "logging",
    "random",
    "datetime",
    "asyncio",
    "importlib.metadata",
    # ~18 ms to import (it loads inspect, ast, dis, tokenize), ~1.5 ms a class: the options
    # and the core's value classes on this path are Options, named tuples and plain classes.
    "dataclasses",
    "inspect",
    "typing_extensions",
    "boto3",
    "botocore",
    "github",
    "httpx",
    "yaml",
}


@pytest.mark.parametrize("where", ["local", "actions"])
def test_cache_key_loads_only_what_it_uses(
    make_repo: Callable[..., GoRepo], go_env: dict[str, str], tmp_path: Path, where: str
) -> None:
    repo = make_repo("startup")
    repo.module(".", "example.com/startup")
    repo.package("lib", "lib", "func Answer() int { return 42 }\n")
    (repo.root / "go.sum").write_text("example.com/dep v1.0.0/go.mod h1:abc=\n")
    env = actions_env(tmp_path / "gha", go_env) if where == "actions" else go_env
    listing = tmp_path / "modules.txt"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(listing), "cache-key", "--json"],
        cwd=repo.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "dependencies  2 files" in proc.stderr  # go.mod and go.sum were hashed
    outputs = json.loads(proc.stdout)
    if where == "actions":
        assert read_key_values(Path(env["GITHUB_OUTPUT"]))["mod-key"] == outputs["mod-key"]
    loaded = set(listing.read_text(encoding="utf-8").split("\n"))
    assert {m for m in loaded if m == "goci" or m.startswith("goci.")} == GOCI_MODULES
    assert loaded & NOT_LOADED == set()
