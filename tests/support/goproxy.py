"""A file-based GOPROXY, so tests can depend on "third-party" modules with no network.

The layout is the module proxy protocol's (``$module/@v/list``, ``.info``, ``.mod``, ``.zip``),
served to ``go`` as ``GOPROXY=file:///…``.
"""

from __future__ import annotations

import json
import textwrap
import zipfile
from collections.abc import Mapping
from pathlib import Path


def escape(path: str) -> str:
    """The proxy protocol's case encoding: upper-case letters become ``!`` + lower case."""
    return "".join(f"!{c.lower()}" if c.isupper() else c for c in path)


class GoProxy:
    """A folder that ``go`` reads as a module proxy."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return self.root.resolve().as_uri()

    def add(
        self,
        module: str,
        version: str,
        files: Mapping[str, str],
        *,
        gomod: str | None = None,
        time: str = "2024-01-01T00:00:00Z",
    ) -> None:
        """Publish ``module@version`` with ``files`` (paths relative to the module root)."""
        folder = self.root / escape(module) / "@v"
        folder.mkdir(parents=True, exist_ok=True)
        mod_text = gomod if gomod is not None else f"module {module}\n\ngo 1.21\n"
        (folder / f"{version}.mod").write_text(mod_text, encoding="utf-8")
        (folder / f"{version}.info").write_text(
            json.dumps({"Version": version, "Time": time}), encoding="utf-8"
        )
        prefix = f"{module}@{version}/"
        with zipfile.ZipFile(folder / f"{version}.zip", "w") as archive:
            archive.writestr(prefix + "go.mod", mod_text)
            for relpath, text in sorted(files.items()):
                archive.writestr(prefix + relpath, textwrap.dedent(text).lstrip("\n"))
        listing = folder / "list"
        versions = set(listing.read_text().split()) if listing.exists() else set()
        versions.add(version)
        listing.write_text("\n".join(sorted(versions)) + "\n", encoding="utf-8")
