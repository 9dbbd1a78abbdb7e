"""What a commit really affects, computed without goci, and how precise ``goci changed`` is.

The ground truth fingerprints every build and every test binary of a tree from ``go list -e
-deps -test -json`` alone: a package's build is its own compiled and embedded files, its module
version and the same of every package in its ``Deps``; a test binary is the same over the
``p.test`` entry's ``Deps`` (test variants included), plus the files its test can open by a
relative path, i.e. every tracked file below the package folder that no nested package or
module claims. A package is affected by a commit when either fingerprint differs between the
two trees (or the package is new). Comparing goci's answer with that set gives its misses
(affected but not selected) and its precision (selected and affected, over selected).

Each package is fingerprinted in its own module's build (``GOWORK=off`` in the module folder),
as CI tests it when there is no go.work.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.affected_monorepo import Monorepo, commit_all, git, interesting_targets
from support.goproxy import GoProxy

# Written out here, not taken from goci: the truth must not share goci's blind spots.
# fmt: off
_FILE_FIELDS = (
    "GoFiles", "CgoFiles", "CFiles", "CXXFiles", "MFiles", "HFiles", "FFiles", "SFiles",
    "SwigFiles", "SwigCXXFiles", "SysoFiles", "EmbedFiles",
    "TestGoFiles", "XTestGoFiles", "TestEmbedFiles", "XTestEmbedFiles",
)
# fmt: on
_NOT_DATA = {"go.mod", "go.sum", "go.work", "go.work.sum"}


@dataclass(frozen=True)
class Prints:
    """A tree's fingerprints: local package -> (build, test binary or None without tests)."""

    packages: Mapping[str, tuple[str, str | None]]

    def affected(self, before: Prints) -> tuple[frozenset[str], frozenset[str]]:
        """(packages whose build or tests changed, packages whose test binary changed)."""
        changed, tests = set(), set()
        for path, (build, test) in self.packages.items():
            old = before.packages.get(path)
            if old is None or old[0] != build or old[1] != test:
                changed.add(path)
            if test is not None and (old is None or old[1] != test):
                tests.add(path)
        return frozenset(changed), frozenset(tests)


def _decode(text: str) -> Iterator[dict[str, Any]]:
    decoder, index = json.JSONDecoder(), 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return
        obj, index = decoder.raw_decode(text, index)
        yield obj


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "-"


def _own(entry: Mapping[str, Any]) -> str:
    """One package entry's own inputs: its identity, module version and file contents."""
    module = entry.get("Module") or {}
    replace = module.get("Replace") or {}
    parts = [
        str(entry.get("ImportPath")),
        str(module.get("Path", "")),
        str(module.get("Version", "")),
        str(replace.get("Path", "")),
        str(replace.get("Version", "")),
    ]
    folder = Path(str(entry.get("Dir", "")))
    # A package's own entry also names its test files; only its test variants compile them.
    plain = not entry.get("ForTest") and not str(entry.get("ImportPath")).endswith(".test")
    for key in _FILE_FIELDS[:-4] if plain else _FILE_FIELDS:
        for name in entry.get(key) or ():
            path = folder / name
            label = path.name if Path(name).is_absolute() else name  # testmain: cache path
            parts.append(f"{key}:{label}:{_file_digest(path)}")
    return _digest(*parts)


def fingerprints(root: Path, module_dirs: list[Path], go: str, env: Mapping[str, str]) -> Prints:
    """Fingerprint every package of the modules in ``module_dirs`` (folders under ``root``)."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, env=dict(env), capture_output=True, check=True
    ).stdout.decode()
    files = [f for f in tracked.split("\0") if f]
    answer: dict[str, tuple[str, str | None]] = {}
    claimed: set[str] = {
        (d.relative_to(root)).as_posix() for d in module_dirs if (d / "go.mod").is_file()
    }
    listings: list[tuple[Path, list[dict[str, Any]]]] = []
    for folder in module_dirs:
        proc = subprocess.run(
            [go, "list", "-e", "-deps", "-test", "-json", "./..."],
            cwd=folder,
            env={**env, "GOWORK": "off"},
            capture_output=True,
            text=True,
            check=False,
        )
        if not proc.stdout.strip():
            raise RuntimeError(f"go list failed in {folder}: {proc.stderr[-2000:]}")
        entries = [e for e in _decode(proc.stdout) if not e.get("Standard")]
        listings.append((folder, entries))
        for entry in entries:
            if (entry.get("Module") or {}).get("Main") and not entry.get("ForTest"):
                claimed.add(Path(str(entry["Dir"])).relative_to(root).as_posix())
    for _folder, entries in listings:
        own = {str(e["ImportPath"]): _own(e) for e in entries}
        for entry in entries:
            path = str(entry["ImportPath"])
            if entry.get("ForTest") or path.endswith(".test"):
                continue
            if not (entry.get("Module") or {}).get("Main"):
                continue
            deps = sorted(own.get(d, d) for d in entry.get("Deps") or ())
            build = _digest(own[path], *deps)
            main = next((e for e in entries if e.get("ImportPath") == f"{path}.test"), None)
            test = None
            if main is not None:
                test_deps = sorted(own.get(d, d) for d in main.get("Deps") or ())
                data = _data_files(Path(str(entry["Dir"])).relative_to(root), files, claimed)
                stamps = [f"{f}:{_file_digest(root / f)}" for f in data]
                test = _digest(own[f"{path}.test"], *test_deps, *stamps)
            answer[path] = (build, test)
    return Prints(answer)


def _data_files(folder: Path, files: list[str], claimed: set[str]) -> list[str]:
    """Tracked files a test of the package in ``folder`` can read by a relative path: those
    below its folder that no nested package or module claims."""
    base = folder.as_posix()
    prefix = "" if base == "." else base + "/"
    found = []
    for name in files:
        if not name.startswith(prefix) or Path(name).name in _NOT_DATA:
            continue
        parent = Path(name).parent
        owner = parent
        while owner.as_posix() not in claimed and owner != Path("."):
            owner = owner.parent
        if (owner.as_posix() if owner != Path(".") else ".") == base:
            found.append(name)
    return found


@dataclass(frozen=True)
class Scored:
    """goci's answer to one commit against the ground truth."""

    label: str
    truth: frozenset[str]
    truth_tests: frozenset[str]
    selected: frozenset[str]
    selected_tests: frozenset[str]
    everything: bool
    reasons: tuple[str, ...]
    packages: int  # how many packages the head commit has

    @property
    def misses(self) -> frozenset[str]:
        return (self.truth - self.selected) | (self.truth_tests - self.selected_tests)

    @property
    def correct(self) -> int:
        return len(self.selected & self.truth)


# -- a history with every cause of over-selection the replay of a real repository found -----

_READ_TEST = """package {pkg}

import (
\t"os"
\t"testing"
)

func TestReads{name}(t *testing.T) {{
\tif raw, err := os.ReadFile("{file}"); err != nil || len(raw) == 0 {{
\t\tt.Fatalf("{file}: %v", err)
\t}}
}}
"""


def publish_deps(proxy: GoProxy) -> None:
    """assert v1.0.0 requires tools v0.1.0 and v1.1.0 requires nothing (a bump prunes the
    graph); tools v0.2.0 and sys are used by another module at both commits."""
    for version in ("v0.1.0", "v0.2.0"):
        proxy.add(
            "ex.com/tools", version, {"tools.go": f'package tools\n\nconst T = "{version}"\n'}
        )
    proxy.add("ex.com/sys", "v0.1.0", {"sys.go": "package sys\n\nconst S = 1\n"})
    proxy.add(
        "ex.com/assert",
        "v1.0.0",
        {"assert.go": "package assert\n\nconst A = 1\n"},
        gomod="module ex.com/assert\n\ngo 1.21\n\nrequire ex.com/tools v0.1.0\n",
    )
    proxy.add("ex.com/assert", "v1.1.0", {"assert.go": "package assert\n\nconst A = 2\n"})


def precision_history(repo: Monorepo, go: str, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """Commit, on a generated monorepo of at least 3 modules of 4 packages (with its git
    repository), a base with third-party dependencies and then one commit per kind of change.
    Returns ``[(label, sha)]``, the base first. ``env`` must point GOPROXY at a proxy that
    :func:`publish_deps` filled."""
    root = repo.root
    m0, m1, m2 = (f"mods/m{i}" for i in range(3))
    # Changes land in the most imported package of a module, where over-selection costs most.
    docs, golden, windows = (_most_imported(repo, m) for m in range(3))

    def put(relpath: str, text: str) -> None:
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def in_module(folder: str, *args: str) -> None:
        off = {**env, "GOWORK": "off"}
        subprocess.run([go, *args], cwd=root / folder, env=off, check=True, capture_output=True)

    def tidy(*folders: str) -> None:
        for folder in folders:
            in_module(folder, "mod", "tidy")

    # m0 has a root package every package of m0 and m1 imports (like a version package),
    # whose test reads VERSIONING.md; p1 imports assert, p2's test does; m2 uses tools and sys.
    put(f"{m0}/version.go", 'package m0\n\nconst Version = "1"\n')
    put(f"{m0}/VERSIONING.md", "Version 1.\n")
    put(
        f"{m0}/version_test.go",
        _READ_TEST.format(pkg="m0", name="Versioning", file="VERSIONING.md"),
    )
    for pkg in repo.packages.values():
        if pkg.module in (0, 1):
            put(
                f"{pkg.folder}/root.go",
                f'package {pkg.name}\n\nimport m0 "ex.com/m0"\n\nvar _ = m0.Version\n',
            )
    put(f"{m0}/p1/assert.go", 'package p1\n\nimport "ex.com/assert"\n\nvar _ = assert.A\n')
    put(f"{m0}/p2/assert_test.go", 'package p2\n\nimport "ex.com/assert"\n\nvar _ = assert.A\n')
    put(f"{m0}/{docs}/README.md", "# notes\n")
    put(f"{m1}/{golden}/golden.json", "{}\n")
    put(
        f"{m1}/{golden}/golden_test.go",
        _READ_TEST.format(pkg=golden, name="Golden", file="golden.json"),
    )
    put(
        f"{m2}/p0/deps.go",
        'package p0\n\nimport (\n\t"ex.com/sys"\n\t"ex.com/tools"\n)\n\n'
        "var _, _ = sys.S, tools.T\n",
    )
    _require(root / m0 / "go.mod", "ex.com/assert v1.0.0")
    _require(root / m2 / "go.mod", "ex.com/tools v0.2.0", "ex.com/sys v0.1.0")
    folders = [f"mods/m{i}" for i in range(repo.modules)]
    tidy(*folders)
    history = [("base", commit_all(root, env, "precision base"))]

    def step(label: str, change: Callable[[], None]) -> None:
        change()
        history.append((label, commit_all(root, env, label)))

    def append(relpath: str, text: str) -> Callable[[], None]:
        return lambda: put(relpath, (root / relpath).read_text() + text)

    def bump() -> None:
        in_module(m0, "get", "ex.com/assert@v1.1.0")
        tidy(*folders[1:])

    target = interesting_targets(repo)[0]
    step("docs at a module root (VERSIONING.md)", append(f"{m0}/VERSIONING.md", "More.\n"))
    step("docs in a package folder", append(f"{m0}/{docs}/README.md", "More.\n"))
    step("a file a test reads from its folder", append(f"{m1}/{golden}/golden.json", "\n"))
    step(f"code of {target}", lambda: repo.mutate(target))
    step("a test file", append(f"{m1}/{golden}/golden_test.go", "\n// more\n"))
    step("bump assert in m0 (prunes tools there)", bump)
    step(
        "a file for windows only",
        lambda: put(f"{m2}/{windows}/extra_windows.go", f"package {windows}\n"),
    )
    step("a workflow file (--global-files)", lambda: put(".github/workflows/ci.yml", "on: push\n"))
    return history


def _most_imported(repo: Monorepo, module: int) -> str:
    """The name of the package of ``module`` that most packages import."""
    imported = [i for p in repo.packages.values() for i in p.imports]
    mine = [p for p in repo.packages.values() if p.module == module]
    return max(mine, key=lambda p: (imported.count(p.path), p.name)).name


def _require(gomod: Path, *requirements: str) -> None:
    lines = "".join(f"require {r}\n" for r in requirements)
    gomod.write_text(gomod.read_text() + lines, encoding="utf-8")


def score_history(
    repo: Monorepo, history: list[tuple[str, str]], go: str, env: Mapping[str, str]
) -> list[Scored]:
    """Check out each commit, fingerprint it, and score ``goci changed`` against its parent."""
    from goci.changed.affected import analyse
    from goci.tools.gittool import Git
    from goci.tools.gotool import Go

    go_door, git_door = Go(env, exe=go), Git(repo.root, env)
    modules = repo.module_dirs()
    results: list[Scored] = []
    before: Prints | None = None
    try:
        for index, (label, sha) in enumerate(history):
            git(repo.root, env, "checkout", "-q", sha)
            now = fingerprints(repo.root, modules, go, env)
            if before is not None:
                truth, truth_tests = now.affected(before)
                answer = analyse(repo.root, go_door, git_door, base=history[index - 1][1], head=sha)
                results.append(
                    Scored(
                        label,
                        truth,
                        truth_tests,
                        frozenset(answer.packages),
                        frozenset(answer.test_packages),
                        answer.all,
                        answer.all_reasons,
                        len(now.packages),
                    )
                )
            before = now
    finally:
        git(repo.root, env, "checkout", "-q", "main")
    return results
