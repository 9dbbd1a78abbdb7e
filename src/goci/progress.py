"""Progress for long pipelines: a live status line on a terminal, plain lines in CI logs.

A person watching ``goci ci`` on a laptop wants to see which step and which package is running
without a scrolling wall; a CI log wants every line kept, in order, with no control codes.
"""

from __future__ import annotations

import io
from typing import TextIO


class ProgressStream(io.TextIOBase):
    """A text stream for sub-command logs: on a TTY each line replaces the status line."""

    def __init__(self, target: TextIO, *, live: bool, prefix: str = "") -> None:
        super().__init__()
        self.target = target
        self.live = live
        self.prefix = prefix
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            self._show(line)
        return len(text)

    def _show(self, line: str) -> None:
        if not line.strip():
            return
        if self.live and not line.startswith("::"):
            width = 118
            shown = f"{self.prefix}{line}"[:width]
            self.target.write(f"\r\033[K{shown}")
        else:
            self.target.write(f"{self.prefix}{line}\n")
        self.target.flush()

    def settle(self) -> None:
        """End the live line so the next permanent line starts clean."""
        if self._pending:
            self._show(self._pending)
            self._pending = ""
        if self.live:
            self.target.write("\r\033[K")
            self.target.flush()

    def flush(self) -> None:
        self.target.flush()
