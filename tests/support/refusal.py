"""The shape every refusal of bad input has: exit 2, one ``::error::`` line, no outputs."""

from __future__ import annotations

from support.goci_run import GociRun


def refused(run: GociRun, first_line: str) -> str:
    """Exit 2 with one ``::error::`` annotation that starts with ``first_line``; no outputs."""
    assert run.code == 2, (run.code, run.stdout, run.stderr)
    errors = [line for line in run.stderr.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, run.stderr
    assert errors[0].startswith("::error::" + first_line), errors[0]
    assert "Traceback" not in run.stderr
    assert run.outputs == {}
    return errors[0]
