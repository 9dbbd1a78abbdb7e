"""The ``goci`` command as the setup action provides it.

    <venv python> goci_main.py PYCACHE_DIR [goci arguments...]

goci itself comes from this checkout (the action being run, so always the code the workflow
pinned); the venv that runs this file holds only goci's locked, verified dependencies (see
goci_deps.py). PYCACHE_DIR is a folder of the current job: goci's modules and its dependencies'
are compiled there, and read from there only, never from the ``__pycache__`` folders inside the
venv, which a later job reuses and whose contents no lock can vouch for. They are written there
even where the machine sets PYTHONDONTWRITEBYTECODE (container images often do, to keep their
own folders clean): the folder is the job's own, and without it every goci command of the job
would compile every module it imports again (~50 ms for cache-key, more for the larger ones).

The standard library is left as the interpreter has it: its own compiled files, as trusted as
the interpreter itself, and the machine's rule about writing them. (A process-wide
``sys.pycache_prefix`` would send the standard modules to the job's folder too, where every job
compiles each one it imports again: ~0.1 s for a test job's tempfile, shutil, logging, xml...)
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import (
    BYTECODE_SUFFIXES,
    EXTENSION_SUFFIXES,
    SOURCE_SUFFIXES,
    ExtensionFileLoader,
    FileFinder,
    SourceFileLoader,
    SourcelessFileLoader,
)
from types import CodeType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # typing is loaded anyway: every goci command's options use it
    from importlib.abc import PathEntryFinder

    from _typeshed import ReadableBuffer


class JobCompiledLoader(SourceFileLoader):
    """A module of goci or of a dependency: its compiled file lives in the job's folder.

    Python asks for ``<dir>/__pycache__/<name>.pyc``; the same file is read and written at
    ``<job folder>/<dir>/<name>.pyc`` instead, the layout ``sys.pycache_prefix`` uses.
    """

    folder = ""
    machine_rule = False  # sys.dont_write_bytecode as the machine set it, for everything else

    def _in_job(self, path: str) -> str:
        if not path.endswith(tuple(BYTECODE_SUFFIXES)):
            return path  # the source itself
        pycache, name = os.path.split(path)
        source_dir = os.path.splitdrive(os.path.dirname(pycache))[1]
        return os.path.join(self.folder, source_dir.lstrip("\\/"), name)

    def get_data(self, path: str) -> bytes:
        return super().get_data(self._in_job(path))

    def set_data(self, path: str, data: ReadableBuffer, *, _mode: int = 0o666) -> None:
        super().set_data(self._in_job(path), data, _mode=_mode)

    def get_code(self, fullname: str) -> CodeType | None:
        # Written even where the machine says not to: compiling does not import, so nothing
        # else is loaded while the flag is lifted. Put back to the machine's rule, not to what
        # it was on entry: a thread compiling beside this one may have lifted it meanwhile.
        sys.dont_write_bytecode = False
        try:
            return super().get_code(fullname)
        finally:
            sys.dont_write_bytecode = self.machine_rule


def job_roots(src: str) -> list[str]:
    """The folders whose modules compile into the job's folder: goci's sources and every
    import path that is not the standard library's (the venv's site-packages, above all)."""
    stdlib = os.path.dirname(os.__file__)
    roots = [src]
    for entry in sys.path:
        if not entry or not os.path.isdir(entry) or entry in roots:
            continue  # "" (the script's folder, replaced), zip archives, missing folders
        parts = set(entry.replace("\\", "/").split("/"))
        packages = bool(parts & {"site-packages", "dist-packages"})
        inside = entry.startswith(sys.base_prefix + os.sep) or entry == sys.base_prefix
        if packages or not (inside or entry == stdlib or stdlib.startswith(entry + os.sep)):
            roots.append(entry)
    return roots


def prepare(pycache: str) -> None:
    """Make goci importable from this checkout, its modules compiled into the job's ``pycache``."""
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "src")
    # Instead of this script's folder: nothing but goci's sources is importable from here.
    sys.path[0] = src
    sys.pycache_prefix = None  # the standard library's compiled files are where it keeps them
    JobCompiledLoader.folder = pycache
    JobCompiledLoader.machine_rule = sys.dont_write_bytecode
    roots = job_roots(src)
    finder = FileFinder.path_hook(
        (ExtensionFileLoader, EXTENSION_SUFFIXES),
        (JobCompiledLoader, SOURCE_SUFFIXES),
        (SourcelessFileLoader, BYTECODE_SUFFIXES),
    )

    def in_job(path: str) -> bool:
        return any(path == root or path.startswith(root + os.sep) for root in roots)

    def job_finder(path: str) -> PathEntryFinder:
        if not in_job(path):
            raise ImportError(f"{path}: the standard library, loaded as usual")
        return finder(path)

    sys.path_hooks.insert(0, job_finder)
    for path in [p for p in sys.path_importer_cache if in_job(p)]:
        del sys.path_importer_cache[path]  # found before the hook: found again through it


def main() -> None:
    pycache = sys.argv.pop(1)
    prepare(pycache)
    sys.argv[0] = "goci"
    from goci.tools import relaunch

    # A goci that starts goci again (GOCACHEPROG) starts it through this launcher: the venv
    # holds only goci's dependencies, and this checkout is the goci the workflow pinned.
    relaunch.LAUNCHER = (sys.executable, os.path.realpath(__file__), pycache)
    from goci.cli import main as goci

    sys.exit(goci())


if __name__ == "__main__":
    main()
