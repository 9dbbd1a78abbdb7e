"""One error hierarchy: each class carries the exit code the shells turn it into.

Only the CLI entry point converts these into exit codes; the core raises them and never exits,
so that the same failure reads the same on a laptop, in Actions and in Drone.
"""

from __future__ import annotations

from collections.abc import Iterable


class GociError(Exception):
    """Base of every expected failure; the message is the one line a person reads."""

    exit_code: int = 1


class InputError(GociError):
    """Bad input or usage (exit 2): names the input, the value, and what would be accepted."""

    exit_code = 2


class VerdictError(GociError):
    """The job's answer is "no" (exit 1): tests failed, a threshold was missed, publish refused."""

    exit_code = 1


class ToolError(GociError):
    """An external tool (go, git, the object store) failed in a way the input does not explain."""

    exit_code = 1


def bad_input(name: str, value: object, accepted: str) -> InputError:
    """Build the standard one-line message: which input, what value, what is accepted."""
    return InputError(f"{name}: {value!r} is not valid; {accepted}")


def closest(value: str, choices: Iterable[str]) -> str:
    """A ' (did you mean X?)' hint for a mistyped name, or '' when nothing is close."""
    import difflib  # only on the error path: keeps start-up short

    match = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""
