#!/usr/bin/env python3
"""Two checkouts of cgraph side by side in one run: cold start and the in-process 10^5-op chain.

A refactor must not slow cgraph down; a figure from another run proves nothing on a shared
machine, so the two trees are timed alternately here and the ratio of medians is printed.

    python bench/compare_trees.py BASE_TREE NEW_TREE [--runs 15] [--scale-runs 3] [--ops 100000]

Each tree needs a virtual environment at TREE/.venv with cgraph installed from that tree
(`python3 -m venv .venv && .venv/bin/pip install -e .`). Start-up is `cgraph eval "(x+y)^2"
--x 1 --y 3 --format json` as a fresh process, with bytecode cached (the state of an installed
wheel); scale is parse + build + evaluate of a chain of N operations in a child process of that
tree, gc off as in bench/scale.py. PASS when NEW/BASE <= 1.05 on both medians.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.05
START_ARGS = ["eval", "(x+y)^2", "--x", "1", "--y", "3", "--format", "json"]
CHILD = r"""
import gc, sys, time
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build
from cgraph_cli.engine import evaluate
n = int(sys.argv[1])
source = "x" + "".join(" + x*0.5" if i % 2 else " - x" for i in range(n // 2))
parse("x")   # tables loaded before timing
gc.disable()
start = time.perf_counter()
graph = build(parse(source), source, frozenset({"x"}))
evaluate(graph, {"x": 0.25})
print(time.perf_counter() - start)
"""


def start_once(tree: Path, env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(tree / ".venv/bin/cgraph"), *START_ARGS], capture_output=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or b'"value": 16.0' not in done.stdout:
        raise SystemExit(f"{tree}: cgraph failed: {done.stderr.decode()}")
    return elapsed


def scale_once(tree: Path, ops: int, env: dict) -> float:
    done = subprocess.run([str(tree / ".venv/bin/python"), "-c", CHILD, str(ops)], capture_output=True,
                          text=True, env=env, cwd=str(tree))
    if done.returncode != 0:
        raise SystemExit(f"{tree}: scale child failed: {done.stderr}")
    return float(done.stdout)


def alternate(label: str, runs: int, base, new) -> tuple:
    times = {"base": [], "new": []}
    for i in range(runs):
        order = (("base", base), ("new", new)) if i % 2 == 0 else (("new", new), ("base", base))
        for name, run in order:
            times[name].append(run())
    b, n = statistics.median(times["base"]), statistics.median(times["new"])
    ratio = n / b
    print(f"{label:<28} base {b:.4f} s  new {n:.4f} s  ratio {ratio:.3f}  "
          f"{'PASS' if ratio <= TARGET else 'FAIL'} (target <= {TARGET})")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--runs", type=int, default=15, help="start-up runs per tree (median)")
    parser.add_argument("--scale-runs", type=int, default=3, help="scale runs per tree (median)")
    parser.add_argument("--ops", type=int, default=100_000, help="operations in the chain")
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPYCACHEPREFIX=tempfile.mkdtemp(prefix="cgraph-pyc-"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for tree in (args.base, args.new):   # warm-up: bytecode and the parser-table cache
        start_once(tree, env)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    ratios = [alternate("start-up (eval, json)", args.runs,
                        lambda: start_once(args.base, env), lambda: start_once(args.new, env)),
              alternate(f"chain of {args.ops:,} ops", args.scale_runs,
                        lambda: scale_once(args.base, args.ops, env), lambda: scale_once(args.new, args.ops, env))]
    return 0 if all(r <= TARGET for r in ratios) else 1


if __name__ == "__main__":
    sys.exit(main())
