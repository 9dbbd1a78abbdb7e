"""``goci cache mark`` and ``goci cache trim`` on real Go build caches.

One build cache is filled once per module by a real ``go build`` / ``go run``; each test works
on its own copy (mtimes preserved, as actions/cache's tar restores them), so trimming one copy
never disturbs another test or the session's shared cache.
"""

from __future__ import annotations

import collections
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from goci.cache import gocache, registry, trim, units
from goci.errors import InputError
from support.goci_run import GociRun, actions_env, run_goci
from support.goproxy import GoProxy
from support.gorepo import GoRepo

MAIN = """
import (
    "example.com/trim/a"
    "example.com/trim/b"
)

func main() { println(a.A() + b.B()) }
"""


def go(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [env["GOCI_GO"], *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )


def compiles(build_x_stderr: str) -> list[str]:
    """The packages ``go build -x`` really compiled (a cache hit compiles nothing)."""
    return [
        line for line in build_x_stderr.splitlines() if "/compile " in line or "compile.exe" in line
    ]


def entry_files(cache: Path) -> list[Path]:
    return [p for p in cache.glob("??/*") if p.name.endswith(("-a", "-d"))]


def folder_bytes(cache: Path) -> int:
    """Bytes in the cache folder but for the running jobs' registrations, which trim does not
    count (it removes its own when it is done)."""
    return sum(
        p.lstat().st_size
        for p in cache.rglob("*")
        if p.is_file() and p.parent.name != registry.REGISTRY
    )


def export_file(root: Path, env: dict[str, str], package: str) -> Path:
    """The build cache file holding ``package``'s compiled export data."""
    out = go(root, env, "list", "-export", "-f", "{{.Export}}", package).stdout.strip()
    return Path(out)


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory, go_binary: Path, shared_go_dirs: dict[str, Path]
) -> tuple[Path, dict[str, str]]:
    """A real repo and a build cache holding it: main (built and run), a, b and old."""
    root = tmp_path_factory.mktemp("trim-seed")
    env = {k: os.environ[k] for k in ("PATH", "HOME", "TMPDIR", "LANG") if k in os.environ}
    env.update(
        GOCI_GO=str(go_binary),
        GOCACHE=str(root / "cache"),
        GOMODCACHE=str(shared_go_dirs["GOMODCACHE"]),
        GOPATH=str(shared_go_dirs["GOPATH"]),
        GOPROXY="off",
        GOTOOLCHAIN="local",
        GOFLAGS="-modcacherw",
        CGO_ENABLED="0",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
    )
    repo = GoRepo(root / "repo", env)
    repo.module(".", "example.com/trim")
    repo.package("a", "a", "func A() int { return 1 }\n")
    repo.package("b", "b", "func B() int { return 2 }\n")
    repo.package("old", "old", "func Old() int { return 3 }\n")
    repo.package(".", "main", MAIN, file="main.go")
    repo.commit("seed")
    go(repo.root, env, "build", "./...")
    go(repo.root, env, "run", ".")  # an executable entry: a -d folder holding the binary
    return repo.root, env


@pytest.fixture
def restored(
    seeded: tuple[Path, dict[str, str]], tmp_path: Path
) -> tuple[Path, dict[str, str], Path]:
    """This test's copy of the seeded repo and cache, as a CI job has them after a restore."""
    root, seed_env = seeded
    cache = tmp_path / "gocache"
    shutil.copytree(Path(seed_env["GOCACHE"]), cache, symlinks=True)
    shutil.copytree(root, tmp_path / "repo", symlinks=True)
    (cache / "fuzz" / "example.com" / "trim").mkdir(parents=True)
    (cache / "fuzz" / "example.com" / "trim" / "corpus").write_text("go test fuzz v1\n")
    (cache / "testexpire.txt").write_text("1700000000000000000\n")
    env = actions_env(tmp_path / "gha", {**seed_env, "GOCACHE": str(cache)})
    return tmp_path / "repo", env, cache


def mark(goci: Callable[..., GociRun], env: dict[str, str], repo: Path) -> int:
    run = goci("cache", "mark", "--json", env=env, cwd=repo)
    assert run.code == 0, run.stderr
    exported = Path(env["GITHUB_ENV"]).read_text()
    value = int(run.json()["mark"])
    assert "GOCI_CACHE_MARK<<" in exported and f"\n{value}\n" in exported
    return value


def test_mark_backdates_restored_entries_so_go_marks_what_it_uses(
    restored: tuple[Path, dict[str, str], Path], goci: Callable[..., GociRun]
) -> None:
    repo, env, cache = restored
    ancient = entry_files(cache)[0]
    os.utime(ancient, (1_000_000_000, 1_000_000_000))
    readme_mtime = (cache / "README").stat().st_mtime
    old_export = export_file(repo, env, "./old")  # go list uses the cache: ask before the mark

    value = mark(goci, env, repo)

    floor = value - trim.BACKDATE
    for path in entry_files(cache):
        if path != ancient:
            assert path.stat().st_mtime == floor, path
    assert ancient.stat().st_mtime == 1_000_000_000  # already older: left alone
    assert (cache / "README").stat().st_mtime == readme_mtime
    # Go now refreshes what it uses: a's compiled entry moves past the mark.
    go(repo, env, "build", "./a")
    assert export_file(repo, env, "./a").stat().st_mtime >= value
    assert old_export.stat().st_mtime == floor


def test_trim_drops_what_this_run_did_not_use_and_go_build_stays_cached(
    restored: tuple[Path, dict[str, str], Path], goci: Callable[..., GociRun]
) -> None:
    repo, env, cache = restored
    old_export = export_file(repo, env, "./old")
    b_before = export_file(repo, env, "./b")
    mark(goci, env, repo)
    env["GOCI_CACHE_MARK"] = next(
        line for line in Path(env["GITHUB_ENV"]).read_text().splitlines() if line.isdigit()
    )
    # This run changes b and builds only main: old is not used, the old b is replaced.
    (repo / "b" / "b.go").write_text("package b\n\nfunc B() int { return 20 }\n")
    go(repo, env, "build", "-o", os.devnull, ".")
    go(repo, env, "run", ".")
    used = {export_file(repo, env, p) for p in (".", "./a", "./b")}

    run = goci("cache", "trim", "--max-size", "none", "--json", env=env, cwd=repo)

    assert run.code == 0, run.stderr
    out = run.json()
    assert out["removed-files"] > 0 and out["removed-bytes"] > 0
    assert out["size-after"] == out["size-before"] - out["removed-bytes"]
    assert out["size-after"] == folder_bytes(cache)
    assert run.outputs["removed-files"] == str(out["removed-files"])
    assert not old_export.exists() and not b_before.exists()
    assert all(p.exists() for p in used)
    assert "removed" in run.stderr and str(out["removed-files"]) in run.stderr
    # Go's own files and other data are kept.
    for name in ("README", "trim.txt", "testexpire.txt", "fuzz/example.com/trim/corpus"):
        assert (cache / name).exists(), name
    # The cache is valid: every -a points at an existing -d, no -d is left unreferenced.
    after = gocache.scan(cache)
    assert after.broken == ()
    assert {e.output_id for e in after.entries} == set(after.outputs)
    # And still useful: building what this run built compiles nothing, and runs.
    build = subprocess.run(
        [env["GOCI_GO"], "build", "-x", "-o", os.devnull, "."],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert compiles(build.stderr) == []
    assert go(repo, env, "run", ".").stderr.strip() == "21"


def test_trim_keeps_exactly_the_entries_this_run_used_though_many_share_one_output(
    restored: tuple[Path, dict[str, str], Path], goci: Callable[..., GociRun]
) -> None:
    """Many entries point at one output: every compile's empty compiler output, for one. A
    used entry must not keep the others that point there (Go leaves an empty output's mtime
    alone), nor may their removal take the output a kept entry needs."""
    repo, env, cache = restored
    value = mark(goci, env, repo)
    env["GOCI_CACHE_MARK"] = str(value)
    go(repo, env, "build", "./a")  # this run uses a's entries and nothing else
    before = gocache.scan(cache)
    used = {e.location for e in before.entries if e.mtime >= value}
    shared = {e.output_id for e in before.entries if e.location in used}
    unused_sharing = {
        e.location for e in before.entries if e.location not in used and e.output_id in shared
    }
    assert used and unused_sharing  # the case at hand: a used and an unused entry, one output

    run = goci("cache", "trim", "--max-size", "none", "--json", env=env, cwd=repo)

    assert run.code == 0, run.stderr
    after = gocache.scan(cache)
    assert {e.location for e in after.entries} == used
    assert {e.output_id for e in after.entries} == set(after.outputs) == shared
    assert after.broken == ()


def test_size_budget_drops_least_recently_used_first(
    restored: tuple[Path, dict[str, str], Path], goci: Callable[..., GociRun]
) -> None:
    repo, env, cache = restored
    mark(goci, env, repo)
    go(repo, env, "build", "./a")  # the only entry used after the mark: the newest
    a_export = export_file(repo, env, "./a")
    before = folder_bytes(cache)
    budget = before // 3

    run = goci("cache", "trim", "--max-size", str(budget), "--json", env=env, cwd=repo)

    assert run.code == 0, run.stderr
    out = run.json()
    assert out["size-before"] == before
    assert out["size-after"] <= budget
    assert folder_bytes(cache) == out["size-after"]
    assert a_export.exists()
    after = gocache.scan(cache)
    assert after.broken == ()
    assert {e.output_id for e in after.entries} == set(after.outputs)
    for output in after.outputs.values():  # an executable entry is kept whole or not at all
        if output.path.is_dir():
            assert len(list(output.path.iterdir())) == 1
    # What was kept still serves: the newest entry is a cache hit.
    build = subprocess.run(
        [env["GOCI_GO"], "build", "-x", "./a"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert compiles(build.stderr) == []


def test_an_entry_whose_output_is_gone_is_removed_with_nothing_else(
    restored: tuple[Path, dict[str, str], Path], goci: Callable[..., GociRun]
) -> None:
    repo, env, cache = restored
    scan = gocache.scan(cache)
    victim = next(e for e in scan.entries if e.output and e.output.size > 0)
    sharing = [e.path for e in scan.entries if e.output_id == victim.output_id]
    victim.output.path.unlink()  # type: ignore[union-attr]
    broken_a = cache / "ff" / ("f" * 64 + "-a")
    broken_a.parent.mkdir(exist_ok=True)
    broken_a.write_text("not an action entry\n")
    orphan = cache / "ee" / ("e" * 64 + "-d")
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"nobody points here")

    run = goci("cache", "trim", "--max-size", "1GiB", "--json", env=env, cwd=repo)

    assert run.code == 0, run.stderr
    assert run.json()["removed-files"] == len(sharing) + 2
    assert not any(p.exists() for p in sharing)
    assert not broken_a.exists() and not orphan.exists()
    assert len(gocache.scan(cache).entries) == len(scan.entries) - len(sharing)


def test_trim_with_no_mark_only_enforces_the_budget(
    restored: tuple[Path, dict[str, str], Path], goci: Callable[..., GociRun]
) -> None:
    repo, env, cache = restored
    files = len(entry_files(cache))
    run = goci("cache", "trim", "--cache-dir", str(cache), env=env, cwd=repo)
    assert run.code == 0, run.stderr
    assert "not checked" in run.stdout
    assert run.outputs["removed-files"] == "0"
    assert len(entry_files(cache)) == files


def test_keep_within_keeps_what_earlier_runs_used(
    restored: tuple[Path, dict[str, str], Path], goci: Callable[..., GociRun]
) -> None:
    """Affected-only runs compile a different part each time: keep the recent past too."""
    repo, env, cache = restored
    old_export = export_file(repo, env, "./old")
    env["GOCI_CACHE_MARK"] = str(mark(goci, env, repo))
    go(repo, env, "build", "-o", os.devnull, ".")  # this run does not use ./old

    run = goci("cache", "trim", "--keep-within", "1d", "--max-size", "none", env=env, cwd=repo)

    assert run.code == 0, run.stderr
    assert old_export.exists()  # restored, so last used at most a day before the mark
    assert gocache.scan(cache).broken == ()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--max-size", "10QB"), "--max-size: '10QB'"),
        (("--max-size=-5MB",), "--max-size: '-5MB'"),
        (("--unused-since", "yesterday"), "--unused-since: 'yesterday'"),
        (("--keep-within", "a week"), "--keep-within: 'a week'"),
    ],
)
def test_bad_input_exits_2_and_writes_no_outputs(
    restored: tuple[Path, dict[str, str], Path],
    goci: Callable[..., GociRun],
    args: tuple[str, str],
    named: str,
) -> None:
    repo, env, cache = restored
    files = len(entry_files(cache))
    run = goci("cache", "trim", *args, env=env, cwd=repo)
    assert run.code == 2
    assert named in run.stderr
    assert run.outputs == {}
    assert len(entry_files(cache)) == files


def test_a_bad_mark_in_the_environment_is_named(
    restored: tuple[Path, dict[str, str], Path], goci: Callable[..., GociRun]
) -> None:
    repo, env, _cache = restored
    env["GOCI_CACHE_MARK"] = "soon"
    run = goci("cache", "trim", env=env, cwd=repo)
    assert run.code == 2
    assert "GOCI_CACHE_MARK: 'soon'" in run.stderr


def test_trim_of_a_missing_cache_folder_is_empty_not_an_error(
    tmp_path: Path, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """GOCACHE not there yet (a cache miss before the first build): nothing to trim. A mark
    after the miss creates the folder holding only the mark and the job's registration, which
    trim then reads and removes."""
    env = actions_env(tmp_path / "gha", {**go_env, "GOCACHE": str(tmp_path / "none")})
    run = goci("cache", "trim", "--json", env=env, cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert run.json() == {"removed-files": 0, "removed-bytes": 0, "size-before": 0, "size-after": 0}
    assert "not there yet" in run.stderr
    mark_run = goci("cache", "mark", "--json", env=env, cwd=tmp_path)
    assert mark_run.code == 0 and mark_run.json()["backdated-files"] == 0
    marked = tmp_path / "none" / trim.MARK_FILE
    assert sorted(p.name for p in (tmp_path / "none").iterdir()) == [
        trim.MARK_FILE,
        registry.REGISTRY,
    ]
    assert marked.read_text() == f"{mark_run.json()['mark']}\n"
    registrations = tmp_path / "none" / registry.REGISTRY
    assert [p.read_text() for p in registrations.iterdir()] == [marked.read_text()]
    run = goci("cache", "trim", "--json", env=env, cwd=tmp_path)
    assert list(registrations.iterdir()) == []
    assert run.code == 0, run.stderr
    size = marked.stat().st_size
    assert run.json() == {
        "removed-files": 0,
        "removed-bytes": 0,
        "size-before": size,
        "size-after": size,
    }


def test_trim_of_a_named_cache_dir_that_is_not_there_is_bad_input(
    tmp_path: Path, go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """A typo in --cache-dir must not pass as an empty cache: exit 2, naming the option."""
    missing = tmp_path / "missing"
    run = goci("cache", "trim", "--cache-dir", str(missing), env=go_env, cwd=tmp_path)
    assert run.code == 2
    assert f"--cache-dir: {str(missing)!r}" in run.stderr and "Traceback" not in run.stderr
    assert not missing.exists()
    env = {**go_env, "INPUT_CACHE_DIR": str(missing)}
    run = goci("cache", "trim", env=env, cwd=tmp_path)
    assert run.code == 2 and "INPUT_CACHE_DIR (cache-dir)" in run.stderr


def test_mark_then_trim_in_a_shell_works_without_actions(
    restored: tuple[Path, dict[str, str], Path], goci: Callable[..., GociRun]
) -> None:
    """Outside Actions no later step sees GOCI_CACHE_MARK: the mark in the cache folder is
    what the next ``goci cache trim`` reads, as the README's sequence runs it in a shell."""
    repo, actions, cache = restored
    env = {k: v for k, v in actions.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    old_export = export_file(repo, env, "./old")
    marked = goci("cache", "mark", env=env, cwd=repo)
    assert marked.code == 0, marked.stderr
    assert "set for later steps" not in marked.stdout
    assert str(cache / trim.MARK_FILE) in marked.stdout
    go(repo, env, "build", "-o", os.devnull, ".")  # this run does not use ./old
    used = {export_file(repo, env, p) for p in (".", "./a", "./b")}

    run = goci("cache", "trim", "--max-size", "none", env=env, cwd=repo)

    assert run.code == 0, run.stderr
    assert f"(from {cache / trim.MARK_FILE})" in run.stdout
    assert not old_export.exists()
    assert all(p.exists() for p in used)


class OtherJob:
    """Another job on the same GOCACHE, deleting files while trim works: a real thread.

    Deterministic without sleeping: trim's own directory listings are the clock. After trim
    (this thread) has listed folder F for the n-th time, the listing is handed to the other
    job, which deletes its victims for (F, n) and hands back; only then does trim go on to
    read or remove what it listed.
    """

    def __init__(self, plan: dict[tuple[Path, int], list[Path]]) -> None:
        # Real paths: a descriptor names its folder resolved (/private/var on macOS).
        self.plan = {(folder.resolve(), n): victims for (folder, n), victims in plan.items()}
        self.listings: Counter[Path] = Counter()
        self.deleted: list[Path] = []
        self.requests: queue.Queue[tuple[list[Path], threading.Event] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.real_scandir = os.scandir

    def _serve(self) -> None:
        while (request := self.requests.get()) is not None:
            victims, done = request
            for victim in victims:
                if victim.is_dir():
                    shutil.rmtree(victim)
                else:
                    victim.unlink()
                self.deleted.append(victim)
            done.set()

    def scandir(self, path: Any = ".") -> _Listing:
        listing = list(self.real_scandir(path))
        folder = Path(folder_of(path) if isinstance(path, int) else path).resolve()
        self.listings[folder] += 1
        victims = self.plan.get((folder, self.listings[folder]))
        if victims:
            done = threading.Event()
            self.requests.put((victims, done))
            done.wait()
        return _Listing(listing)

    def __enter__(self) -> OtherJob:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.requests.put(None)
        self.thread.join()


def folder_of(fd: int) -> str:
    """The folder an open descriptor is (rmtree lists by descriptor on Linux and macOS)."""
    if sys.platform == "darwin":
        import fcntl

        return fcntl.fcntl(fd, fcntl.F_GETPATH, bytes(1024)).rstrip(b"\0").decode()
    return os.readlink(f"/proc/self/fd/{fd}")


class _Listing:
    """What os.scandir returns: an iterator that is also a context manager."""

    def __init__(self, items: list[os.DirEntry[str]]) -> None:
        self.items = iter(items)

    def __iter__(self) -> Iterator[os.DirEntry[str]]:
        return self.items

    def __next__(self) -> os.DirEntry[str]:
        return next(self.items)

    def __enter__(self) -> _Listing:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


def test_trim_survives_another_job_deleting_files_mid_scan(
    restored: tuple[Path, dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, env, cache = restored
    since = trim.mark(cache).mark
    go(repo, env, "build", "./a")  # the only package this run uses
    used = export_file(repo, env, "./a")
    before = gocache.scan(cache)
    unused = [e for e in before.entries if e.last_used < since]
    plain = [e for e in unused if e.output and not e.output.path.is_dir()]
    executable = next(e.output for e in unused if e.output and e.output.path.is_dir())
    gone_before_read, gone_before_removal = plain[0].path, plain[1].path
    output_gone_before_stat = next(e.output.path for e in plain[2:] if e.output)
    binary = next(executable.path.iterdir())
    plan = {
        # While scanning: listed, then gone before trim reads the -a or stats the -d.
        (gone_before_read.parent, 1): [gone_before_read],
        (output_gone_before_stat.parent, 1): [output_gone_before_stat],
        # The cache folder's second listing (its other files, after every entry was read):
        # gone after the scan read it, before trim removes it.
        (cache, 2): [gone_before_removal],
        # The executable's folder is listed by the scan (its size), then by rmtree.
        (executable.path, 2): [binary],
    }
    files_before = set(entry_files(cache))

    with OtherJob(plan) as other:
        monkeypatch.setattr(os, "scandir", other.scandir)
        result = trim.trim(cache, unused_since=since, max_size=None)
        monkeypatch.undo()

    assert sorted(other.deleted) == sorted(v for victims in plan.values() for v in victims)
    files_after = set(entry_files(cache))
    # Trim counts what it removed itself, not what the other job deleted under it.
    removed_by_trim = files_before - files_after - set(other.deleted)
    assert result.removed_files == len(removed_by_trim) > 0
    assert not any(e.path.exists() for e in unused)
    assert not executable.path.exists()
    assert used.exists()
    after = gocache.scan(cache)
    assert after.broken == ()
    assert {e.output_id for e in after.entries} == set(after.outputs)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1GiB", 1024**3),
        ("1gib", 1024**3),
        ("512 MiB", 512 * 1024**2),
        ("64KiB", 65536),
        ("2GB", 2 * 10**9),
        ("1.5MB", 1_500_000),
        ("10KB", 10_000),
        ("1048576", 1048576),
        ("100B", 100),
        ("7 bytes", 7),
        ("none", None),
    ],
)
def test_sizes(text: str, size: int | None) -> None:
    assert units.parse_size(text) == size


@pytest.mark.parametrize("text", ["10QB", "", "GiB", "1 GiB extra", "1e9", "-1MB", "1,5GB"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(InputError, match=r"--max-size: .*is not a size; use a size like"):
        units.parse_size(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1764249600", 1764249600.0),
        ("1764249600.5", 1764249600.5),
        ("2025-11-27T13:20:00Z", 1764249600.0),
        ("2025-11-27T14:20:00+01:00", 1764249600.0),
        ("2025-11-27T13:20:00", 1764249600.0),
    ],
)
def test_times(text: str, seconds: float) -> None:
    assert units.parse_time(text) == seconds


@pytest.mark.parametrize("text", ["yesterday", "nan", "-5", "2025-13-01"])
def test_bad_times(text: str) -> None:
    with pytest.raises(InputError, match="--unused-since"):
        units.parse_time(text)


@pytest.fixture
def with_dependency(
    make_repo: Callable[..., GoRepo], goproxy: GoProxy, go_env: dict[str, str], tmp_path: Path
) -> tuple[GoRepo, dict[str, str], Path]:
    """A module depending on a "third-party" module, downloaded into a private module cache."""
    go_env["GOMODCACHE"] = str(tmp_path / "modcache")
    goproxy.add("example.com/dep", "v1.0.0", {"dep.go": "package dep\n\nconst N = 1\n"})
    repo = make_repo()
    repo.module(".", "example.com/app", extra="require example.com/dep v1.0.0")
    repo.package(".", "main", 'import "example.com/dep"\n\nfunc main() { println(dep.N) }\n')
    repo.go("mod", "tidy")
    env = actions_env(tmp_path / "gha", {**go_env, "GOCACHE": str(tmp_path / "gocache")})
    return repo, env, tmp_path / "modcache" / "example.com" / "dep@v1.0.0" / "dep.go"


def mark_restored(
    goci: Callable[..., GociRun],
    env: dict[str, str],
    repo: GoRepo,
    mod_restored: str,
    *extra: str,
) -> GociRun:
    return goci(
        "cache",
        "mark",
        "--json",
        "--mod-key",
        "goci-mod-Linux-abc",
        "--mod-restored-key",
        mod_restored,
        "--build-key",
        "goci-build-Linux-x-abc-7-1",
        "--build-restored-key",
        "goci-build-Linux-x-abc-6-1",
        *extra,
        env=env,
        cwd=repo.root,
    )


def test_mark_reports_hits_and_verifies_a_module_cache_from_a_fallback_key(
    with_dependency: tuple[GoRepo, dict[str, str], Path], goci: Callable[..., GociRun]
) -> None:
    repo, env, _source = with_dependency
    run = mark_restored(goci, env, repo, "goci-mod-Linux-old")
    assert run.code == 0, run.stderr
    out = run.json()
    assert out["mod-cache-hit"] is False and out["build-cache-hit"] is False
    assert out["mod-verified"] is True
    assert run.outputs["mod-verified"] == "true"
    assert "go mod verify passed" in run.stderr

    assert out["mod-save"] is True  # a fallback: save the module cache under its own key
    assert (
        mark_restored(goci, env, repo, "goci-mod-Linux-old", "--no-mod-save").json()["mod-save"]
        is False
    )  # cache-key said no (not a trusted event, or nothing to download)

    exact = mark_restored(goci, env, repo, "goci-mod-Linux-abc").json()
    assert exact["mod-cache-hit"] is True and exact["mod-verified"] is False
    assert exact["mod-save"] is False


@pytest.mark.parametrize("returned", ["goci-mod-linux-abc", "GOCI-MOD-LINUX-ABC"])
def test_an_exact_hit_returned_in_another_case_is_a_hit(
    with_dependency: tuple[GoRepo, dict[str, str], Path],
    goci: Callable[..., GociRun],
    returned: str,
) -> None:
    """The cache service may return the matched key in another case (act lowercases it);
    actions/cache's own exact-match test ignores case, and so does mark."""
    repo, env, _source = with_dependency
    run = mark_restored(goci, env, repo, returned)
    assert run.code == 0, run.stderr
    out = run.json()
    assert (out["mod-cache-hit"], out["mod-verified"], out["mod-save"]) == (True, False, False)
    assert run.outputs["mod-cache-hit"] == "true" and run.outputs["mod-save"] == "false"
    assert f"module cache  hit from {returned}" in run.stderr
    assert "module cache  fallback" not in run.stderr and "go mod verify" not in run.stderr


def test_a_tampered_module_cache_from_a_fallback_key_fails_the_step(
    with_dependency: tuple[GoRepo, dict[str, str], Path], goci: Callable[..., GociRun]
) -> None:
    repo, env, source = with_dependency
    source.chmod(0o644)
    source.write_text("package dep\n\nconst N = 666\n")

    run = mark_restored(goci, env, repo, "goci-mod-Linux-old")

    assert run.code == 1
    assert "go mod verify failed" in run.stderr and "example.com/dep" in run.stderr
    assert run.outputs == {}
    # An exact hit was saved for these very go.sum files by a trusted run: no verify needed.
    assert mark_restored(goci, env, repo, "goci-mod-Linux-abc").code == 0


def test_the_scan_counts_every_byte_once_entries_and_the_rest(tmp_path: Path) -> None:
    """Entries, outputs, and files that are neither (Go's own notes at the top, fuzz corpora,
    and a stray file inside an ``xx`` folder): the budget weighs them all, each once."""
    cache = tmp_path / "gocache"
    action, output = "ab" + "1" * 62, "cd" + "2" * 62
    (cache / "ab").mkdir(parents=True)
    (cache / "cd").mkdir()
    line = f"v1 {action} {output} {5:>20} {1700000000000000000:>20}\n"
    (cache / "ab" / f"{action}-a").write_text(line)
    (cache / "cd" / f"{output}-d").write_bytes(b"12345")
    (cache / "ab" / "stray.tmp").write_bytes(b"x" * 7)  # a name Go never writes
    (cache / "README").write_bytes(b"y" * 11)
    (cache / "fuzz" / "p").mkdir(parents=True)
    (cache / "fuzz" / "p" / "corpus").write_bytes(b"z" * 13)
    scanned = gocache.scan(cache)
    assert [(e.output_id, e.size) for e in scanned.entries] == [(output, len(line))]
    assert {oid: o.size for oid, o in scanned.outputs.items()} == {output: 5}
    assert scanned.other_bytes == 7 + 11 + 13
    total = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
    assert scanned.total_bytes == total


def entry_names(cache: Path) -> set[str]:
    """The ``-a`` files of a cache, by name (an action ID names the same entry in any cache)."""
    return {p.name for p in cache.glob("??/*-a")}


def used_by(cache: Path, repo: Path, env: dict[str, str], package: str, scratch: Path) -> set[str]:
    """The entries ``go build package`` uses, as Go itself tells on a copy of the cache whose
    every file was moved back three hours: those whose mtime Go refreshes (or that it writes)."""
    copy = scratch / f"control-{package.strip('./') or 'main'}"
    shutil.copytree(cache, copy, symlinks=True)
    three_hours_ago = time.time() - 3 * 3600
    for path in entry_files(copy):
        os.utime(path, (three_hours_ago, three_hours_ago), follow_symlinks=False)
    go(repo, {**env, "GOCACHE": str(copy)}, "build", "-o", os.devnull, package)
    return {p.name for p in copy.glob("??/*-a") if p.stat().st_mtime > three_hours_ago}


def job_env(tmp: Path, base: dict[str, str]) -> dict[str, str]:
    """A job's step environment on the shared cache: its own GITHUB_ENV, where mark writes."""
    return actions_env(tmp, {k: v for k, v in base.items() if not k.startswith("GITHUB_")})


def exported(env: dict[str, str]) -> dict[str, str]:
    """What the job's earlier steps exported (GITHUB_ENV's ``NAME<<EOF`` blocks)."""
    lines = Path(env["GITHUB_ENV"]).read_text().splitlines()
    return {lines[i].split("<<")[0]: lines[i + 1] for i, line in enumerate(lines) if "<<" in line}


def test_two_jobs_on_one_cache_each_trim_keeps_what_both_used_since_the_first_began(
    restored: tuple[Path, dict[str, str], Path], tmp_path: Path
) -> None:
    """A self-hosted runner's shared GOCACHE, two jobs interleaved in real processes: A marks
    and builds a, B marks and builds b, A trims, B builds old and trims. B's mark must not move
    back what A used after its mark (A's trim would drop it): B takes A's mark as its own, so
    each trim keeps what either job used since A began, and only that."""
    repo, base, cache = restored
    used = {p: used_by(cache, repo, base, p, tmp_path) for p in ("./a", "./b", "./old")}
    every = entry_names(cache)
    assert used["./a"] and used["./b"] and used["./old"] and every - set().union(*used.values())
    a_env, b_env = job_env(tmp_path / "job-a", base), job_env(tmp_path / "job-b", base)

    source = str(Path(trim.__file__).parents[2])  # the goci under test, in each process

    def step(env: dict[str, str], *args: str) -> GociRun:
        full = {**env, **exported(env), "PYTHONPATH": source}
        run = run_goci(*args, env=full, cwd=repo, subprocess_=True)
        assert run.code == 0, run.stderr
        return run

    mark_a = int(step(a_env, "cache", "mark", "--json").json()["mark"])
    go(repo, a_env, "build", "./a")
    mark_b = step(b_env, "cache", "mark", "--json")
    assert int(mark_b.json()["mark"]) == mark_a  # the earliest job's mark, not B's own moment
    assert "1 other job(s) using this cache" in mark_b.stderr
    assert (cache / trim.MARK_FILE).read_text() == f"{mark_a}\n"
    go(repo, b_env, "build", "./b")

    step(a_env, "cache", "trim", "--max-size", "none")

    assert entry_names(cache) == used["./a"] | used["./b"]
    assert [p.name for p in (cache / registry.REGISTRY).iterdir()] == [
        exported(b_env)["GOCI_CACHE_MARK_ID"]
    ]  # A's registration went, B's stays while B runs
    go(repo, b_env, "build", "./old")  # trimmed by A: compiled again, the same entries

    step(b_env, "cache", "trim", "--max-size", "none")

    assert entry_names(cache) == used["./a"] | used["./b"] | used["./old"]
    assert list((cache / registry.REGISTRY).iterdir()) == []
    after = gocache.scan(cache)
    assert after.broken == ()
    assert {e.output_id for e in after.entries} == set(after.outputs)


class AtListing:
    """Runs ``action`` right after trim's ``n``-th listing of ``folder``, in trim's own thread:
    the other job's step lands at that exact point of the trim, no sooner, no later."""

    def __init__(self, folder: Path, n: int, action: Callable[[], object]) -> None:
        self.folder, self.n, self.action = folder.resolve(), n, action
        self.seen = 0
        self.real_scandir = os.scandir

    def scandir(self, path: Any = ".") -> _Listing:
        listing = list(self.real_scandir(path))
        if not isinstance(path, int) and Path(path).resolve() == self.folder:
            self.seen += 1
            if self.seen == self.n:
                self.action()
        return _Listing(listing)


def trim_while_another_job_builds(
    cache: Path, repo: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[trim.TrimResult, gocache.CacheScan, set[str], set[str]]:
    """This job marks and builds a; trim scans; then another job builds old (no sooner: at
    the cache folder's second listing, after the scan read every entry), then trim removes.
    The trim's result, the scan as trim saw it, what a used, what old used."""
    since = trim.mark(cache).mark
    go(repo, env, "build", "./a")
    scanned = gocache.scan(cache)
    used_a = {e.path.name for e in scanned.entries if e.last_used >= since}
    old = used_by(cache, repo, env, "./old", cache.parent)
    assert old and not old & used_a
    hook = AtListing(cache, 2, lambda: go(repo, env, "build", "./old"))
    monkeypatch.setattr(os, "scandir", hook.scandir)
    result = trim.trim(cache, unused_since=since, max_size=None)
    monkeypatch.undo()
    assert hook.seen >= 2
    return result, scanned, used_a, old


def test_an_entry_another_job_uses_after_the_scan_stays_with_its_output(
    restored: tuple[Path, dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """old's entries are in the cache (built before the mark), unused when trim scans them;
    the other job uses them before trim removes them: the second look keeps them."""
    repo, env, cache = restored
    go(repo, env, "build", "./old")  # this checkout's entries of old, used again later

    result, scanned, used_a, old = trim_while_another_job_builds(cache, repo, env, monkeypatch)

    scanned_names = {e.path.name for e in scanned.entries}
    assert old <= scanned_names  # every entry old's build used was there, unused, at the scan
    assert entry_names(cache) == used_a | old
    after = gocache.scan(cache)
    assert after.broken == ()
    assert {e.output_id for e in after.entries} == set(after.outputs)
    assert result.removed_unused == len(scanned_names - used_a - old)
    assert result.kept_entries == len(used_a | old)


def test_an_output_a_new_entry_points_at_after_the_scan_stays(
    restored: tuple[Path, dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """old was never built in this checkout: its build writes new entries, some pointing at
    outputs already there, which the scan found unused (Go writes the ``-a`` and leaves the
    existing ``-d`` alone). Those outputs must stay, or the new entries are broken."""
    repo, env, cache = restored

    _result, scanned, used_a, old = trim_while_another_job_builds(cache, repo, env, monkeypatch)

    assert not old & {e.path.name for e in scanned.entries}  # all new
    assert entry_names(cache) == used_a | old
    after = gocache.scan(cache)
    assert after.broken == ()
    assert {e.output_id for e in after.entries} == set(after.outputs)
    reused = {e.output_id for e in after.entries if e.path.name in old} & set(scanned.outputs)
    assert reused  # the case at hand: a new entry on an output the scan saw


def test_an_entry_written_while_the_scan_runs_is_not_taken_for_broken(
    restored: tuple[Path, dict[str, str], Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Go writes an entry's ``-d``, then its ``-a``. When the scan has listed the ``-d``'s
    folder before the ``-d`` came and lists the ``-a``'s after the ``-a`` came, the entry is
    new, not broken: trim leaves it."""
    _repo, _env, cache = restored
    scanned = gocache.scan(cache)
    entry = next(
        e
        for e in scanned.entries
        if e.output and e.output.size > 0 and e.path.parent.name > e.output_id[:2]
    )
    assert entry.output is not None
    files_before = set(entry_files(cache))
    aside = tmp_path / "aside"
    aside.mkdir()
    shutil.move(entry.output.path, aside / "d")
    shutil.move(entry.path, aside / "a")

    def go_writes_the_entry() -> None:
        assert entry.output is not None
        shutil.move(aside / "d", entry.output.path)
        shutil.move(aside / "a", entry.path)

    hook = AtListing(entry.output.path.parent, 1, go_writes_the_entry)
    monkeypatch.setattr(os, "scandir", hook.scandir)

    result = trim.trim(cache, unused_since=None, max_size=None)
    monkeypatch.undo()

    assert hook.seen >= 1
    assert (result.removed_files, result.removed_broken) == (0, 0)
    assert set(entry_files(cache)) == files_before


def test_a_trim_that_drops_no_output_reads_the_folders_once(
    restored: tuple[Path, dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second look at the ``-a`` files only guards outputs that are about to go; when every
    output is still pointed at (a CI job's usual trim: nothing unused, under budget), it is
    skipped, and each ``xx`` folder is listed once. An unused entry brings it back."""
    _repo, _env, cache = restored
    subdirs = {p.name for p in cache.iterdir() if len(p.name) == 2 and p.is_dir()}
    listed: collections.Counter[str] = collections.Counter()
    real_scandir = os.scandir

    def counting_scandir(path: Any = ".") -> _Listing:
        listing = list(real_scandir(path))
        if not isinstance(path, int) and Path(path).parent.resolve() == cache.resolve():
            listed[Path(path).name] += 1
        return _Listing(listing)

    entries = gocache.scan(cache).entries
    monkeypatch.setattr(os, "scandir", counting_scandir)
    result = trim.trim(cache, unused_since=None, max_size=None)
    assert (result.removed_files, result.kept_entries) == (0, len(entries))
    assert {name: n for name, n in listed.items() if name in subdirs} == dict.fromkeys(subdirs, 1)

    entry = max(entries, key=lambda e: e.output.size if e.output else 0)
    others = [e for e in entries if e.output_id == entry.output_id]
    for one in others:  # every entry of that output unused: the output goes, after a 2nd look
        os.utime(one.location, (1, 1))
        assert one.output is not None
        os.utime(one.output.location, (1, 1))
    listed.clear()
    result = trim.trim(cache, unused_since=1000, max_size=None)
    monkeypatch.undo()
    assert result.removed_unused == len(others)
    assert not os.path.exists(entry.output.location if entry.output else "")
    assert {name: n for name, n in listed.items() if name in subdirs} == dict.fromkeys(subdirs, 2)
