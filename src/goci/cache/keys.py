"""Cache keys for Go's two caches, each keyed by exactly what its content depends on.

The module cache holds source zips: the same for every GOOS/GOARCH and Go version, so its key
carries only the runner OS and the dependency hash. The build cache holds compiled objects: it
depends on the exact Go version, the target, its variant, cgo and build-relevant GOFLAGS. Cache
entries are immutable once saved, so the build key ends in a per-run part and its restore-keys
walk back from "same dependencies" to "anything for this Go and target", never further.

A repository whose modules download nothing has no module cache folder at all: saving it would
only make actions/cache warn, so ``mod_save`` says whether there is anything to save.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from goci.ci_env import CiEnv
from goci.errors import InputError
from goci.matrix.platforms import GO_ENV_NAMES, Platform, dist_list, parse
from goci.tools.gotool import Go
from goci.tools.hashing import sha256_bytes, sha256_pieces
from goci.tools.workspace import ModuleFolders, file_in, find_modules, go_directive, read_whole

MAX_KEY_LENGTH = 512
MAX_KEYS = 10
_GO_ENV_NAMES = ("GOVERSION", "GOMODCACHE", "GOCACHE", "GOFLAGS", "GOEXPERIMENT", *GO_ENV_NAMES)
_HOST_NAMES = ("GOHOSTOS", "GOHOSTARCH")
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
# Patterns most runs never need (GOFLAGS is mostly empty, vendor/ rare), left for re to compile
# and keep at their first use: every job's cache-key imports this module. Go accepts -flag and
# --flag alike.
_BUILD_FLAGS = r"^--?(trimpath|race|msan|asan|cover|tags|buildmode|ldflags|gcflags|asmflags|pgo)\b"
_MOD_FLAG = r"^--?mod=(.*)$"
_MODFILE_FLAG = r"^--?modfile=(.+)$"
_GO_MINOR = r"^1\.(\d+)"


class CacheKeys(NamedTuple):
    """Keys, restore keys and paths of both caches, and whether this run may save them."""

    mod_key: str
    mod_restore_keys: tuple[str, ...]
    mod_path: str
    build_key: str
    build_restore_keys: tuple[str, ...]
    build_path: str
    deps_hash: str
    save: bool
    mod_downloads: bool
    go_version: str
    target: Platform
    dependency_files: tuple[str, ...]

    @property
    def mod_save(self) -> bool:
        """Save the module cache at the end of the job (unless its restore hit the exact key):
        a trusted event, and a module graph that downloads something."""
        return self.save and self.mod_downloads


def workspace_sum(gowork: Path) -> str:
    """The sum file Go keeps beside a go.work: its own name plus ``.sum`` (cmd/go's modload),
    so ``GOWORK=ci.work`` means ``ci.work.sum``, not ``go.work.sum``."""
    return f"{gowork}.sum"


def dependency_files(modules: ModuleFolders) -> list[tuple[str, str]]:
    """(name relative to the root, path) of go.mod/go.sum of every module in use plus the
    go.work and its sum file, where they may be.

    Plain strings: a workspace of 500 modules makes a thousand of them, and pathlib's
    objects cost more to build than the files cost to hash (bench/cache_key.py). Which of them
    exist is found by reading them (:func:`read_files`), not asked first.
    """
    files: list[tuple[str, str]] = []
    if modules.gowork is not None:
        for path in (str(modules.gowork), workspace_sum(modules.gowork)):
            files.append((relative_name(path, modules.root), path))
    for folder in modules.folders:
        relative = relative_name(folder, modules.root)
        prefix = "" if relative == "." else relative + "/"  # one relative name a module
        for name in ("go.mod", "go.sum"):
            files.append((prefix + name, file_in(folder, name)))
    return files


def modfile_files(goflags: str, modules: ModuleFolders, cwd: Path) -> list[str]:
    """With ``-modfile=alt.mod`` in GOFLAGS, go reads alt.mod in place of the main module's
    go.mod and alt.sum in place of its go.sum (cmd/go's modload: the name without ``.mod``,
    plus ``.sum``); a relative name is from where go runs, the folder cache-key runs in. Go
    refuses -modfile in workspace mode, and a name not ending in ``.mod``: none then.
    """
    named = [m.group(1) for word in shlex.split(goflags) if (m := re.match(_MODFILE_FLAG, word))]
    if modules.gowork is not None or not named or not named[-1].endswith(".mod"):
        return []
    alt = os.path.join(cwd, named[-1])  # an absolute name stands on its own
    return [f for f in (alt, alt[: -len(".mod")] + ".sum") if os.path.lexists(f)]


def _go_at_least(gofile: Path, minor: int) -> bool:
    """Whether a go.mod or go.work says ``go 1.<minor>`` or later."""
    match = re.match(_GO_MINOR, go_directive(gofile)[0] or "")
    return match is not None and int(match.group(1)) >= minor


def _mod_mode(goflags: str) -> str:
    """The ``-mod=`` value in GOFLAGS (the last one wins, as in Go), or ``""``."""
    modes = [m.group(1) for word in shlex.split(goflags) if (m := re.match(_MOD_FLAG, word))]
    return modes[-1] if modes else ""


def _has_lines(path: str) -> bool:
    try:
        return bool(read_whole(path).strip())
    except OSError:
        return False


def module_downloads(modules: ModuleFolders, goflags: str) -> bool:
    """Whether Go will put anything in the module cache for these modules.

    Go checks every module it downloads against go.sum (or the go.work's sum file), so a
    module whose go.sum is missing or empty downloads nothing: it has no dependencies, or only
    local replacements. A vendored module reads its dependencies from vendor/ instead: Go's default
    when vendor/ exists and go.mod says go 1.14 or later (go.work: 1.22), unless GOFLAGS says
    -mod=mod or -mod=readonly. When unsure, the answer is yes: a needless save only warns.
    """
    mode = _mod_mode(goflags)

    def vendored(folder: str, gofile: str, minor: int) -> bool:
        if mode in ("mod", "readonly") or not os.path.isdir(file_in(folder, "vendor")):
            return False
        return mode == "vendor" or _go_at_least(Path(gofile), minor)

    if modules.gowork is not None:
        if vendored(str(modules.gowork.parent), str(modules.gowork), 22):
            return False
        sums: Iterable[str] = itertools.chain(
            (workspace_sum(modules.gowork),), (file_in(f, "go.sum") for f in modules.folders)
        )
    else:
        sums = (
            file_in(f, "go.sum")
            for f in modules.folders
            if not vendored(f, file_in(f, "go.mod"), 14)
        )
    return any(_has_lines(path) for path in sums)  # lazily: most answer yes at the first


def read_files(
    files: Iterable[tuple[str, str]], read: Mapping[str, bytes]
) -> list[tuple[str, bytes]]:
    """(relative name, content) of each of ``files`` (relative name, path) that exists, sorted
    by name.

    A go.mod must exist; any other file that is not there, not even as a link, is left out
    (a module without a go.sum, a go.work without its sum file). A file that exists but cannot
    be read (a dangling link, no permission) is an error that names it. ``read`` holds contents
    already read, by path (the go.mod files discover read), so that no file is read twice.
    """
    contents = []
    for relative, path in sorted(files):
        content = read.get(path)
        if content is None:
            try:
                content = read_whole(path)
            except OSError as exc:
                name = os.path.basename(path)
                absent = isinstance(exc, FileNotFoundError) and not os.path.lexists(path)
                if absent and name != "go.mod":
                    continue
                raise InputError(f"{name}: cannot read {path} ({exc.strerror or exc})") from exc
        contents.append((relative, content))
    return contents


def hash_contents(contents: Iterable[tuple[str, bytes]]) -> str:
    """SHA-256 over (relative name, content) pairs: renames and edits both move it."""
    return sha256_pieces(
        piece
        for relative, content in contents
        for piece in (f"{relative}\0{len(content)}\0".encode(), content)
    )


def relative_name(path: str | Path, root: Path) -> str:
    """``path`` relative to ``root`` (``../lib/go.mod`` for a go.work reaching outside it), so
    the hash does not depend on where the runner checked the repository out."""
    text, base = str(path), str(root).rstrip(os.sep) + os.sep
    if text.startswith(base) and f"{os.sep}..{os.sep}" not in text:  # common case, cheaply
        return text[len(base) :].replace(os.sep, "/")
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(root))).as_posix()


def key_part(text: str) -> str:
    """A value made safe for a cache key (``devel go1.27-abc Tue ...`` has spaces)."""
    return _KEY_UNSAFE.sub("_", text.strip()) or "none"


def relevant_goflags(goflags: str) -> str:
    """The GOFLAGS that change compiled output (``-trimpath``, ``-tags``, ``-race``, ...)."""
    try:
        words = shlex.split(goflags)
    except ValueError as exc:
        raise InputError(f"GOFLAGS: {goflags!r} cannot be parsed ({exc})") from exc
    return " ".join(sorted(w for w in words if re.match(_BUILD_FLAGS, w)))


def _start_target_env(
    root: Path, go: Go, target: str | None
) -> Callable[[], tuple[Platform, dict[str, str]]]:
    """The platform the build cache is for and Go's settings for it, from a ``go env`` started
    now and read when the returned function is called (it runs while the files are hashed).

    ``--target`` sets what its word says (``linux/arm/v7`` sets GOARM, ``+cgo`` CGO_ENABLED);
    the rest, and the whole target without it, is what ``go env`` reads, defaults included.
    A GOOS/GOARCH from the environment is checked against ``go tool dist list`` unless it is
    the host's own pair, which this Go runs on (one ``go`` call fewer on every job).
    """
    overrides = {}
    if target:
        overrides = parse(target, dist_list(go, root), input_name="--target").overrides()
    names = (*_GO_ENV_NAMES, *_HOST_NAMES)
    started = go.with_env(**overrides).start_env_values(names, cwd=root)

    def finish() -> tuple[Platform, dict[str, str]]:
        values = started()
        pair = f"{values['GOOS']}/{values['GOARCH']}"
        if not target and pair != f"{values['GOHOSTOS']}/{values['GOHOSTARCH']}":
            parse(pair, dist_list(go, root), input_name="GOOS/GOARCH")
        return Platform.from_go_env(values), values

    return finish


def check_keys(key: str, restore_keys: tuple[str, ...], which: str) -> None:
    """Enforce the cache service's rules so a bad key fails here, not silently in actions/cache."""
    keys = (key, *restore_keys)
    if len(keys) > MAX_KEYS:
        raise InputError(f"{which}: {len(keys)} keys, the cache service accepts at most {MAX_KEYS}")
    for candidate in keys:
        if len(candidate) > MAX_KEY_LENGTH:
            raise InputError(f"{which}: key longer than {MAX_KEY_LENGTH} characters: {candidate}")
        if "," in candidate:
            raise InputError(f"{which}: key contains a comma, which the cache service refuses")


def check_prefix(prefix: str, name: str = "--prefix") -> str:
    """A key prefix the cache service takes, readable in a key: 1-64 safe characters."""
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", prefix):
        raise InputError(f"{name}: {prefix!r} must be 1-64 letters, digits, '.', '_' or '-'")
    return prefix


def compute(
    root: Path,
    go: Go,
    ci: CiEnv,
    *,
    target: str | None = None,
    prefix: str = "goci",
) -> CacheKeys:
    """Compute both caches' keys for the repository at ``root`` and the chosen target."""
    check_prefix(prefix)
    modules = find_modules(root, go)
    target_env = _start_target_env(root, go, target)
    try:  # go env runs while the files are hashed; its error, if any, is the one raised
        contents = read_files(dependency_files(modules), modules.gomods_read)
        deps_hash = hash_contents(contents)[:32]
    finally:
        built_for, values = target_env()
    os_name = ci.runner_os
    flags = relevant_goflags(values["GOFLAGS"])
    alternate = modfile_files(values["GOFLAGS"], modules, root)
    if alternate:  # rare: hashed again, rather than wait for go env before every hash
        contents += read_files(((relative_name(f, modules.root), f) for f in alternate), {})
        contents.sort(key=lambda pair: pair[0])
        deps_hash = hash_contents(contents)[:32]
    if values.get("GOEXPERIMENT"):
        flags += f" GOEXPERIMENT={values['GOEXPERIMENT']}"
    flags_hash = sha256_bytes(flags.encode())[:8]

    mod_base = f"{prefix}-mod-{key_part(os_name)}-"
    mod_key = mod_base + deps_hash
    go_version = key_part(values["GOVERSION"])
    build_base = (
        f"{prefix}-build-{key_part(os_name)}-{go_version}-{built_for.cache_label}-{flags_hash}-"
    )
    build_key = f"{build_base}{deps_hash}-{ci.run_identity}"
    build_restore = (f"{build_base}{deps_hash}-", build_base)
    check_keys(mod_key, (mod_base,), "module cache key")
    check_keys(build_key, build_restore, "build cache key")
    return CacheKeys(
        mod_key=mod_key,
        mod_restore_keys=(mod_base,),
        mod_path=values["GOMODCACHE"],
        build_key=build_key,
        build_restore_keys=build_restore,
        build_path=values["GOCACHE"],
        deps_hash=deps_hash,
        save=ci.event.trusted,
        mod_downloads=module_downloads(modules, values["GOFLAGS"])
        or any(_has_lines(f) for f in alternate if f.endswith(".sum")),
        go_version=values["GOVERSION"],
        target=built_for,
        dependency_files=tuple(relative for relative, _ in contents),
    )
