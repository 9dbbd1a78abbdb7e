"""goci's dependencies for the setup action: installed from the lock, reused only once verified.

Run by ``setup-goci.sh`` with the runner's own Python in isolated mode (``python -I``), using
the standard library only: nothing from the venv it checks is ever imported here.

On a persistent self-hosted runner the tool cache outlives the job, and anything a job can write
there the next job would run with its secrets. So a venv is reused only when every file in it
traces back to something trusted:

* the lock (requirements.lock, part of the action's own checkout) pins every dependency by the
  SHA-256 of its wheel;
* the wheels pip installed from are kept next to the venv; each must hash to a pin of the lock,
  and each one's RECORD then gives the SHA-256 of every file it installs;
* the interpreter scaffold (pyvenv.cfg, bin/python links or Scripts/python.exe) must equal a
  fresh ``venv`` made by the same Python, so no other interpreter and no system site-packages
  can be slipped in.

Any other file in site-packages (a ``.pth``, a ``sitecustomize.py``, a module) fails the check,
and so does a missing or changed one. Compiled ``__pycache__`` files are the exception: they
cannot be traced to a wheel, so the launcher (goci_main.py) reads and writes the compiled files
of everything in the venv in a folder of this job, and the ones in the venv are never read. goci
itself is not in the venv at all: the launcher imports it from the action's checkout, so there
is nothing of goci's to verify.
"""

from __future__ import annotations

import argparse
import base64
import configparser
import contextlib
import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_NAME_NORMALIZE = re.compile(r"[-_.]+")
_WHEEL_NAME = re.compile(
    r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$"
)
_HASH_OPTION = re.compile(r"--hash=sha256:([0-9a-f]{64})")
# Written by venv for humans; a relocated venv would differ only here.
_ACTIVATE = re.compile(r"^(activate|Activate|deactivate)")
# pip's own notes in every dist-info it installs: data, never imported or run.
PIP_NOTES = frozenset({"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"})
STALE_SECONDS = 24 * 3600
# A venv home of another lock or Python that no job has set goci up from for this long is
# removed (on a self-hosted runner every goci upgrade that changes the lock leaves one behind).
UNUSED_DAYS = 30
USED_SUFFIX = ".used"
# The service models botocore loads for goci: S3, which goci calls, and those its credential
# providers call (STS, SSO, SSO OIDC, sign-in: botocore's credentials.py and tokens.py). The
# other ~440 folders of botocore/data are two thirds of the venv's files and a third of its
# bytes, which every job would restore and verify for nothing; the setup removes them, and a
# test checks this list against the locked botocore's own code.
BOTOCORE_MODELS = frozenset({"s3", "sts", "sso", "sso-oidc", "signin"})


class SetupError(Exception):
    """A step of the setup that cannot go on; the message says what to do."""


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares it (``PyGithub`` == ``pygithub``)."""
    return _NAME_NORMALIZE.sub("-", name).lower()


@dataclass(frozen=True)
class Pin:
    """One line of the lock: ``name==version ; marker`` and the hashes of its files."""

    name: str
    version: str
    marker: str
    hashes: frozenset[str]


def parse_lock(text: str) -> list[Pin]:
    """The pins of a pip-compile / ``uv pip compile --generate-hashes`` output."""
    pins: list[Pin] = []
    logical = re.sub(r"\\\n", " ", text)
    for raw in logical.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        requirement = line.split(" --hash", 1)[0].strip()
        spec, _, marker = requirement.partition(";")
        name, sep, version = spec.strip().partition("==")
        if not sep or not version:
            raise SetupError(f"lock: {raw.strip()[:80]!r} does not pin one version (name==version)")
        pins.append(
            Pin(
                normalize(name),
                version.strip(),
                marker.strip(),
                frozenset(_HASH_OPTION.findall(line)),
            )
        )
    return pins


def locked_hashes(pins: list[Pin]) -> dict[tuple[str, str], frozenset[str]]:
    """Every hash the lock allows, per (name, version)."""
    allowed: dict[tuple[str, str], frozenset[str]] = {}
    for pin in pins:
        key = (pin.name, pin.version)
        allowed[key] = allowed.get(key, frozenset()) | pin.hashes
    return allowed


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_hash(hexdigest: str) -> str:
    """A hex SHA-256 in RECORD's form: ``sha256=`` and urlsafe base64 without padding."""
    raw = base64.urlsafe_b64encode(bytes.fromhex(hexdigest)).rstrip(b"=").decode()
    return f"sha256={raw}"


def deps_key(lock: bytes) -> str:
    """Which venv this is: the lock, the interpreter it was made for, and what the setup
    leaves out of it (a venv kept or cached with other models is another venv)."""
    digest = hashlib.sha256(lock)
    models = ",".join(sorted(BOTOCORE_MODELS))
    for part in (sys.version, sys.executable, sysconfig.get_platform(), models):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:16]


# --- where things are in a venv -------------------------------------------------------------


def venv_scheme() -> str:
    """The install scheme of a venv on this Python (``venv`` exists from 3.11)."""
    if "venv" in sysconfig.get_scheme_names():
        return "venv"
    return "nt" if os.name == "nt" else "posix_prefix"


def venv_paths(root: Path, scheme: str | None = None) -> dict[str, Path]:
    """``purelib`` (site-packages), ``scripts`` (bin or Scripts) and ``data`` of a venv."""
    base = str(root)
    variables = {"base": base, "platbase": base, "installed_base": base, "installed_platbase": base}
    paths = sysconfig.get_paths(scheme or venv_scheme(), vars=variables)
    return {name: Path(paths[name]) for name in ("purelib", "scripts", "data")}


def venv_python(root: Path, windows: bool | None = None) -> Path:
    windows = os.name == "nt" if windows is None else windows
    scripts = venv_paths(root, "nt" if windows else None)["scripts"]
    return scripts / ("python.exe" if windows else "python")


def make_venv(root: Path, *, with_pip: bool) -> None:
    """A venv made exactly as the reference one is (links on POSIX, copies on Windows)."""
    venv.EnvBuilder(with_pip=with_pip, symlinks=os.name != "nt").create(str(root))


# --- what a venv must hold --------------------------------------------------------------------


@dataclass
class Expected:
    """Every file the venv may hold outside its scaffold, with its RECORD hash."""

    files: dict[Path, str] = field(default_factory=dict)
    dist_infos: set[Path] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    dropped: set[Path] = field(default_factory=set)  # in a wheel, removed by the setup


def dropped(name: str) -> bool:
    """Whether the setup removes this file of a wheel (its path in site-packages, with /):
    a service model of botocore that goci never loads."""
    parts = name.split("/")
    return len(parts) > 3 and parts[:2] == ["botocore", "data"] and parts[2] not in BOTOCORE_MODELS


def expected_files(home: Path, venv_root: Path, pins: list[Pin]) -> Expected:
    """What the kept wheels say the venv holds; a wheel the lock does not pin is a problem."""
    allowed = locked_hashes(pins)
    paths = venv_paths(venv_root)
    expected = Expected()
    wheels = sorted((home / "wheels").glob("*.whl")) if (home / "wheels").is_dir() else []
    if not wheels:
        expected.problems.append("no wheels kept beside the venv")
    for wheel in wheels:
        if not is_locked(wheel, allowed):
            expected.problems.append(f"wheels/{wheel.name}: not a file the lock pins")
            continue
        _add_wheel(wheel, paths, expected)
    return expected


def is_locked(wheel: Path, allowed: dict[tuple[str, str], frozenset[str]]) -> bool:
    """Whether ``wheel`` is a regular file whose SHA-256 the lock pins for its name and version."""
    match = _WHEEL_NAME.match(wheel.name)
    key = (normalize(match["name"]), match["version"]) if match else ("", "")
    return not wheel.is_symlink() and sha256_file(wheel) in allowed.get(key, frozenset())


def _add_wheel(wheel: Path, paths: dict[str, Path], expected: Expected) -> None:
    with zipfile.ZipFile(wheel) as archive:
        record = next(n for n in archive.namelist() if n.endswith(".dist-info/RECORD"))
        dist_info = record.split("/", 1)[0]
        rows = list(csv.reader(io.StringIO(archive.read(record).decode("utf-8"))))
    expected.dist_infos.add(paths["purelib"] / dist_info)
    data_dir = dist_info.removesuffix(".dist-info") + ".data"
    for row in rows:
        if not row or not row[0]:
            continue
        name, digest = row[0], row[1] if len(row) > 1 else ""
        top, _, rest = name.partition("/")
        if top == data_dir:
            scheme, _, inner = rest.partition("/")
            if scheme == "scripts":
                continue  # setup keeps no scripts of dependencies (only the interpreter)
            if scheme not in ("purelib", "platlib", "data"):
                expected.problems.append(f"{wheel.name}: installs {scheme} files ({name})")
                continue
            target = paths["purelib" if scheme == "platlib" else scheme] / inner
        elif dropped(name):
            expected.dropped.add(paths["purelib"] / name)
            continue
        else:
            target = paths["purelib"] / name
        if digest:
            expected.files[target] = digest
        elif top != dist_info:
            expected.problems.append(f"{wheel.name}: {name} has no hash in RECORD")


# --- the check --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """Whether a kept venv may be reused, and what was checked."""

    problems: tuple[str, ...]
    files: int
    bytes: int
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.problems


def _tree(root: Path, skip: Path) -> Iterator[tuple[Path, bool]]:
    """Every path below ``root`` (not below ``skip``), links not followed: (path, is_dir)."""
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs.sort()
        for name in list(dirs):
            path = here / name
            if path == skip:
                dirs.remove(name)
            elif path.is_symlink():
                dirs.remove(name)
                yield path, False
            else:
                yield path, True
        for name in sorted(files):
            yield here / name, False


def _describe(path: Path, is_dir: bool) -> tuple[str, str]:
    if path.is_symlink():
        return ("link", os.readlink(path))
    if is_dir:
        return ("dir", "")
    if path.name == "pyvenv.cfg":
        return ("cfg", _venv_config(path))
    return ("file", sha256_file(path))


def _venv_config(path: Path) -> str:
    """pyvenv.cfg without its ``command`` line, which only records where venv was run."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string("[venv]\n" + path.read_text(encoding="utf-8"))
    items = sorted((k, v) for k, v in parser["venv"].items() if k != "command")
    return repr(items)


def scaffold(root: Path) -> dict[Path, tuple[str, str]]:
    """A venv outside site-packages (activate scripts left out), relative path -> content."""
    paths = venv_paths(root)
    found: dict[Path, tuple[str, str]] = {}
    for path, is_dir in _tree(root, paths["purelib"]):
        if path.parent == paths["scripts"] and _ACTIVATE.match(path.name):
            continue
        found[path.relative_to(root)] = _describe(path, is_dir)
    return found


def reference_scaffold() -> dict[Path, tuple[str, str]]:
    """The scaffold a fresh venv of this Python has (made in a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="goci-venv-reference-") as folder:
        root = Path(folder) / "venv"
        make_venv(root, with_pip=False)
        return scaffold(root)


def verify(home: Path, lock: Path) -> Verdict:
    """Check that every file of ``home/venv`` is one the lock's wheels or a fresh venv make."""
    started = time.perf_counter()
    root = home / "venv"
    if not root.is_dir():
        return Verdict(("no venv",), 0, 0, 0.0)
    expected = expected_files(home, root, parse_lock(lock.read_text(encoding="utf-8")))
    problems = list(expected.problems)
    reference = reference_scaffold()
    actual = scaffold(root)
    for relative in sorted(set(reference) | set(actual)):
        if reference.get(relative) != actual.get(relative):
            state = (
                "missing"
                if relative not in actual
                else "unexpected"
                if relative not in reference
                else "changed"
            )
            problems.append(f"{relative.as_posix()}: {state} (a fresh venv of this Python differs)")
    site = venv_paths(root)["purelib"]
    checked = size = 0
    seen: set[Path] = set()
    # A folder no locked file lives in is an import all the same: an empty ``brotli/`` makes
    # ``import brotli`` succeed (a namespace package), and httpx then asks it to decode.
    folders = {site, *expected.dist_infos}
    for installed in (*expected.files, *expected.dropped):
        folder = installed.parent
        while folder not in folders and folder != folder.parent:  # each folder once
            folders.add(folder)
            folder = folder.parent
    for path, is_dir in _tree(site, site / "\0"):
        if is_dir:
            if path not in folders and not (path.name == "__pycache__" and path.parent in folders):
                problems.append(
                    f"{path.relative_to(site).as_posix()}/: a folder no locked wheel has"
                )
            continue
        name = path.relative_to(site).as_posix()
        if path.parent.name == "__pycache__" and path.suffix == ".pyc" and not path.is_symlink():
            continue  # never read: goci_main.py compiles into the job's folder
        if path.is_symlink():
            problems.append(f"{name}: a symbolic link in site-packages")
            continue
        want = expected.files.get(path)
        if want is None:
            if path.parent in expected.dist_infos and path.name in PIP_NOTES:
                continue
            if path in expected.dropped:
                problems.append(f"{name}: a botocore model the setup removes, yet here")
                continue
            problems.append(f"{name}: not installed by any locked wheel")
            continue
        seen.add(path)
        digest = sha256_file(path)
        checked += 1
        size += path.stat().st_size
        if record_hash(digest) != want:
            problems.append(f"{name}: content differs from the locked wheel")
    for missing in sorted(set(expected.files) - seen):
        problems.append(f"{missing.relative_to(root).as_posix()}: missing")
    return Verdict(tuple(sorted(problems)), checked, size, time.perf_counter() - started)


# --- install ----------------------------------------------------------------------------------


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise SetupError(f"{what} failed (exit {result.returncode}):\n{tail}")


def _system_pip_version() -> tuple[int, ...]:
    """This Python's own pip version (read from its metadata: starting pip takes a second)."""
    import importlib.metadata  # only an install needs it: ~20 ms off every reuse

    try:
        version = importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError:
        return ()
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


def _pip_for(root: Path) -> tuple[list[str], bool]:
    """A pip that installs into a new venv at ``root``: this Python's own pip when it can
    install into another interpreter (22.3+), else the venv's own pip from ensurepip (True:
    pip, and setuptools before 3.12, are then in the venv and must be removed)."""
    python = venv_python(root)
    if _system_pip_version() >= (22, 3):
        make_venv(root, with_pip=False)
        return [sys.executable, "-m", "pip", "--python", str(python)], False
    try:
        make_venv(root, with_pip=True)
    except subprocess.CalledProcessError as exc:
        raise SetupError(
            f"{sys.executable} has neither pip 22.3+ nor ensurepip (Debian: install python3-pip "
            "or python3-venv, or use actions/setup-python)"
        ) from exc
    return [str(python), "-m", "pip"], True


def carry_wheels(source: Path, target: Path, lock: Path) -> int:
    """Copy the wheels of a rejected venv that still hash to a pin: they are as good as new."""
    allowed = locked_hashes(parse_lock(lock.read_text(encoding="utf-8")))
    carried = 0
    for wheel in sorted(source.glob("*.whl")) if source.is_dir() else []:
        if is_locked(wheel, allowed):
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(wheel, target / wheel.name)
            carried += 1
    return carried


def build(home_tmp: Path, lock: Path, old_wheels: Path | None = None) -> None:
    """Install the locked wheels into ``home_tmp/venv``, keeping the wheels beside it.

    Wheels of a venv that failed its check are reused when they still hash to a pin, so a
    reinstall needs no network when only the venv was damaged.
    """
    root, wheels = home_tmp / "venv", home_tmp / "wheels"
    pip, own_pip = _pip_for(root)
    common = ["--disable-pip-version-check", "--no-input", "--quiet", "--require-hashes"]
    download = [*pip, "download", *common, "--only-binary=:all:", "--no-deps", "-r", str(lock),
                "-d", str(wheels)]  # fmt: skip
    install = [*pip, "install", *common, "--no-index", "--find-links", str(wheels), "--no-deps",
               "--no-compile", "-r", str(lock)]  # fmt: skip
    if not (old_wheels and carry_wheels(old_wheels, wheels, lock) and _ok(install)):
        _run(download, "downloading goci's locked dependencies")
        _run(install, "installing goci's locked dependencies")
    if own_pip:  # pip (and setuptools before 3.12) came from ensurepip, not from the lock
        _run([*pip, "uninstall", "--yes", "--quiet", "pip", "setuptools"], "removing pip")
    prune_scripts(root)
    prune_models(root)


def _ok(argv: list[str]) -> bool:
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0


def prune_scripts(root: Path) -> None:
    """Leave only the interpreter in bin (Scripts): nothing runs the dependencies' console
    scripts or the activate scripts, and every file kept must be one the check can trace."""
    keep = set(reference_scaffold())
    scripts = venv_paths(root)["scripts"]
    for item in scripts.iterdir():
        if item.relative_to(root) not in keep:
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item)
            else:
                item.unlink()


def prune_models(root: Path) -> None:
    """Remove the botocore service models goci never loads (see BOTOCORE_MODELS)."""
    models = venv_paths(root)["purelib"] / "botocore" / "data"
    if models.is_dir():
        for item in models.iterdir():
            if item.is_dir() and not item.is_symlink() and item.name not in BOTOCORE_MODELS:
                shutil.rmtree(item)


def sweep_stale(parent: Path) -> None:
    """Remove half-built or replaced venvs that a killed job left, once they are a day old."""
    for item in parent.glob(".deps-*"):
        try:
            if time.time() - item.lstat().st_mtime > STALE_SECONDS:
                shutil.rmtree(item, ignore_errors=True)
        except FileNotFoundError:
            continue


def stamp_of(home: Path) -> Path:
    """The file whose mtime says when a job last set goci up from ``home``: beside the home,
    not in it, where the check of the venv would find a file no wheel installed."""
    return home.with_name(home.name + USED_SUFFIX)


def _stamped(stamp: Path) -> int | None:
    """The stamp's mtime in nanoseconds, or None without one."""
    try:
        return stamp.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _unused(stamped_ns: int, now: float) -> bool:
    return now - stamped_ns / 1e9 > UNUSED_DAYS * 24 * 3600


def _move(source: Path, target: Path) -> None:
    os.rename(source, target)


def retire(home: Path, now: float) -> bool:
    """Remove ``home`` if its stamp says no job has used it for UNUSED_DAYS; whether it did.

    A home without a stamp stays: an older goci, which stamps nothing, may be using it. A job
    about to use a home stamps it first and only then looks for it (:func:`ensure`), and this
    looks at the stamp again after moving the home aside: so a job whose stamp came before
    that second look gets the home back, and one whose stamp came after it finds no home and
    installs one. Two sweepers cannot both move it: the second finds nothing to rename.
    """
    stamp = stamp_of(home)
    seen = _stamped(stamp)
    if seen is None or not _unused(seen, now):
        return False
    aside = Path(tempfile.mkdtemp(prefix=f".{home.name}.swept-", dir=home.parent))
    try:
        try:
            _move(home, aside / "venv-home")
        except OSError:  # gone (another sweeper), or in use (Windows refuses to move it)
            return False
        if _stamped(stamp) != seen:  # a job stamped it meanwhile: it is in use again
            with contextlib.suppress(OSError):  # unless a job installed a new one meanwhile
                _move(aside / "venv-home", home)
            return False
        with contextlib.suppress(FileNotFoundError):
            if _stamped(stamp) == seen:
                stamp.unlink()
        return True
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def sweep_unused(parent: Path, keep: Path, now: float | None = None) -> list[str]:
    """Remove the venv homes beside ``keep`` (other locks, other Pythons) unused for
    UNUSED_DAYS; the names of those removed."""
    moment = time.time() if now is None else now
    removed = []
    for home in sorted(parent.glob("deps-*")):
        if home == keep or home.is_symlink():
            continue
        if home.name.endswith(USED_SUFFIX):
            _drop_orphan_stamp(home, moment)
        elif home.is_dir() and retire(home, moment):
            removed.append(home.name)
    return removed


def _drop_orphan_stamp(stamp: Path, now: float) -> None:
    """Remove the stamp of a home that is gone (removed by hand), once it is as old as a
    home's would be; a job that stamped it to install that home stamped it just now."""
    home = stamp.with_name(stamp.name.removesuffix(USED_SUFFIX))
    seen = _stamped(stamp)
    if seen is not None and _unused(seen, now) and not home.exists():
        with contextlib.suppress(FileNotFoundError):
            stamp.unlink()


def install(home: Path, lock: Path, old_wheels: Path | None = None) -> None:
    """Build a new venv beside ``home`` and move it into place when complete.

    Another job may be doing the same (two runners sharing a tool cache): each builds in its
    own folder, the first to finish places it, the other keeps that one if it verifies.
    """
    parent = home.parent
    parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(parent)
    building = Path(tempfile.mkdtemp(prefix=f".{home.name}.tmp-", dir=parent))
    try:
        build(building, lock, old_wheels)
        for _attempt in range(3):
            try:
                os.rename(building, home)
                return
            except OSError:
                if not home.exists():
                    continue
                if verify(home, lock).ok:
                    return
                aside = Path(tempfile.mkdtemp(prefix=f".{home.name}.old-", dir=parent))
                os.rename(home, aside / "venv-home")
                shutil.rmtree(aside, ignore_errors=True)
        raise SetupError(f"cannot move the new venv into {home}")
    finally:
        shutil.rmtree(building, ignore_errors=True)


# --- command line (setup-goci.sh) -------------------------------------------------------------


def printable(text: str) -> str:
    """Text safe on one log line: names from a forged venv cannot start a workflow command."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def say(message: str) -> None:
    print(f"goci setup: {message}", file=sys.stderr, flush=True)


def annotate(kind: str, message: str) -> None:
    first, *rest = message.split("\n")
    print(f"::{kind} title=goci setup::{printable(first).replace('%', '%25')}", file=sys.stderr)
    for line in rest:
        print(f"  {printable(line)}", file=sys.stderr)
    sys.stderr.flush()


def describe(verdict: Verdict) -> str:
    return (
        f"verified {verdict.files} files ({verdict.bytes / 2**20:.1f} MiB) against the lock "
        f"in {verdict.seconds:.2f} s"
    )


def home_for(base: Path, lock: Path) -> Path:
    """The folder of the venv (and its wheels) for this lock and this Python under ``base``."""
    return base / "goci" / f"deps-{deps_key(lock.read_bytes())}"


def cache_key(home: Path) -> str:
    """The actions/cache key of a venv home: the lock, the Python and the platform."""
    return f"goci-{home.name}-{sysconfig.get_platform()}"


def ensure(base: Path, lock: Path) -> Path:
    """The venv for this lock and this Python: reused once verified, else installed; then
    the homes of other locks and Pythons that no job has used for UNUSED_DAYS are removed."""
    home = home_for(base, lock)
    home.parent.mkdir(parents=True, exist_ok=True)
    stamp_of(home).touch()  # before looking for the home: see retire()
    ready = _ready(home, lock)
    try:
        removed = sweep_unused(home.parent, keep=home)
    except OSError as exc:  # never a reason to fail the setup
        say(f"could not look for unused dependency folders in {home.parent}: {exc}")
    else:
        if removed:
            say(
                f"removed goci's dependencies of other locks or Pythons, unused for "
                f"{UNUSED_DAYS} days: {', '.join(removed)}"
            )
    return ready


def _ready(home: Path, lock: Path) -> Path:
    """``home``, verified or installed afresh."""
    if home.exists():
        verdict = verify(home, lock)
        if verdict.ok:
            say(f"reusing goci's dependencies in {home} ({describe(verdict)})")
            return home
        shown = "; ".join(printable(p) for p in verdict.problems[:5])
        more = f" (and {len(verdict.problems) - 5} more)" if len(verdict.problems) > 5 else ""
        # A cache entry is never replaced: one that holds a bad venv stays the one every
        # later job restores, so say how to get rid of it.
        restored = (
            f" If actions/cache restored it, every job will meet the same and install afresh "
            f"until that entry is deleted: gh cache delete {cache_key(home)}"
            if os.environ.get("GITHUB_ACTIONS") == "true"
            else ""
        )
        annotate(
            "warning",
            f"not reusing {home}: it does not match the lock: {shown}{more}. Installing afresh."
            + restored,
        )
    started = time.perf_counter()
    say(f"installing goci's locked dependencies into {home} (Python {sys.version.split()[0]})")
    install(home, lock, home / "wheels")
    say(f"installed in {time.perf_counter() - started:.1f} s")
    return home


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="goci_deps.py", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("ensure", "verify", "where"):
        sub = commands.add_parser(name)
        sub.add_argument(
            "folder", type=Path, help="ensure, where: the tool folder; verify: the venv home"
        )
        sub.add_argument("lock", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "where":  # what an action caches between jobs, and its name
            home = home_for(args.folder, args.lock)
            print(f"path={home}")
            print(f"key={cache_key(home)}")
            # A runner that kept them (self-hosted) has nothing to restore: ensure verifies them.
            print(f"restore={'false' if home.exists() else 'true'}")
            return 0
        if args.command == "verify":
            verdict = verify(args.folder, args.lock)
            for problem in verdict.problems:
                print(printable(problem))
            print(describe(verdict))
            return 0 if verdict.ok else 1
        home = ensure(args.folder, args.lock)
    except (SetupError, OSError, subprocess.CalledProcessError) as exc:
        annotate("error", f"cannot set goci's dependencies up: {exc}")
        return 1
    print(f"python={venv_python(home / 'venv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
