"""goci matrix: version aliases through a local copy of Go's release list, platforms checked
against real ``go tool dist list`` of two Go versions, GitHub's include/exclude, the limits."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from goci.errors import InputError
from goci.matrix import goreleases
from goci.matrix import plan as matrix
from goci.matrix.platforms import DistList, Platform
from support.goci_run import GociRun
from support.gorepo import GoRepo
from support.gotools import go_exe


def _release(version: str, stable: bool = True) -> dict[str, Any]:
    """One entry in go.dev's real ``?mode=json&include=all`` shape."""
    files = [
        {
            "filename": f"{version}.{os_}-{arch}.{'zip' if os_ == 'windows' else 'tar.gz'}",
            "os": os_,
            "arch": arch,
            "version": version,
            "sha256": "0" * 64,
            "size": 75_000_000,
            "kind": "archive",
        }
        for os_, arch in (("linux", "amd64"), ("darwin", "arm64"), ("windows", "amd64"))
    ]
    files.append(
        {
            "filename": f"{version}.src.tar.gz",
            "os": "",
            "arch": "",
            "version": version,
            "sha256": "1" * 64,
            "size": 30_000_000,
            "kind": "source",
        }
    )
    return {"version": version, "stable": stable, "files": files}


RELEASES = [
    _release("go1.27rc1", stable=False),
    _release("go1.26.8"),
    _release("go1.26.7"),
    _release("go1.26.0"),
    _release("go1.25.5"),
    _release("go1.25.4"),
    _release("go1.25.0"),
    _release("go1.25rc2", stable=False),
    _release("go1.24.11"),
    _release("go1.24.3"),
    _release("go1.24.0"),
    _release("go1.21.13"),
    _release("go1.21.0"),
    _release("go1.20.14"),
    _release("go1.20"),
]


class _Server:
    def __init__(self) -> None:
        self.hits: list[str] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits.append(self.path)
                body = json.dumps(RELEASES).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, tag: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/dl/?mode=json&include=all&t={tag}"


@pytest.fixture(scope="module")
def releases() -> Iterator[_Server]:
    server = _Server()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def _closed_port_url() -> str:
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = server.server_port
    server.server_close()
    return f"http://127.0.0.1:{port}/dl/?mode=json"


def _repo(make_repo: Callable[..., GoRepo], toolchain: str = "") -> GoRepo:
    repo = make_repo()
    repo.module("", "example.com/shop", go="1.24.0")
    repo.module("tools", "example.com/shop/tools", go="1.25.0", extra=toolchain)
    repo.package("cmd/api", "main", "func main() {}\n")
    repo.package("tools/gen", "main", "func main() {}\n")
    repo.commit("init")
    return repo


def test_aliases_resolve_through_the_release_list(
    make_repo: Callable[..., GoRepo],
    gha_env: dict[str, str],
    goci: Callable[..., GociRun],
    releases: _Server,
) -> None:
    repo = _repo(make_repo, toolchain="toolchain go1.25.4")
    gha_env[goreleases.URL_VARIABLE] = releases.url("aliases")
    run = goci(
        "matrix",
        "--go-versions",
        "stable oldstable 1.24 1.24.3 go.mod toolchain 1.20",
        "--platforms",
        "linux/amd64",
        "--json",
        env=gha_env,
        cwd=repo.root,
    )
    assert run.code == 0, run.stderr
    # stable skips the release candidate; go.mod is the highest go line of the two modules.
    assert run.json()["go-versions"] == [
        "1.26.8",
        "1.25.5",
        "1.24.11",
        "1.24.3",
        "1.25.0",
        "1.25.4",
        "1.20.14",
    ]
    written = json.loads(run.outputs["matrix"])
    assert [e["go"] for e in written["include"]][:2] == ["1.26.8", "1.25.5"]
    assert run.outputs["empty"] == "false"
    assert run.outputs["count"] == "7"
    assert "Build matrix: 7 jobs" in run.summary


def test_release_list_is_fetched_once_per_run(releases: _Server) -> None:
    url = releases.url("memo")
    goreleases.resolve_versions(["stable"], url=url)
    goreleases.resolve_versions(["1.24", "oldstable"], url=url)
    assert sum(1 for hit in releases.hits if hit.endswith("t=memo")) == 1


def test_unknown_version_is_refused_with_the_newest_of_its_minor(
    make_repo: Callable[..., GoRepo],
    gha_env: dict[str, str],
    goci: Callable[..., GociRun],
    releases: _Server,
) -> None:
    repo = _repo(make_repo)
    gha_env[goreleases.URL_VARIABLE] = releases.url("unknown")
    run = goci(
        "matrix", "--go-versions", "1.24.99", "--platforms", "linux/amd64",
        env=gha_env, cwd=repo.root,
    )  # fmt: skip
    assert run.code == 2
    assert "go-versions: '1.24.99' is not a Go release; the newest 1.24 is 1.24.11" in run.stderr
    assert run.outputs == {}


def test_offline_passes_exact_versions_and_refuses_aliases(
    make_repo: Callable[..., GoRepo], go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = _repo(make_repo)
    go_env[goreleases.URL_VARIABLE] = _closed_port_url()  # any fetch would fail (exit 1)
    ok = goci(
        "matrix", "--offline", "--go-versions", "1.24.3 go.mod", "--platforms", "linux/amd64",
        "--json", env=go_env, cwd=repo.root,
    )  # fmt: skip
    assert ok.code == 0, ok.stderr
    assert ok.json()["go-versions"] == ["1.24.3", "1.25.0"]
    refused = goci(
        "matrix", "--offline", "--go-versions", "stable", "--platforms", "linux/amd64",
        env=go_env, cwd=repo.root,
    )  # fmt: skip
    assert refused.code == 2
    assert "'stable' needs Go's release list" in refused.stderr


def test_unreachable_release_list_is_a_clear_error(
    make_repo: Callable[..., GoRepo], go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = _repo(make_repo)
    url = _closed_port_url()
    run = goci(
        "matrix", "--go-versions", "stable", "--platforms", "linux/amd64",
        "--releases-url", url, env=go_env, cwd=repo.root,
    )  # fmt: skip
    assert run.code == 1
    assert f"cannot fetch Go's release list from {url}" in run.stderr
    assert "--offline" in run.stderr


def test_go_mod_without_go_line_is_refused(
    make_repo: Callable[..., GoRepo], go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = make_repo()
    repo.write("go.mod", "module example.com/old\n")
    repo.package("cmd/x", "main", "func main() {}\n")
    run = goci(
        "matrix", "--offline", "--go-versions", "go.mod", "--platforms", "linux/amd64",
        env=go_env, cwd=repo.root,
    )  # fmt: skip
    assert run.code == 2
    assert "has none; add a `go 1.x` line" in run.stderr


@pytest.mark.parametrize("version", ["1.25", None])
def test_platforms_checked_against_two_real_go_versions(
    version: str | None,
    make_repo: Callable[..., GoRepo],
    go_env: dict[str, str],
    goci: Callable[..., GociRun],
) -> None:
    go_env["GOCI_GO"] = str(go_exe(version))
    repo = _repo(make_repo)
    run = goci(
        "matrix", "--offline", "--go-versions", "1.25.5",
        "--platforms", "linux/amd64 linux/arm64 linux/arm/v7 darwin/arm64 windows/amd64 "
        "linux/riscv64", "--runners", '{"linux/arm64": ["self-hosted", "arm64"]}',
        "--json", env=go_env, cwd=repo.root,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    by_platform = {e["platform"]: e for e in run.json()["matrix"]["include"]}
    assert by_platform["linux/amd64"]["runner"] == "ubuntu-latest"
    assert by_platform["linux/arm64"]["runner"] == ["self-hosted", "arm64"]
    assert by_platform["darwin/arm64"] == {
        "name": "go1.25.5 darwin/arm64",
        "go": "1.25.5",
        "os": "darwin",
        "arch": "arm64",
        "platform": "darwin/arm64",
        "folder": "darwin-arm64",
        "runner": "macos-latest",
        "cross": False,
        "artifact": "go1.25.5_darwin_arm64",
    }
    assert by_platform["windows/amd64"]["runner"] == "windows-latest"
    arm = by_platform["linux/arm/v7"]
    assert (arm["cross"], arm["runner"], arm["variant"]) == (True, "ubuntu-latest", "v7")
    assert arm["name"] == "go1.25.5 linux/arm/v7 (cross)"
    assert (arm["folder"], arm["artifact"]) == ("linux-arm-v7", "go1.25.5_linux_arm_v7_cross_")
    assert by_platform["linux/riscv64"]["cross"] is True

    typo = goci(
        "matrix", "--offline", "--go-versions", "1.25.5", "--platforms", "linux/amd65",
        env=go_env, cwd=repo.root,
    )  # fmt: skip
    assert typo.code == 2
    assert "'linux/amd65' is not a platform this Go can build for" in typo.stderr
    assert "(did you mean 'linux/amd64'?)" in typo.stderr
    variant = goci(
        "matrix", "--offline", "--go-versions", "1.25.5", "--platforms", "linux/amd64/v5",
        env=go_env, cwd=repo.root,
    )  # fmt: skip
    assert variant.code == 2
    assert "'v5' is not a GOAMD64 value" in variant.stderr


def test_cgo_only_where_asked_and_never_cross(
    make_repo: Callable[..., GoRepo], go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = _repo(make_repo)
    ok = goci(
        "matrix", "--offline", "--go-versions", "1.25.5",
        "--platforms", "linux/amd64+cgo linux/arm64", "--json", env=go_env, cwd=repo.root,
    )  # fmt: skip
    assert ok.code == 0, ok.stderr
    entries = ok.json()["matrix"]["include"]
    assert [(e["platform"], e.get("cgo", False), e["folder"]) for e in entries] == [
        ("linux/amd64+cgo", True, "linux-amd64"),
        ("linux/arm64", False, "linux-arm64"),
    ]
    assert entries[0]["artifact"] == "go1.25.5_linux_amd64_cgo"
    cross = goci(
        "matrix", "--offline", "--go-versions", "1.25.5", "--platforms", "linux/ppc64le+cgo",
        env=go_env, cwd=repo.root,
    )  # fmt: skip
    assert cross.code == 2
    assert "cgo needs a runner" in cross.stderr


def test_two_platforms_that_build_into_one_folder_are_refused(
    make_repo: Callable[..., GoRepo], gha_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """With and without cgo a target builds into the same dist/{service}/{os}-{arch}: two jobs
    would upload the same paths, which download-artifact extracts into one folder at once."""
    repo = _repo(make_repo)
    run = goci(
        "matrix", "--offline", "--go-versions", "1.25.5",
        "--platforms", "linux/amd64 linux/arm/v7 linux/amd64+cgo", env=gha_env, cwd=repo.root,
    )  # fmt: skip
    assert run.code == 2
    assert (
        "::error::platforms: 'linux/amd64' and 'linux/amd64+cgo' both build into the folder "
        "'linux-amd64'"
    ) in run.stderr
    assert run.outputs == {}
    # an include that adds the other half is refused the same way
    with pytest.raises(InputError, match="'linux/amd64' and 'linux/amd64\\+cgo' both build"):
        matrix.plan(
            ["1.25.5"],
            [LINUX],
            include=[
                {"go": "1.25.5", "os": "linux", "arch": "amd64", "platform": "linux/amd64+cgo"}
            ],
            known=KNOWN,
        )
    # variants have folders of their own
    fine = matrix.plan(["1.25.5"], [LINUX, Platform("linux", "amd64", "v3")], known=KNOWN)
    assert [e["folder"] for e in fine.include] == ["linux-amd64", "linux-amd64-v3"]


LINUX = Platform("linux", "amd64")
WINDOWS = Platform("windows", "amd64")
KNOWN = DistList(
    frozenset({"linux/amd64", "linux/arm64", "windows/amd64"}), frozenset({"linux/amd64"})
)


def test_include_and_exclude_follow_github_rules() -> None:
    plan = matrix.plan(
        ["1.25.5", "1.26.8"],
        [LINUX, WINDOWS],
        services=["example.com/shop/cmd/api"],
        shards=2,
        exclude=[{"os": "windows", "shard": "2/2"}],
        include=[
            {"os": "windows", "experimental": True},  # extends the windows entries
            {"go": "1.26.8", "os": "linux", "runner": "big-linux"},  # overwrites an added key
            {"go": "1.26.8", "os": "linux", "arch": "arm64"},  # fits nothing: a new entry
        ],
    )
    entries = plan.include
    assert plan.count == 2 * 2 * 2 - 2 + 1
    windows = [e for e in entries if e["os"] == "windows"]
    assert [e["shard"] for e in windows] == ["1/2", "1/2"]
    assert all(e["experimental"] is True for e in windows)
    assert not any("experimental" in e for e in entries if e["os"] == "linux")
    big = [e for e in entries if e["runner"] == "big-linux"]
    assert [(e["go"], e["arch"], e["shard"]) for e in big] == [
        ("1.26.8", "amd64", "1/2"),
        ("1.26.8", "amd64", "2/2"),
    ]
    new = entries[-1]
    assert (new["arch"], new["runner"], new["cross"]) == ("arm64", "ubuntu-24.04-arm", False)
    assert entries[0]["name"] == "go1.25.5 linux/amd64 api shard 1/2"
    assert entries[0]["service"] == "example.com/shop/cmd/api"


def test_exclude_names_only_axes() -> None:
    with pytest.raises(InputError, match="exclude: key 'runner' is not a matrix axis"):
        matrix.plan(["1.25.5"], [LINUX], exclude=[{"runner": "ubuntu-latest"}])


def test_more_than_256_entries_names_the_axis_to_cut() -> None:
    services = [f"example.com/shop/cmd/s{i}" for i in range(40)]
    with pytest.raises(InputError) as caught:
        matrix.plan(["1.25.5", "1.26.8"], [LINUX, WINDOWS], services=services, shards=2)
    message = str(caught.value)
    assert "320 entries (go-versions 2 × platforms 2 × services 40 × shards 2)" in message
    assert "limit of 256" in message
    assert "cut services from 40 to 32 or fewer" in message
    assert (
        matrix.plan(["1.25.5", "1.26.8"], [LINUX, WINDOWS], services=services[:32], shards=2).count
        == 256
    )


def test_no_changed_services_is_an_empty_matrix(
    make_repo: Callable[..., GoRepo], gha_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = _repo(make_repo)
    run = goci(
        "matrix", "--offline", "--go-versions", "1.25.5", "--platforms", "linux/amd64",
        "--services", "[]", env=gha_env, cwd=repo.root,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert json.loads(run.outputs["matrix"]) == {"include": []}
    assert run.outputs["empty"] == "true"
    assert run.outputs["count"] == "0"


def test_inputs_arrive_as_action_inputs(
    make_repo: Callable[..., GoRepo], gha_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    repo = _repo(make_repo)
    gha_env.update(
        {
            "INPUT_GO_VERSIONS": "1.25.5\n1.26.8\n",
            "INPUT_PLATFORMS": '["linux/amd64", "darwin/arm64"]',
            "INPUT_SERVICES": '["example.com/shop/cmd/api"]',
            "INPUT_SHARDS": "3",
            "INPUT_OFFLINE": "true",
        }
    )
    run = goci("matrix", env=gha_env, cwd=repo.root)
    assert run.code == 0, run.stderr
    include = json.loads(run.outputs["matrix"])["include"]
    assert len(include) == 2 * 2 * 3
    assert {e["shard"] for e in include} == {"1/3", "2/3", "3/3"}
    assert Path(gha_env["GITHUB_OUTPUT"]).read_text().count("matrix<<") == 1


def test_the_plan_names_the_go_that_is_merged_and_the_go_that_publishes(
    make_repo: Callable[..., GoRepo], go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """What go-ci.yml once worked out in an inline script: the newest planned Go (by number,
    not by text: 1.25.10 is newer than 1.25.9) merges coverage; release-go-version, exact or
    its minor, picks the one that builds what is published."""
    repo = _repo(make_repo)
    base = (
        "matrix", "--offline", "--go-versions", "1.24.3 1.24.11 1.25.9 1.25.10",
        "--platforms", "linux/amd64", "--json",
    )  # fmt: skip

    def picked(*extra: str) -> tuple[str, str]:
        run = goci(*base, *extra, env=go_env, cwd=repo.root)
        assert run.code == 0, run.stderr
        return run.json()["coverage-go-version"], run.json()["release-go-version"]

    assert picked() == ("1.25.10", "1.25.10")
    assert picked("--release-go-version", "1.24.3") == ("1.25.10", "1.24.3")
    assert picked("--release-go-version", "go1.25.9") == ("1.25.10", "1.25.9")
    for wanted in ("1.24", "1.23", "1.25.1"):  # two planned 1.24s; none planned
        refused = goci(*base, "--release-go-version", wanted, env=go_env, cwd=repo.root)
        assert refused.code == 2, wanted
        assert (
            f"release-go-version: {wanted!r} is not valid; accepted: one of the planned Go "
            "versions (1.24.3, 1.24.11, 1.25.9, 1.25.10), exact or its minor"
        ) in refused.stderr
    one_minor = goci(
        *base[:3], "1.24.3 1.25.10", *base[4:], "--release-go-version", "1.24",
        env=go_env, cwd=repo.root,
    )  # fmt: skip
    assert one_minor.json()["release-go-version"] == "1.24.3", one_minor.stderr
