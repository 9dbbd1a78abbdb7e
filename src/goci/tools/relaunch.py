"""How to start this same goci again as a program of its own (go starts GOCACHEPROG).

Under the setup action, goci is not installed in the venv that runs it: the launcher
(scripts/goci_main.py) puts the action's checkout on the path and records itself here, so a
child goci runs the same checkout, with the same job folder for compiled modules. Elsewhere
(goci installed with pip, the tests) the interpreter runs the installed package, isolated
(``-I``): a plain ``python -m goci`` would put the folder go starts it in first on the path,
where a repository's own ``goci/`` would run in goci's place, with the store's credentials.
"""

from __future__ import annotations

import sys

#: Set by scripts/goci_main.py: the interpreter, the launcher and the job's compiled-module
#: folder; empty when goci was not started through the launcher.
LAUNCHER: tuple[str, ...] = ()


def goci_command() -> tuple[str, ...]:
    """The words that start this goci as a new process (give goci's arguments after them)."""
    return LAUNCHER or (sys.executable, "-I", "-m", "goci")
