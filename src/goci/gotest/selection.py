"""``go test -run`` patterns: go's own reading of one, and a rerun's that stays within it.

go cuts ``-run`` at each ``|`` outside brackets and parentheses into alternatives, and each
alternative at each ``/`` into one expression per level of a test's name (``splitRegexp`` in
testing/match.go); a test runs when, for some alternative, each expression matches its level of
the name (levels past the alternative's last match anything). A rerun that named the failed
top-level tests alone would run their subtests that the user's ``--run`` left out (and fail on
them); a rerun names each failed test level by level instead, and keeps the user's expressions
for the levels below it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


def split_run(pattern: str) -> list[list[str]]:
    """The alternatives of a ``-run`` pattern, each as its expressions per level, as go cuts it."""
    alternatives: list[list[str]] = []
    levels: list[str] = []
    brackets = parens = start = i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "[":
            brackets += 1
        elif char == "]":
            brackets = max(0, brackets - 1)
        elif char == "(" and brackets == 0:
            parens += 1
        elif char == ")" and brackets == 0:
            parens -= 1
        elif char == "\\":
            i += 1
        elif char in "/|" and brackets == 0 and parens == 0:
            levels.append(pattern[start:i])
            start = i + 1
            if char == "|":
                alternatives.append(levels)
                levels = []
        i += 1
    alternatives.append([*levels, pattern[start:]])
    return alternatives


def _selects(alternative: Sequence[str], levels: Sequence[str]) -> bool:
    """Whether the alternative selects the test (as Python reads go's expressions: one it cannot
    read counts as selecting, go having run the test)."""
    for expression, level in zip(alternative, levels, strict=False):
        try:
            if not re.search(expression, level):
                return False
        except re.error:
            continue
    return True


def rerun_pattern(names: Sequence[str], selected: str = "") -> str:
    """A ``-run`` that runs the named tests again (full names, subtests too) and, of their
    subtests, only those ``selected`` (the user's ``-run``) selects."""
    alternatives = split_run(selected) if selected else [[]]
    parts: list[str] = []
    for name in sorted(set(names)):
        levels = name.split("/")
        exact = [f"^{re.escape(level)}$" for level in levels]
        below = [alt[len(levels) :] for alt in alternatives if _selects(alt, levels)]
        for rest in below or [[]]:
            parts.append("/".join([*exact, *rest]))
    return "|".join(dict.fromkeys(parts))
