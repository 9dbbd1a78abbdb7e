"""From seeds to everything they reach: importers, test binaries, and dependency moves.

Breadth first, so the import chain kept for each package is the shortest one, which is the
chain a person reads in the report.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from goci.changed.pkggraph import Graph, base_path
from goci.changed.seeds import DepMove, Reason


def propagate(graph: Graph, seeds: Mapping[str, Reason]) -> dict[str, Reason]:
    """Reverse-import closure of ``seeds``, each package with the shortest chain that reached
    it (breadth first, so the chain a person reads is the most direct one)."""
    importers: dict[str, list[str]] = {}
    for pkg in graph.packages.values():
        for imp in pkg.imports:
            importers.setdefault(imp, []).append(pkg.path)
    reached = dict(seeds)
    queue = deque(sorted(seeds))
    while queue:
        current = queue.popleft()
        reason = reached[current]
        for importer in sorted(importers.get(current, ())):
            if importer not in reached:
                reached[importer] = Reason(reason.file, (*reason.via, importer), reason.note)
                queue.append(importer)
    return reached


def test_binaries(graph: Graph, build: Mapping[str, Reason]) -> dict[str, Reason]:
    """Test binaries that link an affected package, by owner, with the chain that reached them.

    A breadth-first walk up the test graph (mains and variants) from every node whose package
    is affected: this covers test-only imports, external ``_test`` packages and transitive
    test dependencies without reading each binary's full dependency list.
    """
    importers: dict[str, list[str]] = {}
    for node, imports in graph.test_nodes.items():
        for imp in imports:
            importers.setdefault(imp, []).append(node)
    reached: dict[str, Reason] = {}
    starts = [n for n in importers if base_path(n) in build]
    starts.sort(key=lambda n: (len(build[base_path(n)].via), n))
    for node in starts:
        reached[node] = build[base_path(node)]
    queue = deque(starts)
    while queue:
        current = queue.popleft()
        reason = reached[current]
        for importer in sorted(importers.get(current, ())):
            if importer in reached:
                continue
            name = base_path(importer)
            step = f"{name.removesuffix('.test')} (test)" if name.endswith(".test") else name
            via = reason.via if reason.via and reason.via[-1] == step else (*reason.via, step)
            reached[importer] = Reason(reason.file, via, reason.note)
            queue.append(importer)
    return {
        node.removesuffix(".test"): reason
        for node, reason in reached.items()
        if node.endswith(".test") and " [" not in node
    }


def dep_move_reach(graph: Graph, move: DepMove) -> tuple[dict[str, Reason], dict[str, Reason]]:
    """The packages of ``move``'s main modules whose build, and whose test binary, links a
    package of a moved module. The walk may pass through any package (a replaced local module
    is built with the main module's list), but only the main modules' packages are kept:
    other modules build with lists of their own."""
    starts: dict[str, Reason] = {}
    for pkg in graph.packages.values():
        why = move.moved.get(pkg.module)
        if why is not None and pkg.module not in move.mains:
            starts[pkg.path] = Reason(why.file, (pkg.path,), why.note)
    reach = propagate(graph, starts)
    binaries = test_binaries(graph, reach)

    def mine(name: str) -> bool:
        pkg = graph.packages.get(name)
        return pkg is not None and pkg.local and pkg.module in move.mains

    return (
        {p: r for p, r in reach.items() if mine(p)},
        {p: r for p, r in binaries.items() if mine(p)},
    )
