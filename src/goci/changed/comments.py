"""``--ignore-comments``: which changed Go files differ only in comments or white space.

Go's own parser decides (the helper program in ``tools/gohelpers/commentonly``, run with
``go run``), so a directive (``//go:build``, ``//go:embed``, the cgo preamble, ...) is never
mistaken for a comment and a string that looks like a comment is never mistaken for one.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from goci.changed.diff import file_at
from goci.tools._proc import failure
from goci.tools.gittool import Git
from goci.tools.gotool import GO_HELPERS, Go

HELPER = GO_HELPERS / "commentonly"


def comment_only(git: Git, go: Go, old: str, new: str, paths: Sequence[str]) -> set[str]:
    """The subset of ``paths`` (Go files changed between two commits) that changed only in
    comments or white space; any file the helper cannot judge counts as a code change."""
    if not paths:
        return set()
    scratch = Path(tempfile.mkdtemp(prefix="goci-comments-"))
    try:
        args: list[str] = []
        names: dict[str, str] = {}
        for index, path in enumerate(paths):
            before, after = file_at(git, old, path), file_at(git, new, path)
            if before is None or after is None:
                continue
            old_file, new_file = scratch / f"{index}.old.go", scratch / f"{index}.new.go"
            old_file.write_text(before, encoding="utf-8")
            new_file.write_text(after, encoding="utf-8")
            args += [str(old_file), str(new_file)]
            names[str(new_file)] = path
        if not args:
            return set()
        plain = go.with_env(GOWORK="off", GOFLAGS="", GO111MODULE="on")
        result = plain.run("run", ".", *args, cwd=HELPER, check=False)
        if not result.ok:
            raise failure(result, "go run gohelpers/commentonly")
        found: set[str] = set()
        for line in result.stdout.splitlines():
            verdict, _, rest = line.partition("\t")
            judged = rest.partition("\t")[0]
            if verdict == "comments" and judged in names:
                found.add(names[judged])
        return found
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
