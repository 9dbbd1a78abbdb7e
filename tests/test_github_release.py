"""``--github-release``: files attached to the GitHub release of a tag, against a local GitHub.

The stand-in answers as GitHub does (support/github_releases.py): drafts hidden from the tag
lookup, several drafts allowed per tag, a second published release of a tag refused with 422,
downloads redirected to signed storage, no ``digest`` on an older GitHub Enterprise. Its
``events`` say what changed in which order and whether the release was a draft at the time,
so each test asserts exactly which files went up, which were kept, and when it was published.
"""

from __future__ import annotations

import hashlib
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from goci.errors import InputError, ToolError, VerdictError
from goci.release import ghassets, ghpublish
from goci.release.ghrelease import Attached, attach
from goci.release.local import LocalRelease, load_release
from goci.release.names import Env
from goci.release.pack import BuildInfo, pack
from support import releases
from support.github_api import GitHubServers
from support.goci_run import GociRun

REPO = "/api/v3/repos/acme/shop"
AMD, ARM, SUMS = "api-linux-amd64", "api-linux-arm64", "api-SHA256SUMS"


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubServers]:
    monkeypatch.setattr(ghpublish, "PACE", (0, 0))  # a local server has no rate limits
    servers = GitHubServers()
    yield servers
    servers.stop()


def attach_to(github: GitHubServers, packed: Sequence[LocalRelease], tag: str) -> Attached:
    return attach(packed, tag=tag, token="test-token", repository="acme/shop",
                  api_url=github.state.api_url)  # fmt: skip


def api_release(tmp_path: Path, payload: bytes = b"api build") -> LocalRelease:
    return releases.packed(tmp_path / f"ws-{payload.hex()[:12]}", "api", payload, "prod", "1.2.3")


def local(release: LocalRelease, target: str) -> bytes:
    binary = release.name.service.rsplit("/", 1)[-1]
    return (release.path / target / binary).read_bytes()


def uploads(github: GitHubServers) -> list[str]:
    return [r for r in github.state.requests if r.startswith("POST /api/uploads/")]


def existing(github: GitHubServers, draft: bool, files: dict[str, bytes]) -> dict[str, Any]:
    """A release of v1.2.3 already there (by hand, an older goci, or a killed run)."""
    release = github.state.new_release({"tag_name": "v1.2.3", "name": "v1.2.3", "draft": draft})
    for name, data in files.items():
        github.state.add_asset(release["id"], name, name, "application/octet-stream", data)
    github.state.events.clear()
    return release


# --- a release goci creates is a draft until every file is in -------------------------------


def test_a_new_release_is_a_draft_until_every_file_is_in_and_is_published_once(
    github: GitHubServers, tmp_path: Path
) -> None:
    api = api_release(tmp_path)
    done = attach_to(github, [api], "v1.2.3")
    (release,) = github.state.releases.values()
    rid = release["id"]
    assert github.state.events == [
        ("created", rid, "draft"),
        ("uploaded", rid, AMD, "draft"),
        ("uploaded", rid, ARM, "draft"),
        ("uploaded", rid, SUMS, "draft"),
        ("published", rid),
    ]
    assert [r for r in github.state.requests if r.startswith("PATCH")] == [
        f"PATCH {REPO}/releases/{rid}"
    ]
    assert release["target_commitish"] == api.manifest.commit  # the commit the files came from
    assert (release["tag_name"], release["draft"]) == ("v1.2.3", False)
    assert done == Attached(
        "v1.2.3", "https://github.com/acme/shop/releases/tag/v1.2.3", True, True,
        (AMD, ARM, SUMS), (),
    )  # fmt: skip
    assert github.state.blobs[(rid, AMD)] == local(api, "linux-amd64")


def test_a_killed_attach_leaves_a_hidden_draft_that_the_rerun_completes(
    github: GitHubServers, tmp_path: Path
) -> None:
    api = api_release(tmp_path)
    github.state.hook = lambda line: 502 if f"name={ARM}" in line else None  # dies on file 2
    with pytest.raises(ToolError, match="HTTP 502"):
        attach_to(github, [api], "v1.2.3")
    (draft,) = github.state.releases.values()
    assert draft["draft"] is True and github.state.asset_names(draft) == [AMD]
    tagged = urllib.request.Request(
        f"{github.state.api_url}/repos/acme/shop/releases/tags/v1.2.3",
        headers={"Authorization": "token test-token"},
    )
    with pytest.raises(urllib.error.HTTPError) as seen:  # nobody finds it at the tag
        urllib.request.urlopen(tagged)
    assert seen.value.code == 404
    seen.value.close()
    github.state.hook = None
    github.state.events.clear()
    github.state.requests.clear()
    done = attach_to(github, [api], "v1.2.3")
    rid = draft["id"]
    assert github.state.events == [
        ("uploaded", rid, ARM, "draft"),
        ("uploaded", rid, SUMS, "draft"),
        ("published", rid),
    ]
    assert f"POST {REPO}/releases" not in github.state.requests  # no second release
    assert list(github.state.releases) == [rid]
    assert (done.created, done.published, done.uploaded, done.kept) == (
        False, True, (ARM, SUMS), (AMD,),
    )  # fmt: skip


def test_a_release_another_job_published_while_creating_is_filled_not_failed(
    github: GitHubServers, tmp_path: Path
) -> None:
    """The create answers 422 already_exists: the other job's release gets the files."""
    api = api_release(tmp_path)
    others: list[dict[str, Any]] = []

    def other_job_first(line: str) -> None:
        if line == f"POST {REPO}/releases" and not others:
            others.append(github.state.new_release({"tag_name": "v1.2.3", "name": "theirs"}))

    github.state.hook = other_job_first
    done = attach_to(github, [api], "v1.2.3")
    (theirs,) = others
    rid = theirs["id"]
    assert list(github.state.releases) == [rid]
    assert github.state.events == [
        ("created", rid, "published"),
        ("uploaded", rid, AMD, "published"),
        ("uploaded", rid, ARM, "published"),
        ("uploaded", rid, SUMS, "published"),
    ]
    assert (done.created, done.published, done.uploaded, done.kept) == (
        False, False, (AMD, ARM, SUMS), (),
    )  # fmt: skip


def test_a_release_published_by_someone_while_filling_gets_the_files_and_the_draft_goes(
    github: GitHubServers, tmp_path: Path
) -> None:
    """Publishing the draft answers 422 already_exists: fill the published one, delete ours."""
    api = api_release(tmp_path)
    others: list[dict[str, Any]] = []

    def someone_publishes_first(line: str) -> None:
        if line.startswith("PATCH ") and not others:
            others.append(github.state.new_release({"tag_name": "v1.2.3", "name": "theirs"}))

    github.state.hook = someone_publishes_first
    done = attach_to(github, [api], "v1.2.3")
    (theirs,) = others
    mine, rid = theirs["id"] - 4, theirs["id"]  # our draft, then its three assets, then theirs
    assert github.state.events == [
        ("created", mine, "draft"),
        ("uploaded", mine, AMD, "draft"),
        ("uploaded", mine, ARM, "draft"),
        ("uploaded", mine, SUMS, "draft"),
        ("created", rid, "published"),
        ("uploaded", rid, AMD, "published"),
        ("uploaded", rid, ARM, "published"),
        ("uploaded", rid, SUMS, "published"),
        ("deleted", mine),
    ]
    assert list(github.state.releases) == [rid]
    assert (done.created, done.published, done.uploaded, done.release_url) == (
        False, False, (AMD, ARM, SUMS), "https://github.com/acme/shop/releases/tag/v1.2.3",
    )  # fmt: skip


@pytest.mark.parametrize("services", [("api", "api"), ("api", "worker")])
def test_two_attaches_of_one_tag_at_one_moment_leave_one_release(
    github: GitHubServers, tmp_path: Path, services: tuple[str, str]
) -> None:
    """Both find nothing and create a draft at the same moment (held until both arrive): the
    oldest draft is filled by both, the other deleted, each file uploaded once, the release
    published once. ``api``/``api`` is a rerun meeting the first run (same bytes),
    ``api``/``worker`` two services of one tag."""
    packed = [
        releases.packed(tmp_path / f"w{i}", s, f"{s} build".encode(), "prod", "1.2.3")
        for i, s in enumerate(services)
    ]
    both_create = threading.Barrier(2, timeout=30)

    def hold_creates(line: str) -> None:
        if line == f"POST {REPO}/releases":
            both_create.wait()

    github.state.hook = hold_creates
    results: list[Attached | BaseException] = [RuntimeError("not run")] * 2
    start = threading.Barrier(2)

    def one(index: int) -> None:
        start.wait()
        try:
            results[index] = attach_to(github, [packed[index]], "v1.2.3")
        except BaseException as exc:  # reported below, not lost in the thread
            results[index] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = [r for r in results if isinstance(r, Attached)]
    assert len(done) == 2, results
    (release,) = github.state.releases.values()
    names = {f"{s}-{t}" for s in services for t in ("linux-amd64", "linux-arm64", "SHA256SUMS")}
    assert release["draft"] is False
    assert github.state.asset_names(release) == sorted(names)  # each name once
    assert sorted(n for d in done for n in d.uploaded) == sorted(names)  # each sent once
    kinds = [e[0] for e in github.state.events]
    assert (kinds.count("created"), kinds.count("deleted"), kinds.count("published")) == (2, 1, 1)
    # both may send the publishing edit (GitHub has no conditional one); it publishes once
    assert True in {d.published for d in done}
    assert sorted(d.created for d in done) == [False, True]
    for writer in packed:
        service = writer.name.service
        data = github.state.blobs[(release["id"], f"{service}-linux-amd64")]
        assert data == local(writer, "linux-amd64")
    if services[0] == services[1]:  # one set of files: all in before the release was published
        uploaded = [e for e in github.state.events if e[0] == "uploaded"]
        assert {e[3] for e in uploaded} == {"draft"}


# --- an asset already there is kept only when its bytes are proven the same ------------------


@pytest.mark.parametrize(
    ("digests", "there", "outcome"),
    [
        (True, "same", "kept"),
        (True, "other bytes", "refused"),
        (False, "same", "kept"),  # older GHES: downloaded and hashed
        (False, "other bytes", "refused"),  # same size, no digest: size alone proves nothing
        (False, "same, storage down", "unchecked"),
    ],
)
def test_an_asset_already_there_is_kept_only_when_proven_identical(
    github: GitHubServers, tmp_path: Path, digests: bool, there: str, outcome: str
) -> None:
    api = api_release(tmp_path)
    mine = local(api, "linux-amd64")
    theirs = mine if there.startswith("same") else mine[:-1] + b"!"
    assert len(theirs) == len(mine)
    github.state.digests = digests
    release = existing(github, draft=False, files={AMD: theirs})
    (asset_id,) = [a["id"] for a in release["assets"]]
    if "storage down" in there:
        github.state.hook = lambda line: 503 if line.startswith("GET /storage/") else None
    if outcome == "kept":
        done = attach_to(github, [api], "v1.2.3")
        assert (done.created, done.published, done.uploaded, done.kept) == (
            False, False, (ARM, SUMS), (AMD,),
        )  # fmt: skip
        assert github.state.asset_names(release) == sorted([AMD, ARM, SUMS])
    else:
        expected = {
            "refused": f"GitHub release v1.2.3 already has an asset {AMD} with other content "
            "than prod/api-v1.2.3 linux-amd64/api; attached files are not replaced",
            "unchecked": f"GitHub release v1.2.3 already has an asset {AMD} of the same size "
            "but no digest, and downloading it to compare failed (HTTP 503); it is not taken "
            "as identical unchecked: check it, or delete it and rerun",
        }[outcome]
        with pytest.raises(VerdictError) as refused:
            attach_to(github, [api], "v1.2.3")
        assert str(refused.value) == expected
        assert uploads(github) == [] and github.state.events == []  # nothing sent at all
        assert github.state.asset_names(release) == [AMD]
    downloaded = [
        r for r in github.state.requests if r.startswith("GET /storage/") or "/assets/" in r
    ]
    if digests:
        assert downloaded == []
    else:  # the API redirect, then the signed URL (without the token, or storage says 400)
        assert downloaded[-2:] == [f"GET {REPO}/releases/assets/{asset_id}",
                                   f"GET /storage/releases/{asset_id}"]  # fmt: skip


def test_a_draft_holding_other_bytes_is_refused_and_stays_a_draft(
    github: GitHubServers, tmp_path: Path
) -> None:
    api = api_release(tmp_path)
    github.state.digests = False
    draft = existing(github, draft=True, files={AMD: b"x" * len(local(api, "linux-amd64"))})
    with pytest.raises(VerdictError, match=f"already has an asset {AMD} with other content"):
        attach_to(github, [api], "v1.2.3")
    assert draft["draft"] is True and github.state.events == [] and uploads(github) == []


def test_a_file_changed_since_pack_is_refused_before_anything_is_sent(
    github: GitHubServers, tmp_path: Path
) -> None:
    api = api_release(tmp_path)
    (api.path / "linux-arm64" / "api").write_bytes(b"swapped after pack")
    with pytest.raises(VerdictError, match="linux-arm64/api changed since it was packed"):
        attach_to(github, [api], "v1.2.3")
    assert github.state.requests == []


@pytest.mark.parametrize("change", [b"swapped: same size!", b"shrank", b"grew " * 20])
def test_a_file_changed_while_it_is_sent_is_taken_off_and_nothing_published(
    github: GitHubServers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: bytes
) -> None:
    """Changed after the check before sending (as if while the upload ran): the bytes hashed
    on their way out tell, the asset is deleted again and the draft stays unpublished."""
    api = api_release(tmp_path)
    monkeypatch.setattr(ghpublish, "_check_local", lambda assets: None)
    (api.path / "linux-arm64" / "api").write_bytes(change)
    with pytest.raises(VerdictError, match="linux-arm64/api changed while it was uploaded"):
        attach_to(github, [api], "v1.2.3")
    (draft,) = github.state.releases.values()
    rid = draft["id"]
    assert github.state.events == [
        ("created", rid, "draft"),
        ("uploaded", rid, AMD, "draft"),
        ("uploaded", rid, ARM, "draft"),
        ("asset deleted", rid, ARM),
    ]
    assert draft["draft"] is True and github.state.asset_names(draft) == [AMD]


# --- an upload under way, or cut off, holds the name: state "starter" -----------------------


def test_an_upload_under_way_in_the_release_is_waited_for_then_kept(
    github: GitHubServers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rerun meets the first run still sending a file: it waits for that upload to end,
    checks the bytes, and sends only the others."""
    monkeypatch.setattr(ghassets, "STARTER_POLL", 0)
    api = api_release(tmp_path)
    rid = existing(github, True, {})["id"]
    theirs = github.state.start_upload(rid, AMD)
    github.state.events.clear()
    looks: list[str] = []

    def their_upload_ends(line: str) -> None:
        if line == f"GET {REPO}/releases/{rid}/assets":
            looks.append(line)
            if len(looks) == 2:  # the first look (before any upload) saw it unfinished
                github.state.finish_upload(theirs["id"], local(api, "linux-amd64"))

    github.state.hook = their_upload_ends
    done = attach_to(github, [api], "v1.2.3")
    assert github.state.events == [
        ("uploaded", rid, AMD, "draft"),  # theirs, ended while we waited
        ("uploaded", rid, ARM, "draft"),
        ("uploaded", rid, SUMS, "draft"),
        ("published", rid),
    ]
    assert (done.uploaded, done.kept, done.published) == ((ARM, SUMS), (AMD,), True)
    assert not [r for r in uploads(github) if f"name={AMD}" in r]


def test_an_upload_cut_off_long_ago_is_deleted_and_ours_sent(
    github: GitHubServers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An asset still unfinished after the wait is what a killed upload left (GitHub keeps it
    for good): it goes, and ours takes the name."""
    monkeypatch.setattr(ghassets, "STARTER_POLL", 0)
    monkeypatch.setattr(ghassets, "STARTER_WAIT", 0)
    api = api_release(tmp_path)
    rid = existing(github, True, {})["id"]
    github.state.start_upload(rid, AMD)
    github.state.events.clear()
    done = attach_to(github, [api], "v1.2.3")
    assert github.state.events == [
        ("asset deleted", rid, AMD),
        ("uploaded", rid, AMD, "draft"),
        ("uploaded", rid, ARM, "draft"),
        ("uploaded", rid, SUMS, "draft"),
        ("published", rid),
    ]
    assert (done.uploaded, done.kept) == ((AMD, ARM, SUMS), ())
    assert github.state.blobs[(rid, AMD)] == local(api, "linux-amd64")


@pytest.mark.parametrize("same", [True, False])
def test_an_upload_that_takes_the_name_first_is_waited_for_and_checked(
    github: GitHubServers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, same: bool
) -> None:
    """Another job starts sending the same name a moment before us: ours answers 422, goci
    waits for theirs to end and keeps it if it holds our bytes, else refuses (theirs stays)."""
    monkeypatch.setattr(ghassets, "STARTER_POLL", 0)
    api = api_release(tmp_path)
    ours = local(api, "linux-amd64")
    data = ours if same else b"another build"
    started: list[dict[str, Any]] = []
    looks: list[str] = []

    def other_job(line: str) -> None:
        rid = line.split("/releases/")[-1].split("/")[0]
        if line.startswith("POST /api/uploads/") and line.endswith(f"name={AMD}") and not started:
            started.append(github.state.start_upload(int(rid), AMD))
        elif started and line == f"GET {REPO}/releases/{rid}/assets":
            looks.append(line)
            if len(looks) == 2:  # our first look after the 422 saw it unfinished
                github.state.finish_upload(started[0]["id"], data)

    github.state.hook = other_job
    if not same:
        with pytest.raises(VerdictError, match=f"already has an asset {AMD} with other content"):
            attach_to(github, [api], "v1.2.3")
        (release,) = github.state.releases.values()
        assert release["draft"] is True and github.state.blobs[(release["id"], AMD)] == data
        return
    done = attach_to(github, [api], "v1.2.3")
    (release,) = github.state.releases.values()
    assert (done.uploaded, done.kept, done.published) == ((ARM, SUMS), (AMD,), True)
    assert github.state.blobs[(release["id"], AMD)] == ours
    assert len([r for r in uploads(github) if r.endswith(f"name={AMD}")]) == 1  # ours, refused


def test_a_file_that_shrinks_while_it_is_sent_is_padded_to_the_length_promised(
    tmp_path: Path,
) -> None:
    """The request promised the size at opening: sending less would hang the upload."""
    path = tmp_path / "binary"
    path.write_bytes(b"abcdef")
    sent = ghassets._SentFile(path)
    path.write_bytes(b"ab")  # the same file, truncated under the open handle
    assert sent.read(4) + sent.read() + sent.read() == b"ab\0\0\0\0"
    assert sent.sent.size == sent.size == 6
    sent.close()


# --- only prod releases of the tag's version ------------------------------------------------


@pytest.mark.parametrize(
    ("env", "version", "tag", "message"),
    [
        ("dev", "20250102030405", "v1.2.3", "--release: 'dev/api-20250102030405' is not valid; "
         "a prod release: --github-release attaches only prod releases of the tag's version"),
        ("prod", "1.2.3", "v1.2.4", "--tag: 'v1.2.4' is not valid; the tag of prod/api-v1.2.3 "
         "(v1.2.3 or api/v1.2.3); --github-release attaches a release only to its own "
         "version's tag"),
        ("prod", "1.2.3", "worker/v1.2.3", "--tag: 'worker/v1.2.3' is not valid; the tag of "
         "prod/api-v1.2.3"),
        ("prod", "1.2.3", "1.2.3", "--tag: '1.2.3' is not valid; the tag of prod/api-v1.2.3"),
    ],
)  # fmt: skip
def test_only_a_prod_release_of_the_tags_version_is_attached_else_exit_2(
    github: GitHubServers,
    tmp_path: Path,
    goci: Callable[..., GociRun],
    go_env: dict[str, str],
    env: Env,
    version: str,
    tag: str,
    message: str,
) -> None:
    ws = tmp_path / "ws"
    packed = releases.packed(ws, "api", b"api build", env, version)
    with pytest.raises(InputError, match="is not valid"):  # attach itself checks too
        attach_to(github, [packed], tag)
    run = goci("artifact", "upload", "--store", "file://out", "--github-release", "--tag", tag,
               env={**go_env, "GITHUB_API_URL": github.state.api_url,
                    "GITHUB_REPOSITORY": "acme/shop", "GITHUB_TOKEN": "test-token"},
               cwd=ws)  # fmt: skip
    assert run.code == 2, run.stderr
    assert message in run.stderr
    assert github.state.requests == []  # refused before any request
    assert not (ws / "out").exists()  # and before the store upload


# --- two files never share an asset name ---------------------------------------------------


def packed_for(ws: Path, service: str, targets: Sequence[str]) -> LocalRelease:
    dist = ws / ".goci" / "dist"
    releases.build_output(dist, service, service.encode(), targets)
    done = pack(dist, service, "prod", "1.2.3", BuildInfo(build_time=releases.WHEN))
    return load_release(dist, done.manifest.release)


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        # group/api flattens to group-api: the binaries collide first
        (("a/b", ["linux-amd64"]), ("a-b", ["linux-amd64"]),
         "prod/a/b-v1.2.3 linux-amd64/b and prod/a-b-v1.2.3 linux-amd64/a-b would both be "
         "attached as 'a-b-linux-amd64'"),
        # no binary in common: the two SHA256SUMS still would be one asset
        (("a/b", ["linux-amd64"]), ("a-b", ["windows-amd64"]),
         "prod/a/b-v1.2.3 SHA256SUMS and prod/a-b-v1.2.3 SHA256SUMS would both be attached as "
         "'a-b-SHA256SUMS'"),
        # a downloads folder on macOS or Windows keeps one of two names that differ in case
        (("api", ["linux-amd64"]), ("API", ["linux-amd64"]),
         "prod/api-v1.2.3 linux-amd64/api and prod/API-v1.2.3 linux-amd64/API would both be "
         "attached as 'API-linux-amd64' ('api-linux-amd64')"),
    ],
)  # fmt: skip
def test_two_files_that_would_share_an_asset_name_are_refused_before_any_request(
    github: GitHubServers,
    tmp_path: Path,
    first: tuple[str, list[str]],
    second: tuple[str, list[str]],
    message: str,
) -> None:
    packed = [packed_for(tmp_path / f"ws{i}", s, t) for i, (s, t) in enumerate([first, second])]
    with pytest.raises(InputError) as refused:
        attach_to(github, packed, "v1.2.3")
    assert str(refused.value) == (
        f"--github-release: {message}; rename a service so their asset names differ"
    )
    assert github.state.requests == []


def test_sha256sums_asset_lists_the_asset_names(github: GitHubServers, tmp_path: Path) -> None:
    api = api_release(tmp_path)
    attach_to(github, [api], "v1.2.3")
    (release,) = github.state.releases.values()
    sums = github.state.blobs[(release["id"], SUMS)].decode()
    assert sums == "".join(
        f"{hashlib.sha256(local(api, t)).hexdigest()}  api-{t}\n"
        for t in ("linux-amd64", "linux-arm64")
    )


def test_a_github_that_does_not_answer_is_a_clear_error(tmp_path: Path) -> None:
    """Nothing listens at the API address (a wrong github-api-url, a network down): one line
    naming the API, not a requests traceback."""
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = f"http://127.0.0.1:{port}/api/v3"
    with pytest.raises(ToolError, match=rf"^GitHub API \({api}\) could not be reached: "):
        attach([api_release(tmp_path)], tag="v1.2.3", token="t", repository="acme/shop",
               api_url=api)  # fmt: skip


# --- what the review of the first version found ----------------------------------------------


def worker_release(tmp_path: Path) -> LocalRelease:
    return releases.packed(tmp_path / "ws-worker", "worker", b"worker build", "prod", "1.2.3")


WORKER = ["worker-SHA256SUMS", "worker-linux-amd64", "worker-linux-arm64"]


def test_a_draft_that_holds_another_jobs_files_is_not_deleted(
    github: GitHubServers, tmp_path: Path
) -> None:
    """Our draft went unpublished (someone published the tag first), but another job's files
    are in it too: it is left for that job, which fills the published release in its turn."""
    state = github.state
    worker = worker_release(tmp_path)

    def someone_publishes_first(line: str) -> None:
        if line.startswith("PATCH ") and not state.published():
            (draft,) = state.releases.values()
            for name in WORKER:  # the worker job joined our draft meanwhile
                state.add_asset(draft["id"], name, name, "application/octet-stream", b"w")
            state.new_release({"tag_name": "v1.2.3", "name": "theirs"})

    state.hook = someone_publishes_first
    attach_to(github, [api_release(tmp_path)], "v1.2.3")
    draft, published = state.releases.values()
    assert draft["draft"] and state.asset_names(draft) == sorted([AMD, ARM, SUMS, *WORKER])
    assert state.asset_names(published) == [SUMS, AMD, ARM]
    assert not [e for e in state.events if e[0] == "deleted"]
    state.hook = None
    done = attach_to(github, [worker], "v1.2.3")  # the worker job: its files go out too
    assert done.uploaded == (WORKER[1], WORKER[2], WORKER[0])
    assert state.asset_names(published) == sorted([AMD, ARM, SUMS, *WORKER])


def test_a_job_whose_draft_is_deleted_under_it_fills_the_release_of_the_tag(
    github: GitHubServers, tmp_path: Path
) -> None:
    """The draft we joined is deleted before our first upload (its creator moved to a release
    someone published): the upload's 404 sends us to that release, not to a failed job."""
    state = github.state
    draft = state.new_release({"tag_name": "v1.2.3", "name": "v1.2.3", "draft": True})

    def creator_moves_on(line: str) -> None:
        if line.startswith("POST /api/uploads/") and not state.published():
            with state.lock:
                del state.releases[draft["id"]]
            state.new_release({"tag_name": "v1.2.3", "name": "theirs"})

    state.hook = creator_moves_on
    done = attach_to(github, [api_release(tmp_path)], "v1.2.3")
    (published,) = state.releases.values()
    assert not published["draft"] and state.asset_names(published) == [SUMS, AMD, ARM]
    assert (done.created, done.published, done.uploaded) == (False, False, (AMD, ARM, SUMS))


def test_an_older_version_published_later_does_not_become_latest(
    github: GitHubServers, tmp_path: Path
) -> None:
    """A v1.2.4 hotfix after v2.0.0: GitHub's default (make_latest true on create, and on a
    draft's publishing) would make it Latest, and releases/latest/download would serve it."""
    state = github.state
    current = state.new_release({"tag_name": "v2.0.0", "name": "v2.0.0"})
    assert state.latest == current["id"]
    hotfix = releases.packed(tmp_path / "ws", "api", b"api build", "prod", "1.2.4")
    done = attach_to(github, [hotfix], "v1.2.4")
    assert done.published and state.latest == current["id"]
    newer = releases.packed(tmp_path / "ws3", "api", b"api build 3", "prod", "3.0.0")
    attach_to(github, [newer], "v3.0.0")
    assert state.latest == max(state.releases)  # a new highest version does


def test_a_draft_made_by_hand_without_a_name_is_published_under_the_tag(
    github: GitHubServers, tmp_path: Path
) -> None:
    """GitHub answers "name": null for a draft made without a title; publishing it must not
    stop on PyGithub's check that a name is text (a traceback before)."""
    state = github.state
    draft = state.new_release({"tag_name": "v1.2.3", "name": None, "body": None, "draft": True})
    done = attach_to(github, [api_release(tmp_path)], "v1.2.3")
    assert done.published and not draft["draft"] and draft["name"] == "v1.2.3"
    assert state.asset_names(draft) == [SUMS, AMD, ARM]


def test_an_immutable_release_missing_files_is_refused_before_any_upload(
    github: GitHubServers, tmp_path: Path
) -> None:
    """With immutable releases, a published release takes no more files: say so at once and
    how to avoid it, instead of a 422 after some uploads."""
    state = github.state
    release = state.new_release({"tag_name": "v1.2.3", "name": "v1.2.3"})
    release["immutable"] = True
    with pytest.raises(VerdictError) as refused:
        attach_to(github, [api_release(tmp_path)], "v1.2.3")
    assert str(refused.value) == (
        f"GitHub release v1.2.3 is published and immutable, so {AMD}, {ARM}, {SUMS} can no "
        "longer be attached; attach every service's files with one goci artifact upload (the "
        "whole dist/), which publishes the release only once they are all in"
    )
    assert uploads(github) == [] and state.asset_names(release) == []


@pytest.mark.parametrize("annotated", [False, True], ids=["lightweight", "annotated"])
def test_files_go_only_to_a_tag_of_the_commit_they_were_built_from(
    github: GitHubServers, tmp_path: Path, annotated: bool
) -> None:
    """A tag that exists at another commit (made by hand, moved) is refused before anything is
    written; at the build's own commit, the files go out as usual."""
    state = github.state
    api = api_release(tmp_path)
    built = api.manifest.commit
    state.tags["v1.2.3"] = ("f" * 40, "a" * 40 if annotated else "")
    with pytest.raises(VerdictError) as refused:
        attach_to(github, [api], "v1.2.3")
    assert str(refused.value) == (
        f"tag v1.2.3 is at commit {'f' * 12}, but the files were built from {built[:12]}; "
        "nothing was attached (build the tag's commit, or tag it)"
    )
    assert state.releases == {} and state.events == []
    state.tags["v1.2.3"] = (built, "a" * 40 if annotated else "")
    done = attach_to(github, [api], "v1.2.3")
    assert done.published and done.uploaded == (AMD, ARM, SUMS)


def test_releases_of_two_commits_are_not_attached_to_one_tag(
    github: GitHubServers, tmp_path: Path
) -> None:
    api, worker = api_release(tmp_path), worker_release(tmp_path)
    with pytest.raises(InputError, match=r"were built from 2 commits \("):
        attach_to(github, [api, worker], "v1.2.3")
    assert github.state.requests == []
