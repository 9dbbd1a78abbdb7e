"""The door to the ``go`` command: every call of ``go`` in goci goes through :class:`Go`."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from goci.ci_env import job_temp
from goci.errors import GociError, InputError, ToolError
from goci.tools import _proc
from goci.tools.hashing import Sha256

DEFAULT_TIMEOUT = 1800.0
# goci's own small Go programs (sources shipped as package data, built at run time).
GO_HELPERS = Path(__file__).parent / "gohelpers"
# A line of go's stderr that names a file and a line: "go.mod:4: unknown directive: this".
# Compiled by re when first used: only a failed go list needs it, cache-key never does.
_FILE_LINE = r"^(?P<file>[^\s:][^:]*):(?P<line>\d+)(?::\d+)?: "


class GoListError(InputError):
    """``go list`` could not load the modules, so their packages would silently go missing.

    With ``-e`` a broken package comes back with an ``Error`` field and go exits 0; a non-zero
    exit means go could not even load the module graph (a go.mod or go.work it cannot parse, a
    go line newer than the toolchain, a module it cannot find). Building or testing "what was
    listed" would then quietly drop every package of that module, so it is bad input (exit 2)
    whose first words are go's own.
    """


def list_failure(result: _proc.Completed, cwd: Path) -> GoListError:
    """Go's most precise line first (a file and line if it gave one), then the full stderr."""
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    precise = next((line for line in lines if re.match(_FILE_LINE, line)), None)
    if precise is not None:
        match = re.match(_FILE_LINE, precise)
        assert match is not None
        if not os.path.isabs(match.group("file")):
            precise = str(cwd / match.group("file")) + precise[match.end("file") :]
    else:
        precise = lines[0].removeprefix("go: ") if lines else f"exit {result.returncode}"
    detail = _proc.quote_stderr(result.stderr) or "    (no output on stderr)"
    return GoListError(
        f"{precise} (go list cannot load the packages in {cwd}; fix it and run again)\n"
        f"{result.command_line}\n{detail}"
    )


def decode_json_stream(text: str) -> Iterator[dict[str, Any]]:
    """Decode the concatenated JSON objects that ``go list -json`` and ``go test -json`` print."""
    decoder = json.JSONDecoder()
    index, end = 0, len(text)
    while True:
        while index < end and text[index].isspace():
            index += 1
        if index >= end:
            return
        obj, index = decoder.raw_decode(text, index)
        yield obj


class Go(NamedTuple):
    """A ``go`` executable with the environment it runs in (passed in, never read globally)."""

    env: Mapping[str, str]
    exe: str = "go"
    timeout: float = DEFAULT_TIMEOUT
    overrides: Mapping[str, str] = MappingProxyType({})

    def with_env(self, **extra: str) -> Go:
        """The same ``go`` with some variables set (GOOS, GOWORK=off, ...)."""
        return Go(self.env, self.exe, self.timeout, {**self.overrides, **extra})

    def environment(self) -> dict[str, str]:
        return {**self.env, **self.overrides}

    def run(
        self,
        *args: str,
        cwd: Path,
        check: bool = True,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> _proc.Completed:
        """Run ``go ARGS`` in ``cwd``; with ``check`` a non-zero exit raises a ToolError."""
        return self.start(*args, cwd=cwd, check=check, timeout=timeout, env=env).finish()

    def start(
        self,
        *args: str,
        cwd: Path,
        check: bool = True,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> _proc.Started:
        """:meth:`run` started and left running: ``finish()`` waits for it."""
        full_env = {**self.environment(), **(env or {})}
        return _proc.start(
            [self.exe, *args],
            cwd=cwd,
            env=full_env,
            timeout=timeout or self.timeout,
            check=check,
        )

    def env_values(self, names: Sequence[str], *, cwd: Path) -> dict[str, str]:
        """``go env -json NAMES``: Go's own view of its settings, defaults included."""
        return self.start_env_values(names, cwd=cwd)()

    def start_env_values(self, names: Sequence[str], *, cwd: Path) -> Callable[[], dict[str, str]]:
        """:meth:`env_values` started now and read when the returned function is called, so
        that go works out its settings while goci does something else (cache-key's hashing)."""
        started = self.start("env", "-json", *names, cwd=cwd)

        def finish() -> dict[str, str]:
            values = json.loads(started.finish().stdout or "{}")
            return {name: str(values.get(name, "")) for name in names}

        return finish

    def version(self, *, cwd: Path) -> str:
        """The exact toolchain version, as ``go env GOVERSION`` prints it (``go1.26.8``)."""
        return self.env_values(["GOVERSION"], cwd=cwd)["GOVERSION"]

    def lister(self, *, cwd: Path) -> Go:
        """This ``go`` as package listings should run it: without go's package index when the
        build cache is one no go command has opened yet (no ``README``, which go writes first).

        go keeps an index of the standard library's and the module cache's packages in the
        build cache; on a cold cache every ``go list`` builds it first, each process its own,
        and no one keeps it: go-ci.yml's plan and report jobs restore no build cache and save
        none. There the index costs more than it saves (300 packages in 6 modules: ``goci
        changed`` 2.3 s with it, 1.2 s without); on a warm cache it saves a little, so it stays
        on. ``GODEBUG=goindex=0`` is go's own switch (same answers, parsed from source); a
        GODEBUG of the caller's comes after ours and wins, as go reads the last setting of a
        name. If go cannot say where its cache is, the listing itself will say what is wrong.
        """
        try:
            gocache = self.env_values(["GOCACHE"], cwd=cwd)["GOCACHE"]
        except (GociError, ValueError):
            return self
        if not gocache or gocache == "off" or (Path(gocache) / "README").exists():
            return self
        ours = self.environment().get("GODEBUG", "")
        return self.with_env(GODEBUG="goindex=0" + (f",{ours}" if ours else ""))

    def list_json(
        self,
        *args: str,
        cwd: Path,
        fields: str = "",
        env: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """``go list -json[=FIELDS] ARGS`` decoded, every caller's one way to list packages.

        Pass ``-e``: broken packages then come back with ``Error`` and go exits 0, so any
        non-zero exit is a load failure that would hide packages, raised as GoListError.
        """
        flag = f"-json={fields}" if fields else "-json"
        result = self.run("list", flag, *args, cwd=cwd, check=False, env=env)
        if not result.ok:
            raise list_failure(result, cwd)
        try:
            return list(decode_json_stream(result.stdout))
        except json.JSONDecodeError as exc:
            raise ToolError(f"go list printed output that is not JSON: {exc}") from exc

    def run_helper(
        self, source: Path, *args: str, stdin: str, cwd: Path, cache: Path | None = None
    ) -> _proc.Completed:
        """Build goci's own std-only Go program in ``source`` (once per Go and source) and run it.

        goci ships a few tiny Go programs where only Go's own parser gives the exact answer
        (function extents for coverage). They are built outside the user's module, with the
        user's toolchain, and kept under ``cache`` keyed by the source and the Go version.
        """
        return _proc.run(
            [str(self._helper(source, cwd, cache)), *args],
            cwd=cwd,
            env=self.environment(),
            timeout=self.timeout,
            check=True,
            stdin=stdin,
        )

    def stream_helper(
        self, source: Path, *args: str, stdin: str, cwd: Path, cache: Path | None = None
    ) -> AbstractContextManager[Iterator[str]]:
        """:meth:`run_helper` for an answer too large to hold: its lines, as they come."""
        return _proc.stream(
            [str(self._helper(source, cwd, cache)), *args],
            cwd=cwd,
            env=self.environment(),
            timeout=self.timeout,
            stdin=stdin,
        )

    def _helper(self, source: Path, cwd: Path, cache: Path | None) -> Path:
        import tempfile  # only here: keeps every other command's start-up short

        files = sorted(p for p in source.iterdir() if p.suffix == ".go")
        digest = Sha256()
        for path in files:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        version = self.version(cwd=cwd)
        digest.update(version.encode())
        root = cache or helper_home(self.env)
        exe = root / f"{source.name}-{digest.hexdigest()[:16]}"
        if not exe.is_file():
            root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="goci-helper-", dir=root) as work:
                folder = Path(work)
                for path in files:
                    (folder / path.name).write_bytes(path.read_bytes())
                (folder / "go.mod").write_text(f"module goci.helper/{source.name}\n\ngo 1.21\n")
                tmp_exe = folder / "helper.exe"
                self.run(
                    "build",
                    "-o",
                    str(tmp_exe),
                    ".",
                    cwd=folder,
                    env={
                        "GOWORK": "off",
                        "GOFLAGS": "-mod=mod",
                        "CGO_ENABLED": "0",
                        "GOOS": "",
                        "GOARCH": "",
                    },
                )
                os.replace(tmp_exe, exe)
        return exe


def helper_home(env: Mapping[str, str]) -> Path:
    """Where goci keeps the Go helpers it builds, when ``GOCI_CACHE`` does not say.

    A helper is run when a file of its name is there, and the name (source digest, Go
    version) is predictable: in a folder other code can write, that code's program would run
    as goci, with the step's secrets. So: the job's own temporary folder under Actions (the
    runner empties it before each job, so a pull request's job leaves nothing for the next),
    else a folder of this user's that nobody else may write, made afresh when the one found is
    not.
    """
    import tempfile  # only here: keeps every other command's start-up short

    if env.get("GOCI_CACHE"):
        return Path(env["GOCI_CACHE"]) / "goci-helpers"
    job = job_temp(env)
    if job is not None:
        return job / "goci" / "goci-helpers"
    base = Path(env.get("TMPDIR") or tempfile.gettempdir())
    if not hasattr(os, "getuid"):  # Windows: the temporary folder is the user's own
        return base / "goci-helpers"
    home = base / f"goci-helpers-{os.getuid()}"
    try:
        home.mkdir(mode=0o700, exist_ok=True)
        found = os.lstat(home)
    except OSError:
        found = None
    private = (
        found is not None
        and os.path.isdir(home)
        and not os.path.islink(home)
        and found.st_uid == os.getuid()
        and found.st_mode & 0o077 == 0
    )
    return home if private else Path(tempfile.mkdtemp(prefix="goci-helpers-", dir=base))
