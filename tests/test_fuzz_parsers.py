"""Property/fuzz harness: every parser of repository or user content raises only goci's errors.

Whatever a repository holds (go.mod, go.work, coverage profiles and their sidecars, the
``go test -json`` stream its tests produce) and whatever a user types (list inputs, shards,
platforms, matrix objects, version words, URLs), goci either accepts it or raises a
GociError, which the shells turn into one clear line and exit 2. Anything else would be a
traceback. (SHA256SUMS, manifests and release names are covered with the release code.)
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from goci import options
from goci.commands.ci import platform_words
from goci.coverage import profiles, sidecars, thresholds
from goci.coverage.merge import merge as merge_profiles
from goci.coverage.merge import read_profile
from goci.errors import GociError
from goci.gotest.events import parse_events
from goci.gotest.shards import parse_shard, read_timings
from goci.matrix import goreleases, platforms
from goci.matrix import plan as matrix
from goci.matrix import runners as runner_choice
from goci.matrix.build import check_version
from goci.tools.gotool import Go
from goci.tools.workspace import discover, go_directive, module_path

FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Text that looks like what each parser reads, cut and spliced with noise.
NOISE = st.text(max_size=6) | st.sampled_from(
    ["\n", "\r\n", " ", "\t", "\x00", "\ufeff", "é", "\udcff", "-", "0", "9" * 30, "1e999"]
)


def spliced(*pieces: str) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(pieces) | NOISE, max_size=25).map("".join)


def only_goci_errors(call: Callable[[], Any]) -> Any:
    """Run ``call``; a GociError is an accepted answer, anything else fails the test."""
    try:
        return call()
    except GociError as exc:
        assert str(exc).strip(), "a GociError must say what is wrong"
        return None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


# ---- list inputs and the other user words ----------------------------------------------------

LIST_TEXT = spliced("[", "]", '"', ",", " ", "\n", "a", "linux/amd64", "null", "{}", "1.24", "\\")


@FAST
@given(raw=LIST_TEXT | JSON.map(json.dumps), kind=st.sampled_from(options.Kind.__args__))  # type: ignore[attr-defined]
def test_every_option_kind_takes_any_text(raw: str, kind: options.Kind) -> None:
    option = options.Option(
        name="x", kind=kind, help="", choices=("a", "b") if kind == "str" else ()
    )
    only_goci_errors(lambda: options.split_list(raw))
    only_goci_errors(lambda: options.convert(option, raw, "INPUT_X"))
    only_goci_errors(lambda: options.resolve((option,), {}, {"INPUT_X": raw}))


@FAST
@given(raw=LIST_TEXT | JSON.map(json.dumps) | JSON)
def test_service_lists(raw: Any) -> None:
    names = only_goci_errors(lambda: matrix.service_list(raw))
    if names is not None:
        assert all(isinstance(n, str) and n and n == n.strip() for n in names)


KNOWN = platforms.DistList(
    frozenset({"linux/amd64", "linux/arm", "linux/arm64", "windows/amd64", "darwin/arm64"}),
    frozenset({"linux/amd64", "darwin/arm64"}),
)


PLATFORM_WORD = st.sampled_from(
    ["linux/amd64", "linux/arm/v7", "linux/arm/7", "linux/amd64/v4", "darwin/arm64+cgo"]
) | spliced("linux", "/", "amd64", "arm", "v7", "+cgo", "windows", "v4")


@FAST
@example(words=["linux/amd64"], runners=None, include=None, exclude=None, shards=10**12)
@example(words=["linux/amd64"], runners={"linux/amd64": 5}, include=[{}], exclude=[1], shards=2)
@given(
    words=st.lists(PLATFORM_WORD, max_size=4),
    runners=JSON,
    include=JSON,
    exclude=JSON,
    shards=st.integers(-3, 10**12),
)
def test_platforms_runners_and_matrix_objects(
    words: list[str], runners: Any, include: Any, exclude: Any, shards: int
) -> None:
    targets = only_goci_errors(lambda: platforms.parse_all(words, KNOWN))
    mapping = only_goci_errors(lambda: runner_choice.parse_runners(runners))
    only_goci_errors(lambda: platform_words(words))
    if targets:
        only_goci_errors(
            lambda: matrix.plan(
                ["1.24.3"],
                targets,
                shards=shards,
                include=include,
                exclude=exclude,
                runners=mapping or {},
                known=KNOWN,
            )
        )


@FAST
@example(text="1/99999999999999999999")
@given(text=spliced("1", "/", "4", " ", "0", "-1", "99999999999999999999", "٣"))
def test_shards(text: str) -> None:
    shard = only_goci_errors(lambda: parse_shard(text))
    if shard is not None:
        assert 1 <= shard.index <= shard.total <= 256


@FAST
@given(
    word=spliced("go", "1", ".", "24", "rc", "beta", "x", "stable", "oldstable", "go.mod", "+"),
    releases=JSON,
)
def test_version_words_and_release_lists(word: str, releases: Any) -> None:
    goreleases.GoVersion.parse(word)
    listed = only_goci_errors(lambda: goreleases.parse_releases(releases))
    for known in (None, listed or (), REAL_RELEASES):
        resolver = goreleases.Resolver(known, "1.24", "go1.25.1")
        only_goci_errors(partial(resolver.resolve, word))


REAL_RELEASES = (
    goreleases.Release("1.25.1", True),
    goreleases.Release("1.24.7", True),
    goreleases.Release("1.26rc1", False),
)


@FAST
@given(url=spliced("http", "https", "://", "[", "::1", "]", ":", "80", "/", "?", "x", "%"))
def test_release_list_urls(url: str) -> None:
    only_goci_errors(lambda: goreleases.releases_url({}, url))
    only_goci_errors(lambda: goreleases.releases_url({goreleases.URL_VARIABLE: url}))


@FAST
@given(text=spliced("=", "%", "*", "example.com/m", "60", "100.5", "-1", "nan", "inf"))
def test_thresholds_and_versions(text: str) -> None:
    only_goci_errors(lambda: thresholds.parse_threshold(text))
    only_goci_errors(lambda: check_version(text, text))


# ---- coverage profiles, sidecars, shard markers ------------------------------------------------

PROFILE_LINE = spliced(
    "example.com/m/a.go", ":", "1", ".", "2", ",", "3", "4", " ", "-", "/", "..", "\r", "x" * 300
)
PROFILE = st.builds(
    lambda mode, lines: mode + "\n".join(lines),
    st.sampled_from(["mode: set\n", "mode: count\n", "mode: atomic\n", "mode: x\n", "", "mode:"]),
    st.lists(PROFILE_LINE, max_size=8),
)


@FAST
@example(first="mode: set\n/etc/x.go:1.1,2.2 1 1\n", second="", sidecar='{"tags": 5}')
@example(first="mode: set\na/" + "x" * 300 + ".go:1.1,2.2 1 1\n", second="", sidecar="[" * 10**5)
@given(first=PROFILE, second=PROFILE, sidecar=JSON.map(json.dumps) | NOISE)
def test_profiles_and_sidecars_merge_or_say_why(
    tmp_path_factory: pytest.TempPathFactory, first: str, second: str, sidecar: str
) -> None:
    folder = tmp_path_factory.mktemp("fuzzcov")
    (folder / "a.out").write_text(first, encoding="utf-8", errors="surrogateescape")
    (folder / "b.out").write_text(second, encoding="utf-8", errors="surrogateescape")
    (folder / "b.out.json").write_text(sidecar, encoding="utf-8", errors="surrogateescape")
    (folder / f"{sidecars.SHARD_MARKER_PREFIX}1.json").write_text(
        sidecar, encoding="utf-8", errors="surrogateescape"
    )
    result = only_goci_errors(
        lambda: merge_profiles([folder], out=folder / "merged", expect_shards=1)
    )
    only_goci_errors(lambda: read_profile(folder / "a.out"))
    if result is not None:  # what was accepted names files a repository can hold
        for name in result.blocks_by_file:
            assert profiles.name_problem(name) == ""


@FAST
@given(data=JSON)
def test_sidecar_fields_of_any_type(data: Any) -> None:
    if isinstance(data, dict):
        only_goci_errors(lambda: sidecars.Sidecar.from_json(data, "s.json"))


@FAST
@example(raw=b'{"p": 1' + b"0" * 400 + b"}")
@example(raw=b"[" * 100_000)
@given(raw=st.binary(max_size=60) | JSON.map(lambda v: json.dumps(v).encode()))
def test_timings_files(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("timings") / "t.json"
    path.write_bytes(raw)
    timings = only_goci_errors(lambda: read_timings(path))
    if timings is not None:
        assert all(v >= 0 and v != float("inf") for v in timings.values())


# ---- go test -json streams ----------------------------------------------------------------------

EVENT = st.fixed_dictionaries(
    {},
    optional={
        "Action": st.sampled_from(
            ["run", "output", "pass", "fail", "skip", "build-output", "build-fail", "start"]
        )
        | JSON,
        "Package": st.sampled_from(["example.com/m/p", "other"]) | JSON,
        "Test": st.sampled_from(["TestA", "TestA/sub", ""]) | JSON,
        "Output": st.text(max_size=20) | JSON,
        "Elapsed": st.floats() | st.text(max_size=4) | JSON,
        "FailedBuild": JSON,
    },
)
STREAM = st.lists(
    EVENT.map(json.dumps) | NOISE | st.sampled_from(["{", "{}", '{"Action": 1} 5', "[1]"]),
    max_size=12,
).map("\n".join)


@FAST
@example(stream='{"Action": 1} 5\n{"Test": ["x"], "Action": "pass"}\n{"Elapsed": "1"}')
@example(stream='{"Action":"output","Test":"T","Output":"a\u0085b"}\n' + "[" * 100_000)
@given(stream=STREAM)
def test_go_test_json_streams(stream: str) -> None:
    parsed = only_goci_errors(lambda: parse_events(stream, "example.com/m/p"))
    if parsed is not None:
        assert all(isinstance(t.name, str) and t.name for t in parsed.tests)
        assert all(t.outcome in ("pass", "fail", "skip") for t in parsed.tests)


# ---- go.mod and go.work ---------------------------------------------------------------------

GOMOD = st.lists(
    st.sampled_from(
        [b"module ", b"example.com/m", b'"', b"`", b"\n", b"go ", b"1.24", b".3", b"rc1",
         b"toolchain ", b"go1.25.1", b"// x", b"\xe9", b"\xff\xfe", b"require (", b")", b" "]
    )
    | st.binary(max_size=4),
    max_size=20,
).map(b"".join)  # fmt: skip


@FAST
@example(data=b"module example.com/m\n\ngo 1.21\n// caf\xe9\n")
@example(data=b'module "module "\n')
@given(data=GOMOD)
def test_go_mod_text(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    gomod = tmp_path_factory.mktemp("gomod") / "go.mod"
    gomod.write_bytes(data)
    path = only_goci_errors(lambda: module_path(gomod))
    if path is not None:
        assert path and path.strip() == path
    only_goci_errors(lambda: go_directive(gomod))


GOWORK = st.lists(
    st.sampled_from(
        [b"go 1.21\n", b"use ./a\n", b"use (\n", b"\t./b\n", b")\n", b"use ../x\n", b"\xe9",
         b"replace x => ./y\n", b"toolchain go1.99\n", b"use ./a/missing\n"]
    )
    | st.binary(max_size=3),
    max_size=8,
).map(b"".join)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=GOWORK)
def test_go_work_files_with_real_go(
    tmp_path_factory: pytest.TempPathFactory, go_env: dict[str, str], data: bytes
) -> None:
    root = tmp_path_factory.mktemp("gowork")
    for name in ("a", "b"):
        (root / name).mkdir()
        (root / name / "go.mod").write_text(f"module example.com/{name}\n\ngo 1.21\n")
    (root / "go.work").write_bytes(data)
    go = Go({**go_env, "GOWORK": ""}, exe=go_env["GOCI_GO"])
    workspace = only_goci_errors(lambda: discover(root, go))
    if workspace is not None:
        assert all(m.dir.is_dir() for m in workspace.modules)


def test_the_harness_sees_a_real_failure() -> None:
    """A parser that raised something else would fail the harness, not pass it."""
    with pytest.raises(ZeroDivisionError):
        only_goci_errors(lambda: 1 / 0)
    assert only_goci_errors(lambda: parse_shard("0/0")) is None
    assert string.digits  # keep the import honest for the strategies above
