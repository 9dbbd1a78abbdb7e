"""One declaration per option, three sources: CLI flags, ``INPUT_*`` and ``PLUGIN_*``.

A composite action maps each input to ``INPUT_<NAME>`` through ``env:``; Drone sends each
``settings:`` key as ``PLUGIN_<NAME>``. Declaring an option once and resolving it here is what
guarantees that an action input, a CLI flag and a Drone setting with the same name mean the
same thing.

A command declares its options as the fields of one frozen dataclass, each field made by
:func:`option` (as cibuildwheel's ``BuildOptions`` does): the field is the declaration, and
the command reads ``opts.min_total``, which mypy checks, instead of ``values["min_total"]``.
:func:`declared` lists the :class:`Option` of every field (for argparse, the resolver and the
action contract test) and :func:`parse` fills the dataclass from the three sources.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from goci.errors import InputError, closest

Kind = Literal["str", "bool", "int", "float", "list", "json"]

T = TypeVar("T")
_TRUE = {"true", "1", "yes", "on"}
_SPEC = "goci.option"
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True, kw_only=True)
class Option:
    """An option of one command; ``name`` is kebab-case (``go-versions``)."""

    name: str
    help: str
    kind: Kind = "str"
    default: Any = None
    choices: tuple[str, ...] = ()
    positional: bool = False
    required: bool = False
    secret: bool = False
    metavar: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def env_suffix(self) -> str:
        """``go-versions`` -> ``GO_VERSIONS``, the part after ``INPUT_`` / ``PLUGIN_``."""
        return self.name.upper().replace("-", "_")

    @property
    def env_suffixes(self) -> tuple[str, ...]:
        """The name and every alias, as they appear after ``INPUT_`` / ``PLUGIN_``."""
        return tuple(n.upper().replace("-", "_") for n in (self.name, *self.aliases))

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


def split_list(raw: str) -> list[str]:
    """Split a list input given as a JSON array or separated by spaces, commas or newlines.

    Both a multi-line YAML input and a ``fromJSON`` output must fit, so a value that starts
    with ``[`` is read as JSON and anything else as separated words.
    """
    text = raw.strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"not a valid JSON array: {text[:80]!r} ({exc.msg})") from exc
        if not isinstance(value, list):
            raise InputError(f"expected a JSON array, got {text[:80]!r}")
        return [item if isinstance(item, str) else json.dumps(item) for item in value]
    return [part for part in re.split(r"[\s,]+", text) if part]


def convert(option: Option, raw: Any, source: str) -> Any:
    """Turn one raw value (a string from the environment, or argparse's value) into its kind."""
    label = source if source.startswith("--") else f"{source} ({option.name})"
    if option.kind == "bool":
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        raise InputError(f"{label}: {raw!r} is not a boolean; use true or false")
    if option.kind == "list":
        items: list[str] = []
        try:
            for chunk in raw if isinstance(raw, list) else [raw]:
                items.extend(split_list(str(chunk)))
        except InputError as exc:
            raise InputError(f"{label}: {exc}") from None
        return items
    try:
        if option.kind == "int":
            return int(str(raw).strip())
        if option.kind == "float":
            return float(str(raw).strip().rstrip("%"))
        if option.kind == "json":
            return json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:  # json.JSONDecodeError is a ValueError
        raise InputError(f"{label}: {raw!r} is not a valid {option.kind}") from None
    value = str(raw)
    if option.choices and value not in option.choices:
        hint = closest(value, option.choices)
        raise InputError(f"{label}: {value!r} is not one of {', '.join(option.choices)}{hint}")
    return value


def add_to_parser(parser: argparse.ArgumentParser, option: Option) -> None:
    """Declare ``option`` on a parser; defaults are None so that the sources can be told apart."""
    if option.positional:
        parser.add_argument(
            option.dest, nargs="*", default=None, metavar=option.metavar, help=option.help
        )
        return
    flags = [f"--{name}" for name in (option.name, *option.aliases)]
    if option.kind == "bool":
        parser.add_argument(
            *flags,
            dest=option.dest,
            action=argparse.BooleanOptionalAction,
            default=None,
            help=option.help,
        )
    elif option.kind == "list":
        parser.add_argument(
            *flags,
            dest=option.dest,
            action="append",
            default=None,
            metavar=option.metavar,
            help=option.help + " (repeatable; spaces, commas or a JSON array)",
        )
    else:
        parser.add_argument(
            *flags,
            dest=option.dest,
            default=None,
            metavar=option.metavar,
            choices=None,
            help=option.help,
        )


def resolve(
    options: Sequence[Option], cli: Mapping[str, Any], env: Mapping[str, str]
) -> dict[str, Any]:
    """Fill every option: CLI flag first, then ``INPUT_*``, then ``PLUGIN_*``, then the default.

    Empty environment values count as unset, because GitHub passes ``''`` for an input the
    workflow did not give.
    """
    values: dict[str, Any] = {}
    for option in options:
        raw = cli.get(option.dest)
        if raw is not None and raw != []:
            values[option.dest] = convert(option, raw, f"--{option.name}")
            continue
        found = [
            prefix + suffix
            for prefix in ("INPUT_", "PLUGIN_")
            for suffix in option.env_suffixes
            if env.get(prefix + suffix, "").strip()
        ]
        if found:
            values[option.dest] = convert(option, env[found[0]], found[0])
        else:
            if option.required:
                raise InputError(
                    f"--{option.name} is required (or INPUT_{option.env_suffix} / "
                    f"PLUGIN_{option.env_suffix})"
                )
            values[option.dest] = option.default
    return values


def option(
    *,
    help: str,
    kind: Kind = "str",
    default: Any = None,
    name: str = "",
    choices: tuple[str, ...] = (),
    positional: bool = False,
    required: bool = False,
    secret: bool = False,
    metavar: str | None = None,
    aliases: tuple[str, ...] = (),
) -> Any:
    """A field of a command's options dataclass, declaring the option of the same name.

    The option's name is the field's name in kebab-case (``min_total`` -> ``min-total``)
    unless ``name`` says otherwise (``--from`` is the field ``source``: ``from`` is a Python
    keyword). A list default becomes a tuple: the dataclass is frozen.
    """
    spec = Option(
        name=name,
        help=help,
        kind=kind,
        default=default,
        choices=choices,
        positional=positional,
        required=required,
        secret=secret,
        metavar=metavar,
        aliases=aliases,
    )
    value = tuple(default) if isinstance(default, list) else default
    return dataclasses.field(default=value, metadata={_SPEC: spec})


def declared(settings: type[Any]) -> tuple[Option, ...]:
    """Every option a command's options dataclass declares, in field order."""
    found = []
    for item in dataclasses.fields(settings):
        spec = item.metadata.get(_SPEC)
        if isinstance(spec, Option):
            found.append(dataclasses.replace(spec, name=spec.name or item.name.replace("_", "-")))
    return tuple(found)


def parse(settings: type[T], cli: Mapping[str, Any], env: Mapping[str, str]) -> T:
    """The options dataclass filled from CLI flags, ``INPUT_*``, ``PLUGIN_*`` and defaults."""
    options = declared(settings)
    values = resolve(options, cli, env)
    fields = [f for f in dataclasses.fields(settings) if _SPEC in f.metadata]  # type: ignore[arg-type]
    filled = {}
    for item, spec in zip(fields, options, strict=True):
        value = values[spec.dest]
        filled[item.name] = (
            tuple(value) if isinstance(value, list) and spec.kind == "list" else value
        )
    return settings(**filled)


def secret_values(opts: object) -> list[str]:
    """The values of an options dataclass's secret options that were given (to be masked)."""
    return [
        str(getattr(opts, item.name))
        for item in dataclasses.fields(opts)  # type: ignore[arg-type]
        if getattr(item.metadata.get(_SPEC), "secret", False) and getattr(opts, item.name)
    ]
