"""Misses and precision of ``goci changed``: a mutation harness, and a history scored against
a ground truth.

Misses: on a generated monorepo of several modules tied together by replace directives, each
package's ``F()`` is made to return a wrong value in a commit; the full ``go test`` of every
module says which test packages now fail, and each of them must be in goci's
``test-packages``. Any miss is a bug. Also prints how much smaller the selection is than
running every test.

Precision: a second generated monorepo, with third-party modules from a file GOPROXY, gets one
commit per kind of change a replay of a real repository over-selected on (docs at a module
root, a data file a test reads, a dependency bump that prunes one module's graph, a workflow
file) and the ordinary ones (code, a test file, a file compiled on another platform only). Each
commit is scored against the affected set computed from ``go list -deps -test`` fingerprints
alone (tests/support/affected_truth.py): misses, and precision = selected and affected over
selected, over the commits no --global-files pattern matches; running everything is the
baseline.

    .venv/bin/python bench/affected_safety.py            # 4 modules x 12 packages, all mutated
    .venv/bin/python bench/affected_safety.py --quick    # 2 x 5, a few chosen packages
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.affected_monorepo import (
    failing_tests,
    generate,
    init_git,
    interesting_targets,
    mutation_check,
)
from support.affected_truth import Scored, precision_history, publish_deps, score_history
from support.goproxy import GoProxy

# Files compiled only on a platform the analysis does not list: selected on purpose (go-ci.yml
# analyses the host but tests and builds the whole matrix), not counted as imprecision there.
CONSERVATIVE = "a file for windows only"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small repo, a few mutations")
    parser.add_argument("--modules", type=int, default=4)
    parser.add_argument("--per-module", type=int, default=12)
    args = parser.parse_args()
    modules, per_module = (2, 5) if args.quick else (args.modules, args.per_module)
    go = shutil.which("go") or "go"
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "-modcacherw"}
    env.pop("GOWORK", None)
    scratch = Path(tempfile.mkdtemp(prefix="goci-safety-"))
    try:
        repo = generate(scratch / "mono", modules=modules, per_module=per_module, seed=11)
        init_git(repo.root, env)
        assert failing_tests(repo, go, env) == set(), "the generated repository must pass"
        targets = interesting_targets(repo) if args.quick else sorted(repo.packages)
        started = time.perf_counter()
        results = mutation_check(repo, go, env, targets)
        elapsed = time.perf_counter() - started
        proxy = GoProxy(scratch / "goproxy")
        publish_deps(proxy)
        deps_env = {**env, "GOPROXY": proxy.url, "GOSUMDB": "off", "GONOSUMDB": "*"}
        deps_env["GOMODCACHE"] = str(scratch / "modcache")  # fake modules stay in scratch
        history_repo = generate(
            scratch / "history", modules=max(3, modules), per_module=max(4, per_module), seed=11
        )
        init_git(history_repo.root, deps_env)
        history = precision_history(history_repo, go, deps_env)
        scored = score_history(history_repo, history, go, deps_env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    full = len(repo.packages)  # every generated package has tests; services have none
    misses = sum(len(r.misses) for r in results)
    for r in results:
        flag = "MISS " + ", ".join(sorted(r.misses)) if r.misses else "ok"
        print(f"{r.target:22} failing {len(r.failing):3}  selected {len(r.selected):3}  {flag}")
    failing = sum(len(r.failing) for r in results) / len(results)
    selected = sum(len(r.selected) for r in results) / len(results)
    print(
        f"\n{len(results)} mutations on {full} test packages in {modules} modules "
        f"({elapsed:.0f}s): misses {misses}; per mutation {failing:.1f} tests fail, "
        f"goci selects {selected:.1f} of {full} ({full / selected:.1f}x fewer than all, "
        f"{selected / failing:.2f}x the failing set)"
    )
    history_misses = report_precision(scored)
    return 1 if misses or history_misses else 0


def report_precision(scored: list[Scored]) -> int:
    """Print each commit's score and the precision figures; returns the number of misses."""
    print(f"\nhistory of {len(scored)} commits, scored against go list -deps -test:")
    for s in scored:
        flag = "MISS " + ", ".join(sorted(s.misses)) if s.misses else "ok"
        kind = " [global]" if s.everything else " [conservative]" if s.label == CONSERVATIVE else ""
        print(
            f"  {s.label:42} affected {len(s.truth):3}  selected {len(s.selected):3}  "
            f"right {s.correct:3}  {flag}{kind}"
        )
    counted = [s for s in scored if not s.everything]
    strict = [s for s in counted if s.label != CONSERVATIVE]
    for what, group in (
        ("commits no global pattern matches", counted),
        (f"the same without {CONSERVATIVE!r}", strict),
    ):
        right = sum(s.correct for s in group)
        selected = sum(len(s.selected) for s in group)
        everything = sum(len(s.truth) for s in group) / sum(s.packages for s in group)
        print(
            f"precision over {what} ({len(group)}): {right / selected:.0%} "
            f"({right} of {selected} selected are affected); running everything: "
            f"{everything:.0%}"
        )
    for s in scored:
        if s.everything:
            print(f"global: {s.label}: {'; '.join(s.reasons)}")
    misses = sum(len(s.misses) for s in scored)
    print(f"misses over the history: {misses}")
    return misses


if __name__ == "__main__":
    raise SystemExit(main())
