#!/usr/bin/env python3
"""The Affine + ReLU layer: cgraph's gradient of sum(relu(X @ W + b)) beside the same computation
written by hand in NumPy (forward and backward), in one run; and a check that a scalar-only run
never imports NumPy.

    python bench/tensor_affine.py [--n 1000 --d 512 --h 256 --repeat 15]

Both sides compute the value and the gradients of X, W and b from the same arrays. cgraph's time
is parse + graph build + forward + backward + the kink and non-finite-gradient checks (what
`cgraph eval` does after reading its inputs); the medians of --repeat runs are compared.
Target: cgraph <= 1.3x the hand-written NumPy.
"""

import argparse
import gc
import statistics
import subprocess
import sys
import time

import numpy as np

EXPR = "sum(relu(X @ W + b))"


def by_hand(X, W, b):
    h = X @ W + b
    value = np.maximum(h, 0.0).sum()
    dh = (h > 0).astype(float)            # d sum(relu(h)) / dh
    return value, {"X": dh @ W.T, "W": X.T @ dh, "b": dh.sum(axis=0)}


def with_cgraph(X, W, b):
    from cgraph_cli.engine import evaluate
    from cgraph_cli.grammar import parse
    from cgraph_cli.graph import build

    bindings = {"X": X, "W": W, "b": b}
    graph = build(parse(EXPR), EXPR, frozenset(bindings))
    evaluation = evaluate(graph, bindings)
    return evaluation.value, evaluation.gradients()


def median_seconds(function, repeat, *args):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--h", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(20261123)
    X = rng.standard_normal((args.n, args.d))
    W = rng.standard_normal((args.d, args.h)) / np.sqrt(args.d)
    b = rng.standard_normal(args.h)
    gc.disable()
    with_cgraph(X, W, b)   # warm up: parser tables, NumPy backend import
    by_hand(X, W, b)
    rows = []
    for _ in range(2):     # interleave the two sides so machine noise hits both
        rows.append((median_seconds(with_cgraph, args.repeat, X, W, b),
                     median_seconds(by_hand, args.repeat, X, W, b)))
    (cg_median, cg_min, (value, grads)), (np_median, np_min, (ref_value, ref_grads)) = rows[-1]
    agree = max([abs(value - ref_value) / abs(ref_value)] +
                [float(np.max(np.abs(grads[k] - ref_grads[k]))) for k in ref_grads])
    print(f"sum(relu(X @ W + b)), X {X.shape}, W {W.shape}, b {b.shape}; median of {args.repeat}")
    print(f"{'':24}{'median s':>10}{'min s':>10}")
    print(f"{'cgraph (in-process)':24}{cg_median:10.4f}{cg_min:10.4f}")
    print(f"{'NumPy by hand':24}{np_median:10.4f}{np_min:10.4f}")
    ratio = cg_median / np_median
    print(f"ratio cgraph / NumPy by hand: {ratio:.2f} (target <= 1.3: {'PASS' if ratio <= 1.3 else 'FAIL'}); "
          f"largest difference {agree:.1e}")
    probe = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom cgraph_cli.cli import _run\n"
         "_run(['eval', '(x+y)^2', '--x', '1', '--y', '3', '--format', 'json'], False)\n"
         "print('numpy imported:', 'numpy' in sys.modules, file=sys.stderr)"],
        capture_output=True, text=True)
    print("scalar-only run:", probe.stderr.strip().splitlines()[-1] if probe.stderr else probe.stdout)


if __name__ == "__main__":
    main()
