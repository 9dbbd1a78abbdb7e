"""``--global-files``: the files whose change means everything runs (CI config, the Makefile).

Some files feed every build and test without any package owning them; the analysis cannot see
through them, so a match answers "everything", with the pattern that matched as the reason.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import PurePosixPath

DEFAULT_GLOBAL_FILES: tuple[str, ...] = (".github/**", "Makefile", ".go-version")


def glob_match(path: str, pattern: str) -> bool:
    """gitignore-like globs: ``dir/**`` is everything below, a pattern without ``/`` matches a
    file name anywhere only when it says so with ``**/``."""
    pattern = pattern.strip().lstrip("/")
    if not pattern:
        return False
    if pattern.endswith("/**"):
        prefix = pattern[:-3]
        return path == prefix or path.startswith(prefix + "/") or fnmatch.fnmatch(path, pattern)
    if PurePosixPath(path).match(pattern) and pattern.count("/") == path.count("/"):
        return True
    return fnmatch.fnmatchcase(path, pattern)


def global_reason(path: str, patterns: Sequence[str]) -> str | None:
    """Why ``path`` means everything runs (the pattern it matched), or None."""
    pattern = next((g for g in patterns if glob_match(path, g)), None)
    if pattern is None:
        return None
    why = f"{path} changed and matches --global-files pattern {pattern.strip()!r}"
    if tuple(patterns) == DEFAULT_GLOBAL_FILES:
        why += f" (a default: {', '.join(DEFAULT_GLOBAL_FILES)}; set --global-files to narrow)"
    return why
