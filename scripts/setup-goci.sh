#!/usr/bin/env bash
# Set goci up for the rest of the job: a private venv made with the runner's own Python,
# reused while it exists for this goci version and source, its bin folder put on PATH.
#
# Every goci action runs this as its first step, so it must be cheap the second time: the
# venv lives in the runner's tool cache (or RUNNER_TEMP) under the goci version, and a marker
# written last says which source it was built from. Runs under bash on Linux, macOS and
# Windows (Git Bash, where the interpreter is `python` and the venv has Scripts/, not bin/).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

say() { printf 'goci setup: %s\n' "$*"; }
fail() {
  # stderr: fail() also runs inside $(...); the runner reads workflow commands from both streams.
  printf '::error title=goci setup::%s\n' "$*" >&2
  exit 1
}

# Windows programs (python.exe) want C:\ paths; bash wants /c/ paths. cygpath exists only there.
native() { if command -v cygpath >/dev/null 2>&1; then cygpath -w "$1"; else printf '%s\n' "$1"; fi; }
posix() { if command -v cygpath >/dev/null 2>&1; then cygpath -u "$1"; else printf '%s\n' "$1"; fi; }

find_python() {
  local candidate seen="" candidates=(python3 python)
  # GOCI_PYTHON names the one interpreter to use (a runner with several, or a test).
  if [ -n "${GOCI_PYTHON:-}" ]; then candidates=("$GOCI_PYTHON"); fi
  for candidate in "${candidates[@]}"; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    # Windows has a python3 "app execution alias" that only opens the Store: run it to be sure.
    if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
      >/dev/null 2>&1; then
      printf '%s\n' "$candidate"
      return 0
    fi
    seen="$seen $candidate=$("$candidate" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo broken)"
  done
  fail "goci needs Python 3.10 or newer (found:${seen:- none}); add actions/setup-python before goci"
}

version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$root/src/goci/__init__.py")"
[ -n "$version" ] || fail "cannot read __version__ from $root/src/goci/__init__.py"

python="$(find_python)"

# Which source the venv was built from: the same version number from another commit (a
# branch, a fork) must not reuse a stale install on a self-hosted runner.
source_id="$("$python" - "$(native "$root")" <<'PY'
import hashlib, pathlib, sys

root = pathlib.Path(sys.argv[1])
digest = hashlib.sha256()
files = [root / "pyproject.toml", *(root / "src" / "goci").rglob("*")]
for path in sorted(p for p in files if p.is_file() and "__pycache__" not in p.parts):
    digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
print(digest.hexdigest()[:16])
PY
)"

base="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${XDG_CACHE_HOME:-$HOME/.cache}}}"
venv="$(posix "$base")/goci/$version"
marker="$venv/.goci-source"

bin_dir() { if [ -d "$venv/Scripts" ]; then echo "$venv/Scripts"; else echo "$venv/bin"; fi; }

healthy() {
  local bin
  bin="$(bin_dir)"
  [ -f "$marker" ] && [ "$(cat "$marker")" = "$source_id" ] || return 1
  [ "$("$bin/goci" --version 2>/dev/null | tr -d '\r')" = "goci $version" ]
}

if healthy; then
  say "reusing goci $version in $venv"
else
  say "installing goci $version into $venv (Python: $("$python" -c 'import sys; print(sys.version.split()[0])'))"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  # Build from a copy: pip builds in the source folder, and a build/ left in the action's
  # checkout would leak stale files into the next install.
  staging="$(mktemp -d)"
  trap 'rm -rf "$staging"' EXIT
  for item in pyproject.toml README.md LICENSE src; do
    if [ -e "$root/$item" ]; then cp -R "$root/$item" "$staging/"; fi
  done
  pip_args=(install --disable-pip-version-check --no-input --quiet "$(native "$staging")")
  if "$python" -m venv "$(native "$venv")" >/dev/null 2>&1; then
    venv_python="$(bin_dir)/python"
    "$venv_python" -m pip "${pip_args[@]}"
  else
    # Debian's python3 without python3-venv has no ensurepip: a venv without pip, filled by
    # the system pip (22.3+ can install into another interpreter).
    rm -rf "$venv"
    "$python" -m venv --without-pip "$(native "$venv")" ||
      fail "cannot create a venv with $python; install python3-venv or use actions/setup-python"
    venv_python="$(bin_dir)/python"
    "$python" -m pip --python "$(native "$venv_python")" "${pip_args[@]}" ||
      fail "cannot install goci: $python has no venv module and no pip 22.3+"
  fi
  healthy_bin="$(bin_dir)"
  [ "$("$healthy_bin/goci" --version | tr -d '\r')" = "goci $version" ] ||
    fail "goci $version was installed into $venv but does not run"
  printf '%s' "$source_id" >"$marker"
  say "installed goci $version"
fi

bin="$(bin_dir)"
if [ -n "${GITHUB_PATH:-}" ]; then
  native "$bin" >>"$GITHUB_PATH"
fi
export PATH="$bin:$PATH"
say "$(command -v goci) is on PATH"
