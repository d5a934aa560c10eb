#!/usr/bin/env python3
"""`cgraph grade` on a class: 300 students x 20 questions (2 of them formula questions), the whole
process timed (start-up, reading the key and the sheet, evaluating every question's program once,
grading 6,000 cells, the table). The issue's target: under 2 s on this machine.

The key and the sheet are generated into bench/data/grade/ (a fixed seed): the questions ask values
and gradients of the course's staged example, the neuron and the apple example at several points,
and two formula questions; each student's cells are right (rounded), slipped (sign, factor of 2,
a power of ten), blank or junk, formula answers right in several spellings or wrong.

    python bench/grade.py [--runs 5] [--students 300] [--format table|json|csv|junit]
"""

import argparse
import csv
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads import DATA_DIR  # noqa: E402

TARGET = 2.0
STAGED = ("sigy = 1/(1+exp(-y)); num = x + sigy; sigx = 1/(1+exp(-x)); xpy = x + y; xpysqr = xpy^2; "
          "den = sigx + xpysqr; invden = 1/den; f = num*invden")
NEURON = "1/(1+exp(-(w0*x0 + w1*x1 + w2)))"
APPLE = "subtotal = price*count; subtotal*tax"


def questions() -> list:
    """(id, expr, vars, ask) for 18 number questions and 2 formula questions."""
    found = []
    for k, (x, y) in enumerate([(3, -4), (1, 2), (-2, 0.5)]):
        point = {"x": x, "y": y}
        for ask in ("value", "grad x", "grad y", "grad den"):
            found.append((f"s{k}_{ask.replace(' ', '')}", STAGED, point, ask))
    neuron = {"w0": 2, "w1": -3, "w2": -3, "x0": -1, "x1": -2}
    for ask in ("value", "grad w0", "grad x0"):
        found.append((f"n_{ask.replace(' ', '')}", NEURON, neuron, ask))
    apple = {"price": 100, "count": 2, "tax": 1.1}
    for ask in ("grad price", "grad tax", "grad subtotal"):
        found.append((f"a_{ask.replace(' ', '')}", APPLE, apple, ask))
    found.append(("f_sig", "1/(1+exp(-x))", {"x": 1}, "formula x"))
    found.append(("f_sq", "(x+y)^2", {"x": 1, "y": 3}, "formula x"))
    return found


def toml_value(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value) if not isinstance(value, str) else '"' + value + '"'


def write_workload(folder: Path, students: int) -> tuple:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from cgraph_cli import grading

    folder.mkdir(parents=True, exist_ok=True)
    key, sheet = folder / "key.toml", folder / f"answers_{students}.csv"
    lines = ['digits = "given"', "rtol = 1e-3", ""]
    for qid, expr, point, ask in questions():
        lines += ["[[question]]", f'id = "{qid}"', f"expr = {toml_value(expr)}", f"vars = {toml_value(point)}",
                  f'ask = "{ask}"', ""]
    key.write_text("\n".join(lines))
    loaded = grading.load_key(str(key))
    parsed, truths = loaded.questions, grading.truths(loaded)
    rng = random.Random(15)
    formulas = {"f_sig": ["sigmoid(x)*(1-sigmoid(x))", "exp(-x)/(1+exp(-x))^2", "sigmoid(x)", "s(1-s)", ""],
                "f_sq": ["2*(x+y)", "2*x + 2*y", "(x+y)*2", "2*x", "x+y", "n/a"]}
    with open(sheet, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student"] + [q.id for q in parsed])
        for s in range(students):
            row = [f"student{s:03d}"]
            for question, truth in zip(parsed, truths):
                if question.kind == "formula":
                    row.append(rng.choice(formulas[question.id]))
                    continue
                value = float(truth.correct)
                slip = rng.random()
                if slip < 0.08:
                    value = -value
                elif slip < 0.12:
                    value *= 2
                elif slip < 0.14:
                    value *= 10
                elif slip < 0.17:
                    row.append(rng.choice(["", "n/a", "abc"]))
                    continue
                row.append(f"{value:.{rng.choice([2, 3, 4, 6])}g}")
            writer.writerow(row)
    return key, sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--format", default="table")
    args = parser.parse_args()
    key, sheet = write_workload(DATA_DIR / "grade", args.students)
    script = Path(sys.executable).parent / "cgraph"
    command = ([str(script)] if script.is_file() else [sys.executable, "-m", "cgraph_cli"]) + \
        ["grade", str(key), str(sheet), "--format", args.format]
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)   # warm the caches
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"COLUMNS": "100",
                                                                                         **_environ()})
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"cgraph grade failed ({done.returncode}): {done.stderr.decode()}")
    median = statistics.median(times)
    print(f"cgraph grade, {args.students} students x {len(questions())} questions (2 formula questions), "
          f"--format {args.format}: median {median:.3f} s of {args.runs} whole-process runs "
          f"(min {min(times):.3f} s); target < {TARGET:.1f} s: {'ok' if median < TARGET else 'SLOW'}")
    sys.exit(0 if median < TARGET else 1)


def _environ() -> dict:
    import os

    return dict(os.environ)


if __name__ == "__main__":
    main()
