"""Runtime I/O for CI: outputs, env exports, masks, groups, annotations and the job summary.

Everything goci says to GitHub Actions goes through :class:`Runtime`, built on
``actions_toolkit``'s command and file-command formats. Outside Actions it does nothing
special: annotations become plain ``error:`` lines on stderr and outputs are not written
anywhere (``--json`` is how a local user gets them). The environment is passed in so tests
can point ``GITHUB_OUTPUT`` at a temporary file.

Every line goci prints goes through :meth:`Runtime.log` or :meth:`Runtime.out`, and both pass
it through :func:`guard`: text that came from a repository (file names, package names, test
output, go's stderr) can never start a workflow command, in Actions or anywhere else (a log
printed locally may be replayed by a runner later). Only :meth:`Runtime._command` writes real
commands.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import unicodedata
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from goci.ci_env import provider_of

# The runner reads a step's output line by line (.NET's ReadLine: \n, \r and \r\n end a line).
# A line is a command when, after TrimStart, it starts with "::" (TryParseV2), or when "##["
# followed by a command name and "]" appears anywhere in it (the legacy TryParse). Its string
# comparisons are culture-aware, which skips zero-width and control characters, so those
# count as nothing here too.
OUTPUT_FILE = "GITHUB_OUTPUT"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
GUARD = "> "
# The shortest value goci hides in its own text (logs, reports, the summary). Shorter ones are
# ordinary words and numbers: hiding a 1-character secret turns "everything" into
# "ever***thing" everywhere, and a value that short is no secret anyway (8 characters is the
# least NIST SP 800-63B accepts for a memorized secret). Such a value is still registered with
# the runner, which decides for its own log, and goci warns that it is weak.
MIN_SECRET_LENGTH = 8


def _skippable(char: str) -> bool:
    """White space and what a culture-aware comparison ignores (controls, format, marks)."""
    return char.isspace() or unicodedata.category(char)[0] in "CMZ"


def _starts_command(line: str) -> bool:
    for index, char in enumerate(line):
        if not _skippable(char):
            return line.startswith("::", index)
    return False


def _break_legacy(line: str) -> str:
    """Put a space before every ``[`` that ``#``, ``#`` precede (ignorable characters between)."""
    if "[" not in line or "#" not in line:
        return line
    out: list[str] = []
    hashes = 0
    for char in line:
        if char == "[" and hashes >= 2:
            out.append(" ")
        if char == "#":
            hashes += 1
        elif unicodedata.category(char)[0] not in "CM":
            hashes = 0
        out.append(char)
    return "".join(out)


def guard(text: str) -> str:
    """Untrusted text made safe to print: no line of it can be read as a workflow command.

    A line that would start a command gets ``> `` in front; a legacy ``##[`` gets a space
    before its bracket. Anything else is printed as it came, so ordinary output reads the
    same. Line breaks are normalised to ``\n`` (a lone ``\r`` ends a line for the runner).
    """
    lines = _LINE_BREAK.split(text)
    for number, line in enumerate(lines):
        line = _break_legacy(line)
        if ":" in line and _starts_command(line):
            line = GUARD + line
        lines[number] = line
    return "\n".join(lines)


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def counted(number: int, noun: str, plural: str = "") -> str:
    """``1 job``, ``2 jobs``, ``0 packages``: a count a person reads, in agreement."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def shown(value: object) -> str:
    """A single-line field from a repository (a path, a name) with control characters escaped.

    ``x\n::add-mask::y.go`` reads ``x\\n::add-mask::y.go``: one line, as the name really is.
    """
    text = str(value)
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable() or char == " ":
            out.append(char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def json_text(value: Any) -> str:
    """``value`` as indented JSON that :func:`guard` leaves unchanged and a runner never runs.

    ``ensure_ascii`` escapes every control and ignorable character and a JSON line never starts
    with ``::``; the one pattern left, ``##[`` inside a string, is spelled ``##\\u005b``, which
    any JSON reader decodes to the same value.
    """
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=True)
    return text.replace("##[", "##\\u005b")


def output_text(value: Any) -> str:
    """How an output value is spelled in GITHUB_OUTPUT: strings as-is, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), sort_keys=False)


class Runtime:
    """The CI adapter for one command invocation.

    A plain class, as are the other classes every command loads: a dataclass costs ~1.5 ms
    to create and its module ~18 ms to import, on the path of ``goci cache-key``, which starts
    every CI job (bench/cache_key.py; tests/test_cache_key_startup.py keeps it off).
    """

    def __init__(
        self,
        env: Mapping[str, str],
        stream: TextIO | None = None,
        secrets: list[str] | None = None,
        stdout: TextIO | None = None,
        weak: set[str] | None = None,
    ) -> None:
        self.env = env
        self.stream = sys.stderr if stream is None else stream  # the one now: pytest swaps it
        self.secrets = [] if secrets is None else secrets
        self.stdout = sys.stdout if stdout is None else stdout
        #: Secrets too short to hide that were already warned about (see MIN_SECRET_LENGTH).
        self.weak = set() if weak is None else weak

    @property
    def in_actions(self) -> bool:
        return provider_of(self.env) == "github"

    @property
    def writes_outputs(self) -> bool:
        """Whether outputs go to a step's output file (GitHub's limits on them apply)."""
        return bool(self.env.get(OUTPUT_FILE))

    def _command(
        self, name: str, properties: Mapping[str, Any], message: str, *, redact: bool = True
    ) -> None:
        # Workflow commands are read from stdout and stderr alike; stderr keeps stdout clean
        # for --json.
        from actions_toolkit.command import Command  # only in Actions: keeps start-up short

        props = {k: v for k, v in properties.items() if v is not None}
        text = self.redact(message) if redact else message
        self.stream.write(str(Command(name, props, text)) + "\n")
        self.stream.flush()

    def redact(self, text: str) -> str:
        """Replace every registered secret by ``***`` (Actions does this too; Drone does not)."""
        for secret in sorted(self.secrets, key=len, reverse=True):  # a line after its whole
            text = text.replace(secret, "***")
        return text

    def log(self, message: str) -> None:
        """Log lines on stderr, guarded: none of them can start a workflow command."""
        self.stream.write(guard(self.redact(message)) + "\n")
        self.stream.flush()

    def out(self, text: str) -> None:
        """Lines on stdout (a report, the JSON object), guarded like :meth:`log`."""
        self.stdout.write(guard(self.redact(text)) + "\n")
        self.stdout.flush()

    def mask(self, secret: str, *, name: str = "a secret") -> None:
        """Never show ``secret`` in a log again; ``name`` says where it came from (for a warning).

        As the runner does with a secret: the value and each of its lines are registered, and
        goci also hides them as they appear JSON-escaped or URL-encoded. A value shorter than
        MIN_SECRET_LENGTH is registered with the runner but not hidden in goci's own text,
        with a warning that it is weak.
        """
        value = secret.strip()
        if not value:
            return
        pieces = list(dict.fromkeys([value, *(line.strip() for line in value.splitlines())]))
        pieces = [p for p in pieces if p and p not in self.secrets and p not in self.weak]
        if self.in_actions:
            for piece in pieces:  # unredacted: `::add-mask::***` would hide nothing
                self._command("add-mask", {}, piece, redact=False)
        for piece in pieces:
            if len(piece) < MIN_SECRET_LENGTH:
                self.weak.add(piece)
                self.warning(
                    f"{name}: a {len(piece)}-character secret is weak; goci does not hide "
                    f"values shorter than {MIN_SECRET_LENGTH} characters in its own output "
                    "(they match ordinary words): use a longer one"
                )
                continue
            forms = (piece, json.dumps(piece)[1:-1], urllib.parse.quote(piece, safe=""))
            self.secrets.extend(f for f in dict.fromkeys(forms) if f not in self.secrets)

    def annotate(
        self,
        level: str,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        title: str | None = None,
    ) -> None:
        """An ``::error::``/``::warning::``/``::notice::`` annotation, or a plain line locally."""
        if self.in_actions:
            self._command(level, {"file": file, "line": line, "title": title}, message)
            return
        where = f"{shown(file)}:{line}: " if file and line else (f"{shown(file)}: " if file else "")
        self.log(f"{level}: {where}{message}")

    def error(self, message: str, **where: Any) -> None:
        self.annotate("error", message, **where)

    def warning(self, message: str, **where: Any) -> None:
        self.annotate("warning", message, **where)

    def notice(self, message: str, **where: Any) -> None:
        self.annotate("notice", message, **where)

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A foldable log group in Actions; a heading line elsewhere."""
        if self.in_actions:
            self._command("group", {}, title)
        else:
            self.log(f"== {title}")
        try:
            yield
        finally:
            if self.in_actions:
                self._command("endgroup", {}, "")

    def _append(self, variable: str, text: str) -> bool:
        path = self.env.get(variable, "")
        if not path:
            return False
        with Path(path).open("a", encoding="utf-8", newline="") as handle:
            handle.write(text)
        return True

    def _append_values(self, variable: str, values: Mapping[str, str]) -> None:
        """``NAME<<delimiter`` entries (safe for multi-line values) appended to a file command."""
        if not self.env.get(variable):
            return  # outside Actions: nothing to write, and actions_toolkit stays unloaded
        from actions_toolkit.file_command import prepare_key_value_message

        text = "".join(
            prepare_key_value_message(name, value) + os.linesep for name, value in values.items()
        )
        self._append(variable, text)

    def set_outputs(self, outputs: Mapping[str, Any]) -> None:
        """Write all outputs at once, each in the delimiter form (safe for multi-line values)."""
        self._append_values(OUTPUT_FILE, {k: output_text(v) for k, v in outputs.items()})

    def export_env(self, name: str, value: str) -> None:
        """Set a variable for the later steps of the job."""
        self._append_values("GITHUB_ENV", {name: value})

    def add_path(self, folder: str) -> None:
        self._append("GITHUB_PATH", folder + os.linesep)

    def summary(self, markdown: str) -> None:
        """Append to the job summary (``GITHUB_STEP_SUMMARY``); ignored outside Actions."""
        self._append("GITHUB_STEP_SUMMARY", self.redact(markdown.rstrip("\n")) + "\n\n")


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table; pipes inside cells are escaped."""

    def cell(value: str) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join(" --- " for _ in headers) + "|")
    lines.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)
