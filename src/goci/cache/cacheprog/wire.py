"""The GOCACHEPROG protocol as the go command speaks it (cmd/go/internal/cacheprog, cache/prog.go).

The server writes one JSON object first, ``{"ID":0,"KnownCommands":[...]}``; then the go
command sends requests, each a JSON object on a line followed by an empty line, and a ``put``
with ``BodySize > 0`` by one more line: the body as a base64 JSON string. Byte fields
(``ActionID``, ``OutputID``) are base64, as Go's encoding/json writes ``[]byte``. Responses may
come in any order; each carries its request's ``ID``. A hit names a file on local disk
(``DiskPath``) that must stay until ``close``. Before Go 1.24 the experiment called OutputID
``ObjectID``; both are read.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

GET, PUT, CLOSE = "get", "put", "close"
KNOWN_COMMANDS = (GET, PUT, CLOSE)


class ProtocolError(Exception):
    """The go command sent something this protocol does not allow."""


@dataclass(frozen=True, slots=True)
class Request:
    """One request; IDs are lower-case hex (file and object names), bodies raw bytes."""

    id: int
    command: str
    action_id: str = ""
    output_id: str = ""
    body_size: int = 0
    body: bytes = b""


def handshake() -> bytes:
    """The first line the server writes: what it can do."""
    return json.dumps({"ID": 0, "KnownCommands": list(KNOWN_COMMANDS)}).encode() + b"\n"


def _hex_id(value: object, name: str) -> str:
    if value is None or value == "":
        return ""
    try:
        raw = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{name} is not base64: {str(value)[:80]!r}") from None
    if len(raw) != 32:
        raise ProtocolError(f"{name} has {len(raw)} bytes, not 32")
    return raw.hex()


def _body(line: bytes, size: int) -> bytes:
    """A body line: a JSON string of base64 (Go writes it raw between quotes)."""
    text = line.strip()
    if len(text) < 2 or text[:1] != b'"' or text[-1:] != b'"':
        raise ProtocolError("a put body is not a JSON string")
    inner = text[1:-1]
    if b"\\" in inner:  # a JSON writer that escapes '/' (Go does not)
        inner = json.loads(text).encode("ascii")
    try:
        body = binascii.a2b_base64(inner)  # stray characters are caught by the size and hash
    except (binascii.Error, ValueError):
        raise ProtocolError("a put body is not base64") from None
    if len(body) != size:
        raise ProtocolError(f"a put body has {len(body)} bytes, BodySize says {size}")
    return body


def _nonblank(stream: BinaryIO) -> bytes:
    """The next line that is not empty (Go follows each request with an empty line)."""
    while True:
        line = stream.readline()
        if not line or not line.isspace():
            return line


def parse(line: bytes) -> Request:
    """One request line (without its body)."""
    try:
        fields = json.loads(line)
    except ValueError:
        raise ProtocolError(f"not a JSON request: {line[:120]!r}") from None
    if not isinstance(fields, dict) or not isinstance(fields.get("ID"), int):
        raise ProtocolError(f"a request without an ID: {line[:120]!r}")
    size = fields.get("BodySize") or 0
    if not isinstance(size, int) or size < 0:
        raise ProtocolError(f"BodySize {size!r} is not a size")
    return Request(
        id=fields["ID"],
        command=str(fields.get("Command", "")),
        action_id=_hex_id(fields.get("ActionID"), "ActionID"),
        output_id=_hex_id(fields.get("OutputID") or fields.get("ObjectID"), "OutputID"),
        body_size=size,
    )


def requests(stream: BinaryIO) -> Iterator[Request]:
    """Every request on ``stream`` until it ends, each ``put`` with its body."""
    while True:
        line = _nonblank(stream)
        if not line:
            return
        request = parse(line)
        if request.command == PUT and request.body_size > 0:
            body_line = _nonblank(stream)
            if not body_line:
                raise ProtocolError(f"request {request.id}: the input ended before its body")
            request = Request(
                request.id,
                request.command,
                request.action_id,
                request.output_id,
                request.body_size,
                _body(body_line, request.body_size),
            )
        yield request


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode("ascii")


def go_time(unix_nanos: int) -> str:
    """An RFC 3339 time with nanoseconds in UTC, as Go's time.Time reads it from JSON."""
    seconds, nanos = divmod(unix_nanos, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def hit(request_id: int, output_id: str, size: int, put_nanos: int, disk_path: str) -> bytes:
    fields = {
        "ID": request_id,
        "OutputID": _b64(output_id),
        "Size": size,
        "Time": go_time(put_nanos),
        "DiskPath": disk_path,
    }
    return json.dumps(fields, separators=(",", ":")).encode() + b"\n"


def miss(request_id: int) -> bytes:
    return b'{"ID":%d,"Miss":true}\n' % request_id


def stored(request_id: int, disk_path: str) -> bytes:
    return (
        json.dumps({"ID": request_id, "DiskPath": disk_path}, separators=(",", ":")).encode()
        + b"\n"
    )


def error(request_id: int, message: str) -> bytes:
    return json.dumps({"ID": request_id, "Err": message}, separators=(",", ":")).encode() + b"\n"


def closed(request_id: int) -> bytes:
    return b'{"ID":%d}\n' % request_id
