"""Who is writing: enough to tell a dead writer's leftovers from a live writer's work.

A killed upload leaves temporary files (file store) and unfinished multipart uploads (S3).
A later run may remove them only when their writer is provably gone, never because they
merely look old to a clock, unless they sat idle for longer than the operator allows.
"""

from __future__ import annotations

import functools
import os
import re
import socket
from dataclasses import asdict, dataclass
from typing import Any

from goci.tools.hashing import sha256_bytes

_TAG = re.compile(r"^(?P<host>[0-9a-f]{8})-(?P<pid>\d{1,10})$")

_live: set[str] = set()


def register_live(token: str) -> None:
    """Mark a temporary file or upload as this process's work in progress."""
    _live.add(token)


def unregister_live(token: str) -> None:
    _live.discard(token)


@functools.cache
def host_id() -> str:
    """A short, stable id of where process ids mean something: the host name and (on Linux)
    the PID namespace, hashed. Two containers that share a store folder and a host name are
    still two places, so neither takes the other's live pid for a dead one."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    place = f"{socket.gethostname()}\0{namespace}"
    return sha256_bytes(place.encode())[:8]


@dataclass(frozen=True)
class Owner:
    """The writer of a temporary object: machine, process, and CI job attempt where known."""

    host: str
    pid: int
    job: str = ""
    attempt: int = 0

    @classmethod
    def current(cls, job: str = "", attempt: int = 0) -> Owner:
        """This process, in the CI job (``repository/run/job``) and attempt that runs it."""
        return cls(host_id(), os.getpid(), job, attempt)

    @classmethod
    def here(cls) -> Owner:
        """This process, without CI facts (temporary file names carry only machine and pid)."""
        return cls(host_id(), os.getpid())

    @property
    def tag(self) -> str:
        return f"{self.host}-{self.pid}"

    @classmethod
    def from_tag(cls, text: str) -> Owner | None:
        match = _TAG.match(text)
        return cls(match.group("host"), int(match.group("pid"))) if match else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Owner | None:
        """An owner read back from a marker; None when it is not one (then only age counts)."""
        if not isinstance(data, dict):
            return None
        host, pid = data.get("host"), data.get("pid")
        job, attempt = data.get("job", ""), data.get("attempt", 0)
        if not (isinstance(host, str) and isinstance(pid, int) and isinstance(job, str)):
            return None
        return cls(host, pid, job, attempt if isinstance(attempt, int) else 0)


def _pid_running(pid: int) -> bool:
    if os.name == "nt" or pid <= 0:
        return True  # os.kill(pid, 0) would terminate the process on Windows: assume alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def abandoned(
    owner: Owner | None, token: str, idle: float, stale_after: float, me: Owner
) -> str | None:
    """Why a temporary object is a dead writer's leftover, or None while it may be live.

    Proof of death comes first: a process of this machine that is gone (or this very process,
    which no longer works on it), or an earlier attempt of this same CI job (GitHub starts a
    re-run only after the attempt before it ended). Without proof, only an object idle for
    longer than ``stale_after`` seconds counts as abandoned.
    """
    if owner is not None and owner.host == me.host:
        if owner.pid == me.pid:
            if token not in _live:
                return "left by an earlier run in this process"
            return None
        if not _pid_running(owner.pid):
            return f"its writer (process {owner.pid} on this machine) is gone"
    if owner is not None and owner.job and owner.job == me.job and owner.attempt < me.attempt:
        return f"left by attempt {owner.attempt} of this job"
    if idle > stale_after:
        return f"idle for {idle / 60:.0f} min (more than --stale-after)"
    return None
