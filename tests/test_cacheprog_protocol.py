"""The GOCACHEPROG server driven in-process by request streams, as the go command writes them.

``data/cacheprog/go-build-lib.stream`` is what go 1.26 sent for ``go build ./lib`` (recorded
with ``tee``): two gets, four puts (one without a body), close. The other streams are written
here in the same format, to put requests in an order a test needs. The store is a real
:class:`FileStore`; where a store must hang or answer late, it is wrapped so that one key's
read waits on an event the test controls.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from goci.cache.cacheprog import wire
from goci.cache.cacheprog.entries import INLINE_MAX, Layout, decode, new_entry
from goci.cache.cacheprog.local import LocalTier
from goci.cache.cacheprog.remote import RemoteTier
from goci.cache.cacheprog.server import Server
from goci.cache.cacheprog.stats import Recorder
from goci.release.stores import Store, open_store
from goci.release.stores.filestore import FileStore
from support.seaweed import BUCKET, Seaweed

RECORDED = Path(__file__).parent / "data" / "cacheprog" / "go-build-lib.stream"
LAYOUT = Layout.of("owner/repo")


def b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def get(request_id: int, action: str) -> bytes:
    line = {"ID": request_id, "Command": "get", "ActionID": b64(action)}
    return json.dumps(line, separators=(",", ":")).encode() + b"\n\n"


def put(request_id: int, action: str, body: bytes) -> bytes:
    output = hashlib.sha256(body).hexdigest()
    line: dict[str, Any] = {
        "ID": request_id,
        "Command": "put",
        "ActionID": b64(action),
        "OutputID": b64(output),
    }
    if body:
        line["BodySize"] = len(body)
    text = json.dumps(line, separators=(",", ":")).encode() + b"\n\n"
    return text + (b'"' + base64.b64encode(body) + b'"\n' if body else b"")


def close(request_id: int) -> bytes:
    return b'{"ID":%d,"Command":"close"}\n\n' % request_id


def action(n: int) -> str:
    return hashlib.sha256(b"action %d" % n).hexdigest()


class GatedStore(FileStore):
    """A file store whose reads of keys in ``gated`` wait until ``gate`` is set."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gate = threading.Event()
        self.gated: set[str] = set()
        self.waiting = threading.Event()

    def read(self, key: str) -> tuple[bytes, str] | None:
        if key in self.gated:
            self.waiting.set()
            self.gate.wait(30)
        return super().read(key)


def make_server(
    local: Path,
    store: Store | None,
    out_fd: int,
    *,
    read_only: bool = False,
    timeout: float = 10.0,
    clock: Any = None,
) -> tuple[Server, Recorder, list[str]]:
    recorder = Recorder()
    warnings: list[str] = []
    remote = None
    if store is not None:
        extra = {"clock": clock} if clock else {}
        remote = RemoteTier(
            store, LAYOUT, recorder, read_only=read_only, warn=warnings.append, **extra
        )
    server = Server(
        LocalTier(local),
        remote,
        recorder,
        out_fd=out_fd,
        timeout=timeout,
        flush_timeout=10.0,
        warn=warnings.append,
    )
    return server, recorder, warnings


def replay(
    stream: bytes, local: Path, store: Store | None = None, **kw: Any
) -> tuple[list[dict[str, Any]], Recorder, list[str]]:
    """Serve ``stream`` to the end; the answers in the order they were written."""
    read_fd, write_fd = os.pipe()
    answers: list[bytes] = []
    reader = threading.Thread(target=lambda: answers.append(_drain(read_fd)))
    reader.start()
    server, recorder, warnings = make_server(local, store, write_fd, **kw)
    read_in, write_in = os.pipe()

    def feed() -> None:
        os.write(write_in, stream)
        os.close(write_in)

    feeder = threading.Thread(target=feed)
    feeder.start()
    with os.fdopen(read_in, "rb") as stdin:
        server.serve(stdin)
    server.local.close()
    feeder.join()
    os.close(write_fd)
    reader.join()
    return [json.loads(line) for line in answers[0].splitlines()], recorder, warnings


def _drain(fd: int) -> bytes:
    with os.fdopen(fd, "rb") as pipe:
        return pipe.read()


def read_body(store: Store, key: str) -> bytes:
    """The bytes stored at ``key``, which the test wrote there."""
    found = store.read(key)
    assert found is not None
    return found[0]


def by_id(answers: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for answer in answers[1:]:
        assert answer["ID"] not in found, f"answered twice: {answer}"
        found[answer["ID"]] = answer
    return found


class LiveServer:
    """A server on pipes, spoken to as the go command does: a request, then its answer."""

    def __init__(self, local: Path, store: Store | None, **kw: Any) -> None:
        self._out_read, self._out_write = os.pipe()
        read_in, self._in = os.pipe()
        self.server, self.recorder, self.warnings = make_server(local, store, self._out_write, **kw)
        self.out = os.fdopen(self._out_read, "rb")

        def serve() -> None:
            with os.fdopen(read_in, "rb") as stdin:
                self.server.serve(stdin)

        self.thread = threading.Thread(target=serve)
        self.thread.start()
        assert json.loads(self.out.readline())["ID"] == 0

    def send(self, request: bytes) -> None:
        os.write(self._in, request)

    def answer(self) -> dict[str, Any]:
        return dict(json.loads(self.out.readline()))

    def ask(self, request: bytes) -> dict[str, Any]:
        self.send(request)
        return self.answer()

    def close(self, request_id: int) -> None:
        assert self.ask(close(request_id)) == {"ID": request_id}
        os.close(self._in)
        self.thread.join(10)
        self.server.local.close()
        os.close(self._out_write)
        self.out.close()


def test_recorded_go_build_stream_is_answered_then_hits_on_a_second_server(
    tmp_path: Path,
) -> None:
    stream = RECORDED.read_bytes()
    answers, recorder, _ = replay(stream, tmp_path / "local")
    assert answers[0] == {"ID": 0, "KnownCommands": ["get", "put", "close"]}
    answered = by_id(answers)
    assert sorted(answered) == [1, 2, 3, 4, 5, 6, 7]
    assert answers[-1] == {"ID": 7}  # close is answered last, after everything else
    assert answered[1] == {"ID": 1, "Miss": True} and answered[3] == {"ID": 3, "Miss": True}
    with RECORDED.open("rb") as recorded:
        requests = {r.id: r for r in wire.requests(recorded)}
    for put_id in (2, 4, 5, 6):
        path = Path(answered[put_id]["DiskPath"])
        assert path.is_absolute() and path.read_bytes() == requests[put_id].body
        assert hashlib.sha256(path.read_bytes()).hexdigest() == requests[put_id].output_id
    assert requests[5].body == b""  # a put without BodySize: an empty output

    counts = recorder.snapshot()
    assert (counts.gets, counts.misses, counts.puts) == (2, 2, 4)

    gets_again = get(1, requests[2].action_id) + get(2, requests[6].action_id) + close(3)
    again, recorder2, _ = replay(gets_again, tmp_path / "local")
    hits = by_id(again)
    for request_id, put_id in ((1, 2), (2, 6)):
        assert hits[request_id]["OutputID"] == b64(requests[put_id].output_id)
        assert hits[request_id]["Size"] == requests[put_id].body_size
        assert Path(hits[request_id]["DiskPath"]).read_bytes() == requests[put_id].body
        assert hits[request_id]["Time"].endswith("Z")
    assert recorder2.snapshot().local_hits == 2


def test_answers_come_out_of_order_by_id_while_the_store_is_slow(tmp_path: Path) -> None:
    """A get waiting on the store does not hold back the requests after it."""
    store = GatedStore(tmp_path / "store")
    slow_body, fast_body = b"slow output", b"fast output"
    fill = put(1, action(1), slow_body) + put(2, action(2), fast_body) + close(3)
    replay(fill, tmp_path / "machine-a", store)
    assert store.read(LAYOUT.action_key(action(1))) is not None

    local = LocalTier(tmp_path / "machine-b")
    local.put_output(hashlib.sha256(fast_body).hexdigest(), fast_body)
    local.put_action(action(2), hashlib.sha256(fast_body).hexdigest(), len(fast_body), 1)
    local.close()
    store.gated.add(LAYOUT.action_key(action(1)))

    live = LiveServer(tmp_path / "machine-b", store)
    live.send(get(7, action(1)) + get(8, action(2)))
    assert store.waiting.wait(10)
    first = live.answer()
    assert first["ID"] == 8 and first["OutputID"] == b64(hashlib.sha256(fast_body).hexdigest())
    store.gate.set()
    second = live.answer()
    assert second["ID"] == 7 and Path(second["DiskPath"]).read_bytes() == slow_body
    live.close(9)


def test_a_store_that_never_answers_is_a_miss_after_the_timeout(tmp_path: Path) -> None:
    store = GatedStore(tmp_path / "store")
    replay(put(1, action(1), b"x" * 10) + close(2), tmp_path / "a", store)
    store.gated.add(LAYOUT.action_key(action(1)))  # hangs until the test ends
    stream = get(1, action(1)) + get(2, action(1)) + put(3, action(3), b"y") + close(4)
    try:
        answers, recorder, warnings = replay(stream, tmp_path / "b", store, timeout=0.3)
    finally:
        store.gate.set()
    answered = by_id(answers)
    assert answered[1] == {"ID": 1, "Miss": True}
    assert answered[2] == {"ID": 2, "Miss": True}
    assert "DiskPath" in answered[3]
    counts = recorder.snapshot()
    assert counts.timeouts == 2 and counts.degraded == ["no answer within 0.3s"]
    assert len([w for w in warnings if "local cache only" in w]) == 1


@pytest.mark.parametrize("target", ["inline", "output"])
def test_a_corrupted_or_forged_object_is_a_miss_and_the_next_put_repairs_it(
    tmp_path: Path, target: str
) -> None:
    store = FileStore(tmp_path / "store")
    body = os.urandom(INLINE_MAX + 1000) if target == "output" else b"small output"
    output = hashlib.sha256(body).hexdigest()
    replay(put(1, action(1), body) + close(2), tmp_path / "a", store)
    key = LAYOUT.output_key(output) if target == "output" else LAYOUT.action_key(action(1))
    good = (tmp_path / "store" / key).read_bytes()
    if target == "output":  # corrupted: the last bytes of the stored stream zeroed
        forged = good[:-8] + bytes(8)
    else:  # forged: a well-formed entry whose bytes are not the output its ID names
        forged = new_entry(output, b"small outpux", 1, time.time()).encode()
    (tmp_path / "store" / key).write_bytes(forged)

    live = LiveServer(tmp_path / "b", store)
    assert live.ask(get(1, action(1))) == {"ID": 1, "Miss": True}
    assert "DiskPath" in live.ask(put(2, action(1), body))  # as go does: a miss, then a put
    live.close(3)
    assert live.recorder.snapshot().bad_objects >= 1
    assert (tmp_path / "store" / key).read_bytes() != forged  # repaired by the put

    answers, recorder, _ = replay(get(1, action(1)) + close(2), tmp_path / "c", store)
    hit = by_id(answers)[1]
    assert Path(hit["DiskPath"]).read_bytes() == body and recorder.snapshot().remote_hits == 1


def test_a_put_whose_body_does_not_hash_to_its_output_id_is_refused(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "store")
    lying = put(1, action(1), b"real").replace(
        b64(hashlib.sha256(b"real").hexdigest()).encode(),
        b64(hashlib.sha256(b"fake").hexdigest()).encode(),
    )
    answers, _, _ = replay(lying + get(2, action(1)) + close(3), tmp_path / "a", store)
    answered = by_id(answers)
    assert "OutputID" in answered[1]["Err"] and answered[2] == {"ID": 2, "Miss": True}
    assert store.list_keys("") == []


def test_close_is_answered_after_every_get_the_store_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer to ``close`` comes last: a get the store answered is written before it, and
    never after the output is closed. Each get's answer is held here until close has begun (the
    order a slow writer gives); close must wait for it. Before, close counted only the gets not
    yet taken out of the waiting list, and the suite lost an answer under load."""
    store = FileStore(tmp_path / "store")
    replay(put(1, action(1), b"shared") + close(2), tmp_path / "a", store)
    flush, send = Server.flush, Server._send
    for attempt in range(20):
        closing = threading.Event()

        def flushing(server: Server, closing: threading.Event = closing) -> int:
            closing.set()
            return flush(server)

        def held(server: Server, data: bytes, closing: threading.Event = closing) -> None:
            if threading.current_thread().name.startswith("goci-cacheprog-get"):
                closing.wait()
            send(server, data)

        monkeypatch.setattr(Server, "flush", flushing)
        monkeypatch.setattr(Server, "_send", held)
        stream = get(1, action(1)) + get(2, action(2)) + close(3)
        answers, _, _ = replay(stream, tmp_path / f"b{attempt}", store)
        assert [answer["ID"] for answer in answers[1:]][-1:] == [3], answers
        answered = by_id(answers)
        assert set(answered) == {1, 2, 3}
        assert Path(answered[1]["DiskPath"]).read_bytes() == b"shared"
        assert answered[2] == {"ID": 2, "Miss": True}


def test_read_only_serves_from_the_store_and_writes_nothing(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "store")
    replay(put(1, action(1), b"shared") + close(2), tmp_path / "a", store)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "store").rglob("*") if p.is_file()}
    later = 10 * 86400.0 + os.stat(next(iter(before))).st_mtime  # every mark would be due
    stream = get(1, action(1)) + get(2, action(2)) + put(3, action(2), b"new") + close(4)
    answers, recorder, _ = replay(
        stream, tmp_path / "b", store, read_only=True, clock=lambda: later
    )
    answered = by_id(answers)
    assert Path(answered[1]["DiskPath"]).read_bytes() == b"shared"
    assert "DiskPath" in answered[3]  # the put is served locally
    after = {p: p.stat().st_mtime_ns for p in (tmp_path / "store").rglob("*") if p.is_file()}
    assert after == before
    assert recorder.snapshot().marks == 0


def test_a_use_marks_an_entry_at_most_once_a_day(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "store")
    replay(put(1, action(1), b"used") + close(2), tmp_path / "a", store)
    key = LAYOUT.action_key(action(1))
    put_at = decode(read_body(store, key)).marked
    # A reader an hour later does not write; one two days later marks, once.
    _, recorder, _ = replay(
        get(1, action(1)) + close(2), tmp_path / "b", store, clock=lambda: put_at + 3600.0
    )
    assert recorder.snapshot().marks == 0 and decode(read_body(store, key)).marked == put_at
    two_days = put_at + 2 * 86400.0
    stream = get(1, action(1)) + get(2, action(1)) + close(3)
    _, recorder, _ = replay(stream, tmp_path / "c", store, clock=lambda: two_days)
    assert recorder.snapshot().marks == 1
    assert decode(read_body(store, key)).marked == int(two_days)
    _, recorder, _ = replay(
        get(1, action(1)) + close(2), tmp_path / "d", store, clock=lambda: two_days + 60
    )
    assert recorder.snapshot().marks == 0


@pytest.fixture(params=["file", "s3"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "file":
        return open_store("file://store", env={}, cwd=tmp_path)
    seaweed: Seaweed = request.getfixturevalue("seaweed")
    return open_store(
        f"s3://{BUCKET}/cacheprog-race/{uuid.uuid4().hex[:8]}",
        endpoint_url=seaweed.endpoint,
        env=seaweed.env(),
        cwd=tmp_path,
    )


def test_two_servers_putting_the_same_entry_at_once_store_it_once(
    any_store: Store, tmp_path: Path
) -> None:
    """Two jobs build the same package at the same moment: one entry, one output, both fine."""
    body = os.urandom(INLINE_MAX + 1000)  # large: a separate output object, then the entry
    output = hashlib.sha256(body).hexdigest()
    recorders: list[Recorder] = []
    tiers: list[tuple[RemoteTier, LocalTier]] = []
    for name in ("a", "b"):
        local = LocalTier(tmp_path / name)
        local.put_output(output, body)
        recorder = Recorder()
        tiers.append((RemoteTier(any_store, LAYOUT, recorder, read_only=False, warn=print), local))
        recorders.append(recorder)
    start = threading.Barrier(2)

    def upload(tier: RemoteTier, local: LocalTier) -> None:
        start.wait()
        tier.upload(action(1), output, 1, local)

    threads = [threading.Thread(target=upload, args=pair) for pair in tiers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = [r.snapshot() for r in recorders]
    assert sorted((c.uploads, c.uploads_skipped, c.uploads_dropped) for c in counts) == [
        (0, 1, 0),
        (1, 0, 0),
    ]
    assert sorted(any_store.list_keys(LAYOUT.root)) == [
        LAYOUT.action_key(action(1)),
        LAYOUT.output_key(output),
    ]
    answers, _, _ = replay(get(1, action(1)) + close(2), tmp_path / "c", any_store)
    assert Path(by_id(answers)[1]["DiskPath"]).read_bytes() == body
    for _tier, local in tiers:
        local.close()
    any_store.close()
