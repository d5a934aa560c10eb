"""Growth of cgraph's time with the size of its input, for every output format and error path.

    python bench/growth.py [--sizes 1000,4000,16000] [--big] [--timeout 60] [--only "eval json,diff*"] [--out DIR]

Each case runs `python -m cgraph_cli ...` as a real process at three sizes of input (a sum of n groups
`0.25*x - y`; `--big` adds the issue's 1 MB sum of 77,000 groups) and prints the time per size, the
bytes written, and the growth exponent: the least-squares slope of log(time) against log(n), on the
time above the start-up time of `cgraph eval x --x 1`, over the sizes whose run takes at least 1.5x
that start-up ("start-up" when fewer than two do); the raw slope of the whole process beside it.
A case is flagged when its exponent is above 1.3, when a run exceeds the timeout, or when it exits
with another code than the one expected (0, or 2/3 for the error paths). Exits 1 if anything is flagged.
Inputs are written to OUT (default /tmp/cgraph-growth).
"""

import argparse
import math
import os
import statistics
import subprocess
import sys
import time

LIMIT = 1.3


def sum_groups(n: int) -> str:
    return " + ".join(["0.25*x - y"] * n) + "\n"


def products(n: int) -> str:
    return " + ".join(f"x{i}*x{i + 1}" for i in range(n)) + "\n"


def statements(n: int) -> str:
    return "a = 0.25*x - y\n" + "a = a + 0.25*x - y\n" * (n - 1) + "a\n"


def deep_chain(n: int) -> str:
    return "sin(" * n + "x" + ")" * n + "\n"


def lines(n: int) -> str:
    return "0.25*x - y + x*y\n" * n


def parse_error_at_end(n: int) -> str:
    return sum_groups(n).rstrip("\n") + " + (x *)\n"


def implicit_multiplication_at_end(n: int) -> str:
    return sum_groups(n).rstrip("\n") + " + 2x\n"


def unbound_at_end(n: int) -> str:
    return sum_groups(n).rstrip("\n") + " + q\n"


XY = ["--x", "2", "--y", "3"]
BIG = ["--max-nodes", "1000000000"]
# (name, program builder, argv after `cgraph`, expected exit)
CASES = [
    ("eval tree", sum_groups, ["eval", *XY], 0),
    ("eval table", sum_groups, ["eval", "--format", "table", *XY], 0),
    ("eval json", sum_groups, ["eval", "--format", "json", *XY], 0),
    ("eval plain", sum_groups, ["eval", "--format", "plain", *XY], 0),
    ("eval --all (tree)", sum_groups, ["eval", "--all", *XY], 0),
    ("eval table --all", sum_groups, ["eval", "--format", "table", "--all", *XY], 0),
    ("eval --steps (table)", sum_groups, ["eval", "--steps", *XY], 0),
    ("eval --steps plain", sum_groups, ["eval", "--steps", "--format", "plain", *XY], 0),
    ("eval --steps json", sum_groups, ["eval", "--steps", "--format", "json", *XY], 0),
    ("eval --order 2 json", sum_groups, ["eval", "--order", "2", "--format", "json", *XY], 0),
    ("grad", sum_groups, ["grad", *XY], 0),
    ("graph dot", sum_groups, ["graph", "--to", "dot", *BIG, *XY], 0),
    ("graph mermaid", sum_groups, ["graph", "--to", "mermaid", *BIG, *XY], 0),
    ("diff (every x_i of x0*x1+...)", products, ["diff"], 0),
    ("diff (sum of groups)", sum_groups, ["diff"], 0),
    ("hessian", sum_groups, ["hessian", *XY], 0),
    ("hessian json", sum_groups, ["hessian", "--format", "json", *XY], 0),
    ("each-line jsonl (n lines)", lines, ["eval", "--each-line", *XY], 0),
    ("each-line plain (n lines)", lines, ["eval", "--each-line", "--format", "plain", *XY], 0),
    ("json of n statements", statements, ["eval", "--format", "json", *XY], 0),
    ("table --all of an n-deep chain", deep_chain, ["eval", "--format", "table", "--all", "--x", "1"], 0),
    ("error: parse error at the end", parse_error_at_end, ["eval", *XY], 2),
    ("error: 2x at the end (hint)", implicit_multiplication_at_end, ["eval", *XY], 2),
    ("error: unbound variable", unbound_at_end, ["eval", "--format", "json", *XY], 2),
]


def run(python, argv, program_file, timeout, out_file):
    env = dict(os.environ, NO_COLOR="1", COLUMNS="100")
    start = time.perf_counter()
    with open(out_file, "wb") as stdout:
        try:
            done = subprocess.run([python, "-m", "cgraph_cli", *argv, "-f", program_file], stdout=stdout,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout, env=env)
            code, err = done.returncode, done.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            code, err = None, ""
    return time.perf_counter() - start, code, err, os.path.getsize(out_file)


def slope(points):
    """Least-squares slope of log(t) against log(n)."""
    if len(points) < 2:
        return math.nan
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(max(t, 1e-3)) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else math.nan


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,4000,16000")
    parser.add_argument("--big", action="store_true", help="also the 1 MB sum of 77,000 groups")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--only", default="", help="comma-separated case names (a trailing * matches a prefix)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--out", default="/tmp/cgraph-growth")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] + ([77000] if args.big else [])
    os.makedirs(args.out, exist_ok=True)
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    cases = [c for c in CASES if not wanted or any(c[0] == w or (w.endswith("*") and c[0].startswith(w[:-1]))
                                                  for w in wanted)]

    hello = os.path.join(args.out, "hello.cg")
    with open(hello, "w") as handle:
        handle.write("x\n")
    startup = statistics.median(run(args.python, ["eval", "--x", "1"], hello, args.timeout,
                                    os.path.join(args.out, "hello.out"))[0] for _ in range(5))
    print(f"start-up (cgraph eval x --x 1): {startup:.3f} s; sizes {sizes}; timeout {args.timeout:g} s\n")
    header = f"{'case':34}" + "".join(f"{'n=' + str(n):>16}" for n in sizes) + f"{'exponent':>10}{'raw':>6}  flags"
    print(header)
    flagged = []
    for name, build, argv, expected in cases:
        points, raw, cells, flags = [], [], [], []
        timed_out = False
        for n in sizes:
            if timed_out:
                cells.append(f"{'-':>16}")
                continue
            path = os.path.join(args.out, f"{build.__name__}-{n}.cg")
            if not os.path.exists(path):
                with open(path, "w") as handle:
                    handle.write(build(n))
            seconds, code, err, size = run(args.python, argv, path, args.timeout,
                                           os.path.join(args.out, "last.out"))
            if code is None:
                timed_out = True
                flags.append(f"n={n}: TIMEOUT (> {args.timeout:g} s)")
                cells.append(f"{'>' + format(args.timeout, 'g') + 's':>16}")
                continue
            if code != expected:
                first = next((line for line in err.splitlines() if line.strip()), "")
                flags.append(f"n={n}: exit {code}, expected {expected}: {first[:120]}")
            cells.append(f"{seconds:8.2f}s {_bytes(size):>6}")
            if seconds >= 1.5 * startup:   # below that, start-up noise decides the slope
                points.append((n, seconds - startup))
            raw.append((n, seconds))
        exponent, raw_exponent = slope(points), slope(raw)
        if timed_out and points:
            exponent_text = f">{exponent:.2f}" if not math.isnan(exponent) else "  >?"
        else:
            exponent_text = "start-up" if math.isnan(exponent) else f"{exponent:.2f}"
        if (not math.isnan(exponent) and exponent > LIMIT) or timed_out:
            flags.append(f"exponent {exponent:.2f} > {LIMIT}" if not timed_out else "timed out")
        raw_text = "" if math.isnan(raw_exponent) else f"{raw_exponent:.2f}"
        print(f"{name:34}" + "".join(cells) + f"{exponent_text:>10}{raw_text:>6}  {'; '.join(flags)}", flush=True)
        if flags:
            flagged.append((name, flags))
    print(f"\n{len(flagged)} of {len(cases)} cases flagged (exponent > {LIMIT}, a timeout, or a wrong exit code)")
    for name, flags in flagged:
        print(f"  {name}: {'; '.join(flags)}")
    sys.exit(1 if flagged else 0)


def _bytes(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000:
            return f"{size:.0f}{unit}"
        size /= 1000
    return f"{size:.0f}TB"


if __name__ == "__main__":
    main()
