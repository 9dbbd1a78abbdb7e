"""The README says what exists: the actions table matches each action.yml, the Layout the tree."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def readme_rows() -> dict[str, tuple[set[str], set[str]]]:
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        match = re.match(r"\| `(\.|actions/[a-z-]+)`[^|]*\|([^|]*)\|([^|]*)\|$", line)
        if match:
            inputs = set(re.findall(r"`([a-z0-9-]+)`", match.group(2)))
            outputs = set(re.findall(r"`([a-z0-9-]+)`", match.group(3)))
            rows[match.group(1)] = (inputs, outputs)
    return rows


def test_readme_table_matches_every_action() -> None:
    rows = readme_rows()
    files = {".": ROOT / "action.yml"} | {
        f"actions/{p.parent.name}": p for p in sorted((ROOT / "actions").glob("*/action.yml"))
    }
    assert set(rows) == set(files), "every action has one row in the README, and no other rows"
    for name, path in files.items():
        spec = yaml.safe_load(path.read_text())
        assert rows[name][0] == set(spec.get("inputs") or {}), f"inputs of {name}"
        assert rows[name][1] == set(spec.get("outputs") or {}), f"outputs of {name}"


def test_readme_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["python3 dev.py demo", "python3 dev.py test"]
    assert "python3 dev.py test" in (ROOT / ".ci" / "run").read_text()


def layout_block() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return text.split("## Layout\n", 1)[1].split("```\n", 2)[1].splitlines()


def test_readme_layout_lists_the_package_tree() -> None:
    """Every capability folder of src/goci and every module of the shell is in the Layout,
    and nothing there names a folder or module that is gone."""
    lines = layout_block()
    start = next(i for i, line in enumerate(lines) if line.startswith("src/goci/ "))
    below = []
    for line in lines[start + 1 :]:
        if not line.startswith(" "):
            break
        below.append(line)
    folders = {line.split()[0] for line in below if re.match(r"^  [a-z_]+/ ", line)}
    modules = {word for line in below for word in line.split() if word.endswith(".py")}
    package = ROOT / "src" / "goci"
    assert folders == {f"{p.parent.name}/" for p in package.glob("*/__init__.py")}
    assert modules == {p.name for p in package.glob("*.py") if p.name != "__init__.py"}


def test_readme_table_matches_every_reusable_workflow() -> None:
    """A new go-ci.yml input, secret or output is one a caller can only find in the README."""
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        match = re.match(r"\| `([a-z-]+\.yml)` \|([^|]*)\|([^|]*)\|([^|]*)\|$", line)
        if match:
            rows[match.group(1)] = [
                set(re.findall(r"`([A-Za-z0-9_-]+)`", c)) for c in match.groups()[1:]
            ]
    reusable = {}
    for path in sorted((ROOT / ".github/workflows").glob("*.yml")):
        spec = yaml.safe_load(path.read_text())
        triggers = spec.get(True) or spec.get("on") or {}
        if isinstance(triggers, dict) and "workflow_call" in triggers:
            reusable[path.name] = triggers["workflow_call"] or {}
    assert set(rows) == set(reusable) == {"go-ci.yml", "go-promote.yml"}
    for name, call in reusable.items():
        for kind, listed in zip(("inputs", "secrets", "outputs"), rows[name], strict=True):
            assert listed == set(call.get(kind) or {}), f"{kind} of {name}"
