"""The mutation harness on a small monorepo: every test that a broken function makes fail must be
in ``test-packages`` (no misses), and the selection must be smaller than everything."""

from __future__ import annotations

from support.affected_monorepo import generate, init_git, interesting_targets, mutation_check


def test_no_test_that_fails_is_missed(tmp_path, go_env):
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
