"""A fuzz campaign against cgraph's documented promises, with the generators of tests/fuzzing.py.

    python bench/fuzz.py --minutes 10 [--seed S] [--out /tmp/cgraph-fuzz] [--subprocess-every 25]

Runs cgraph in-process (cgraph_cli.cli._run, standard input as bytes, a timeout per run) until time
runs out, and every Nth input also as a real process (`python -m cgraph_cli`). Inputs: generated
programs, scalar programs, byte mutations on standard input and as an argument, --each-line batches,
odd bindings, pathological sizes (long tokens, deep nesting, huge integers), and the
differential property (exact Fractions, dual numbers). Prints the inputs tried per
command and every distinct failure (the promise broken, a reproducer); each failure class's first
reproducer is written to OUT/NNN-<class>.json and .sh. Exits 1 if anything failed.
"""

import argparse
import collections
import json
import os
import random
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, ".."))

import fuzzing as F  # noqa: E402


def scalar_bindings(r, names) -> list:
    words = []
    for name in names:
        v = r.choice(["1", "-1", "2", "0.5", "-0.5", "1/3", "-2/7", "3", "0", "1e-3", "10", "-4", "7/4"])
        words += [f"--{name}", v]
    return words


# ---------------------------------------------------------------------------------------------------
# input kinds: each returns (case, extra_check) where extra_check(result) -> list of broken promises
# ---------------------------------------------------------------------------------------------------

def kind_generated(r):
    text = F.program(r)
    return F.command_case(r, r.choice(F.COMMANDS), text, F.binding_words(r, F.names_in(text))), None


def kind_scalar(r):
    text = F.scalar_program(r)
    return F.command_case(r, r.choice(F.COMMANDS), text, scalar_bindings(r, F.names_in(text))), None


def kind_mutated_stdin(r):
    text = F.program(r) if r.random() < 0.5 else F.scalar_program(r)
    label, words, json_kind = r.choice(F.COMMANDS)
    argv = words + scalar_bindings(r, F.names_in(text)) + (["-"] if r.random() < 0.3 else [])
    return F.Case(label, argv, F.mutate(r, text.encode()), json_kind), None


def kind_mutated_argument(r):
    text = F.program(r) if r.random() < 0.5 else F.scalar_program(r)
    word = F.mutate(r, text.encode()).replace(b"\x00", b"").decode("utf-8", "surrogateescape")
    label, words, json_kind = r.choice(F.COMMANDS)
    bindings = scalar_bindings(r, F.names_in(text))
    argv = words + bindings + ["--", word] if r.random() < 0.6 else words + [word] + bindings
    return F.Case(label, argv, b"", json_kind), None


def kind_each_line(r):
    lines = []
    for _ in range(r.randint(1, 6)):
        line = F.scalar_program(r) if r.random() < 0.6 else F.program(r, 1, 2)
        data = line.replace("\n", "; ").replace("\r", " ").encode()
        lines.append(F.mutate(r, data) if r.random() < 0.4 else data)
    label, words, json_kind = r.choice(F.EACH_LINE)
    bindings = scalar_bindings(r, ["x", "y", "z"]) if r.random() < 0.7 else F.binding_words(r, ["x", "y", "z"])
    return F.Case(label, words + bindings, b"\n".join(lines) + b"\n", json_kind, batch=True), None


ODD_PROGRAMS = ["x*y + z", "x/y", "x^y", "sum(x) * y", "x @ y", "exp(x) + log(y)", "sqrt(x) - z", "max(x, y)",
                "x[0] + y", "relu(x) * abs(y)", "sigmoid(x - y)", "x", "1/x", "softmax(x)", "mean(x, axis=0)",
                "dot(x, y)", "transpose(x) @ y", "x^2 + y^-1", "max(x, 0)*1e308", "min(x, 2)*1e308",
                "cross_entropy(softmax(x), y)", "softmax_cross_entropy(x, y)", "log_softmax(x, axis=-1)"]


def kind_bindings(r):
    text = r.choice(ODD_PROGRAMS)
    bindings = F.binding_words(r, F.names_in(text))
    if r.random() < 0.2:
        bindings += F.binding_words(r, [r.choice(["q", "value", "format", "x"])])
    return F.command_case(r, r.choice(F.COMMANDS), text, bindings), None


def kind_rational(r):
    tree = F.scalar_tree(r, r.randint(1, 4))
    names = F.tree_names(tree)
    point = {n: F.rational_point(r) for n in names}
    text = F.render(r, tree)
    bindings = [w for n, q in point.items() for w in (f"--{n}", F.binding_text(q))]
    exact = r.random() < 0.5
    argv = ["eval"] + (["--exact"] if exact else []) + ["--format", "json", "-f", "-"] + bindings
    case = F.Case("differential exact" if exact else "differential rational", argv, text.encode(), "json")
    try:
        ref = F.evaluate_exact(tree, point)
    except F.Undefined:
        if not exact:
            return case, None
        return case, lambda res: [] if res.code == 3 else [f"exact division by zero: exit {res.code}, not 3"]
    if abs(ref.v) > 1e300 or any(abs(d) > 1e300 for d in ref.d.values()) or len(str(ref.v)) > 2000:
        return case, None
    dual = None
    if not exact:
        try:
            dual = F.evaluate_dual(tree, {n: float(q) for n, q in point.items()})
        except F.Skip:
            return case, None

    def check(res):
        if res.code != 0:
            return [f"differential: exit {res.code}: {F._first_line(res.err)}"]
        doc = F.strict_json(res.out)
        broken = []
        for name, want, got, mag in [("value", ref.v, doc.get("value"), dual.m if dual else 0)] + [
                (f"d/d{n}", ref.d[n], doc.get("gradients", {}).get(n), dual.dm[n] if dual else 0) for n in names]:
            try:
                if exact:
                    if F.parse_exact(got) != want:
                        broken.append(f"differential exact: {name} is {got}, the reference {want}")
                elif not F.close(float(got), float(want), mag):
                    broken.append(f"differential float: {name} is {got!r}, the reference {float(want)!r}")
            except (ValueError, TypeError) as error:
                broken.append(f"differential: {name}: {error}")
        return broken
    return case, check


def kind_dual(r):
    tree = F.scalar_tree(r, r.randint(1, 4), functions=True)
    names = F.tree_names(tree)
    point = {n: r.choice([0.5, -0.75, 1.25, 2.0, -1.5, 0.3, 3.0, -2.5, 0.1, 7.5, -10.0]) for n in names}
    text = F.render(r, tree)
    bindings = [w for n, v in point.items() for w in (f"--{n}", repr(v))]
    case = F.Case("differential dual", ["eval", "--format", "json", "-f", "-"] + bindings, text.encode(), "json")
    try:
        ref = F.evaluate_dual(tree, point)
    except F.Skip:
        return case, None

    def check(res):
        if res.code != 0:
            return [f"differential dual: exit {res.code}: {F._first_line(res.err)}"]
        doc = F.strict_json(res.out)
        broken = []
        if not F.close(doc["value"], ref.v, ref.m):
            broken.append(f"differential dual: value {doc['value']!r}, the reference {ref.v!r}")
        for n in names:
            got = doc["gradients"][n]
            if not isinstance(got, (int, float)) or not F.close(got, ref.d[n], ref.dm[n]):
                broken.append(f"differential dual: d/d{n} {got!r}, the reference {ref.d[n]!r}")
        return broken
    return case, check


def kind_pathological(r):
    text, bindings = F.pathological(r, limit=1500)
    return F.command_case(r, r.choice(F.COMMANDS), text, bindings, via=r.choice(["stdin", "dashdash"])), None


KINDS = [(kind_pathological, 1), (kind_generated, 4), (kind_scalar, 3), (kind_mutated_stdin, 3), (kind_mutated_argument, 2),
         (kind_each_line, 2), (kind_bindings, 2), (kind_rational, 2), (kind_dual, 2)]


# ---------------------------------------------------------------------------------------------------

def signature(case, broken: str) -> str:
    """A failure class: the command, the promise, the error's first words with numbers and quoted
    text blanked."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", broken)
    text = re.sub(r"[-+]?\d[\d.e+-]*", "N", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"(Usage: cgraph) \w+", r"\1 CMD", text)
    text = re.sub(r" (at|in) line N.*| in .* at line N.*", "", text)
    return text[:100]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", default="/tmp/cgraph-fuzz")
    parser.add_argument("--subprocess-every", type=int, default=25,
                        help="run every Nth input also as a real process (0: never)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per run before it is a hang")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2 ** 32)
    r = random.Random(seed)
    os.makedirs(args.out, exist_ok=True)
    os.environ.setdefault("XDG_CACHE_HOME", os.path.join(args.out, "cache"))

    deadline = time.monotonic() + args.minutes * 60
    tried = collections.Counter()
    sub_tried = collections.Counter()
    exits = collections.Counter()
    classes = {}        # signature -> {"count", "case", "broken", "result"}
    kinds, weights = zip(*KINDS)
    n = 0
    print(f"cgraph fuzz campaign: seed {seed}, {args.minutes} min, failures to {args.out}", flush=True)
    while time.monotonic() < deadline:
        n += 1
        kind = r.choices(kinds, weights)[0]
        case, extra = kind(r)
        runs = [("in-process", F.run(case.argv, case.stdin, timeout=args.timeout))]
        tried[case.label] += 1
        if args.subprocess_every and n % args.subprocess_every == 0:
            runs.append(("subprocess", F.run_subprocess(case.argv, case.stdin, timeout=args.timeout + 10)))
            sub_tried[case.label] += 1
        for how, result in runs:
            exits[result.code] += 1
            broken = F.promises(case, result)
            if extra and not broken and result.code != -1:
                try:
                    broken = extra(result)
                except (ValueError, KeyError, TypeError) as error:
                    broken = [f"differential: unreadable output: {error}"]
            for promise in broken:
                key = signature(case, promise)
                entry = classes.get(key)
                if entry is None:
                    entry = classes[key] = {"count": 0, "case": case, "broken": promise, "result": result,
                                            "how": how, "n": len(classes) + 1}
                    _write(args.out, entry)
                    print(f"  NEW failure class {entry['n']}: {key}\n      {case.shell()[:300]}", flush=True)
                elif len(case.shell()) < len(entry["case"].shell()):   # keep the shortest reproducer
                    entry.update(case=case, broken=promise, result=result, how=how)
                    _write(args.out, entry)
                entry["count"] += 1
                entry.setdefault("commands", collections.Counter())[case.label] += 1
        if n % 500 == 0:
            left = max(0.0, deadline - time.monotonic())
            print(f"  {n} inputs, {len(classes)} failure classes, {left / 60:.1f} min left", flush=True)

    print(f"\n== {n} inputs in {args.minutes} min (seed {seed}); "
          f"{sum(sub_tried.values())} also run as subprocesses")
    print(f"{'command':28} {'in-process':>10} {'subprocess':>10}")
    for label in sorted(tried):
        print(f"{label:28} {tried[label]:>10} {sub_tried[label]:>10}")
    print("exit codes: " + ", ".join(f"{code}: {count}" for code, count in sorted(exits.items())))
    print(f"\n== {len(classes)} failure classes ({sum(e['count'] for e in classes.values())} failing runs)")
    for key, entry in sorted(classes.items(), key=lambda kv: kv[1]["n"]):
        result = entry["result"]
        commands = ", ".join(f"{c} {k}" for c, k in entry["commands"].most_common(6))
        print(f"[{entry['n']}] {entry['count']}x  {key}\n    commands: {commands}\n    {entry['case'].shell()[:400]}\n"
              f"    exit {result.code} ({entry['how']}); stderr: {F._first_line(result.err)[:200]}")
    with open(os.path.join(args.out, "summary.json"), "w") as handle:
        json.dump({"seed": seed, "minutes": args.minutes, "inputs": n, "tried": tried, "subprocess": sub_tried,
                   "exits": {str(k): v for k, v in exits.items()},
                   "failures": [{"class": k, "count": e["count"], "n": e["n"], "commands": e["commands"],
                                 "broken": e["broken"], "exit": e["result"].code,
                                 "stderr": F._first_line(e["result"].err), **e["case"].to_json()}
                                for k, e in classes.items()]}, handle, indent=1)
    sys.exit(1 if classes else 0)


def _write(out, entry):
    case, result = entry["case"], entry["result"]
    slug = re.sub(r"[^a-z0-9]+", "-", entry["broken"].lower())[:50].strip("-")
    base = os.path.join(out, f"{entry['n']:03d}-{slug}")
    with open(base + ".json", "w") as handle:
        json.dump({**case.to_json(), "broken": entry["broken"], "how": entry["how"], "exit": result.code,
                   "stdout": result.out[:4000], "stderr": result.err[:4000]}, handle, indent=1)
    with open(base + ".sh", "w") as handle:
        handle.write(f"#!/bin/sh\n# {entry['broken']}\n{case.shell()}\necho \"exit $?\"\n")


if __name__ == "__main__":
    main()
