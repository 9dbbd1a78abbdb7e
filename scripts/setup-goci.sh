#!/usr/bin/env bash
# Set goci up for the rest of the job and put the `goci` command on PATH.
#
# Every goci action runs this as its first step, so it must be cheap the second time:
# * goci's dependencies live in a venv made with the runner's own Python and installed from
#   requirements.lock with --require-hashes. It is kept in the runner's tool cache, keyed by the
#   lock and the Python, and a later job reuses it only after goci_deps.py has traced every file
#   in it back to a locked wheel (on a persistent self-hosted runner a previous job could have
#   forged it, and this job may hold secrets).
# * goci itself is not installed: the launcher imports it from this checkout, the action the
#   workflow pinned. The launcher lives in RUNNER_TEMP, which the runner empties for every job,
#   so the second goci action of a job finds it and checks nothing again.
#
# Runs under bash on Linux, macOS (bash 3.2: no mapfile, no ${x,,}) and Windows (Git Bash, where
# the interpreter is often `python`, the venv has Scripts/ and programs want C:\ paths). Each
# decision is a function of the environment, so that tests can run it under each OS's rules;
# sourcing this file defines them without running anything.
set -euo pipefail

say() { printf 'goci setup: %s\n' "$*"; }
fail() {
  # stderr: fail() also runs inside $(...); the runner reads workflow commands from both streams.
  printf '::error title=goci setup::%s\n' "$*" >&2
  exit 1
}

# --- decisions ------------------------------------------------------------------------------

# Windows, macOS or Linux: what the runner says, else what uname says (a laptop, a container).
runner_os() {
  case "${RUNNER_OS:-}" in
    Windows | macOS | Linux) printf '%s\n' "$RUNNER_OS" ;;
    *)
      case "$(uname -s)" in
        MINGW* | MSYS* | CYGWIN*) echo Windows ;;
        Darwin) echo macOS ;;
        *) echo Linux ;;
      esac
      ;;
  esac
}

# The interpreters to try, in order, one per line. GOCI_PYTHON names the one to use (a runner
# with several, or a test). On Windows `python3` is often the Store's "app execution alias",
# which only opens the Store, so `python` goes first there.
python_candidates() {
  if [ -n "${GOCI_PYTHON:-}" ]; then
    printf '%s\n' "$GOCI_PYTHON"
  elif [ "$(runner_os)" = Windows ]; then
    printf '%s\n' python python3
  else
    printf '%s\n' python3 python
  fi
}

# The first candidate that really runs and is Python 3.10 or newer.
find_python() {
  local candidate seen=""
  while IFS= read -r candidate; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    # Run it to be sure: the Store alias exists on PATH but is no Python.
    if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
      >/dev/null 2>&1; then
      printf '%s\n' "$candidate"
      return 0
    fi
    seen="$seen $candidate=$("$candidate" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo broken)"
  done <<EOF
$(python_candidates)
EOF
  fail "goci needs Python 3.10 or newer (found:${seen:- none}); add actions/setup-python before goci"
}

# Windows programs (python.exe) want C:\ paths and bash wants /c/ paths; cygpath converts, and
# exists only there.
native() { if command -v cygpath >/dev/null 2>&1; then cygpath -w "$1"; else printf '%s\n' "$1"; fi; }
posix() { if command -v cygpath >/dev/null 2>&1; then cygpath -u "$1"; else printf '%s\n' "$1"; fi; }

# Where the dependency venvs are kept between jobs: the runner's tool cache when there is one.
tool_base() {
  posix "${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${XDG_CACHE_HOME:-$HOME/.cache}}}"
}

# This job's own folder for the launcher (RUNNER_TEMP is emptied for every job), or nothing
# outside Actions, where every run sets up afresh.
job_dir() {
  if [ -n "${RUNNER_TEMP:-}" ]; then printf '%s/goci-setup\n' "$(posix "$RUNNER_TEMP")"; fi
}

# The launchers to write: `goci` for bash and sh everywhere; on Windows also goci.cmd, which
# PowerShell and cmd find through PATHEXT.
launcher_names() {
  if [ "$(runner_os)" = Windows ]; then echo goci goci.cmd; else echo goci; fi
}

# One word quoted for sh.
sh_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# Write the launchers into $1/bin: $2 the venv's Python, $3 goci's checkout, $4 the pycache
# folder (all bash paths).
write_launchers() {
  local dir="$1" python="$2" root="$3" pycache="$4" name
  mkdir -p "$dir/bin"
  for name in $(launcher_names); do
    case "$name" in
      *.cmd)
        # cmd expands %: double it. %* passes every argument on.
        printf '@"%s" "%s" "%s" %%*\r\n' "$(native "$python")" \
          "$(native "$root/scripts/goci_main.py")" "$(native "$pycache")" |
          sed 's/%\([^*]\)/%%\1/g' >"$dir/bin/$name"
        ;;
      *)
        printf '#!/bin/sh\nexec %s %s %s "$@"\n' "$(sh_quote "$python")" \
          "$(sh_quote "$root/scripts/goci_main.py")" "$(sh_quote "$pycache")" >"$dir/bin/$name"
        chmod +x "$dir/bin/$name"
        ;;
    esac
  done
}

# goci's checkout: the folder above this script's.
goci_root() { (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd); }

# Whether goci from checkout $2 was set up already in the job whose folder is $1.
set_up_in_job() { [ -n "$1" ] && [ -f "$1/ready" ] && [ "$(cat "$1/ready")" = "$2" ]; }

# --- the setup ------------------------------------------------------------------------------

main() {
  local root version job python base helper_out venv_python bin
  root="$(goci_root)"
  version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$root/src/goci/__init__.py")"
  [ -n "$version" ] || fail "cannot read __version__ from $root/src/goci/__init__.py"

  job="$(job_dir)"
  if set_up_in_job "$job" "$root"; then
    say "goci $version was set up earlier in this job"
  else
    [ -n "$job" ] || job="$(mktemp -d)"
    python="$(find_python)"
    base="$(tool_base)"
    helper_out="$("$python" -I "$(native "$root/scripts/goci_deps.py")" ensure \
      "$(native "$base")" "$(native "$root/requirements.lock")")" || exit 1
    helper_out="${helper_out%$'\r'}" # Windows: print() ends lines with CRLF
    venv_python="$(posix "${helper_out#python=}")"
    rm -rf "$job"
    mkdir -p "$job/pycache"
    write_launchers "$job" "$venv_python" "$root" "$job/pycache"
    [ "$("$job/bin/goci" --version | tr -d '\r')" = "goci $version" ] ||
      fail "goci $version was set up in $job but does not run"
    printf '%s' "$root" >"$job/ready"
  fi

  bin="$job/bin"
  if [ -n "${GITHUB_PATH:-}" ]; then
    native "$bin" >>"$GITHUB_PATH"
  fi
  export PATH="$bin:$PATH"
  say "$(command -v goci) is on PATH (goci from $root)"
}

# `setup-goci.sh where`: the folder that holds goci's dependencies for this lock and this
# Python, a cache key naming exactly those, and whether to restore them, as step outputs
# (path=, key=, restore=). Every goci action runs it before the setup: on a runner that starts
# jobs without them (GitHub's hosted runners) it restores that folder with actions/cache and
# saves it after a miss; the setup still verifies what was restored. Nothing to restore once
# goci is set up in this job (the second goci action of a job: no Python is even started) or
# where the runner kept the folder.
where() {
  local root python out
  root="$(goci_root)"
  if set_up_in_job "$(job_dir)" "$root"; then
    out="restore=false"
  else
    python="$(find_python)"
    out="$("$python" -I "$(native "$root/scripts/goci_deps.py")" where \
      "$(native "$(tool_base)")" "$(native "$root/requirements.lock")" | tr -d '\r')" || exit 1
  fi
  printf '%s\n' "$out"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then printf '%s\n' "$out" >>"$GITHUB_OUTPUT"; fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  if [ "${1:-}" = where ]; then where; else main "$@"; fi
fi
