#!/usr/bin/env python3
"""`cgraph jacobian "tanh(W @ x)" --wrt x` chooses the mode with fewer passes, each run under a second.

    W of shape (10, 100): 10 output elements, 100 elements of x  -> reverse mode, 10 backward passes
    W of shape (100, 10): 100 output elements, 10 elements of x  -> forward mode, 10 tangent passes

Each case is a fresh process (start-up, NumPy's import and loading W.npy included), timed --runs
times (median), after one warm-up run that fills the parser-table cache; beside it, the median of
the in-process computation alone (jacobian.jacobian: the forward evaluation and the passes). On a
loaded machine the whole-process figure is mostly start-up. The Jacobian is checked
against diag(1 - tanh(W x)^2) W computed here with NumPy (relative 1e-9). Prints the figures and
PASS or FAIL (exit 1 on FAIL).

    python bench/jacobian.py [--runs 5] [--limit 1.0]

Run it with the Python that has cgraph installed (the `cgraph` script next to it is timed).
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CASES = [((10, 100), "reverse"), ((100, 10), "forward")]


def cgraph_command() -> list:
    script = Path(sys.executable).parent / "cgraph"
    if script.is_file():
        return [str(script)]
    found = shutil.which("cgraph")
    return [found] if found else [sys.executable, "-m", "cgraph_cli"]


def run_case(shape: tuple, folder: Path, runs: int) -> dict:
    rng = np.random.default_rng(sum(shape))
    W = rng.normal(scale=0.3, size=shape)
    x = rng.normal(size=shape[1])
    np.save(folder / "W.npy", W)
    np.save(folder / "x.npy", x)
    command = cgraph_command() + ["jacobian", "tanh(W @ x)", "--W", f"@{folder / 'W.npy'}",
                                  "--x", f"@{folder / 'x.npy'}", "--wrt", "x", "--format", "json"]
    times, body = [], None
    for run in range(runs + 1):   # the first run warms the cache and is not timed
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr}")
        body = json.loads(done.stdout)
        if run:
            times.append(elapsed)
    inside = []
    from cgraph_cli.grammar import parse
    from cgraph_cli.graph import build
    from cgraph_cli.jacobians import jacobian

    point = {"W": W, "x": x}
    graph = build(parse("tanh(W @ x)"), "tanh(W @ x)", frozenset(point))
    for _ in range(runs):
        start = time.perf_counter()
        jacobian(graph, point, ["x"])
        inside.append(time.perf_counter() - start)
    expected = (1 - np.tanh(W @ x) ** 2)[:, None] * W
    got = np.asarray(body["jacobian"]["x"], dtype=float)
    error = float(np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1e-12)))
    return {"mode": body["mode"], "passes": body["passes"], "median": statistics.median(times),
            "max": max(times), "inside": statistics.median(inside), "error": error, "right": got.shape == expected.shape and error <= 1e-9}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case (default 5)")
    parser.add_argument("--limit", type=float, default=1.0, help="seconds a run may take (default 1.0)")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        print(f'cgraph jacobian "tanh(W @ x)" --wrt x, whole process, median of {args.runs}')
        print(f"{'W':>10}  {'expected':>8}  {'mode':>8}  {'passes':>6}  {'median s':>8}  {'max s':>6}  "
              f"{'in-process s':>12}  {'rel. error':>10}  result")
        for shape, expected in CASES:
            figures = run_case(shape, Path(folder), args.runs)
            passed = figures["mode"] == expected and figures["right"] and figures["median"] < args.limit
            ok &= passed
            print(f"{str(shape):>10}  {expected:>8}  {figures['mode']:>8}  {figures['passes']:>6}  "
                  f"{figures['median']:>8.3f}  {figures['max']:>6.3f}  {figures['inside']:>12.4f}  {figures['error']:>10.1e}  "
                  f"{'PASS' if passed else 'FAIL'}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
