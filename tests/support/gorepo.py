"""Throw-away Go repositories in git: modules, packages, tests and commits written by tests."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Mapping
from pathlib import Path


class GoRepo:
    """A git repository on disk that tests fill with Go code and commit step by step."""

    def __init__(self, root: Path, env: Mapping[str, str]) -> None:
        self.root = root
        self.env = dict(env)
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "ci@example.com")
        self.git("config", "user.name", "goci tests")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str) -> str:
        """Run git in the repository and return its stripped stdout."""
        return subprocess.run(
            ["git", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def go(
        self, *args: str, cwd: str = ".", check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run the test environment's go in a folder of the repository."""
        return subprocess.run(
            [self.env.get("GOCI_GO", "go"), *args],
            cwd=self.root / cwd,
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
        )

    def write(self, relpath: str, text: str) -> Path:
        """Write a file (dedented), creating its folders."""
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def write_files(self, files: Mapping[str, str]) -> None:
        for relpath, text in files.items():
            self.write(relpath, text)

    def delete(self, relpath: str) -> None:
        path = self.root / relpath
        if path.is_dir():
            self.git("rm", "-rq", relpath)
        else:
            path.unlink()

    def module(self, folder: str, path: str, *, go: str = "1.21", extra: str = "") -> Path:
        """Write ``folder/go.mod`` declaring module ``path``."""
        prefix = "" if folder in ("", ".") else folder.rstrip("/") + "/"
        body = f"module {path}\n\ngo {go}\n"
        if extra:
            body += "\n" + textwrap.dedent(extra).strip() + "\n"
        return self.write(prefix + "go.mod", body)

    def package(self, folder: str, name: str, body: str = "", *, file: str = "") -> Path:
        """Write one Go file of package ``name`` in ``folder``."""
        filename = file or f"{Path(folder).name or name}.go"
        return self.write(f"{folder}/{filename}", f"package {name}\n\n" + textwrap.dedent(body))

    def commit(self, message: str = "change") -> str:
        """Stage everything and commit; returns the new commit's SHA."""
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")
