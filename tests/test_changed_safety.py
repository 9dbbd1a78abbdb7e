"""``goci changed`` against what really breaks: the mutation harness (every test a broken
function makes fail is in ``test-packages``) and a history of commits scored against the
affected set computed from ``go list -deps -test`` alone (no misses, nothing extra)."""

from __future__ import annotations

from pathlib import Path

from support.affected_monorepo import generate, init_git, interesting_targets, mutation_check
from support.affected_truth import precision_history, publish_deps, score_history
from support.goproxy import GoProxy


def test_no_test_that_fails_is_missed(tmp_path: Path, go_env: dict[str, str]) -> None:
    repo = generate(tmp_path / "mono", modules=2, per_module=5, seed=3)
    init_git(repo.root, go_env)
    targets = interesting_targets(repo)
    assert len(targets) >= 3
    results = mutation_check(repo, go_env["GOCI_GO"], go_env, targets)
    for result in results:
        assert result.target in result.failing  # the harness really breaks something
        assert result.misses == frozenset(), result
    selected = sum(len(r.selected) for r in results)
    assert selected < len(results) * len(repo.packages)  # a real reduction, not "everything"


def test_history_selects_exactly_what_go_list_says_is_affected(
    tmp_path: Path, go_env: dict[str, str], goproxy: GoProxy
) -> None:
    publish_deps(goproxy)
    repo = generate(tmp_path / "mono", modules=3, per_module=4, seed=11)
    init_git(repo.root, go_env)
    history = precision_history(repo, go_env["GOCI_GO"], go_env)
    scored = {s.label: s for s in score_history(repo, history, go_env["GOCI_GO"], go_env)}
    assert len(scored) == len(history) - 1 == 8
    for label, s in scored.items():
        assert s.misses == frozenset(), label
        assert s.truth or s.everything, label  # every commit changes something
        if label == "a file for windows only":
            # Compiled on Windows only: still a build change of its package and importers.
            assert s.truth < s.selected, label
        elif label == "a workflow file (--global-files)":
            assert s.everything and s.truth == frozenset()
            assert "matches --global-files pattern '.github/**'" in s.reasons[0]
        else:
            assert (s.selected, s.selected_tests) == (s.truth, s.truth_tests), label
    # The three causes of over-selection a real replay showed are each one package here.
    for label in ("docs at a module root (VERSIONING.md)", "a file a test reads from its folder"):
        assert len(scored[label].selected) == 1
    bump = scored["bump assert in m0 (prunes tools there)"]
    assert "ex.com/m2/p0" not in bump.selected  # uses tools v0.2.0 and sys at both commits
