"""One unit of work: ``go test -json`` of one package, with its own coverage profile.

A unit per package gives every package its own profile file, its own timing and a failure that
names it; the profile is kept only when the package built and wrote something.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from goci.gotest.events import unit_result
from goci.gotest.results import Package, PackageResult, TestOptions
from goci.tools.gotool import Go


def _common_flags(options: TestOptions) -> list[str]:
    flags = []
    if options.race:
        flags.append("-race")
    if options.tags:
        flags.append("-tags=" + ",".join(options.tags))
    if options.timeout:
        flags.append("-timeout=" + options.timeout)
    if options.count is not None:
        flags.append(f"-count={options.count}")
    return flags


def run_unit(go: Go, package: Package, options: TestOptions, profile: Path | None) -> PackageResult:
    """``go test -json`` of one package; its coverage goes to ``profile`` (unique per unit)."""
    args = ["test", "-json", *_common_flags(options)]
    if options.run:
        args.append("-run=" + options.run)
    if profile is not None:
        args += [f"-covermode={options.mode}", f"-coverprofile={profile}"]
        coverpkg = options.coverpkg_for(package)
        if coverpkg:
            args.append("-coverpkg=" + ",".join(coverpkg))
    args.append(package.import_path)
    started = time.monotonic()
    result = go.run(*args, cwd=package.module_dir, check=False)
    elapsed = time.monotonic() - started
    unit = unit_result(package, result.stdout, result.stderr, result.returncode, elapsed)
    kept: Path | None = None
    if profile is not None and profile.is_file():
        if profile.stat().st_size and unit.outcome != "build-fail":
            kept = profile
        else:
            profile.unlink()
    return replace(unit, profile=kept)
