"""How the GitHub Actions runner finds workflow commands in a step's output, modelled faithfully.

actions/runner (src/Runner.Common/ActionCommand.cs, ActionCommandManager.cs) reads the output
line by line (.NET ReadLine: ``\\n``, ``\\r`` and ``\\r\\n`` end a line) and tries two parsers
on each line: ``TryParseV2`` (after TrimStart the line starts with ``::``, the command runs to
the next ``::``) and the legacy ``TryParse`` (``##[`` anywhere in the line, the command runs
to the next ``]``). Command names are matched without case. Its string searches are
culture-aware, which can skip zero-width and control characters; :func:`commands` can model
that too (``culture=True``), so a guard must hold against both readings.
"""

from __future__ import annotations

import re
import unicodedata

REGISTERED = frozenset(
    {
        "add-mask",
        "add-matcher",
        "add-path",
        "debug",
        "echo",
        "endgroup",
        "error",
        "group",
        "notice",
        "remove-matcher",
        "save-state",
        "set-env",
        "set-output",
        "stop-commands",
        "warning",
    }
)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _without_ignorables(line: str) -> str:
    """What a culture-aware comparison sees: format, control and mark characters skipped."""
    return "".join(c for c in line if unicodedata.category(c)[0] not in "CM")


def _v2(line: str) -> tuple[str, str] | None:
    message = line.lstrip()
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    name = message[2:end].split(" ", 1)[0]
    return (name.lower(), message[end + 2 :]) if name.lower() in REGISTERED else None


def _legacy(line: str) -> tuple[str, str] | None:
    start = line.find("##[")
    if start < 0:
        return None
    bracket = line.find("]", start)
    if bracket < 0:
        return None
    name = line[start + 3 : bracket].split(" ", 1)[0]
    return (name.lower(), line[bracket + 1 :]) if name.lower() in REGISTERED else None


def commands(log: str, *, culture: bool = False) -> list[tuple[str, str]]:
    """Every (command, data) the runner would execute in ``log``, in order."""
    found = []
    for line in _LINE_BREAK.split(log):
        if culture:
            line = _without_ignorables(line)
        command = _v2(line) or _legacy(line)
        if command is not None:
            found.append(command)
    return found
