"""The one platform model: a word like ``linux/arm/v7`` or ``linux/amd64+cgo`` means the same
target to the matrix, cache keys, the package graph, builds and release folder names."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goci.errors import InputError
from goci.matrix import platforms, runners
from goci.matrix.platforms import VARIANTS, DistList, Platform
from goci.release.names import is_target
from goci.tools.gotool import Go
from support.goci_run import GociRun
from support.gorepo import GoRepo

ARCHES = ("amd64", "arm", "arm64", "386", "mips", "ppc64le", "riscv64", "wasm", "s390x")
KNOWN = DistList(
    frozenset(f"{os}/{arch}" for os in ("linux", "windows", "freebsd") for arch in ARCHES),
    frozenset({"linux/amd64", "linux/arm64", "linux/arm", "windows/amd64"}),
)


@st.composite
def known_platforms(draw: st.DrawFn) -> Platform:
    pair = draw(st.sampled_from(sorted(KNOWN.pairs)))
    os_, arch = pair.split("/")
    variants = VARIANTS[arch][1] if arch in VARIANTS else ()
    variant = draw(st.sampled_from(("", *variants)))
    cgo = draw(st.booleans()) if pair in KNOWN.cgo else False
    return Platform(os_, arch, variant, cgo)


@given(known_platforms())
def test_every_form_of_a_platform_reads_back_as_the_same_platform(platform: Platform) -> None:
    assert platforms.parse(platform.spec, KNOWN) == platform
    # what go is told is what go env reports back (variant and cgo included)
    assert Platform.from_go_env(platform.env()) == platform
    assert is_target(platform.folder)  # a release accepts the folder goci build writes
    label = platform.cache_label
    assert label.startswith(f"{platform.os}-{platform.arch}-") and label.endswith(
        f"-cgo{int(platform.cgo)}"
    )
    # the runner mapping looks the most specific key up first
    assert platform.runner_keys[-1] == platform.pair
    # another variant or cgo is another key and another word; cgo is not another folder
    for other in (platform._replace(cgo=not platform.cgo), platform._replace(variant="")):
        if other != platform:
            assert (other.spec, other.cache_label) != (platform.spec, platform.cache_label)
    assert platform._replace(cgo=not platform.cgo).folder == platform.folder


def test_the_formats_of_three_words() -> None:
    arm = platforms.parse("linux/arm/v7", KNOWN)
    v3 = platforms.parse("linux/amd64/v3", KNOWN)
    cgo = platforms.parse(" linux/amd64+cgo ", KNOWN)
    assert [(p.spec, p.folder, p.cache_label) for p in (arm, v3, cgo)] == [
        ("linux/arm/v7", "linux-arm-v7", "linux-arm-7-cgo0"),
        ("linux/amd64/v3", "linux-amd64-v3", "linux-amd64-v3-cgo0"),
        ("linux/amd64+cgo", "linux-amd64", "linux-amd64-cgo1"),
    ]
    assert arm.env() == {"GOOS": "linux", "GOARCH": "arm", "GOARM": "7", "CGO_ENABLED": "0"}
    assert v3.overrides() == {"GOOS": "linux", "GOARCH": "amd64", "GOAMD64": "v3"}
    assert cgo.overrides() == {"GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "1"}
    assert platforms.parse("linux/arm/7", KNOWN) == arm  # GOARM's own spelling
    assert runners.runner_for(v3, {}) == ("ubuntu-latest", False)
    assert runners.runner_for(arm, {"linux/arm/v7": "pi"}) == ("pi", False)


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("linux", "--target: 'linux' is not os/arch[/variant][+cgo]; use os/arch"),
        ("linux/amd64/v3/x", "is not os/arch[/variant][+cgo]"),
        ("linux/amd46", "'linux/amd46' is not a platform this Go can build for (did you mean"),
        ("linux/amd64/v5", "'v5' is not a GOAMD64 value"),
        ("linux/s390x/v1", "s390x has no variants"),
        ("freebsd/amd64+cgo", "Go has no cgo support for freebsd/amd64"),
    ],
)
def test_bad_words_name_the_input_and_what_is_accepted(word: str, message: str) -> None:
    with pytest.raises(InputError, match=r"^--target: ") as caught:
        platforms.parse(word, KNOWN, input_name="--target")
    assert message in str(caught.value)


def test_folders_two_targets_share_are_refused() -> None:
    amd64, cgo = Platform("linux", "amd64"), Platform("linux", "amd64", cgo=True)
    platforms.check_folders([amd64, Platform("linux", "amd64", "v3"), amd64])
    with pytest.raises(InputError, match="'linux/amd64' and 'linux/amd64\\+cgo' both build"):
        platforms.check_folders([amd64, cgo])


def test_go_reports_the_platform_a_word_names(go_env: dict[str, str], tmp_path: Path) -> None:
    """The model's variables are Go's own: ``go env`` with a word's overrides (and cgo off
    around it) reads back as the word's platform (a variant the word leaves open as Go's
    default), and go tool dist list runs once per Go."""
    calls: list[tuple[str, ...]] = []

    class CountingGo(Go):
        def run(self, *args: str, **kwargs: object) -> object:  # type: ignore[override]
            calls.append(args)
            return super().run(*args, **kwargs)  # type: ignore[arg-type]

    go = CountingGo({**go_env, "CGO_ENABLED": "0"}, go_env["GOCI_GO"])
    platforms._DIST_CACHE.clear()
    known = platforms.dist_list(go, tmp_path)
    seen = {}
    for word in ("linux/arm/v7", "linux/amd64/v3", "linux/amd64+cgo", "linux/386/softfloat"):
        platform = platforms.parse(word, platforms.dist_list(go, tmp_path))
        values = go.with_env(**platform.overrides()).env_values(
            platforms.GO_ENV_NAMES, cwd=tmp_path
        )
        seen[word] = Platform.from_go_env(values)
    assert seen == {
        "linux/arm/v7": Platform("linux", "arm", "v7"),
        "linux/amd64/v3": Platform("linux", "amd64", "v3"),
        "linux/amd64+cgo": Platform("linux", "amd64", "v1", cgo=True),
        "linux/386/softfloat": Platform("linux", "386", "softfloat"),
    }
    assert "linux/amd64" in known.cgo and "linux/arm" in known.pairs
    assert [c for c in calls if c[:2] == ("tool", "dist")] == [("tool", "dist", "list", "-json")]


def test_changed_takes_the_same_words(
    make_repo: Callable[..., GoRepo], go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """``--platform`` of changed-packages takes what the matrix emits: a package whose only
    import of ``dep`` is in a cgo file depends on it for ``+cgo`` alone, and one whose import
    is in an ``_arm.go`` file for ``linux/arm/v7`` alone."""
    repo = make_repo()
    repo.module(".", "ex.com/p")
    repo.package("dep", "dep", "func D() int { return 1 }\n")
    repo.package("viacgo", "viacgo", "func V() int { return 0 }\n")
    repo.write(
        "viacgo/cgo.go",
        'package viacgo\n\n// int one() { return 1; }\nimport "C"\n\nimport "ex.com/p/dep"\n\n'
        "var _ = dep.D\n",
    )
    repo.package("viaarm", "viaarm", "func V() int { return 0 }\n")
    repo.write("viaarm/x_arm.go", 'package viaarm\n\nimport "ex.com/p/dep"\n\nvar _ = dep.D\n')
    base = repo.commit("init")
    repo.package("dep", "dep", "func D() int { return 2 }\n")
    repo.commit("dep changes")
    env = {**go_env, "CGO_ENABLED": "0"}

    def packages(*words: str) -> list[str]:
        args = [a for w in words for a in ("--platform", w)]
        run = goci("changed", "--base", base, *args, "--json", env=env, cwd=repo.root)
        assert run.code == 0, run.stderr
        return sorted(run.json()["packages"])

    assert packages("linux/amd64") == ["ex.com/p/dep"]
    assert packages("linux/amd64+cgo") == ["ex.com/p/dep", "ex.com/p/viacgo"]
    assert packages("linux/arm/v7") == ["ex.com/p/dep", "ex.com/p/viaarm"]
    assert packages("linux/arm/v7", "linux/amd64+cgo") == [
        "ex.com/p/dep",
        "ex.com/p/viaarm",
        "ex.com/p/viacgo",
    ]
    refused = goci("changed", "--base", base, "--platform", "linux/arm/v9", env=env, cwd=repo.root)
    assert refused.code == 2
    assert "--platform: 'linux/arm/v9': 'v9' is not a GOARM value" in refused.stderr


def test_build_writes_variant_folders_that_go_and_pack_agree_on(
    make_repo: Callable[..., GoRepo], go_env: dict[str, str], goci: Callable[..., GociRun]
) -> None:
    """One ``goci build`` for three words: each binary in its own folder, built for what
    the word says (Go's own build info tells), and packed into a release."""
    repo = make_repo()
    repo.module(".", "ex.com/svc")
    repo.package("cmd/svc", "main", "func main() {}\n")
    repo.commit("init")
    words = "linux/arm/v7 linux/amd64/v3 linux/386/softfloat"
    run = goci("build", "--platforms", words, "--json", env=go_env, cwd=repo.root)
    assert run.code == 0, run.stderr
    assert run.json()["binaries"] == [
        ".goci/dist/svc/linux-arm-v7/svc",
        ".goci/dist/svc/linux-amd64-v3/svc",
        ".goci/dist/svc/linux-386-softfloat/svc",
    ]
    settings = {}
    for folder, variable in (
        ("linux-arm-v7", "GOARM"),
        ("linux-amd64-v3", "GOAMD64"),
        ("linux-386-softfloat", "GO386"),
    ):
        info = subprocess.run(
            [
                go_env["GOCI_GO"],
                "version",
                "-m",
                str(repo.root / ".goci/dist/svc" / folder / "svc"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        settings[folder] = [
            line.split()[-1] for line in info.splitlines() if f"\t{variable}=" in line
        ]
        record = json.loads((repo.root / ".goci/dist/svc" / folder / "build.json").read_text())
        assert record["target"] == words.split()[len(settings) - 1]
    assert settings == {
        "linux-arm-v7": ["GOARM=7"],
        "linux-amd64-v3": ["GOAMD64=v3"],
        "linux-386-softfloat": ["GO386=softfloat"],
    }
    packed = goci(
        "artifact", "pack", "--env", "dev", "--service", "svc", "--timestamp", "20250102030405",
        "--json", env=go_env, cwd=repo.root,
    )  # fmt: skip
    assert packed.code == 0, packed.stderr
    manifest = json.loads(
        (repo.root / ".goci/dist/dev/svc-20250102030405/manifest.json").read_text()
    )
    assert sorted(f["target"] for f in manifest["files"]) == [
        "linux-386-softfloat",
        "linux-amd64-v3",
        "linux-arm-v7",
    ]
