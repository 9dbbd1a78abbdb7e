"""The shape of src/goci that the layout relies on: small modules, commands that stand alone.

Each command module is imported only when its command runs, and a newcomer reads one command
without the others, so no command module imports another (what they share lives in
``goci.commands._shared``); and no module grows past what one sitting can read.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "goci"
MAX_LINES = 400


def test_no_module_is_longer_than_it_can_be_read() -> None:
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_commands_do_not_import_each_other() -> None:
    folder = PACKAGE / "commands"
    commands = {f"goci.commands.{p.stem}" for p in folder.glob("*.py") if p.stem[0] != "_"}
    crossing = {
        path.name: sorted(imported_modules(path) & (commands - {f"goci.commands.{path.stem}"}))
        for path in folder.glob("*.py")
        if path.stem[0] != "_"
    }
    assert {name: found for name, found in crossing.items() if found} == {}


MAX_FUNCTION_LINES = 80


def test_no_function_is_longer_than_it_can_be_read() -> None:
    """A function over 80 lines does several things; its steps want names of their own."""
    long = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(PACKAGE).as_posix()}:{node.name}"] = lines
    assert long == {}
