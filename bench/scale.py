#!/usr/bin/env python3
"""Large formulas: cgraph's parse, graph build, forward and backward, beside the anchors, in one run.

For each workload (data/chain_N.txt, data/deep_N.txt; x=0.7, y=-1.3, z=2.1, w=0.4):

* cgraph runs in a fresh subprocess (this script with --child), in-process as the CLI does it,
  with gc disabled: graph.from_text (`read`: the formula parsed and built at once, as the CLI's
  load_graph does), engine.forward, engine.backward each timed with time.perf_counter. With --split
  (and for a baseline without from_text) read is grammar.parse then graph.build, shown apart (build
  includes letting the syntax tree go, as load_graph did);
  peak memory is that subprocess's ru_maxrss. `tables` is loading the parser
  tables (get_parser(), from ~/.cache/cgraph) and `kinks` is find_kinks + gradient_warnings,
  which the CLI's evaluate() also runs: both are shown but left out of `total`, which is what
  the anchors time (read + forward + backward, imports and grammar build excluded).
* the anchors run the same file, with the commands of the anchors' README, each printing a
  `RESULT tool=... seconds=...` line:
      micrograd  anchor_micrograd.py FILE --mode single --parser rpn --recursion-limit 10000000 --no-gc
      torch      anchor_torch.py FILE --mode single --parser rpn
      lark       anchor_lark_parse.py FILE --mode single --how tree   (Lark's default contextual lexer)
  micrograd and torch also print value and gradients, which are checked against cgraph's.

    python bench/scale.py                                   # chain 1000, 100000; deep 100000
    python bench/scale.py --sizes 1000,100000,1000000       # with the 1M chain
    python bench/scale.py --anchors micrograd --timeout 300 # fewer anchors; "none" for cgraph only
    python bench/scale.py --repeat 5 --baseline /path/to/other/venv/bin/python   # before/after, alternating
    python bench/scale.py --split                           # parse and build timed apart

With --repeat N the tools run in turn, in a rotating order (a noisy moment hits every tool alike), and
the medians are shown; the machine's load average is printed before and after. --baseline PYTHON also
runs the child with another interpreter (another checkout's venv: the "before" of a change), shown as
the tool `baseline`, with cgraph/baseline stage by stage.

Targets (1M chain): cgraph <= 2.5x micrograd (no gc), <= 0.5x PyTorch; peak < 1 GB; backward <= 2x forward.
Issue 17's targets: 1M chain <= 0.7x micrograd and peak <= 600 MB; deep_100000 <= 0.7x micrograd.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads import ANCHOR_PYTHON, ANCHORS_DIR, data_dir, source_stamp  # noqa: E402

POINT = {"x": 0.7, "y": -1.3, "z": 2.1, "w": 0.4}
ANCHORS = {
    "micrograd": ["anchor_micrograd.py", "--mode", "single", "--parser", "rpn",
                  "--recursion-limit", "10000000", "--no-gc"],
    "torch": ["anchor_torch.py", "--mode", "single", "--parser", "rpn"],
    "lark": ["anchor_lark_parse.py", "--mode", "single", "--how", "tree"],
}
STAGES = ("read", "forward", "backward")
TARGET_WORKLOAD = "chain_1000000"


# ------------------------------------------------------------------ child: cgraph in-process

def child(path: str, split: bool) -> None:
    import gc
    import resource

    gc.disable()   # as cgraph_cli.cli.main does
    t0 = time.perf_counter()
    from cgraph_cli import engine, grammar, graph as graph_module
    imports = time.perf_counter() - t0
    rss_after_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    text = Path(path).read_bytes().decode("utf-8")
    seconds = {"imports": imports}
    clock = time.perf_counter
    cpu = time.process_time   # the CPU seconds of the four stages too: on a shared machine wall time
    t = clock()               # includes the other processes' turns
    grammar.get_parser()
    seconds["tables"] = clock() - t
    t, c = clock(), cpu()
    if split or not hasattr(graph_module, "from_text"):
        program = grammar.parse(text)
        seconds["parse"] = clock() - t
        t = clock()
        graph = graph_module.build(program, text, frozenset(POINT))
        del program   # the syntax tree let go once the graph is built (timed with build)
        seconds["build"] = clock() - t
        seconds["read"] = seconds["parse"] + seconds["build"]
    else:
        graph = graph_module.from_text(text, frozenset(POINT))
        seconds["read"] = clock() - t
    t = clock()
    values = engine.forward(graph, POINT)
    seconds["forward"] = clock() - t
    t = clock()
    grads = engine.backward(graph, values)
    seconds["backward"] = clock() - t
    seconds["cpu"] = cpu() - c
    t = clock()
    kinks = engine.find_kinks(graph, values)
    warnings = engine.gradient_warnings(graph, values, grads)
    seconds["kinks"] = clock() - t
    result = {
        "seconds": seconds,
        "nodes": len(graph),
        "value": values[graph.output],
        "grads": {name: grads[i] for name, i in graph.variables.items()},
        "kinks": len(kinks), "warnings": len(warnings),
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "base_mb": rss_after_imports / 1024.0,
    }
    sys.stdout.write("CGRAPH " + json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)   # skip tearing the graph down


# ------------------------------------------------------------------ parent

def run_cgraph(path: Path, timeout: float, python: str = sys.executable, split: bool = False) -> dict:
    command = [python, os.path.abspath(__file__), "--child", str(path)] + ["--split"] * split
    try:   # from /, so that the interpreter's own cgraph_cli is imported (not the current directory's)
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd="/")
    except subprocess.TimeoutExpired:
        return {"error": f"timeout {timeout:.0f}s"}
    for line in done.stdout.splitlines():
        if line.startswith("CGRAPH "):
            result = json.loads(line[7:])
            result["seconds"]["total"] = sum(result["seconds"][s] for s in STAGES)
            return result
    return {"error": f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"}


def run_anchor(name: str, path: Path, timeout: float, python: str, anchors_dir: Path) -> dict:
    script, *options = ANCHORS[name]
    command = [python, str(anchors_dir / script), str(path), *options]
    if name == "lark":
        command.append("--quiet")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout {timeout:.0f}s", "command": command}
    lines = done.stdout.splitlines()
    result = {"command": command}
    for i, line in enumerate(lines):
        if line.startswith("value\tdx") and i + 1 < len(lines):
            row = lines[i + 1].split("\t")
            try:
                result["value"] = float(row[0])
                result["grads"] = dict(zip("xyzw", map(float, row[1:5])))
            except ValueError:
                result["row_error"] = lines[i + 1][:80]
        if line.startswith("RESULT "):
            fields = dict(re.findall(r"(\w+)=(\S+)", line))
            result["fields"] = fields
            result["seconds"] = float(fields["seconds"])
            result["maxrss_mb"] = float(fields.get("maxrss_mb", "nan"))
            if fields.get("status", "ok") != "ok":
                result["error"] = fields["status"]
    if "seconds" not in result and "error" not in result:
        result["error"] = f"exit {done.returncode}: {(done.stderr.strip().splitlines() or [''])[-1][:100]}"
    return result


def median_run(runs: list, key) -> dict:
    good = [r for r in runs if "error" not in r]
    if not good:
        return runs[0]
    good.sort(key=key)
    return good[(len(good) - 1) // 2]


def agreement(ours: dict, theirs: dict) -> str:
    """Largest relative difference of value and gradients, cgraph vs the anchor."""
    if "value" not in theirs or "value" not in ours:
        return "-"
    pairs = [(ours["value"], theirs["value"])]
    pairs += [(ours["grads"].get(k, 0.0), g) for k, g in theirs["grads"].items()]
    worst = max(abs(a - b) / max(abs(a), abs(b), 1e-300) for a, b in pairs)
    return f"{worst:.1e}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--split", action="store_true", help="time cgraph's parse and build apart")
    parser.add_argument("--sizes", default="1000,100000", help="chain_N sizes (comma list; '' for none)")
    parser.add_argument("--deep", default="100000", help="deep_N sizes (comma list; '' for none)")
    parser.add_argument("--anchors", default="micrograd,torch,lark", help="comma list, or none")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per anchor (and cgraph) run")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool and workload (median)")
    parser.add_argument("--data", default=None, help="directory of the workload files")
    parser.add_argument("--anchors-dir", default=str(ANCHORS_DIR))
    parser.add_argument("--anchor-python", default=ANCHOR_PYTHON)
    parser.add_argument("--baseline", default=None, help="another interpreter with its own cgraph_cli, run alike")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.split)
        return 0

    anchors = [a for a in args.anchors.split(",") if a and a != "none"]
    unknown = set(anchors) - set(ANCHORS)
    if unknown:
        parser.error(f"unknown anchors: {', '.join(sorted(unknown))} (known: {', '.join(ANCHORS)})")
    data = Path(args.data) if args.data else data_dir()
    workloads = [f"chain_{n}" for n in args.sizes.split(",") if n] + \
                [f"deep_{n}" for n in args.deep.split(",") if n]
    print(f"cgraph python: {sys.executable}; anchors: {args.anchor_python} {args.anchors_dir}; data: {data}")
    print(f"point {POINT}; repeat {args.repeat}; timeout {args.timeout:.0f}s per run; cgraph with gc disabled")
    print(f"cgraph measured: {source_stamp()}")
    if args.baseline:
        print(f"baseline measured: {source_stamp(args.baseline)}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")

    results = {}
    for workload in workloads:
        path = data / f"{workload}.txt"
        if not path.is_file():
            print(f"  {workload}: {path} missing, skipped")
            continue
        started = time.perf_counter()
        runs = {"cgraph": lambda: run_cgraph(path, args.timeout, split=args.split)}
        if args.baseline:
            runs["baseline"] = lambda: run_cgraph(path, args.timeout, args.baseline, args.split)
        for name in anchors:
            runs[name] = lambda name=name: run_anchor(name, path, args.timeout, args.anchor_python,
                                                      Path(args.anchors_dir))
        done = {name: [] for name in runs}
        order = list(runs)
        for repeat in range(args.repeat):   # interleaved, in a rotating order
            for name in order[repeat % len(order):] + order[:repeat % len(order)]:
                done[name].append(runs[name]())
        row = {name: median_run(done[name], key=lambda r: r["seconds"]["total"])
               for name in ("cgraph", "baseline") if name in done}
        for name in anchors:
            row[name] = median_run(done[name], key=lambda r: r["seconds"])
        results[workload] = row
        print(f"  {workload}: done in {time.perf_counter() - started:.1f}s", flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    print()
    print("cgraph, in-process, gc off (seconds; total = read+forward+backward; read = parse and build, "
          "at once unless both are shown)")
    header = (f"{'workload':<15}{'nodes':>9}{'parse':>9}{'build':>9}{'read':>9}{'forward':>9}{'backward':>9}"
              f"{'total':>9}{'bwd/fwd':>8}{'peak MB':>9}{'base MB':>8}{'tables':>8}{'kinks':>8}{'cpu':>8}")
    print(header)
    print("-" * len(header))
    for workload, row in results.items():
        for tool in ("cgraph", "baseline"):
            if tool not in row:
                continue
            ours = row[tool]
            label = workload if tool == "cgraph" else "  (baseline)"
            if "error" in ours:
                print(f"{label:<15} {tool} failed: {ours['error']}")
                continue
            s = ours["seconds"]
            apart = "".join(f"{s[k]:>9.3f}" if k in s else f"{'-':>9}" for k in ("parse", "build"))
            print(f"{label:<15}{ours['nodes']:>9}{apart}" + "".join(f"{s[k]:>9.3f}" for k in (*STAGES, "total"))
                  + f"{s['backward'] / s['forward']:>8.2f}{ours['maxrss_mb']:>9.0f}{ours['base_mb']:>8.0f}"
                  f"{s['tables']:>8.3f}{s['kinks']:>8.3f}{s['cpu']:>8.3f}")
        if "baseline" in row and "error" not in row["baseline"] and "error" not in row["cgraph"]:
            mine, theirs = row["cgraph"]["seconds"], row["baseline"]["seconds"]
            print(f"{'  cgraph/base':<15}{'':>9}"
                  + "".join(f"{mine[k] / theirs[k]:>9.2f}" if k in mine and k in theirs else f"{'-':>9}"
                            for k in ("parse", "build", *STAGES, "total")))

    if anchors:
        print()
        print("side by side (seconds as each tool reports them; ratio = cgraph total / anchor; "
              "agree = max relative difference of value and gradients)")
        header = (f"{'workload':<15}{'anchor':<11}{'cgraph s':>9}{'anchor s':>10}{'ratio':>8}"
                  f"{'cgraph MB':>10}{'anchor MB':>10}{'agree':>9}  anchor detail")
        print(header)
        print("-" * len(header))
        for workload, row in results.items():
            ours = row["cgraph"]
            total = ours["seconds"]["total"] if "error" not in ours else float("nan")
            peak = ours.get("maxrss_mb", float("nan"))
            for name in anchors:
                theirs = row[name]
                if "error" in theirs:
                    print(f"{workload:<15}{name:<11}{total:>9.3f}{'-':>10}{'-':>8}{peak:>10.0f}{'-':>10}"
                          f"{'-':>9}  {theirs['error']}")
                    continue
                fields = theirs["fields"]
                detail = " ".join(f"{k}={fields[k]}" for k in ("build_s", "backward_s", "grammar_build_s",
                                                                "cpu_s", "gc") if k in fields)
                if "cpu_s" in fields:   # CPU seconds, both sides: the ratio the machine's load disturbs least
                    detail += f" cpu_ratio={ours['seconds']['cpu'] / float(fields['cpu_s']):.2f}"
                print(f"{workload:<15}{name:<11}{total:>9.3f}{theirs['seconds']:>10.3f}"
                      f"{total / theirs['seconds']:>8.2f}{peak:>10.0f}{theirs['maxrss_mb']:>10.0f}"
                      f"{agreement(ours, theirs):>9}  {detail}")

    if TARGET_WORKLOAD in results and "error" not in results[TARGET_WORKLOAD]["cgraph"]:
        row = results[TARGET_WORKLOAD]
        ours = row["cgraph"]
        total = ours["seconds"]["total"]
        checks = [(f"peak < 1 GB ({ours['maxrss_mb']:.0f} MB)", ours["maxrss_mb"] < 1024),
                  (f"backward <= 2x forward ({ours['seconds']['backward'] / ours['seconds']['forward']:.2f}x)",
                   ours["seconds"]["backward"] <= 2 * ours["seconds"]["forward"])]
        for name, limit in (("micrograd", 2.5), ("torch", 0.5)):
            if name in row and "error" not in row[name]:
                ratio = total / row[name]["seconds"]
                checks.append((f"cgraph/{name} <= {limit} ({ratio:.2f})", ratio <= limit))
        print()
        print(f"targets on {TARGET_WORKLOAD}: " + "; ".join(f"{text} {'PASS' if ok else 'FAIL'}"
                                                           for text, ok in checks))
    issue = []
    for workload, limit_mb in ((TARGET_WORKLOAD, 600), ("deep_100000", None)):
        row = results.get(workload, {})
        if "error" in row.get("cgraph", {"error": 1}):
            continue
        if limit_mb:
            issue.append((f"{workload} peak <= {limit_mb} MB ({row['cgraph']['maxrss_mb']:.0f})",
                          row["cgraph"]["maxrss_mb"] <= limit_mb))
        if "micrograd" in row and "error" not in row["micrograd"]:
            ratio = row["cgraph"]["seconds"]["total"] / row["micrograd"]["seconds"]
            issue.append((f"{workload} cgraph/micrograd <= 0.7 ({ratio:.2f})", ratio <= 0.7))
    if issue:
        print("issue 17's targets: " + "; ".join(f"{text} {'PASS' if ok else 'FAIL'}" for text, ok in issue))
    return 0


if __name__ == "__main__":
    sys.exit(main())
