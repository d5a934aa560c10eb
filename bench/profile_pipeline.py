#!/usr/bin/env python3
"""cProfile of cgraph's pipeline on one workload: parse, graph build, forward, backward (gc off, as the CLI).

    python bench/profile_pipeline.py [/tmp/wl/data/chain_1000000.txt] [--top 25] [--sort tottime]

Prints each stage's time under the profiler (inflated by it; bench/scale.py has the true
times), then the top functions. Stage owners: Parser.tokens = lexer regex loop, Parser.parse =
LALR driver loop, AstBuilder.* = AST node construction, graph.* = build, engine.* = forward/backward.
"""

import argparse
import cProfile
import gc
import os
import pstats
import sys
import time
from pathlib import Path

POINT = {"x": 0.7, "y": -1.3, "z": 2.1, "w": 0.4}
DATA_DIR = os.environ.get("CGRAPH_BENCH_DATA", "/tmp/wl/data")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=os.path.join(DATA_DIR, "chain_1000000.txt"))
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime")
    args = parser.parse_args()

    gc.disable()
    from cgraph_cli import engine, grammar, graph as graph_module

    text = Path(args.file).read_bytes().decode("utf-8")
    grammar.get_parser()
    profile = cProfile.Profile()
    stages = {}

    def stage(name, function, *arguments):
        t = time.perf_counter()
        profile.enable()
        result = function(*arguments)
        profile.disable()
        stages[name] = time.perf_counter() - t
        return result

    program = stage("parse", grammar.parse, text)
    graph = stage("build", graph_module.build, program, text, frozenset(POINT))
    values = stage("forward", engine.forward, graph, POINT)
    stage("backward", engine.backward, graph, values)
    import cgraph_cli
    print(f"cgraph_cli from {os.path.dirname(cgraph_cli.__file__)}")
    print(f"{args.file}: {len(text)} chars, {len(graph)} nodes; under cProfile: "
          + ", ".join(f"{k} {v:.2f}s" for k, v in stages.items()) + f", total {sum(stages.values()):.2f}s")
    sys.stdout.flush()
    pstats.Stats(profile, stream=sys.stdout).strip_dirs().sort_stats(args.sort).print_stats(args.top)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
