"""``goci``: parse the command line, dispatch to one subcommand, turn its result into output.

The CLI parses and dispatches, nothing more: a command's logic lives in the capability packages,
and its options are declared once in its own module (see :mod:`goci.options`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from goci import __version__
from goci.command import Command, Context, Result
from goci.commands import ENTRIES, Entry, find_entry
from goci.errors import GociError, InputError, ToolError, closest
from goci.options import Option, Options, add_to_parser, declared, option, parse, secret_values
from goci.runtime import Runtime, json_text


class CommonOptions(Options):
    """The options every command has."""

    dir: str = option(
        aliases=("working-directory",),
        help="the folder to work in (default: the current one)",
        default=".",
    )
    json: bool = option(kind="bool", default=False, help="print the outputs as one JSON object")


COMMON_OPTIONS: tuple[Option, ...] = declared(CommonOptions)


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, which argparse asks for every formatter it makes
    (one per option declared); shutil's import (zlib, bz2, lzma) costs more than cache-key's
    whole parse. The same rule: COLUMNS if a positive number, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, as wide as the terminal, found without shutil."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        kwargs.setdefault("width", _terminal_columns() - 2)  # argparse's own margin
        super().__init__(prog, **kwargs)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so usage errors follow the one error path.

    ``groups`` holds the parsers of the two-word commands' first words (``goci artifact``), so
    that ``goci artifact`` alone shows artifact's usage rather than the top one.
    """

    groups: dict[str, argparse.ArgumentParser]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No abbreviations: `--job 2` is refused with a hint, never read as `--jobs 2` (and a
        # flag added later cannot change what an abbreviation in someone's script means).
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:
        raise InputError(f"{self.prog}: {message}")


def requested(argv: Sequence[str]) -> Entry | None:
    """The registry entry the command line names (its first one or two words), if any."""
    words = [w for w in argv if not w.startswith("-")][:2]
    for length in (2, 1):
        entry = find_entry(tuple(words[:length])) if len(words) >= length else None
        if entry is not None:
            return entry
    return None


def build_parser(argv: Sequence[str] = ()) -> _Parser:
    """The parser, with options declared for the requested command only (the rest lazily);
    with the command's words first on the line, the other commands are left out."""
    parser = _Parser(
        prog="goci",
        description="Fast, trustworthy CI for Go repositories.",
    )
    parser.add_argument("--version", action="version", version=f"goci {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    groups: dict[str, argparse._SubParsersAction[_Parser]] = {}
    parser.groups = {}
    wanted = requested(argv)
    # `goci cache-key ...` (the command's words first) needs no other command's parser: a
    # parser costs about half a millisecond to build, and cache-key starts every job.
    alone = wanted is not None and tuple(argv[: len(wanted.path)]) == wanted.path
    for entry in (wanted,) if alone and wanted is not None else ENTRIES:
        target = subparsers
        if len(entry.path) == 2:
            head = entry.path[0]
            if head not in groups:
                group = subparsers.add_parser(head, help=f"{head} commands")
                parser.groups[head] = group
                groups[head] = group.add_subparsers(
                    dest="subcommand", metavar="SUBCOMMAND", parser_class=_Parser
                )
            target = groups[head]
        sub = target.add_parser(entry.path[-1], help=entry.help, description=entry.help)
        if entry == wanted:
            command = entry.load()
            sub.description = command.description or command.help
            sub.set_defaults(goci_command=command)
            for option in (*command.options, *COMMON_OPTIONS):
                add_to_parser(sub, option)
    return parser


def emit(command: Command[Any], result: Result, ctx: Context) -> None:
    """Turn a result into outputs, the JSON object, the report and the job summary."""
    missing = [name for name in command.outputs if name not in result.outputs]
    if missing:
        raise AssertionError(f"goci {command.name} did not produce outputs {missing}")
    ctx.runtime.set_outputs({k: result.outputs[k] for k in command.outputs})
    if result.summary:
        ctx.runtime.summary(result.summary)
    if ctx.json_output:
        ctx.runtime.out(json_text(result.outputs))
        if result.report:
            ctx.runtime.log(result.report.rstrip("\n"))
    elif result.report:
        ctx.runtime.out(result.report.rstrip("\n"))


def run_command(
    command: Command[Any], cli_values: Mapping[str, Any], env: Mapping[str, str], runtime: Runtime
) -> int:
    """Resolve options from all three sources, run the command and report its result."""
    common = parse(CommonOptions, cli_values, {} if command.cli_only else env)
    opts = command.parse(cli_values, env)
    folder = Path(common.dir)
    if not folder.is_dir():
        raise InputError(f"--dir: {common.dir!r} is not a folder")
    for label, secret in secret_values(opts):
        runtime.mask(secret, name=label)
    ctx = Context(cwd=folder.resolve(), env=env, runtime=runtime, json_output=common.json)
    result = command.run(opts, ctx)
    emit(command, result, ctx)
    return result.exit_code


def unrecognized(command: Command[Any], extras: Sequence[str]) -> InputError:
    """Arguments the command does not take, named with the command (and the closest flag)."""
    options = (*command.options, *COMMON_OPTIONS)
    flags = [
        f"--{prefix}{n}"
        for o in options
        if not o.positional
        for n in (o.name, *o.aliases)
        for prefix in ("", "no-")
        if o.kind == "bool" or not prefix
    ]
    first = next((e.partition("=")[0] for e in extras if e.startswith("--")), "")
    hint = closest(first, flags) if first else ""
    positional = next((o for o in options if o.positional and f"--{o.name}" == first), None)
    if positional is not None:  # offering --profiles for --profiles would only puzzle
        hint = f" (give {positional.metavar or positional.dest.upper()} without a flag)"
    return InputError(
        f"goci {command.name}: unrecognized arguments: {' '.join(extras)}{hint}; "
        f"see goci {command.name} --help"
    )


def report_error(runtime: Runtime, exc: GociError) -> None:
    """The error's first line as the error (an annotation in Actions), the rest once after it.

    The first line is what a person needs (go's own message, say); the rest (the command line
    that failed, a tool's whole output) is folded into a collapsed group in Actions.
    """
    first, _, rest = str(exc).partition("\n")
    runtime.error(first)
    if not rest.strip():
        return
    if runtime.in_actions:
        with runtime.group("details"):
            runtime.log(rest.rstrip("\n"))
    else:
        runtime.log(rest.rstrip("\n"))


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point: returns the exit code (0 done, 1 verdict "no", 2 bad input)."""
    environment = dict(os.environ if env is None else env)
    runtime = Runtime(environment)
    args = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args)
    try:
        namespace, extras = parser.parse_known_args(args)
        command: Command[Any] | None = getattr(namespace, "goci_command", None)
        if command is None:
            shown = parser.groups.get(getattr(namespace, "command", None) or "", parser)
            if extras:
                shown.error(f"unrecognized arguments: {' '.join(extras)}")
            runtime.log(shown.format_help().rstrip("\n"))
            return 2
        if extras:
            raise unrecognized(command, extras)
        return run_command(command, vars(namespace), environment, runtime)
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    except GociError as exc:
        report_error(runtime, exc)
        return exc.exit_code
    except OSError as exc:
        # The disk, a folder, the network: one line saying what and where, the traceback
        # folded after it for whoever reports it.
        import traceback  # only on this path: keeps start-up short

        name = args[0] if args else "goci"
        report_error(runtime, ToolError(f"goci {name}: {exc}\n{traceback.format_exc()}"))
        return ToolError.exit_code
    except KeyboardInterrupt:
        runtime.log("goci: interrupted")
        return 130
