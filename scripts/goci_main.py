"""The ``goci`` command as the setup action provides it.

    <venv python> goci_main.py PYCACHE_DIR [goci arguments...]

goci itself comes from this checkout (the action being run, so always the code the workflow
pinned); the venv that runs this file holds only goci's locked, verified dependencies (see
goci_deps.py). PYCACHE_DIR is a folder of the current job: Python writes and reads compiled
files there only, never the ``__pycache__`` folders inside the venv, which a later job reuses and
whose contents no lock can vouch for. It writes them there even where the machine sets
PYTHONDONTWRITEBYTECODE (container images often do, to keep their own folders clean): the folder
is the job's own, and without it every goci command of the job would compile every module it
imports again (~50 ms for cache-key, more for the larger commands).
"""

import sys
from pathlib import Path

# What every goci command loads from the standard library (goci.cli's imports and theirs). The
# job's pycache replaces every ``__pycache__`` folder, the interpreter's own too, so a standard
# module first imported after it is set is compiled again in every job: ~0.25 s for these
# (typing, inspect, argparse, ...). Loaded before, they come from the interpreter's compiled
# files, which are as trusted as the interpreter itself (and as pathlib's above already are).
# A module missing here costs that compile once per job, nothing else.
STANDARD_MODULES = (
    "__future__",
    "argparse",
    "dataclasses",
    "hashlib",
    "json",
    "shlex",
    "subprocess",
    "textwrap",
    "typing",
)


def prepare(pycache: str) -> None:
    """Make goci importable from this checkout, compiled into the job's ``pycache``."""
    for name in STANDARD_MODULES:
        __import__(name)
    sys.pycache_prefix = pycache
    sys.dont_write_bytecode = False
    # Instead of this script's folder: nothing but goci's sources is importable from here.
    sys.path[0] = str(Path(__file__).resolve().parent.parent / "src")


def main() -> None:
    prepare(sys.argv.pop(1))
    sys.argv[0] = "goci"
    from goci.cli import main as goci

    sys.exit(goci())


if __name__ == "__main__":
    main()
