#!/usr/bin/env python3
"""eval --each-line on exprs_10k.txt (10,000 expressions of 10-30 operations) beside the anchors, one run.

Every tool computes the value and the 4 gradients (x=0.7, y=-1.3, z=2.1, w=0.4) of each line:

* cgraph, whole process: `python -m cgraph_cli eval -f exprs_10k.txt --each-line --x .. --format jsonl`
  (wall time, start-up included; output to a file), with bytecode cached as an installed wheel has it
  (a temporary PYTHONPYCACHEPREFIX, filled by one untimed run): the figure the target is judged on.
  Also shown: the same run in the inherited environment (here PYTHONDONTWRITEBYTECODE=1, so the editable
  checkout is compiled on every start).
* cgraph, in-process (a child process, gc off as the CLI runs): per line graph.from_text (`read`: parse
  and build at once; grammar.parse then graph.build for a baseline without it),
  engine.evaluate and the JSON line (commands/eval_batch.each_line_run's steps), each stage summed; expressions/s is
  10,000 over their total, after imports, as the anchors measure themselves.
* the anchors (../shared/bench-anchors), in batch mode, each printing expressions/s after imports:
      micrograd  anchor_micrograd.py FILE --mode batch            (Python's own parser, `ast`)
      torch      anchor_torch.py FILE --mode batch
      jax        anchor_jax.py FILE --mode batch --limit 1000      (eager; 92/s here)
      sympy      anchor_sympy.py FILE --mode batch --limit 100     (2-6/s)
      lark       anchor_lark_parse.py FILE --mode batch --how tree (Lark recognising the text only)
  micrograd's results (--out) are compared with cgraph's, line by line.

    python bench/each_line.py                         # micrograd, torch, lark
    python bench/each_line.py --anchors micrograd,torch,jax,sympy,lark --repeat 3
    python bench/each_line.py --anchors micrograd --repeat 5 --baseline /other/venv/bin/python   # before/after

--baseline PYTHON also runs both cgraph measurements with another interpreter (another checkout's venv:
the "before" of a change), interleaved with the rest; the machine's load average is printed.

Targets: ahead of PyTorch eager, JAX and SymPy; at least 0.8x the rate at which Lark alone recognises the
file; the ratio to micrograd is reported.
"""

import argparse
import json
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

POINT = {"x": 0.7, "y": -1.3, "z": 2.1, "w": 0.4}
ANCHORS = {
    "micrograd": ["anchor_micrograd.py", "--mode", "batch", "--quiet"],
    "torch": ["anchor_torch.py", "--mode", "batch", "--quiet"],
    "jax": ["anchor_jax.py", "--mode", "batch", "--limit", "1000", "--quiet"],
    "sympy": ["anchor_sympy.py", "--mode", "batch", "--limit", "100", "--quiet"],
    "lark": ["anchor_lark_parse.py", "--mode", "batch", "--how", "tree", "--quiet"],
}
BINDINGS = [word for name, value in POINT.items() for word in (f"--{name}", str(value))]
STAGES = ("read", "evaluate", "render")   # read: the formula parsed and built


def child(path: str) -> None:
    """cgraph's --each-line loop in-process, with each stage timed (summed over the lines)."""
    import gc

    gc.disable()
    clock = time.perf_counter
    from cgraph_cli import batch, engine, grammar, graph as graph_module
    from cgraph_cli.render.batch import jsonl_line
    grammar.get_parser()
    lines = list(batch.each_expression(Path(path).read_text(encoding="utf-8")))
    bound = frozenset(POINT)
    seconds = dict.fromkeys(STAGES, 0.0)
    values = []
    read = getattr(graph_module, "from_text", None) or \
        (lambda text, bound: graph_module.build(grammar.parse(text), text, bound))
    cpu = time.process_time()
    for number, text in lines:
        t1 = clock()
        graph = read(text, bound)
        t2 = clock()
        evaluation = engine.evaluate(graph, POINT)
        t3 = clock()
        line = jsonl_line(number, evaluation, None)
        t4 = clock()
        seconds["read"] += t2 - t1
        seconds["evaluate"] += t3 - t2
        seconds["render"] += t4 - t3
        values.append(line)
    seconds["cpu"] = time.process_time() - cpu
    seconds["total"] = sum(seconds[stage] for stage in STAGES)
    sys.stdout.write("CGRAPH " + json.dumps({"seconds": seconds, "count": len(lines)}) + "\n")
    sys.stdout.flush()
    os._exit(0)


def run_child(path: Path, python: str = sys.executable) -> dict:
    done = subprocess.run([python, __file__, "--child", str(path)], capture_output=True, text=True,
                          cwd="/")   # from /: the interpreter's own cgraph_cli, not the current directory's
    for line in done.stdout.splitlines():
        if line.startswith("CGRAPH "):
            return json.loads(line[7:])
    return {"error": done.stderr.strip()[-300:]}


def installed_env(prefix: str) -> dict:
    """The environment of an installed wheel: bytecode cached (under a temporary PYTHONPYCACHEPREFIX).
    Inherited as it is here, PYTHONDONTWRITEBYTECODE=1 makes an editable checkout compile every
    module on every start (bench/startup.py measures both)."""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=prefix)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_whole(path: Path, out: str, python: str = sys.executable, env: dict = None) -> dict:
    command = [python, "-m", "cgraph_cli", "eval", "-f", str(path), "--each-line", *BINDINGS]
    started = time.perf_counter()
    with open(out, "w") as handle:
        done = subprocess.run(command, stdout=handle, stderr=subprocess.PIPE, text=True, cwd="/", env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-300:]}"}
    return {"wall": wall}


def run_anchor(name: str, path: Path, python: str, anchors_dir: Path, timeout: float, out: str = None) -> dict:
    script, *options = ANCHORS[name]
    command = [python, str(anchors_dir / script), str(path), *options] + (["--out", out] if out else [])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout {timeout:.0f}s"}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            fields = dict(re.findall(r"(\w+)=(\S+)", line))
            return {"rate": float(fields["exprs_per_s"]), "n": int(fields["n"]), "fields": fields}
    return {"error": f"exit {done.returncode}: {(done.stderr.strip().splitlines() or [''])[-1][:200]}"}


def agreement(ours_jsonl: str, theirs_tsv: str) -> str:
    """Largest relative difference of values and gradients, line by line, cgraph vs micrograd
    (relative to the line's largest number for results that are 0 up to rounding)."""
    ours = [json.loads(line) for line in Path(ours_jsonl).read_text().splitlines()]
    rows = Path(theirs_tsv).read_text().splitlines()[1:]
    worst, compared = 0.0, 0
    for mine, row in zip(ours, rows):
        fields = row.split("\t")
        if "value" not in mine or fields[0].startswith("error"):
            continue
        theirs = [float(v) for v in fields]
        got = [mine["value"]] + [mine["gradients"][name] for name in "xyzw"]
        scale = 1e-9 * max(map(abs, got + theirs))   # an exact 0 computed as +-3e-18 by either tool
        for a, b in zip(got, theirs):
            if a != b:
                worst = max(worst, abs(a - b) / max(abs(a), abs(b), scale))
        compared += 1
    return f"{compared} lines compared, max relative difference {worst:.1e}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--anchors", default="micrograd,torch,lark",
                        help="comma list of micrograd, torch, jax, sympy, lark; or none")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (median)")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--data", default=None, help="directory of the workload files")
    parser.add_argument("--anchors-dir", default=str(ANCHORS_DIR))
    parser.add_argument("--anchor-python", default=ANCHOR_PYTHON)
    parser.add_argument("--baseline", default=None, help="another interpreter with its own cgraph_cli, run alike")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    anchors = [a for a in args.anchors.split(",") if a and a != "none"]
    unknown = set(anchors) - set(ANCHORS)
    if unknown:
        parser.error(f"unknown anchors: {', '.join(sorted(unknown))}")
    data = Path(args.data) if args.data else data_dir("exprs_10k.txt")
    path = data / "exprs_10k.txt"
    anchors_dir = Path(args.anchors_dir)
    print(f"cgraph python: {sys.executable}; anchors: {args.anchor_python}; data: {path}")
    print(f"point {POINT}; repeat {args.repeat} (medians)")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")

    with tempfile.TemporaryDirectory() as scratch:
        ours_out, micrograd_out = os.path.join(scratch, "cgraph.jsonl"), os.path.join(scratch, "micrograd.tsv")
        inside, wholes, theirs = [], [], {name: [] for name in anchors}
        env = installed_env(os.path.join(scratch, "pycache"))
        run_whole(path, ours_out, env=env)   # untimed: the bytecode cache filled
        edits = []                           # whole process as inherited (compiled on each start here)
        runs = [lambda: inside.append(run_child(path)), lambda: wholes.append(run_whole(path, ours_out, env=env)),
                lambda: edits.append(run_whole(path, ours_out))]
        base_inside, base_wholes = [], []
        if args.baseline:
            base_out = os.path.join(scratch, "baseline.jsonl")
            run_whole(path, base_out, args.baseline, env)
            runs += [lambda: base_inside.append(run_child(path, args.baseline)),
                     lambda: base_wholes.append(run_whole(path, base_out, args.baseline, env))]
        runs += [lambda name=name: theirs[name].append(run_anchor(
            name, path, args.anchor_python, anchors_dir, args.timeout, micrograd_out if name == "micrograd" else None))
            for name in anchors]
        for repeat in range(args.repeat):   # interleaved, in a rotating order: a noisy moment hits every tool alike
            for run in runs[repeat % len(runs):] + runs[:repeat % len(runs)]:
                run()
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        errors = [run["error"] for run in inside + wholes + edits + base_inside + base_wholes if "error" in run]
        if errors:
            print(f"cgraph failed: {errors[0]}")
            return 1
        compared = agreement(ours_out, micrograd_out) if "micrograd" in anchors and os.path.exists(micrograd_out) \
            else ""
        if args.baseline:
            compared += "; output " + ("the same as" if Path(ours_out).read_bytes() == Path(base_out).read_bytes()
                                       else "DIFFERENT from") + " the baseline's"

    count = inside[0]["count"]
    seconds = {stage: statistics.median(run["seconds"][stage] for run in inside)
               for stage in (*STAGES, "total", "cpu")}
    rate = count / seconds["total"]
    whole = statistics.median(run["wall"] for run in wholes)
    print()
    print(f"cgraph --each-line on {count} expressions (seconds, medians)")
    print("  in-process: " + "  ".join(f"{stage} {seconds[stage]:.3f}" for stage in
                                       (*STAGES, "total")) +
          f"  ->  {rate:,.0f} expressions/s (cpu {seconds['cpu']:.3f} s)")
    edited = statistics.median(run["wall"] for run in edits)
    print(f"  whole process (start-up, grammar, output written; bytecode cached, as installed): {whole:.3f} s  ->  "
          f"{count / whole:,.0f} expressions/s")
    how = ("PYTHONDONTWRITEBYTECODE=1: every module compiled on each start" if os.environ.get("PYTHONDONTWRITEBYTECODE")
           else "bytecode as the checkout has it")
    print(f"  whole process, environment as inherited ({how}): {edited:.3f} s  ->  {count / edited:,.0f} expressions/s")
    if base_inside:
        base = {stage: statistics.median(run["seconds"][stage] for run in base_inside)
                for stage in (*STAGES, "total", "cpu")}
        base_whole = statistics.median(run["wall"] for run in base_wholes)
        print("  baseline:   " + "  ".join(f"{stage} {base[stage]:.3f}" for stage in
                                           (*STAGES, "total")) +
              f"  ->  {count / base['total']:,.0f} expressions/s; whole process {base_whole:.3f} s")
        print("  cgraph/baseline: " + "  ".join(f"{stage} {seconds[stage] / base[stage]:.2f}" for stage in
                                                (*STAGES, "total", "cpu")) +
              f"  whole {whole / base_whole:.2f}")
    if compared:
        print(f"  values and gradients vs micrograd: {compared}")

    print()
    print(f"{'anchor':<11}{'expr/s':>10}{'lines':>7}   cgraph in-process / anchor (cgraph whole process / anchor)")
    rates = {}
    for name in anchors:
        runs = [run for run in theirs[name] if "error" not in run]
        if not runs:
            print(f"{name:<11} failed: {theirs[name][0]['error']}")
            continue
        rates[name] = statistics.median(run["rate"] for run in runs)
        print(f"{name:<11}{rates[name]:>10,.1f}{runs[0]['n']:>7}   {rate / rates[name]:>7.2f}x "
              f"({count / whole / rates[name]:.2f}x)")
    checks = []
    for name in ("torch", "jax", "sympy"):
        if name in rates:
            checks.append((f"ahead of {name} ({rate / rates[name]:.2f}x)", rate > rates[name]))
    if "lark" in rates:
        checks.append((f">= 0.8x Lark recognising the file ({rate / rates['lark']:.2f}x)", rate >= 0.8 * rates["lark"]))
    if checks:
        print()
        print("targets: " + "; ".join(f"{text} {'PASS' if ok else 'FAIL'}" for text, ok in checks))
    if "micrograd" in rates:
        print(f"ratio to micrograd (Python's own C parser, the anchor to catch next): {rate / rates['micrograd']:.2f}x")
        ok = rate >= rates["micrograd"] and count / whole >= rates["micrograd"]
        print(f"issue 17's target: >= 1.0x micrograd's rate in-process ({rate / rates['micrograd']:.2f}x) and whole "
              f"process ({count / whole / rates['micrograd']:.2f}x) {'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
