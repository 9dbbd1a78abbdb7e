"""The one place a subprocess is started; ``gotool`` and ``gittool`` are its only callers.

Timeouts, the environment and the error text (the command shown, stderr quoted) live here
once, so a failing ``go`` or ``git`` call reads the same wherever it happens.
"""

from __future__ import annotations

import shlex
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple, TextIO

from goci.errors import ToolError

_STDERR_LINES_SHOWN = 25


class Completed(NamedTuple):
    """What a finished command left behind."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def command_line(self) -> str:
        return shlex.join(self.argv)


def quote_stderr(stderr: str) -> str:
    """The tail of a tool's stderr, indented, for an error message a person can read."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    shown = lines[-_STDERR_LINES_SHOWN:]
    return "\n".join("    " + line for line in shown)


def _shown(args: Sequence[str], limit: int = 300) -> str:
    """The command line for a message, cut short: one argument may be huge."""
    text = shlex.join(args)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


def failure(result: Completed, what: str) -> ToolError:
    """A ToolError that names what failed, shows the command and quotes its stderr."""
    detail = quote_stderr(result.stderr) or "    (no output on stderr)"
    return ToolError(f"{what} failed (exit {result.returncode}): {result.command_line}\n{detail}")


class Started:
    """A command started by :func:`start`, running while the caller does other work."""

    def __init__(
        self, args: tuple[str, ...], proc: subprocess.Popen[str], timeout: float, check: bool
    ) -> None:
        self._args, self._proc, self._timeout, self._check = args, proc, timeout, check

    def finish(self, stdin: str | None = None) -> Completed:
        """Wait for the command (feeding it ``stdin``) and capture both streams.

        A timeout (counted from here) becomes a ToolError with the command line in it; a
        non-zero exit does too when the command was started with ``check``.
        """
        args = self._args
        with self._proc as proc:  # as subprocess.run: on any way out, the pipes are closed
            try:
                stdout, stderr = proc.communicate(stdin, timeout=self._timeout)
            except subprocess.TimeoutExpired as exc:
                proc.kill()
                raise ToolError(f"timed out after {self._timeout:.0f}s: {_shown(args)}") from exc
            except BaseException:
                proc.kill()
                raise
        result = Completed(args, proc.returncode, stdout, stderr)
        if self._check and not result.ok:
            raise failure(result, args[0])
        return result


def start(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    check: bool,
    stdin: bool = False,
) -> Started:
    """Start ``argv`` with both streams captured (and a pipe for ``stdin`` if asked for);
    :meth:`Started.finish` waits for it. A missing executable is a ToolError here."""
    args = tuple(str(a) for a in argv)
    stdin_pipe = subprocess.PIPE if stdin else None
    proc = _popen(args, cwd=cwd, env=env, stdin=stdin_pipe, stderr=subprocess.PIPE)
    return Started(args, proc, timeout, check)


def _popen(
    args: tuple[str, ...],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin: int | None,
    stderr: int | IO[Any],
) -> subprocess.Popen[str]:
    """``args`` started with stdout captured as text; a command that cannot start is a
    ToolError naming it."""
    try:
        return subprocess.Popen(
            args,
            cwd=cwd,
            env=dict(env),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
    except FileNotFoundError as exc:
        raise ToolError(f"cannot run {args[0]!r}: not found on PATH ({_shown(args)})") from exc
    except OSError as exc:  # not executable, argument list too long, ...
        raise ToolError(f"cannot run {args[0]!r}: {exc.strerror or exc} ({_shown(args)})") from exc


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    check: bool,
    stdin: str | None = None,
) -> Completed:
    """Run ``argv`` to completion and capture both streams.

    A missing executable or a timeout becomes a ToolError with the command line in it; a
    non-zero exit does too when ``check`` is set.
    """
    started = start(argv, cwd=cwd, env=env, timeout=timeout, check=check, stdin=stdin is not None)
    return started.finish(stdin)


@contextmanager
def stream(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float, stdin: str
) -> Iterator[Iterator[str]]:
    """Run ``argv`` on ``stdin`` and give its standard output line by line, as it comes.

    For an answer too large to hold (hundreds of megabytes), used while the command is still
    working on the rest. A non-zero exit is a ToolError quoting stderr, once the output was
    read; leaving early (or the timeout) stops the command.
    """
    import tempfile  # only here: keeps every other command's start-up short

    args = tuple(str(a) for a in argv)
    with tempfile.TemporaryFile() as stderr:
        proc = _popen(args, cwd=cwd, env=env, stdin=subprocess.PIPE, stderr=stderr)
        assert proc.stdin is not None and proc.stdout is not None
        feeder = threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True)
        late = threading.Event()

        def stop() -> None:
            late.set()
            proc.kill()

        timer = threading.Timer(timeout, stop)
        feeder.start()
        timer.start()
        try:
            yield iter(proc.stdout)
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            feeder.join()
        if late.is_set():
            raise ToolError(f"timed out after {timeout:.0f}s: {_shown(args)}")
        if code != 0:
            stderr.seek(0)
            text = stderr.read().decode("utf-8", "replace")
            raise failure(Completed(args, code, "", text), args[0])


def _feed(pipe: TextIO, text: str) -> None:
    try:
        pipe.write(text)
        pipe.close()
    except (BrokenPipeError, ValueError):  # the command stopped reading: its exit tells why
        pass
