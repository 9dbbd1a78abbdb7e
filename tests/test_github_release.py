"""``--github-release``: files attached to the GitHub release of a tag, against a local GitHub.

The stand-in answers as GitHub does (support/github_releases.py): drafts hidden from the tag
lookup, several drafts allowed per tag, a second published release of a tag refused with 422,
downloads redirected to signed storage, no ``digest`` on an older GitHub Enterprise. Its
``events`` say what changed in which order and whether the release was a draft at the time,
so each test asserts exactly which files went up, which were kept, and when it was published.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from goci.errors import InputError
from goci.release.ghrelease import Attached, attach
from goci.release.local import LocalRelease, load_release
from goci.release.pack import BuildInfo, pack
from support import releases
from support.github_api import GitHubServers


@pytest.fixture
def github() -> Iterator[GitHubServers]:
    servers = GitHubServers()
    yield servers
    servers.stop()


def attach_to(github: GitHubServers, packed: Sequence[LocalRelease], tag: str) -> Attached:
    return attach(packed, tag=tag, token="test-token", repository="acme/shop",
                  api_url=github.state.api_url)  # fmt: skip


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
    github, tmp_path, goci, go_env, env, version, tag, message
):
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
    github, tmp_path, first, second, message
):
    packed = [packed_for(tmp_path / f"ws{i}", s, t) for i, (s, t) in enumerate([first, second])]
    with pytest.raises(InputError) as refused:
        attach_to(github, packed, "v1.2.3")
    assert str(refused.value) == (
        f"--github-release: {message}; rename a service so their asset names differ"
    )
    assert github.state.requests == []
