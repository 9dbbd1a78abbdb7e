"""Write files all at once or not at all: a reader, a rerun or a crash never sees half a file."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_CHUNK = 1 << 20


def write_atomic(path: Path, content: bytes | str | Path) -> None:
    """Put ``content`` at ``path`` through a temporary file in the same folder, renamed last.

    ``str`` is written as UTF-8 text, ``bytes`` as they are, and a ``Path`` is copied. The data
    is flushed to disk before the rename so that a crash leaves the old file or the new one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(content, Path):
                with content.open("rb") as source:
                    shutil.copyfileobj(source, handle, _CHUNK)
            else:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
