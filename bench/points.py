#!/usr/bin/env python3
"""eval --points on points_1M.csv (10^6 rows of sigmoid(x*y + sin(x)) * (x^2 + y)) beside the anchors, one run.

* cgraph, whole process: `python -m cgraph_cli eval EXPR --points points_1M.csv --out FILE` (wall time,
  start-up, imports, reading, evaluation and writing the CSV: input columns, value, d_x, d_y).
* cgraph, in-process stages (a child process): read the CSV (batch.read_points), parse and build,
  evaluation (one vectorized forward + backward over whole columns, batch.evaluate_points), and
  format + write the CSV (commands/eval_batch.write_points).
* the anchors, with the commands of the anchors' README (../shared/bench-anchors):
      numpy      anchor_numpy_points.py FILE --out OUT   (hand-written value and gradient; savetxt)
      jax        anchor_jax.py FILE --mode points --jit  (jit(vmap(value_and_grad)))
      micrograd  anchor_micrograd.py FILE --mode points  (a scalar graph per row: about 30 s)
  each timed whole (wall) and by its own RESULT line (seconds= is compute only, load_s= the CSV load).
  The anchors' checksums (math.fsum of value, dx, dy) are compared with cgraph's output.

    python bench/points.py                          # numpy and jax
    python bench/points.py --anchors numpy,jax,micrograd --repeat 3

    python bench/points.py --anchors numpy --repeat 5 --pure   # also the pure-Python CSV path, alternating

cgraph writes the CSV with polars when it is installed (the optional extra cgraph[fast]); --pure also runs
every cgraph measurement with polars hidden (the pure-Python writer), as the tools `pure` and `pure whole`.
The output is checked: the first 1,000 rows' value and d_NAME fields against repr(float) of the numbers
read back, and the checksums against the hand-written NumPy script's.

Targets: evaluation <= 2x the hand-written NumPy compute; whole process <= 1.5x the hand-written script
writing the same CSV (--out). Issue 17's: whole process <= 0.5x that script.
"""

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads import ANCHOR_PYTHON, ANCHORS_DIR, REPO, data_dir  # noqa: E402

ANCHORS = {
    "numpy": ["anchor_numpy_points.py", "--quiet"],
    "jax": ["anchor_jax.py", "--mode", "points", "--jit", "--quiet"],
    "micrograd": ["anchor_micrograd.py", "--mode", "points", "--quiet"],
}


HIDE_POLARS = "import sys; sys.modules['polars'] = None; "   # the pure-Python CSV path


def child(path: str, expr: str, out: str, pure: bool = False) -> None:
    """cgraph's --points pipeline in-process, stage by stage (as commands/eval_batch.points_run runs it)."""
    import gc

    if pure:
        sys.modules["polars"] = None
    gc.disable()
    clock = time.perf_counter
    t = clock()
    import numpy  # imported by the CLI on this path too

    from cgraph_cli import batch, grammar
    from cgraph_cli.commands.eval_batch import write_points
    seconds = {"imports": clock() - t}
    t = clock()
    grammar.get_parser()
    seconds["tables"] = clock() - t
    t = clock()
    data = batch.read_points(path)
    seconds["read"] = clock() - t
    t = clock()
    graph, variables = batch.points_graph(expr, data, {}, path)
    seconds["parse"] = clock() - t
    t, cpu = clock(), time.process_time()
    results, notes = batch.evaluate_points(graph, data, {}, variables, path)
    seconds["evaluate"] = clock() - t
    seconds["evaluate_cpu"] = time.process_time() - cpu
    t = clock()
    write_points(out, data, ["value"] + [f"d_{name}" for name in variables], results, None)
    seconds["write"] = clock() - t
    sums = [math.fsum(column.tolist()) for column in results]
    sys.stdout.write("CGRAPH " + json.dumps({"seconds": seconds, "sums": sums, "rows": len(data.rows),
                                             "numpy": numpy.__version__}) + "\n")
    sys.stdout.flush()
    os._exit(0)


def run_child(path: Path, expr: str, out: str, pure: bool = False) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", str(path), "--expr", expr, "--out", out]
                          + ["--pure"] * pure, capture_output=True, text=True, cwd=REPO)
    for line in done.stdout.splitlines():
        if line.startswith("CGRAPH "):
            return json.loads(line[7:])
    return {"error": done.stderr.strip()[-300:]}


def run_whole(path: Path, expr: str, out: str, pure: bool = False) -> dict:
    command = [sys.executable, "-m", "cgraph_cli", "eval", expr, "--points", str(path), "--out", out]
    if pure:
        command[1:3] = ["-c", HIDE_POLARS + "from cgraph_cli.cli import main; sys.argv[0] = 'cgraph'; main()"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-300:]}
    return {"wall": seconds}


def run_anchor(name: str, path: Path, out: str, python: str, anchors_dir: Path, timeout: float) -> dict:
    script, *options = ANCHORS[name]
    command = [python, str(anchors_dir / script), str(path), *options]
    if name == "numpy":
        command += ["--out", out]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout {timeout:.0f}s"}
    wall = time.perf_counter() - started
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            fields = dict(re.findall(r"(\w+)=(\S+)", line))
            return {"wall": wall, "seconds": float(fields["seconds"]), "load": float(fields.get("load_s", "nan")),
                    "cpu": float(fields.get("cpu_s", "nan")), "fields": fields}
    return {"error": f"exit {done.returncode}: {(done.stderr.strip().splitlines() or [''])[-1][:200]}"}


def check_text(out: str, rows: int = 1000) -> str:
    """The first `rows` rows' output fields (after the input columns) against repr(float) of their value."""
    lines = Path(out).read_text().split("\n", rows + 1)[:rows + 1]
    header = lines[0].split(",")
    outputs = len([name for name in header if name == "value" or name.startswith("d_")])
    bad = [line for line in lines[1:] if any(field != repr(float(field)) for field in line.split(",")[-outputs:])]
    return f"{len(lines) - 1} rows' {outputs} output fields " + \
        ("are repr(float) (shortest round-trip)" if not bad else f"DIFFER from repr(float): {bad[0]!r}")


def anchor_sums(python: str, anchors_dir: Path, path: Path) -> list:
    """The hand-written NumPy script's checksums (it prints fsum of value, dx, dy without --quiet)."""
    done = subprocess.run([python, str(anchors_dir / "anchor_numpy_points.py"), str(path)],
                          capture_output=True, text=True)
    match = re.search(r"sum_value=(\S+) sum_dx=(\S+) sum_dy=(\S+)", done.stdout)
    return [float(v) for v in match.groups()] if match else []


def median(runs: list, key: str) -> float:
    good = [run[key] for run in runs if key in run]
    return statistics.median(good) if good else math.nan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--expr", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--anchors", default="numpy,jax", help="comma list of numpy, jax, micrograd; or none")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (median)")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--data", default=None, help="directory of the workload files")
    parser.add_argument("--anchors-dir", default=str(ANCHORS_DIR))
    parser.add_argument("--anchor-python", default=ANCHOR_PYTHON)
    parser.add_argument("--pure", action="store_true", help="also run cgraph with polars hidden")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.expr, args.out, args.pure)
        return 0
    anchors = [a for a in args.anchors.split(",") if a and a != "none"]
    unknown = set(anchors) - set(ANCHORS)
    if unknown:
        parser.error(f"unknown anchors: {', '.join(sorted(unknown))}")
    data = Path(args.data) if args.data else data_dir("points_1M.csv")
    path = data / "points_1M.csv"
    expr = (data / "points_expr.txt").read_text().strip()
    anchors_dir = Path(args.anchors_dir)
    print(f"cgraph python: {sys.executable}; anchors: {args.anchor_python}; data: {path}")
    print(f"expression: {expr}; repeat {args.repeat} (medians)")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")

    with tempfile.TemporaryDirectory() as scratch:
        out, pure_out = os.path.join(scratch, "out.csv"), os.path.join(scratch, "pure.csv")
        stages, wholes, theirs = [], [], {name: [] for name in anchors}
        pure_stages, pure_wholes = [], []
        runs = [lambda: stages.append(run_child(path, expr, out)),
                lambda: wholes.append(run_whole(path, expr, out))]
        if args.pure:
            runs += [lambda: pure_stages.append(run_child(path, expr, pure_out, pure=True)),
                     lambda: pure_wholes.append(run_whole(path, expr, pure_out, pure=True))]
        runs += [lambda name=name: theirs[name].append(run_anchor(
            name, path, os.path.join(scratch, f"{name}.tsv"), args.anchor_python, anchors_dir, args.timeout))
            for name in anchors]
        for repeat in range(args.repeat):
            # interleaved, so a noisy moment hits every tool alike, and in a rotating order: a run just
            # after one that wrote 60 MB or used much memory finds the kernel busier (page cache, huge pages)
            for run in runs[repeat % len(runs):] + runs[:repeat % len(runs)]:
                run()
        errors = [run["error"] for run in stages + wholes + pure_stages + pure_wholes if "error" in run]
        if errors:
            print(f"cgraph failed: {errors[0]}")
            return 1
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        written = Path(out).read_text().split("\n", 2)[:2]
        text_check = check_text(out)
        if args.pure:
            same = Path(out).read_bytes() == Path(pure_out).read_bytes()
            text_check += f"; the pure path's file is {'the same' if same else 'DIFFERENT'}"
        sums = anchor_sums(args.anchor_python, anchors_dir, path) if "numpy" in anchors else []

    stage_names = ("imports", "tables", "read", "parse", "evaluate", "evaluate_cpu", "write")
    seconds = {name: statistics.median(run["seconds"][name] for run in stages) for name in stage_names}
    whole = median(wholes, "wall")
    print()
    print("cgraph --points, in-process stages (seconds, medians)")
    print("  " + "  ".join(f"{name} {seconds[name]:.3f}" for name in stage_names))
    print(f"  whole process (python -m cgraph_cli eval ... --points ... --out FILE): {whole:.3f}")
    if args.pure:
        pure = {name: statistics.median(run["seconds"][name] for run in pure_stages) for name in stage_names}
        print("  pure:  " + "  ".join(f"{name} {pure[name]:.3f}" for name in stage_names))
        print(f"  pure whole process: {median(pure_wholes, 'wall'):.3f}; polars/pure: write "
              f"{seconds['write'] / pure['write']:.2f}x, whole {whole / median(pure_wholes, 'wall'):.2f}x")
    print(f"  output: {written[0]} / first row {written[1]}")
    print(f"  text: {text_check}")
    ours = stages[0]["sums"]
    if sums:
        worst = max(abs(a - b) / max(abs(b), 1e-300) for a, b in zip(ours, sums))
        print(f"  checksums (fsum of value, d_x, d_y) vs the hand-written NumPy script: max relative "
              f"difference {worst:.1e}")

    print()
    print(f"{'anchor':<11}{'whole s':>9}{'compute s':>11}{'cpu s':>8}{'load s':>8}   cgraph whole / anchor whole, "
          "cgraph evaluate / anchor compute (wall; cpu)")
    for name in anchors:
        runs = [run for run in theirs[name] if "error" not in run]
        if not runs:
            print(f"{name:<11} failed: {theirs[name][0]['error']}")
            continue
        wall, compute, load = median(runs, "wall"), median(runs, "seconds"), median(runs, "load")
        cpu = median(runs, "cpu")
        print(f"{name:<11}{wall:>9.3f}{compute:>11.3f}{cpu:>8.3f}{load:>8.3f}   {whole / wall:>5.2f}x whole, "
              f"{seconds['evaluate'] / compute:>6.2f}x compute; {seconds['evaluate_cpu'] / cpu:.2f}x cpu")
    if "numpy" in anchors and any("error" not in run for run in theirs["numpy"]):
        runs = [run for run in theirs["numpy"] if "error" not in run]
        evaluation_ratio = seconds["evaluate"] / median(runs, "seconds")
        whole_ratio = whole / median(runs, "wall")
        print()
        print(f"targets: evaluation <= 2x hand-written NumPy ({evaluation_ratio:.2f}x) "
              f"{'PASS' if evaluation_ratio <= 2 else 'FAIL'}; whole process <= 1.5x the hand-written script "
              f"writing the CSV ({whole_ratio:.2f}x) {'PASS' if whole_ratio <= 1.5 else 'FAIL'}")
        line = f"issue 17's target: whole process <= 0.5x the hand-written script ({whole_ratio:.2f}x) " \
               f"{'PASS' if whole_ratio <= 0.5 else 'FAIL'}"
        if args.pure:
            pure_ratio = median(pure_wholes, "wall") / median(runs, "wall")
            line += f"; without polars (the pure-Python fallback, not a target) {pure_ratio:.2f}x"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
