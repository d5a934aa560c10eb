#!/usr/bin/env python3
"""Forward mode's cost: the forward pass with tangents against the forward pass alone (issue 13, section 3).

On chain_100000.txt (about 125,000 nodes: sums of terms like sin(x*1.2345)*y), in-process, after the
parse and the build: medians of 5 runs (the gc off, as the CLI runs) of

    forward alone:          engine.forward(graph, bindings)
    forward with tangents:  engine.forward_with_tangents(graph, bindings, seeds), with a tangent for each
                            of x, y, z, w: each node's value and tangent in one sweep (what
                            `eval --tangent` runs)
    two passes (shown):     engine.forward, then engine.forward_tangents(graph, values, seeds) (what
                            the jacobian's forward mode runs, values given)

and their ratio; PASS if it is at most 2.0 (exit 1 otherwise). The runs alternate, so a load spike on a
shared machine hits both sides. CPU time (time.process_time) by default; --wall for wall-clock time.

    python bench/tangent.py [--runs 5] [--wall]
"""

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads import data_dir, source_stamp  # noqa: E402

from cgraph_cli.engine import forward, forward_tangents, forward_with_tangents  # noqa: E402
from cgraph_cli.grammar import parse  # noqa: E402
from cgraph_cli.graph import build  # noqa: E402

BINDINGS = {"x": 0.7, "y": -1.3, "z": 2.1, "w": 0.4}
SEEDS = {"x": 1.0, "y": 0.5, "z": -1.0, "w": 2.0}
LIMIT = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    args = parser.parse_args()
    clock = time.perf_counter if args.wall else time.process_time
    path = data_dir("chain_100000.txt") / "chain_100000.txt"
    source = path.read_text()
    graph = build(parse(source), source, frozenset(BINDINGS))
    alone, with_tangents, two_passes = [], [], []
    gc.disable()
    forward_tangents(graph, forward(graph, BINDINGS), SEEDS)   # warm-up
    for _ in range(args.runs):
        start = clock()
        values = forward(graph, BINDINGS)
        alone.append(clock() - start)
        del values   # (freeing the lists is not timed, on either side)
        start = clock()
        values, tangents = forward_with_tangents(graph, BINDINGS, SEEDS)
        with_tangents.append(clock() - start)
        output_tangent = tangents[graph.output]
        del values, tangents
        start = clock()
        values = forward(graph, BINDINGS)
        tangents = forward_tangents(graph, values, SEEDS)
        two_passes.append(clock() - start)
        assert tangents[graph.output] == output_tangent
        del values, tangents
    gc.enable()
    a, t, two = statistics.median(alone), statistics.median(with_tangents), statistics.median(two_passes)
    ratio = t / a
    print(f"cgraph: {source_stamp()}")
    print(f"{path.name}: {len(graph):,} nodes; medians of {args.runs} ({'wall' if args.wall else 'CPU'} time)")
    print(f"  forward alone          {a * 1000:8.1f} ms")
    print(f"  forward with tangents  {t * 1000:8.1f} ms   (output's tangent {output_tangent:.12g})")
    print(f"  two passes             {two * 1000:8.1f} ms   (ratio {two / a:.2f}, for information)")
    verdict = "PASS" if ratio <= LIMIT else "FAIL"
    print(f"ratio {ratio:.2f} (limit {LIMIT}): {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
