"""A generated Go monorepo of several modules whose tests know the exact value of every function.

Each package ``p`` has ``F() int`` returning a constant plus the ``F()`` of the packages it
imports, and a test asserting the expected total; some packages have an external test that
imports another package (a test-only dependency) or read ``testdata/``, and each module has a
service (a main package). Making one ``F`` return a wrong value therefore fails exactly the tests
that can see it, which is what the safety harness checks ``goci changed`` against.

Used by ``bench/affected_safety.py``, ``bench/affected.py`` and ``tests/test_changed_safety.py``.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Pkg:
    module: int
    index: int
    const: int
    imports: list[str] = field(default_factory=list)
    test_imports: list[str] = field(default_factory=list)
    testdata: bool = False

    @property
    def module_path(self) -> str:
        return f"ex.com/m{self.module}"

    @property
    def path(self) -> str:
        return f"{self.module_path}/p{self.index}"

    @property
    def folder(self) -> str:
        return f"mods/m{self.module}/p{self.index}"

    @property
    def name(self) -> str:
        return f"p{self.index}"


@dataclass
class Monorepo:
    root: Path
    modules: int
    packages: dict[str, Pkg]
    services: dict[str, str]  # service import path -> package it calls
    workspace: bool

    def value(self, path: str, memo: dict[str, int] | None = None) -> int:
        memo = {} if memo is None else memo
        if path not in memo:
            pkg = self.packages[path]
            memo[path] = pkg.const + sum(self.value(i, memo) for i in pkg.imports)
        return memo[path]

    def source(self, pkg: Pkg, delta: int = 0) -> str:
        calls = "".join(f" + {i.rsplit('/', 1)[1]}_{_alias(i)}.F()" for i in pkg.imports)
        imports = "".join(f'\t{i.rsplit("/", 1)[1]}_{_alias(i)} "{i}"\n' for i in pkg.imports)
        head = f"package {pkg.name}\n\n"
        if imports:
            head += f"import (\n{imports})\n\n"
        body = f"func F() int {{ return {pkg.const + delta}{calls} }}\n"
        return head + "// F is this package's value.\n" + body

    def file_of(self, path: str) -> str:
        pkg = self.packages[path]
        return f"{pkg.folder}/{pkg.name}.go"

    def mutate(self, path: str) -> None:
        """Make ``path``'s F return a wrong value (off by one)."""
        pkg = self.packages[path]
        (self.root / self.file_of(path)).write_text(self.source(pkg, delta=1), encoding="utf-8")

    def restore(self, path: str) -> None:
        pkg = self.packages[path]
        (self.root / self.file_of(path)).write_text(self.source(pkg), encoding="utf-8")

    def module_dirs(self) -> list[Path]:
        return [self.root / "mods" / f"m{i}" for i in range(self.modules)]

    def go_patterns(self) -> list[str]:
        return [f"./mods/m{i}/..." for i in range(self.modules)]


def _alias(path: str) -> str:
    return path.split("/")[1]


def generate(
    root: Path,
    *,
    modules: int,
    per_module: int,
    seed: int = 7,
    workspace: bool = False,
    max_imports: int = 3,
) -> Monorepo:
    """Write the repository's files under ``root`` (no git); returns its model."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible layout, not a secret
    packages: dict[str, Pkg] = {}
    order: list[str] = []
    for m in range(modules):
        for k in range(per_module):
            pkg = Pkg(m, k, const=rng.randint(1, 9))
            earlier_same = [p for p in order if packages[p].module == m]
            earlier_other = [p for p in order if packages[p].module != m]
            candidates = earlier_same[-40:] + earlier_other[-40:]
            count = rng.randint(0, min(max_imports, len(candidates)))
            pkg.imports = sorted(rng.sample(candidates, count))
            if candidates and k % 3 == 1:
                pkg.test_imports = [rng.choice(candidates)]
            pkg.testdata = k % 4 == 2
            packages[pkg.path] = pkg
            order.append(pkg.path)
    services: dict[str, str] = {}
    repo = Monorepo(root, modules, packages, services, workspace)
    for m in range(modules):
        mine = [p for p in order if packages[p].module == m]
        services[f"ex.com/m{m}/cmd/svc{m}"] = mine[-1]
    _write(repo)
    return repo


def _write(repo: Monorepo) -> None:
    root = repo.root
    for m in range(repo.modules):
        lines = [f"module ex.com/m{m}", "", "go 1.21", ""]
        lines += [f"require ex.com/m{j} v0.0.0" for j in range(m)]
        lines += [f"replace ex.com/m{j} => ../m{j}" for j in range(m)]
        _put(root / "mods" / f"m{m}" / "go.mod", "\n".join(lines) + "\n")
    if repo.workspace:
        uses = "".join(f"\t./mods/m{m}\n" for m in range(repo.modules))
        _put(root / "go.work", f"go 1.21\n\nuse (\n{uses})\n")
    memo: dict[str, int] = {}
    for pkg in repo.packages.values():
        folder = root / pkg.folder
        _put(folder / f"{pkg.name}.go", repo.source(pkg))
        want = repo.value(pkg.path, memo)
        body = f'package {pkg.name}\n\nimport (\n\t"testing"\n'
        if pkg.testdata:
            body += '\t"os"\n\t"strconv"\n\t"strings"\n'
        body += ")\n\nfunc TestF(t *testing.T) {\n"
        if pkg.testdata:
            _put(folder / "testdata" / "want.txt", f"{want}\n")
            body += (
                '\traw, err := os.ReadFile("testdata/want.txt")\n'
                "\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n"
                "\twant, _ := strconv.Atoi(strings.TrimSpace(string(raw)))\n"
            )
        else:
            body += f"\twant := {want}\n"
        body += (
            '\tif got := F(); got != want {\n\t\tt.Fatalf("F() = %d, want %d", got, want)\n\t}\n}\n'
        )
        _put(folder / f"{pkg.name}_test.go", body)
        if pkg.test_imports:
            other = pkg.test_imports[0]
            alias = f"{other.rsplit('/', 1)[1]}_{_alias(other)}"
            xtest = (
                f'package {pkg.name}_test\n\nimport (\n\t"testing"\n\n\t{alias} "{other}"\n)\n\n'
                f"func TestOther(t *testing.T) {{\n\tif got := {alias}.F(); got != "
                f'{repo.value(other, memo)} {{\n\t\tt.Fatalf("other F() = %d", got)\n\t}}\n}}\n'
            )
            _put(folder / f"{pkg.name}_x_test.go", xtest)
    for service, target in repo.services.items():
        module = service.split("/")[1]
        name = service.rsplit("/", 1)[1]
        folder = root / "mods" / module / "cmd" / name
        _put(
            folder / "main.go",
            f'package main\n\nimport (\n\t"fmt"\n\n\tt "{target}"\n)\n\n'
            "func main() { fmt.Println(t.F()) }\n",
        )
    _put(root / "README.md", "# generated monorepo\n")


def _put(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def git(root: Path, env: Mapping[str, str], *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, env=dict(env), capture_output=True, text=True, check=True
    ).stdout.strip()


def init_git(root: Path, env: Mapping[str, str]) -> str:
    """git init + one commit of everything; returns the commit."""
    git(root, env, "init", "-q", "-b", "main")
    for key, value in (("user.email", "bench@example.com"), ("user.name", "bench")):
        git(root, env, "config", key, value)
    git(root, env, "config", "commit.gpgsign", "false")
    git(root, env, "add", "-A")
    git(root, env, "commit", "-q", "-m", "generated")
    return git(root, env, "rev-parse", "HEAD")


def commit_all(root: Path, env: Mapping[str, str], message: str) -> str:
    git(root, env, "add", "-A")
    git(root, env, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, env, "rev-parse", "HEAD")


def failing_tests(repo: Monorepo, go: str, env: Mapping[str, str]) -> set[str]:
    """Run the full ``go test ./...`` of every module (one go process, through a go.work kept
    outside the repository); the import paths whose tests fail."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory(prefix="goci-safety-") as scratch:
        gowork = repo.root / "go.work"
        if not repo.workspace:
            gowork = Path(scratch) / "go.work"
            uses = "".join(f"\t{folder}\n" for folder in repo.module_dirs())
            gowork.write_text(f"go 1.21\n\nuse (\n{uses})\n", encoding="utf-8")
        proc = subprocess.run(
            [go, "test", "-json", *repo.go_patterns()],
            cwd=repo.root,
            env={**env, "GOWORK": str(gowork)},
            capture_output=True,
            text=True,
            check=False,
        )
    failed: set[str] = set()
    for line in proc.stdout.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event.get("Action") == "fail" and event.get("Package") and not event.get("Test"):
            failed.add(event["Package"])
    if proc.returncode != 0 and not failed:
        raise RuntimeError(f"go test failed to run in {repo.root}: {proc.stderr[-2000:]}")
    return failed


def interesting_targets(repo: Monorepo) -> list[str]:
    """A few packages that exercise every kind of edge: most imported, imported across
    modules, imported only by a test, and one whose test reads testdata."""
    imported: dict[str, int] = {}
    cross: list[str] = []
    for pkg in repo.packages.values():
        for dep in pkg.imports:
            imported[dep] = imported.get(dep, 0) + 1
            if repo.packages[dep].module != pkg.module:
                cross.append(dep)
    test_only = [p.test_imports[0] for p in repo.packages.values() if p.test_imports]
    with_testdata = [p.path for p in repo.packages.values() if p.testdata]
    picks = [max(sorted(imported), key=lambda k: imported[k])] if imported else []
    for group in (cross, test_only, with_testdata):
        picks += [p for p in sorted(group) if p not in picks][:1]
    return picks


@dataclass(frozen=True)
class Mutation:
    """One broken package: which tests really fail, which goci selected, which it missed."""

    target: str
    failing: frozenset[str]
    selected: frozenset[str]

    @property
    def misses(self) -> frozenset[str]:
        return self.failing - self.selected


def mutation_check(
    repo: Monorepo, go_exe: str, env: Mapping[str, str], targets: list[str]
) -> list[Mutation]:
    """For each target: break it in a commit, run every test, compare with ``goci changed``."""
    from goci.changed.affected import analyse
    from goci.tools.gittool import Git
    from goci.tools.gotool import Go

    go = Go(env, exe=go_exe)
    git_door = Git(repo.root, env)
    base = git(repo.root, env, "rev-parse", "HEAD")
    results: list[Mutation] = []
    for target in targets:
        repo.mutate(target)
        head = commit_all(repo.root, env, f"break {target}")
        try:
            selected = analyse(repo.root, go, git_door, base=base, head=head).test_packages
            failing = failing_tests(repo, go_exe, env)
        finally:
            git(repo.root, env, "reset", "-q", "--hard", base)
        results.append(Mutation(target, frozenset(failing), frozenset(selected)))
    return results
