"""The ``sha256sum`` text format, shared by pack, upload and promote.

The ``SHA256SUMS`` file is written in exactly the format GNU ``sha256sum`` prints (hash, two
spaces, path, newline) so that ``sha256sum -c`` and attestation tools read it unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from goci.errors import InputError

_LINE = re.compile(r"^(?P<hash>[0-9a-f]{64}) [ *](?P<path>[^\n\\]+)$")


def format_sums(entries: Iterable[tuple[str, str]]) -> str:
    """``sha256sum`` text for ``(path, hexdigest)`` pairs, sorted by path for stable output."""
    lines = []
    for path, digest in sorted(entries):
        if "\n" in path or "\\" in path:
            # sha256sum escapes these; our names never contain them (validated earlier).
            raise InputError(f"file name {path!r} cannot appear in SHA256SUMS")
        lines.append(f"{digest}  {path}\n")
    return "".join(lines)


def parse_sums(text: str, *, source: str = "SHA256SUMS") -> dict[str, str]:
    """``{path: hexdigest}`` from ``sha256sum`` text; a malformed line is an InputError."""
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if not match:
            raise InputError(
                f"{source}: line {number} is not in sha256sum format "
                f"('<64 hex digits>  <path>'): {line[:80]!r}"
            )
        sums[match.group("path")] = match.group("hash")
    return sums
