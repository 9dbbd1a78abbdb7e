"""A small evaluator of GitHub Actions expressions (``${{ ... }}``), for the workflow runner.

It covers what goci's workflows and actions use, with GitHub's documented semantics: literals
(strings in single quotes, numbers, true/false/null), context access (``a.b``, ``a['b']``,
``a.*.b``), ``!``, ``==``/``!=``/``<``/``<=``/``>``/``>=`` (loose: strings compare without case,
other mixes compare as numbers), ``&&``/``||`` returning an operand, and the functions
contains, startsWith, endsWith, format, join, toJSON, fromJSON, hashFiles and the status
functions success, always, failure, cancelled. Unknown names are errors, never silent nulls: a
typo in a workflow must fail the test that runs it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ExpressionError(Exception):
    """An expression that GitHub would refuse (or that this evaluator does not know)."""


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[<>!()\[\].,*])
    """,
    re.VERBOSE,
)
STATUS_FUNCTIONS = ("success", "always", "failure", "cancelled")


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ExpressionError(f"unexpected {text[pos : pos + 10]!r} in expression {text!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(0)))
    return tokens


# ---- values -------------------------------------------------------------------------------


def truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return not (value == 0 or (isinstance(value, float) and math.isnan(value)))
    if isinstance(value, str):
        return value != ""
    return True


def to_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        try:
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        except ValueError:
            return math.nan
    return math.nan


def to_string(value: Any) -> str:
    """How GitHub turns a value into text (an interpolation, an input, an env value)."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2)
    return str(value)


def loose_equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if type(left) is type(right) and not isinstance(left, (int, float)):
        return bool(left == right)
    if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
        return left is right
    return to_number(left) == to_number(right)


def loose_compare(left: Any, right: Any) -> float:
    """Negative, zero or positive; NaN when the values cannot be ordered."""
    if isinstance(left, str) and isinstance(right, str):
        a, b = left.casefold(), right.casefold()
        return float((a > b) - (a < b))
    a_num, b_num = to_number(left), to_number(right)
    if math.isnan(a_num) or math.isnan(b_num):
        return math.nan
    return a_num - b_num


def get_property(value: Any, name: str) -> Any:
    if isinstance(value, Mapping):
        if name in value:
            return value[name]
        lowered = name.casefold()
        for key, item in value.items():
            if isinstance(key, str) and key.casefold() == lowered:
                return item
        return None
    if isinstance(value, list) and name.isdigit():
        index = int(name)
        return value[index] if index < len(value) else None
    return None


# ---- functions ----------------------------------------------------------------------------


def _format(template: Any, *args: Any) -> str:
    text = to_string(template)
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if text.startswith("{{", i) or text.startswith("}}", i):
            out.append(char)
            i += 2
            continue
        if char == "{":
            end = text.find("}", i)
            if end < 0 or not text[i + 1 : end].isdigit():
                raise ExpressionError(f"format: bad placeholder in {text!r}")
            index = int(text[i + 1 : end])
            if index >= len(args):
                raise ExpressionError(f"format: {text!r} has no argument {index}")
            out.append(to_string(args[index]))
            i = end + 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _contains(search: Any, item: Any) -> bool:
    if isinstance(search, list):
        return any(loose_equal(element, item) for element in search)
    return to_string(item).casefold() in to_string(search).casefold()


def _join(values: Any, separator: Any = ",") -> str:
    if isinstance(values, list):
        return to_string(separator).join(to_string(v) for v in values)
    return to_string(values)


def _from_json(text: Any) -> Any:
    try:
        return json.loads(to_string(text))
    except json.JSONDecodeError as exc:
        raise ExpressionError(f"fromJSON: {to_string(text)[:80]!r} is not JSON ({exc})") from exc


def hash_files(workspace: Path, *patterns: Any) -> str:
    files: set[Path] = set()
    for pattern in patterns:
        files.update(p for p in workspace.glob(to_string(pattern)) if p.is_file())
    if not files:
        return ""
    outer = hashlib.sha256()
    for path in sorted(files):
        outer.update(hashlib.sha256(path.read_bytes()).digest())
    return outer.hexdigest()


# ---- parser + evaluator -------------------------------------------------------------------


Thunk = Callable[[], Any]


class _Parser:
    """Recursive descent over the tokens into thunks, so that && and || short-circuit."""

    def __init__(self, text: str, contexts: Mapping[str, Any], functions: Mapping[str, Any]):
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.contexts = contexts
        self.functions = functions

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, text: str | None = None) -> Token:
        token = self.peek()
        if token is None or (text is not None and token.text != text):
            raise ExpressionError(f"expected {text or 'more'} in expression {self.text!r}")
        self.pos += 1
        return token

    def at(self, text: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "op" and token.text == text

    def parse(self) -> Thunk:
        thunk = self.or_()
        extra = self.peek()
        if extra is not None:
            raise ExpressionError(f"unexpected {extra.text!r} in {self.text!r}")
        return thunk

    def or_(self) -> Thunk:
        thunk = self.and_()
        while self.at("||"):
            self.take()
            left, right = thunk, self.and_()

            def either(left: Thunk = left, right: Thunk = right) -> Any:
                value = left()
                return value if truthy(value) else right()

            thunk = either
        return thunk

    def and_(self) -> Thunk:
        thunk = self.equality()
        while self.at("&&"):
            self.take()
            left, right = thunk, self.equality()

            def both(left: Thunk = left, right: Thunk = right) -> Any:
                value = left()
                return right() if truthy(value) else value

            thunk = both
        return thunk

    def equality(self) -> Thunk:
        thunk = self.comparison()
        while self.at("==") or self.at("!="):
            negate = self.take().text == "!="
            left, right = thunk, self.comparison()

            def equal(left: Thunk = left, right: Thunk = right, negate: bool = negate) -> Any:
                return loose_equal(left(), right()) != negate

            thunk = equal
        return thunk

    def comparison(self) -> Thunk:
        thunk = self.unary()
        while any(self.at(op) for op in ("<", "<=", ">", ">=")):
            op = self.take().text
            left, right = thunk, self.unary()

            def compare(left: Thunk = left, right: Thunk = right, op: str = op) -> Any:
                order = loose_compare(left(), right())
                if math.isnan(order):
                    return False
                return {"<": order < 0, "<=": order <= 0, ">": order > 0, ">=": order >= 0}[op]

            thunk = compare
        return thunk

    def unary(self) -> Thunk:
        if self.at("!"):
            self.take()
            inner = self.unary()
            return lambda: not truthy(inner())
        return self.postfix()

    def postfix(self) -> Thunk:
        thunk = self.primary()
        while True:
            if self.at("."):
                self.take()
                token = self.take()
                if token.text == "*":
                    thunk = self._star(thunk)
                elif token.kind == "ident":

                    def prop(name: str = token.text) -> str:
                        return name

                    thunk = self._access(thunk, prop)
                else:
                    raise ExpressionError(f"bad property {token.text!r} in {self.text!r}")
            elif self.at("["):
                self.take()
                if self.at("*"):
                    self.take()
                    thunk = self._star(thunk)
                else:
                    key = self.or_()

                    def index(key: Thunk = key) -> str:
                        return to_string(key())

                    thunk = self._access(thunk, index)
                self.take("]")
            else:
                return thunk

    @staticmethod
    def _star(inner: Thunk) -> Thunk:
        def star() -> Any:
            value = inner()
            if isinstance(value, Mapping):
                return list(value.values())
            return list(value) if isinstance(value, list) else []

        return star

    @staticmethod
    def _access(inner: Thunk, name: Callable[[], str]) -> Thunk:
        def access() -> Any:
            value, key = inner(), name()
            if isinstance(value, list) and not key.isdigit():
                return [get_property(item, key) for item in value]
            return get_property(value, key)

        return access

    def primary(self) -> Thunk:
        token = self.take()
        if token.kind == "string":
            literal: Any = token.text[1:-1].replace("''", "'")
            return lambda: literal
        if token.kind == "number":
            text = token.text
            number = float(int(text, 16)) if "x" in text.lower() else float(text)
            return lambda: number
        if token.kind == "op" and token.text == "(":
            inner = self.or_()
            self.take(")")
            return inner
        if token.kind != "ident":
            raise ExpressionError(f"unexpected {token.text!r} in {self.text!r}")
        name = token.text
        lowered = name.casefold()
        constants = {"true": True, "false": False, "null": None, "nan": math.nan}
        if lowered in constants:
            constant = constants[lowered]
            return lambda: constant
        if lowered == "infinity":
            return lambda: math.inf
        if self.at("("):
            self.take()
            args: list[Thunk] = []
            while not self.at(")"):
                args.append(self.or_())
                if not self.at(")"):
                    self.take(",")
            self.take(")")
            function = self.functions.get(lowered)
            if function is None:
                raise ExpressionError(f"unknown function {name}() in {self.text!r}")
            return lambda: function(*(arg() for arg in args))
        for key, value in self.contexts.items():
            if key.casefold() == lowered:

                def context(value: Any = value) -> Any:
                    return value

                return context
        raise ExpressionError(f"unknown context {name!r} in {self.text!r}")


@dataclass
class Evaluator:
    """Evaluates expressions against contexts; ``status`` answers the status functions."""

    contexts: Mapping[str, Any]
    status: Callable[[str], bool] = lambda name: name in ("success", "always")
    workspace: Path | None = None

    def functions(self) -> dict[str, Any]:
        def status_function(name: str) -> Callable[[], bool]:
            return lambda: self.status(name)

        functions: dict[str, Any] = {
            "contains": _contains,
            "startswith": lambda a, b: to_string(a).casefold().startswith(to_string(b).casefold()),
            "endswith": lambda a, b: to_string(a).casefold().endswith(to_string(b).casefold()),
            "format": _format,
            "join": _join,
            "tojson": lambda v: json.dumps(v, indent=2),
            "fromjson": _from_json,
            "hashfiles": lambda *p: hash_files(self.workspace or Path.cwd(), *p),
        }
        functions.update({name: status_function(name) for name in STATUS_FUNCTIONS})
        return functions

    def evaluate(self, expression: str) -> Any:
        return _Parser(expression, self.contexts, self.functions()).parse()()

    def interpolate(self, value: Any) -> Any:
        """A YAML value with ``${{ }}`` parts evaluated: a lone expression keeps its type."""
        if isinstance(value, dict):
            return {k: self.interpolate(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.interpolate(v) for v in value]
        if not isinstance(value, str) or "${{" not in value:
            return value
        parts = split_template(value)
        if len(parts) == 1 and isinstance(parts[0], Expr):
            return self.evaluate(parts[0].text)
        return "".join(
            to_string(self.evaluate(p.text)) if isinstance(p, Expr) else p for p in parts
        )

    def text(self, value: Any) -> str:
        """A value as the text an input or env variable receives."""
        return to_string(self.interpolate(value))

    def condition(self, value: Any) -> bool:
        """An ``if:``: with no status function in it, GitHub adds ``success() &&``."""
        if value is None:
            return self.status("success")
        if isinstance(value, bool):
            return self.status("success") and value
        text = str(value).strip()
        parts = split_template(text)
        if len(parts) == 1 and isinstance(parts[0], Expr):
            text = parts[0].text
        elif "${{" in text:
            return self.status("success") and truthy(self.interpolate(text))
        if not re.search(r"\b(" + "|".join(STATUS_FUNCTIONS) + r")\s*\(", text, re.I):
            return self.status("success") and truthy(self.evaluate(text))
        return truthy(self.evaluate(text))


@dataclass(frozen=True)
class Expr:
    text: str


def split_template(text: str) -> Sequence[str | Expr]:
    """Literal text and ``${{ expression }}`` parts (quotes inside an expression respected)."""
    parts: list[str | Expr] = []
    pos = 0
    while True:
        start = text.find("${{", pos)
        if start < 0:
            if pos < len(text):
                parts.append(text[pos:])
            return parts
        if start > pos:
            parts.append(text[pos:start])
        i = start + 3
        quoted = False
        while i < len(text):
            if text[i] == "'":
                quoted = not quoted
            elif not quoted and text.startswith("}}", i):
                break
            i += 1
        else:
            raise ExpressionError(f"unclosed ${{{{ in {text!r}")
        parts.append(Expr(text[start + 3 : i].strip()))
        pos = i + 2
