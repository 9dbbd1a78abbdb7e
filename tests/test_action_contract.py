"""The contract between every action.yml and the goci commands it runs.

An action input, a CLI option and a Drone setting with the same name must mean the same
thing, so each input has to reach a goci command as ``INPUT_<NAME>`` and name one of its
options; each output has to come from a goci command that declares it. The commands are read
from ``goci.commands.COMMANDS``, so actions added later are checked with no change here.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from goci.cli import COMMON_OPTIONS
from goci.command import Command
from goci.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
ACTION_FILES = sorted([ROOT / "action.yml", *ROOT.glob("actions/*/action.yml")])

# `goci <words>` where a shell command starts: line start, after ; & | ( ) { } ! or a keyword.
_GOCI_CALL = re.compile(
    r"(?:^|[;&|(){}!`]|\b(?:then|do|else|exec|time))\s*goci((?:[ \t]+[a-z][a-z0-9-]*){1,2})",
    re.MULTILINE,
)
_INPUT_REF = re.compile(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}")
_ANY_INPUT_REF = re.compile(r"\binputs\.([A-Za-z0-9_-]+)")
_OUTPUT_VALUE = re.compile(r"^\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}$")
_USES_LINE = re.compile(r"^\s*(?:-\s*)?uses:\s*(\S+)(.*)$", re.MULTILINE)
_PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[^@\s]+)?@[0-9a-f]{40}$")
_VERSION_COMMENT = re.compile(r"^\s*#\s*v\d+(?:\.\d+)*\b")
_READS_MODE = re.compile(r"\$\{?INPUT_MODE\b")


def env_name(name: str) -> str:
    return "INPUT_" + name.upper().replace("-", "_")


def option_names(command: Command[Any]) -> set[str]:
    """Every name an action may use for one of the command's options (names and aliases)."""
    return {n for o in (*command.options, *COMMON_OPTIONS) for n in (o.name, *o.aliases)}


def goci_calls(script: str, problems: list[str], where: str) -> list[Command[Any]]:
    """The goci commands a run: script invokes; an unknown one is a problem."""
    paths = {c.path: c for c in COMMANDS}
    found: list[Command[Any]] = []
    for match in _GOCI_CALL.finditer(script):
        words = tuple(match.group(1).split())
        command = paths.get(words[:2]) or paths.get(words[:1])
        if command is None:
            problems.append(f"{where}: `goci {' '.join(words)}` is not a goci command")
        elif command not in found:
            found.append(command)
    return found


def setup_steps(nested: bool) -> list[dict[str, Any]]:
    """The first steps of every action (``uses:`` without its pin): goci's dependencies
    restored where the job has none yet (GitHub's hosted runners start every job without
    them), goci set up (which verifies them against the lock), and the dependencies saved
    after a miss. Composite actions cannot share steps, so each action repeats them."""
    script = f'bash "$GITHUB_ACTION_PATH/{"../../" if nested else ""}scripts/setup-goci.sh"'
    deps = {
        "path": "${{ steps.goci-deps.outputs.path }}",
        "key": "${{ steps.goci-deps.outputs.key }}",
    }
    restore = "steps.goci-deps.outputs.restore == 'true'"
    missed = "steps.goci-deps-cache.outputs.cache-hit != 'true'"
    return [
        {
            "name": "Where goci's dependencies go",
            "id": "goci-deps",
            "shell": "bash",
            "run": f"{script} where",
        },
        {
            "name": "Restore goci's dependencies",
            "id": "goci-deps-cache",
            "if": restore,
            "uses": "actions/cache/restore",
            "with": deps,
        },
        {"name": "Set goci up", "shell": "bash", "run": script},
        {
            "name": "Save goci's dependencies",
            "if": f"{restore} && {missed}",
            "uses": "actions/cache/save",
            "with": deps,
        },
    ]


@dataclass(frozen=True)
class Step:
    index: int
    data: dict[str, Any]
    commands: tuple[Command[Any], ...]

    @property
    def where(self) -> str:
        return f"step {self.index + 1} ({self.data.get('id') or self.data.get('name', '?')})"


def contract_problems(path: Path, data: Any, raw: str) -> list[str]:
    """Everything about one action.yml that breaks the contract (empty when it keeps it)."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return [f"{path}: not a YAML mapping"]
    runs = data.get("runs") or {}
    if runs.get("using") != "composite":
        problems.append("runs.using must be composite")
    steps_data = runs.get("steps") or []
    if not steps_data:
        return [*problems, "runs.steps is empty"]

    steps: list[Step] = []
    for index, step in enumerate(steps_data):
        script = step.get("run", "") or ""
        where = f"step {index + 1} ({step.get('id') or step.get('name', '?')})"
        if "${{" in script:
            problems.append(f"{where}: `${{{{` inside a run: script (pass values through env:)")
        steps.append(Step(index, step, tuple(goci_calls(script, problems, where))))

    nested = path.parent != ROOT
    first = [
        {**s, "uses": s["uses"].partition("@")[0]} if "uses" in s else s for s in steps_data[:4]
    ]
    if first != setup_steps(nested):
        problems.append("the first four steps must be goci's set-up, as setup_steps() has them")
    elif not (path.parent / ("../../" if nested else "") / "scripts/setup-goci.sh").exists():
        problems.append("the set-up's setup-goci.sh does not exist")

    for match in _USES_LINE.finditer(raw):
        ref, rest = match.group(1).strip("'\""), match.group(2)
        if ref.startswith("./"):
            continue
        if not _PINNED.match(ref):
            problems.append(f"uses: {ref} is not pinned by a full 40-hex commit SHA")
        elif not _VERSION_COMMENT.match(rest):
            problems.append(f"uses: {ref} has no `# vX.Y.Z` comment naming the version")

    inputs = data.get("inputs") or {}
    for name in inputs:
        carriers = [
            s for s in steps if str((s.data.get("env") or {}).get(env_name(name), "")).strip()
        ]
        if not carriers:
            problems.append(f"input {name}: no step passes it as {env_name(name)} in env:")
        for step in carriers:
            value = str(step.data["env"][env_name(name)]).strip()
            refs = _INPUT_REF.findall(value)
            if refs != [name] or _INPUT_REF.sub("", value).strip():
                problems.append(
                    f"input {name}: {step.where} sets {env_name(name)}: {value!r}, "
                    f"expected ${{{{ inputs.{name} }}}}"
                )
            if name == "mode":
                if not _READS_MODE.search(step.data.get("run", "") or ""):
                    problems.append(f"input mode: {step.where} does not read $INPUT_MODE")
                continue
            if not step.commands:
                problems.append(f"input {name}: {step.where} runs no goci command")
            elif not any(name in option_names(c) for c in step.commands):
                names = ", ".join(f"goci {c.name}" for c in step.commands)
                problems.append(f"input {name}: not an option of {names}")

    # Inputs travel ONLY through env: as INPUT_<NAME> (nowhere else: no with:, if:, args).
    for step in steps:
        env = step.data.get("env") or {}
        for key, value in env.items():
            for ref in _ANY_INPUT_REF.findall(str(value)):
                if key != env_name(ref):
                    problems.append(f"{step.where}: env {key} carries inputs.{ref}")
            if key.startswith("INPUT_") and key != "INPUT_MODE" and step.commands:
                known = {env_name(n) for c in step.commands for n in option_names(c)}
                if key not in known:
                    problems.append(f"{step.where}: env {key} is no option of its goci command")
        rest = {k: v for k, v in step.data.items() if k != "env"}
        for ref in _ANY_INPUT_REF.findall(yaml.safe_dump(rest)):
            problems.append(f"{step.where}: inputs.{ref} used outside env:")
        if any(str(k).startswith("INPUT_") for k in env) and not step.data.get("run"):
            problems.append(f"{step.where}: INPUT_* env on a step that runs no script")

    by_id = {s.data["id"]: s for s in steps if s.data.get("id")}
    for name, spec in (data.get("outputs") or {}).items():
        value = str((spec or {}).get("value", "")).strip()
        output_ref = _OUTPUT_VALUE.match(value)
        if not output_ref:
            problems.append(
                f"output {name}: value {value!r} is not ${{{{ steps.ID.outputs.NAME }}}}"
            )
            continue
        step_id, output = output_ref.groups()
        step = by_id.get(step_id)
        if step is None:
            problems.append(f"output {name}: no step has id {step_id!r}")
        elif not step.commands:
            problems.append(f"output {name}: step {step_id!r} runs no goci command")
        elif not any(output in c.outputs for c in step.commands):
            names = ", ".join(f"goci {c.name}" for c in step.commands)
            problems.append(f"output {name}: {names} declares no output {output!r}")
    return problems


def load(path: Path) -> tuple[Any, str]:
    raw = path.read_text(encoding="utf-8")
    return yaml.safe_load(raw), raw


def test_there_are_actions_to_check() -> None:
    assert ROOT / "action.yml" in ACTION_FILES
    assert ROOT / "actions" / "cache-key" / "action.yml" in ACTION_FILES


@pytest.mark.parametrize("path", ACTION_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_action_keeps_the_contract(path: Path) -> None:
    data, raw = load(path)
    assert contract_problems(path, data, raw) == []
    for key in ("name", "description"):
        assert data.get(key), f"{path}: no {key}"
    for kind in ("inputs", "outputs"):
        for name, spec in (data.get(kind) or {}).items():
            assert (spec or {}).get("description"), f"{kind[:-1]} {name} has no description"


def test_every_command_an_action_runs_is_registered() -> None:
    """Sanity of the scanner itself: the cache-key action runs two known commands."""
    data, _raw = load(ROOT / "actions" / "cache-key" / "action.yml")
    problems: list[str] = []
    called = [
        c.name for s in data["runs"]["steps"] for c in goci_calls(s.get("run", ""), problems, "")
    ]
    assert problems == []
    assert called == ["cache-key", "cache mark"]


CACHE_KEY = ROOT / "actions" / "cache-key" / "action.yml"


def broken(mutate: Any) -> tuple[Any, str]:
    data, raw = load(CACHE_KEY)
    data = copy.deepcopy(data)
    changed = mutate(data, raw)  # edits data in place, or returns the edited text
    return data, changed if isinstance(changed, str) else raw


def _step(data: Any, step_id: str) -> dict[str, Any]:
    return next(s for s in data["runs"]["steps"] if s.get("id") == step_id)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d, r: _step(d, "keys").update(
                run='goci cache-key --prefix "${{ inputs.prefix }}"'
            ),
            "`${{` inside a run: script",
        ),
        (
            lambda d, r: d["inputs"].update({"colour": {"description": "x"}}),
            "input colour: no step passes it as INPUT_COLOUR",
        ),
        (
            lambda d, r: (
                d["inputs"].update({"colour": {"description": "x"}}),
                _step(d, "keys")["env"].update(INPUT_COLOUR="${{ inputs.colour }}"),
            ),
            "input colour: not an option of goci cache-key",
        ),
        (
            lambda d, r: _step(d, "keys")["env"].update(INPUT_PREFIX="${{ inputs.target }}"),
            "env INPUT_PREFIX carries inputs.target",
        ),
        (
            lambda d, r: _step(d, "keys").update(run="goci cache-keys"),
            "`goci cache-keys` is not a goci command",
        ),
        (
            lambda d, r: d["outputs"].update(
                {"hit": {"description": "x", "value": "${{ steps.mod.outputs.cache-hit }}"}}
            ),
            "output hit: step 'mod' runs no goci command",
        ),
        (
            lambda d, r: d["outputs"].update(
                {"nope": {"description": "x", "value": "${{ steps.keys.outputs.nope }}"}}
            ),
            "output nope: goci cache-key declares no output 'nope'",
        ),
        (
            lambda d, r: d["outputs"].update({"raw": {"description": "x", "value": "abc"}}),
            "output raw: value 'abc' is not",
        ),
        (
            lambda d, r: r.replace("5a3ec84eff668545956fd18022155c47e93e2684 # v4.2.3", "v4", 1),
            "uses: actions/cache/restore@v4 is not pinned",
        ),
        (
            lambda d, r: r.replace(" # v4.2.3", "", 1),
            "has no `# vX.Y.Z` comment",
        ),
        (
            lambda d, r: d["runs"]["steps"].pop(2),
            "the first four steps must be goci's set-up",
        ),
        (  # saved after every miss, even where the job had them already
            lambda d, r: d["runs"]["steps"][3].update(
                {"if": "steps.goci-deps-cache.outputs.cache-hit != 'true'"}
            ),
            "the first four steps must be goci's set-up",
        ),
        (
            lambda d, r: _step(d, "mod")["with"].update(key="${{ inputs.prefix }}-mod"),
            "inputs.prefix used outside env:",
        ),
    ],
)
def test_the_contract_check_catches(mutate: Any, expected: str) -> None:
    data, raw = broken(mutate)
    problems = contract_problems(CACHE_KEY, data, raw)
    assert any(expected in p for p in problems), problems


def test_the_mode_input_may_choose_the_command() -> None:
    def add_mode(data: Any, raw: str) -> None:
        data["inputs"]["mode"] = {"description": "which job"}
        step = _step(data, "mark")
        step["env"]["INPUT_MODE"] = "${{ inputs.mode }}"
        step["run"] = (
            'case "$INPUT_MODE" in\n  mark) goci cache mark ;;\n  trim) goci cache trim ;;\n'
            '  *) echo "::error::mode: $INPUT_MODE is not mark or trim"; exit 2 ;;\nesac\n'
        )

    data, raw = broken(add_mode)
    assert contract_problems(CACHE_KEY, data, raw) == []
    _step(data, "mark")["run"] = "goci cache mark"
    assert any("does not read $INPUT_MODE" in p for p in contract_problems(CACHE_KEY, data, raw))


def test_the_readme_table_names_every_input_and_output_of_every_action() -> None:
    """The README's table of actions is what users read first: exactly the inputs and outputs
    each action.yml declares, none missing, none left over from an old version."""
    rows = {
        cells[1].strip(): cells
        for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `") and len(cells := line.split("|")) == 5
    }
    for path in ACTION_FILES:
        folder = path.parent.relative_to(ROOT).as_posix()
        label = "`.` (setup)" if folder == "." else f"`{folder}`"
        assert label in rows, f"README: no row for {folder}"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        named = [set(re.findall(r"`([a-z0-9-]+)`", rows[label][column])) for column in (2, 3)]
        assert named == [set(data.get("inputs") or {}), set(data.get("outputs") or {})], folder
