"""How the shared build cache lies in a store, and how an entry is written and checked.

Under ``<namespace>/v1/`` (one namespace per repository keeps tenants apart):

* ``a/<aa>/<actionID>``: one entry, a header line
  ``goci-cacheprog 1 <outputID> <size> <put-unix-nanos> <marked-unix-seconds> <inline-length>``
  and, for an output of at most :data:`INLINE_MAX` bytes, the output itself (zlib), so that
  most hits cost one round trip;
* ``o/<oo>/<outputID>``: a larger output (zlib), content-addressed, stored once however many
  entries, jobs or targets share it.

Go's action IDs already hash the Go version, the target and every input, so entries of two Go
versions or targets never collide and need no prefix of their own. An output is accepted only
when its bytes hash to the output ID: a corrupted or forged object is a miss, never a wrong
build. The ``marked`` time is when a reader last refreshed the entry (:func:`needs_mark`).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from goci.errors import InputError
from goci.tools.hashing import sha256_bytes

FORMAT = b"goci-cacheprog 1"
#: Outputs up to this size live inside their entry: one round trip per hit, not two (most
#: compiled packages are below it; bench/remote_cache.py measures the difference).
INLINE_MAX = 512 * 1024
#: An entry is marked as used at most once per this many seconds (one write a day at most).
MARK_INTERVAL = 86400.0
COMPRESS_LEVEL = 1  # zlib's fastest: Go's objects shrink about 3x, at ~100 MB/s
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NAMESPACE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}(?:/[A-Za-z0-9][A-Za-z0-9._-]{0,99}){0,2}$"
)


class BadObject(Exception):
    """A stored object that is not what its name promises (corrupted, truncated, forged)."""


@dataclass(frozen=True)
class Layout:
    """Where one namespace's entries and outputs live in the store."""

    namespace: str

    @classmethod
    def of(cls, namespace: str) -> Layout:
        if not _NAMESPACE.match(namespace) or ".." in namespace:
            raise InputError(
                f"--namespace: {namespace!r} is not valid; use up to three '/'-separated names "
                "of letters, digits, '.', '_' or '-' (e.g. owner/repo)"
            )
        return cls(namespace)

    @property
    def root(self) -> str:
        return f"{self.namespace}/v1/"

    @property
    def actions(self) -> str:
        return f"{self.namespace}/v1/a/"

    @property
    def outputs(self) -> str:
        return f"{self.namespace}/v1/o/"

    def action_key(self, action_id: str) -> str:
        return f"{self.namespace}/v1/a/{action_id[:2]}/{action_id}"

    def output_key(self, output_id: str) -> str:
        return f"{self.namespace}/v1/o/{output_id[:2]}/{output_id}"


@dataclass(frozen=True)
class Entry:
    """An action entry as stored: what it points at and, for a small output, the output."""

    output_id: str
    size: int
    put_nanos: int
    marked: int
    inline: bytes | None = None  # compressed

    def encode(self) -> bytes:
        length = -1 if self.inline is None else len(self.inline)
        header = f" {self.output_id} {self.size} {self.put_nanos} {self.marked} {length}\n"
        return FORMAT + header.encode("ascii") + (self.inline or b"")

    def marked_now(self, now: float) -> Entry:
        return Entry(self.output_id, self.size, self.put_nanos, int(now), self.inline)


def decode(data: bytes) -> Entry:
    """An entry read back from the store; anything malformed is a :class:`BadObject`."""
    end = data.find(b"\n", 0, 256)
    if end < 0 or not data.startswith(FORMAT + b" "):
        raise BadObject("not a goci-cacheprog entry")
    fields = data[len(FORMAT) + 1 : end].split(b" ")
    try:
        output_id = fields[0].decode("ascii")
        size, put_nanos, marked, length = (int(f) for f in fields[1:])
    except (ValueError, UnicodeDecodeError):
        raise BadObject("a malformed entry header") from None
    rest = data[end + 1 :]
    if not _HEX64.match(output_id) or size < 0 or (length >= 0) != bool(rest or length == 0):
        raise BadObject("a malformed entry header")
    if length >= 0 and len(rest) != length:
        raise BadObject(f"an entry with {len(rest)} inline bytes, its header says {length}")
    return Entry(output_id, size, put_nanos, marked, rest if length >= 0 else None)


def compress(body: bytes) -> bytes:
    return zlib.compress(body, COMPRESS_LEVEL)


def expand(data: bytes, output_id: str, size: int) -> bytes:
    """The output a stored object holds, checked: exactly ``size`` bytes hashing to
    ``output_id`` (never more is inflated, whatever the object claims)."""
    inflater = zlib.decompressobj()
    try:
        body = inflater.decompress(data, size + 1)
    except zlib.error:
        raise BadObject("not a zlib stream") from None
    if len(body) != size or not inflater.eof or inflater.unused_data:
        raise BadObject(f"{len(body)} bytes where {size} were stored")
    if sha256_bytes(body) != output_id:
        raise BadObject("the bytes do not hash to the output ID")
    return body


def new_entry(output_id: str, body: bytes, put_nanos: int, now: float) -> Entry:
    """The entry a put stores: the output inline when it is small."""
    inline = compress(body) if len(body) <= INLINE_MAX else None
    return Entry(output_id, len(body), put_nanos, int(now), inline)


def needs_mark(entry: Entry, now: float) -> bool:
    """Whether a use now should refresh the entry (its last mark is a day old or more)."""
    return now - entry.marked >= MARK_INTERVAL
