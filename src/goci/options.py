"""One declaration per option, three sources: CLI flags, ``INPUT_*`` and ``PLUGIN_*``.

A composite action maps each input to ``INPUT_<NAME>`` through ``env:``; Drone sends each
``settings:`` key as ``PLUGIN_<NAME>``. Declaring an option once and resolving it here is what
guarantees that an action input, a CLI flag and a Drone setting with the same name mean the
same thing.

A command declares its options as the class attributes of one :class:`Options` subclass,
each made by :func:`option`: the attribute is the declaration, and the command reads
``opts.min_total``, which mypy checks, instead of ``values["min_total"]``. :func:`declared`
lists the :class:`Option` of every attribute (for argparse, the resolver and the action
contract test) and :func:`parse` fills the class from the three sources.

Neither is a dataclass, for start-up (``goci cache-key`` starts every CI job): measured with
``python -X importtime``, importing ``dataclasses`` (``inspect``, ``ast``, ``dis``...) costs
about 18 ms and each class it makes about 1.5 ms more (it ``exec()``s generated code).
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple, TypeVar

from goci.errors import InputError, bad_input, closest

Kind = Literal["str", "bool", "int", "float", "list", "json"]
#: A format check: called with a given value (each item of a list) and the label that names
#: where it came from (``--keep-within``, ``INPUT_KEEP_WITHIN (keep-within)``); it raises
#: InputError naming that label when the value is not valid.
Check = Callable[[Any, str], object]

T = TypeVar("T")

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:  # typing has it from 3.11 only; at run time it only marks the class for type checkers

    def dataclass_transform(**_: object) -> Callable[[T], T]:
        return lambda cls: cls


_TRUE = {"true", "1", "yes", "on"}
_LABELS = "_goci_labels"
_FALSE = {"false", "0", "no", "off"}


class Option(NamedTuple):
    """An option of one command; ``name`` is kebab-case (``go-versions``). A named tuple,
    not a dataclass: see the module's docstring (start-up)."""

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
    minimum: float | None = None
    maximum: float | None = None
    check: Check | None = None

    @property
    def accepted_range(self) -> str:
        """What ``minimum``/``maximum`` allow, e.g. ``a whole number from 1 to 256``."""
        what = "a whole number" if self.kind == "int" else "a number"
        low, high = (_number(v) for v in (self.minimum, self.maximum))
        if low and high:
            return f"{what} from {low} to {high}"
        return f"{what} >= {low}" if low else f"{what} <= {high}"

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


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def label_for(option: Option, source: str) -> str:
    """How an error names the value: ``--min-total``, or ``PLUGIN_MIN_TOTAL (min-total)``."""
    return source if source.startswith("--") else f"{source} ({option.name})"


def _typed(option: Option, raw: Any, label: str) -> Any:
    """``raw`` turned into the option's kind (argparse's strings, the environment's text)."""
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
            number = float(str(raw).strip().rstrip("%"))
            if not math.isfinite(number):
                raise ValueError(raw)
            return number
        if option.kind == "json":
            return json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:  # json.JSONDecodeError is a ValueError
        raise InputError(f"{label}: {raw!r} is not a valid {option.kind}") from None
    return str(raw)


def _validated(option: Option, value: Any, raw: Any, label: str) -> Any:
    """``value`` if the declaration allows it (choices, range, format), else bad input."""
    if option.choices and value not in option.choices:
        hint = closest(str(value), option.choices)
        listed = ", ".join(c or "''" for c in option.choices)
        raise InputError(f"{label}: {value!r} is not one of {listed}{hint}")
    if option.kind in ("int", "float") and (option.minimum, option.maximum) != (None, None):
        low = option.minimum if option.minimum is not None else -math.inf
        high = option.maximum if option.maximum is not None else math.inf
        if not low <= value <= high:
            shown = int(value) if float(value).is_integer() else value  # 101, not '101.0'
            raise bad_input(label, shown, f"accepted: {option.accepted_range}")
    if option.check is not None:
        for item in value if option.kind == "list" else [value]:
            if item is not None and item != "":  # an empty value means "not given"
                option.check(item, label)
    return value


def convert(option: Option, raw: Any, source: str) -> Any:
    """Turn one raw value (a string from the environment, or argparse's value) into its kind,
    checked against what the option declares it may be."""
    label = label_for(option, source)
    return _validated(option, _typed(option, raw, label), raw, label)


def _shown_default(option: Option) -> str:
    """The default as a person would type it (``true``, ``linux/amd64 darwin/arm64``)."""
    value = option.default
    if option.kind == "bool":
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return " ".join(map(str, value)) if value else "none"
    return json.dumps(value) if option.kind == "json" else str(value)


def help_text(option: Option) -> str:
    """The option's help with what ``--help`` must show: the accepted values and the default.

    A default the help already explains in words (``default: CPUs``) is not repeated.
    """
    notes = []
    if option.choices and "one of" not in option.help:
        notes.append("one of " + ", ".join(c or "''" for c in option.choices))
    if (option.minimum, option.maximum) != (None, None):
        notes.append(option.accepted_range)
    if "default" not in option.help and option.default not in (None, "") and not option.positional:
        notes.append(f"default: {_shown_default(option)}")
    text = option.help + (f" ({'; '.join(notes)})" if notes else "")
    return text.replace("%", "%%")  # argparse formats help with %


def add_to_parser(parser: argparse.ArgumentParser, option: Option) -> None:
    """Declare ``option`` on a parser; defaults are None so that the sources can be told apart."""
    text = help_text(option)
    if option.positional:
        parser.add_argument(option.dest, nargs="*", default=None, metavar=option.metavar, help=text)
        return
    flags = [f"--{name}" for name in (option.name, *option.aliases)]
    if option.kind == "bool":
        parser.add_argument(
            *flags,
            dest=option.dest,
            action=argparse.BooleanOptionalAction,
            default=None,
            help=text,
        )
    elif option.kind == "list":
        parser.add_argument(
            *flags,
            dest=option.dest,
            action="append",
            default=None,
            metavar=option.metavar,
            help=text + " (repeatable; spaces, commas or a JSON array)",
        )
    else:
        parser.add_argument(
            *flags, dest=option.dest, default=None, metavar=option.metavar, help=text
        )


def _resolve_one(option: Option, cli: Mapping[str, Any], env: Mapping[str, str]) -> tuple[Any, str]:
    """One option's value and the label of where it came from (a flag, a variable, the default)."""
    raw = cli.get(option.dest)
    flag = (option.metavar or option.dest.upper()) if option.positional else f"--{option.name}"
    if raw is not None and raw != []:
        return convert(option, raw, flag), flag
    found = [
        prefix + suffix
        for prefix in ("INPUT_", "PLUGIN_")
        for suffix in option.env_suffixes
        if env.get(prefix + suffix, "").strip()
    ]
    if found:
        return convert(option, env[found[0]], found[0]), label_for(option, found[0])
    if option.required:
        raise InputError(
            f"--{option.name} is required (or INPUT_{option.env_suffix} / "
            f"PLUGIN_{option.env_suffix})"
        )
    return option.default, flag


def resolve(
    options: Sequence[Option], cli: Mapping[str, Any], env: Mapping[str, str]
) -> dict[str, Any]:
    """Fill every option: CLI flag first, then ``INPUT_*``, then ``PLUGIN_*``, then the default.

    Empty environment values count as unset, because GitHub passes ``''`` for an input the
    workflow did not give.
    """
    return {option.dest: _resolve_one(option, cli, env)[0] for option in options}


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
    minimum: float | None = None,
    maximum: float | None = None,
    check: Check | None = None,
) -> Any:
    """A class attribute of a command's :class:`Options`, declaring the option of the same name.

    The option's name is the attribute's name in kebab-case (``min_total`` -> ``min-total``)
    unless ``name`` says otherwise (``--from`` is the attribute ``source``: ``from`` is a
    Python keyword). A list default becomes a tuple: the options are frozen. ``minimum``,
    ``maximum`` and ``check`` say what a given value may be (see :class:`Option`).
    """
    return Option(  # in Option's field order
        name, help, kind, default, choices, positional, required, secret, metavar, aliases,
        minimum, maximum, check,
    )  # fmt: skip


@dataclass_transform(kw_only_default=True, frozen_default=True)
class Options:
    """The base of every command's options: what a frozen keyword-only dataclass gives (see
    the module's docstring for why it is not one). Each subclass collects its ``option(...)``
    attributes once, when it is made, inherited ones first as a dataclass orders its fields,
    and leaves each default as the class attribute; ``dataclass_transform`` has mypy check
    every ``__init__`` call. Where :func:`parse` found each value rides beside the options.
    """

    _declared: ClassVar[dict[str, Option]] = {}  # attribute -> its option, named, in order

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, Option] = {}
        for base in cls.__mro__[-1:0:-1]:
            found.update(base.__dict__.get("_declared", {}))
        own = cls.__annotations__  # its own only (Python 3.10+), with no inspect to import
        for attr, hint in own.items():
            spec = cls.__dict__.get(attr)
            if isinstance(spec, Option):
                found[attr] = spec._replace(name=spec.name or attr.replace("_", "-"))
                setattr(cls, attr, _frozen(spec.default))
            elif "ClassVar" not in str(hint):
                raise TypeError(f"{cls.__name__}.{attr} is not made by option()")
        for attr in (a for a, v in cls.__dict__.items() if isinstance(v, Option)):
            raise TypeError(f"{cls.__name__}.{attr}: an option needs a type annotation")
        cls._declared = found

    def __init__(self, **values: Any) -> None:
        unknown = values.keys() - self._declared.keys()
        if unknown:
            raise TypeError(f"{type(self).__name__}() has no option {', '.join(sorted(unknown))}")
        for attr, spec in self._declared.items():
            object.__setattr__(
                self, attr, values[attr] if attr in values else _frozen(spec.default)
            )

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, attr) for attr in self._declared)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: the options are frozen")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: the options are frozen")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{attr}={getattr(self, attr)!r}" for attr in self._declared)
        return f"{type(self).__qualname__}({shown})"


def _frozen(default: Any) -> Any:
    return tuple(default) if isinstance(default, list) else default


def _declarations(settings: type[Any]) -> dict[str, Option]:
    if not (isinstance(settings, type) and issubclass(settings, Options)):
        raise TypeError(f"{settings!r} does not derive from goci.options.Options")
    return settings._declared


def declared(settings: type[Any]) -> tuple[Option, ...]:
    """Every option a command's :class:`Options` class declares, in declaration order."""
    return tuple(_declarations(settings).values())


def parse(settings: type[T], cli: Mapping[str, Any], env: Mapping[str, str]) -> T:
    """The options class filled from CLI flags, ``INPUT_*``, ``PLUGIN_*`` and defaults.

    Every given value is checked here, so a command refuses bad input before it does anything.
    Where each value came from is kept for :func:`label_of`.
    """
    filled, labels = {}, {}
    for attr, spec in _declarations(settings).items():
        value, labels[attr] = _resolve_one(spec, cli, env)
        filled[attr] = tuple(value) if isinstance(value, list) and spec.kind == "list" else value
    result = settings(**filled)
    object.__setattr__(result, _LABELS, labels)  # frozen: the labels ride beside the options
    return result


def label_of(opts: object, field: str) -> str:
    """How a refusal names the option ``field`` of parsed options: where its value came from
    (``--keep-within``, or ``INPUT_KEEP_WITHIN (keep-within)``)."""
    labels: dict[str, str] = getattr(opts, _LABELS, {})
    return labels.get(field) or "--" + field.replace("_", "-")


def secret_values(opts: object) -> list[tuple[str, str]]:
    """``(label, value)`` of the secret options that were given (to be masked)."""
    return [
        (label_of(opts, attr), str(getattr(opts, attr)))
        for attr, spec in _declarations(type(opts)).items()
        if spec.secret and getattr(opts, attr)
    ]
