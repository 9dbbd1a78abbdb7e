"""One folder swap for build's dist/{service}/{target} and pack's release folder: a reader sees
a whole folder, old or new, and two writers swapping into one place at once both finish."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from goci.tools.atomic import swap_folder

FILES = [f"f{i}" for i in range(6)]


def folder_of(root: Path, name: str) -> Path:
    """A finished folder whose every file says who wrote it."""
    folder = root / f"staging-{name}"
    folder.mkdir()
    for file in FILES:
        (folder / file).write_text(name)
    return folder


def test_first_swap_replace_and_refusal(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "svc" / "linux-amd64"
    swap_folder(folder_of(tmp_path, "a"), dest)
    assert {p.read_text() for p in dest.iterdir()} == {"a"}
    swap_folder(folder_of(tmp_path, "b"), dest)
    assert {p.read_text() for p in dest.iterdir()} == {"b"}
    kept = folder_of(tmp_path, "c")
    with pytest.raises(FileExistsError):
        swap_folder(kept, dest, replace=False)
    assert {p.read_text() for p in dest.iterdir()} == {"b"} and kept.is_dir()
    # nothing but the folder itself is left beside it (the old one is removed)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["linux-amd64"]


def test_two_writers_and_a_reader_at_the_same_moment(tmp_path: Path) -> None:
    dest = tmp_path / "dist" / "dev" / "api-20250102030405"
    rounds, writers = 40, ("a", "b")
    staged = {w: [folder_of(tmp_path, f"{w}{i}") for i in range(rounds)] for w in writers}
    start = threading.Barrier(len(writers) + 1)
    done = threading.Event()
    errors: list[BaseException] = []
    mixed: list[set[str]] = []

    def write(name: str) -> None:
        start.wait()
        try:
            for folder in staged[name]:
                swap_folder(folder, dest)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    def read_whole(folder: int) -> set[str]:
        found = set()
        for file in FILES:
            fd = os.open(file, os.O_RDONLY, dir_fd=folder)
            with os.fdopen(fd) as handle:
                found.add(handle.read())
        return found

    def read() -> None:
        """Open the folder once and read every file of that folder (as a reader of a release
        would), never mixing names resolved before and after a swap."""
        start.wait()
        while not done.is_set():
            try:
                folder = os.open(dest, os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:
                continue  # between the old folder leaving and the new one arriving
            try:
                found = read_whole(folder)
            except FileNotFoundError:
                continue  # an old folder being removed after the swap
            finally:
                os.close(folder)
            if len(found) != 1:
                mixed.append(found)

    threads = [threading.Thread(target=write, args=(w,)) for w in writers]
    reader = threading.Thread(target=read)
    for thread in [*threads, reader]:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    assert errors == []
    assert mixed == []
    last = {(dest / f).read_text() for f in FILES}
    assert last in ({f"a{rounds - 1}"}, {f"b{rounds - 1}"})
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name]
    assert not any(folder.exists() for folders in staged.values() for folder in folders)
