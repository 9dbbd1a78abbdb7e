"""The ``goci`` command as the setup action provides it.

    <venv python> goci_main.py PYCACHE_DIR [goci arguments...]

goci itself comes from this checkout (the action being run, so always the code the workflow
pinned); the venv that runs this file holds only goci's locked, verified dependencies (see
goci_deps.py). PYCACHE_DIR is a folder of the current job: Python writes and reads compiled
files there only, never the ``__pycache__`` folders inside the venv, which a later job reuses and
whose contents no lock can vouch for.
"""

import sys
from pathlib import Path


def main() -> None:
    sys.pycache_prefix = sys.argv.pop(1)
    # Instead of this script's folder: nothing but goci's sources is importable from here.
    sys.path[0] = str(Path(__file__).resolve().parent.parent / "src")
    sys.argv[0] = "goci"
    from goci.cli import main as goci

    sys.exit(goci())


if __name__ == "__main__":
    main()
