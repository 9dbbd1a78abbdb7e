"""Write files and folders all at once or not at all: a reader, a rerun or a crash never sees
half a file or a folder of two writers.

The temporary file is named ``.{name}.{host}-{pid}.{random}.tmp`` and registered as live work
of this process while it is written, so a later run can tell a killed writer's leftover (its
process is gone) from another writer's file in progress (see :mod:`goci.tools.owner`).
It lives in :mod:`goci.tools` because every capability writes files (profiles, JUnit, build
records, releases, the file store) and none of them owns the rule.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from goci.tools.owner import Owner, register_live, unregister_live

_CHUNK = 1 << 20
# What a new file gets before the umask, as with open(): other tools of the job (an uploader,
# a coverage viewer running as another user) read what goci writes, as the user's umask allows.
_FILE_MODE = 0o666
_BINARY = getattr(os, "O_BINARY", 0)
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<tag>[0-9a-f]{8}-\d{1,10})\.[^.]+\.tmp$")


def temp_owner(name: str) -> Owner | None:
    """The writer a temporary file name records (None for a name write_atomic did not make)."""
    match = _TEMP.match(name)
    return Owner.from_tag(match.group("tag")) if match else None


def is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


def temp_token(tmp: str | Path) -> str:
    """The live-work token of a temporary file: its name alone, which is unique (owner and
    random part), so two spellings of one folder never make a live file look abandoned."""
    return "file:" + os.path.basename(tmp)


def write_atomic(path: Path, content: bytes | str | Path) -> None:
    """Put ``content`` at ``path`` through a temporary file in the same folder, renamed last.

    ``str`` is written as UTF-8 text, ``bytes`` as they are, and a ``Path`` is copied. The data
    is flushed to disk before the rename so that a crash leaves the old file or the new one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = mkstemp_owned(path, mode=_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(content, Path):
                with content.open("rb") as source:
                    shutil.copyfileobj(source, handle, _CHUNK)
            else:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        unregister_live(temp_token(tmp))


@contextlib.contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` for a writer that wants a file name of its own (``go
    tool cover -o``, a merge staging its profile): moved onto ``path`` when the block ends
    without error, removed when it fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = mkstemp_owned(path, mode=_FILE_MODE)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
        unregister_live(temp_token(tmp))


@contextlib.contextmanager
def atomic_text(path: Path) -> Iterator[TextIO]:
    """A UTF-8 text file written in pieces (a profile, Cobertura XML: too large to hold as one
    string), flushed to disk and moved onto ``path`` only once complete, as in write_atomic."""
    with atomic_target(path) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def write_once(path: Path, content: bytes | str) -> bool:
    """Put ``content`` at ``path`` unless a file is already there; whether this call wrote it.

    The file appears whole (a temporary file linked into place: link() fails on an existing
    name instead of replacing it, as rename() would), so of writers at the same moment exactly
    one writes, even one that looked and found no file before another wrote, and a reader never
    sees half a file. The data is flushed to disk before the link, as in write_atomic. ``str``
    is written as UTF-8 text.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = mkstemp_owned(path, mode=_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content.encode("utf-8") if isinstance(content, str) else content)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        Path(tmp).unlink(missing_ok=True)
        unregister_live(temp_token(tmp))


def mkstemp_owned(path: Path, mode: int = 0o600) -> tuple[int, str]:
    """A new temporary file beside ``path``, named after its owner and registered as live.

    ``mode`` is given to open(), so the umask applies to it: a file goci writes for others to
    read (a profile, a report) gets :data:`_FILE_MODE`, the mode ``open()`` gives a new file.
    The caller unregisters it (``unregister_live(temp_token(tmp))``) once renamed or removed.

    The folder must exist; one that vanishes after the caller made it (a store's delete
    removes folders it left empty, and another writer may be just about to write there) is
    made again, a few times.
    """
    tag = Owner.here().tag
    remade = 0
    while True:
        tmp = str(path.parent / f".{path.name}.{tag}.{secrets.token_hex(4)}.tmp")
        register_live(temp_token(tmp))  # before the file exists: no cleaner sees it unregistered
        try:
            return os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | _BINARY, mode), tmp
        except FileExistsError:
            unregister_live(temp_token(tmp))
        except FileNotFoundError:
            unregister_live(temp_token(tmp))
            if remade == 3:
                raise
            remade += 1
            path.parent.mkdir(parents=True, exist_ok=True)
        except BaseException:
            unregister_live(temp_token(tmp))
            raise


def swap_folder(new: Path, dest: Path, *, replace: bool = True) -> None:
    """Put the finished folder ``new`` at ``dest`` by renaming, never by copying into it.

    A reader sees the old folder or the new one, each whole (for a moment none, while the old
    one is renamed away), never a mix. An old folder is renamed to a name of its own (hidden,
    beside it) and removed only once the new one is in, so two writers swapping at the same
    moment both finish: the last one's folder stays. With ``replace=False`` a folder already at
    ``dest`` (another writer's, say) is kept and FileExistsError raised; ``new`` stays as it is.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    trash: list[Path] = []
    try:
        while True:
            try:
                os.rename(new, dest)  # fails on a folder that holds anything
                return
            except OSError as exc:
                if not isinstance(exc, FileExistsError) and exc.errno != errno.ENOTEMPTY:
                    raise
            if not replace:
                raise FileExistsError(errno.EEXIST, "a folder is already there", str(dest))
            away = dest.with_name(f".{dest.name}.{Owner.here().tag}.{secrets.token_hex(4)}.old")
            try:
                os.rename(dest, away)
            except FileNotFoundError:
                continue  # another writer moved it first: try again
            trash.append(away)
    finally:
        for folder in trash:
            shutil.rmtree(folder, ignore_errors=True)
