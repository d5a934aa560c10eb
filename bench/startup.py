#!/usr/bin/env python3
"""Cold start of `cgraph eval "(x+y)^2" --x 1 --y 3 --format json`, against `import click`.

Every run is a fresh process. One warm-up run first (so the parser-table cache in
~/.cache/cgraph exists), then the commands are timed round-robin, --runs times each, and
the medians are compared in the same run. The floor is `python -c "import click"` (cgraph is a
click program: what it costs above that is cgraph's own start-up):

    median(cgraph) - median(`python -c "import click"`)   target <= 20 ms
    `python -c "import click, lark"`, `python -c pass`     reference rows
    micrograd anchor on the same formula                   (optional: --anchors micrograd)

in two environments (--env both), each with its verdict printed:

- pyc: bytecode cached in a temporary PYTHONPYCACHEPREFIX, for every command alike. This is what
  an installed wheel sees (pip compiles its modules at install time), and the target is judged on
  this environment: the exit status is its verdict.
- as-is: the inherited environment. Under PYTHONDONTWRITEBYTECODE=1 an editable checkout has no
  .pyc files, so our editable source is compiled on every start (click's installed .pyc are used):
  slower than any user's start, reported for information.

Beside the wall times, the median CPU time (user + system) of each command: a loaded machine
disturbs it less, so it says whether a change of the wall-time difference is ours or the machine's.

It also reports which heavy modules the cgraph path imports (numpy, rich, lark), from
`python -X importtime -m cgraph_cli eval ...`, and the slowest imports on that path.

    python bench/startup.py [--runs 15] [--anchors micrograd|none] [--env as-is|pyc|both]

Run it with the Python that has cgraph installed (the `cgraph` script next to it is timed).
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads import ANCHOR_PYTHON, ANCHORS_DIR, data_dir, source_stamp  # noqa: E402

EXPR_ARGS = ["eval", "(x+y)^2", "--x", "1", "--y", "3", "--format", "json"]
EXPECTED = '"value": 16.0'
TARGET_MS = 20.0   # median(cgraph) - median(import click), judged in the pyc environment
HEAVY = ("numpy", "rich", "lark", "click")


def cgraph_command() -> list:
    """The console script next to this interpreter (what a user runs), else `python -m cgraph_cli`."""
    script = Path(sys.executable).parent / "cgraph"
    if script.is_file():
        return [str(script)]
    found = shutil.which("cgraph")
    return [found] if found else [sys.executable, "-m", "cgraph_cli"]


def run_once(command: list, env: dict) -> tuple:
    """(wall seconds, CPU seconds: user + system) of one run; the CPU time a loaded machine disturbs less."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr.decode()}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def imports_on_path() -> tuple:
    """(top-level package -> imported?, [(cumulative us, module)] slowest) from -X importtime."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "cgraph_cli", *EXPR_ARGS],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/")
    if EXPECTED not in done.stdout:
        raise SystemExit(f"unexpected output from python -m cgraph_cli: {done.stdout!r} {done.stderr!r}")
    modules = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, name = line.split(":", 1)[1].split("|", 2)
        modules.append((int(cumulative_us), int(self_us), name.rstrip()))
    roots = {name.strip().split(".")[0] for _, _, name in modules}
    imported = {package: package in roots for package in HEAVY}
    depth = lambda name: (len(name) - len(name.lstrip()) - 1) // 2
    shallow = sorted((m for m in modules if depth(m[2]) <= 1), reverse=True)[:10]
    return imported, shallow, len(modules)


def environments(choice: str, prefix: str) -> dict:
    """as-is: the inherited environment (here PYTHONDONTWRITEBYTECODE may be set, so an editable
    checkout without __pycache__ is compiled on every start); pyc: bytecode cached under a
    temporary PYTHONPYCACHEPREFIX (what an installed wheel gets), for every command alike."""
    inherited = dict(os.environ)
    cached = dict(os.environ, PYTHONPYCACHEPREFIX=prefix)
    cached.pop("PYTHONDONTWRITEBYTECODE", None)
    both = {"as-is": inherited, "pyc": cached}
    return both if choice == "both" else {choice: both[choice]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (median)")
    parser.add_argument("--anchors", default="micrograd", help="micrograd or none")
    parser.add_argument("--env", choices=("as-is", "pyc", "both"), default="both",
                        help="inherited environment, bytecode cached in a temporary prefix, or both")
    args = parser.parse_args()

    cgraph = cgraph_command() + EXPR_ARGS
    ours_label = "cgraph eval (x+y)^2 --format json"
    floor_label = 'python -c "import click"'
    commands = {
        ours_label: cgraph,
        floor_label: [sys.executable, "-c", "import click"],
        'python -c "import click, lark"': [sys.executable, "-c", "import click, lark"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    if args.anchors == "micrograd":
        script = ANCHORS_DIR / "anchor_micrograd.py"
        if script.is_file() and Path(ANCHOR_PYTHON).is_file():
            commands["anchor micrograd --expr (x+y)^2"] = [
                ANCHOR_PYTHON, str(script), "--expr", "(x+y)^2", "--at", "x=1,y=3", "--quiet"]
        else:
            print(f"(micrograd anchor skipped: {script} or {ANCHOR_PYTHON} missing)")

    prefix = tempfile.mkdtemp(prefix="cgraph-bench-pyc-")
    envs = environments(args.env, prefix)
    warm = subprocess.run(cgraph, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if warm.returncode != 0 or EXPECTED not in warm.stdout:
        raise SystemExit(f"warm-up run failed: {warm.stdout!r} {warm.stderr!r}")
    for env in envs.values():            # one untimed run each: page cache, parser tables, .pyc files
        for command in commands.values():
            run_once(command, env)

    times = {(env, label): [] for env in envs for label in commands}
    cpu = {(env, label): [] for env in envs for label in commands}
    for _ in range(args.runs):           # round-robin, so drift on a noisy machine hits all alike
        for env_name, env in envs.items():
            for label, command in commands.items():
                wall, seconds = run_once(command, env)
                times[env_name, label].append(wall)
                cpu[env_name, label].append(seconds)
    shutil.rmtree(prefix, ignore_errors=True)

    medians = {key: statistics.median(values) for key, values in times.items()}
    print(f"cold start, fresh process, median of {args.runs}, round-robin (python: {sys.executable})")
    print(f"  command: {' '.join(cgraph)}")
    print(f"  cgraph measured: {source_stamp()}")
    verdicts = {}
    for env_name in envs:
        ours = medians[env_name, ours_label]
        print(f"  [{env_name}] {'command':<38} {'median ms':>10} {'min ms':>8} {'max ms':>8} "
              f"{'cgraph - this':>14} {'cgraph / this':>14} {'cpu ms':>7}")
        for label in commands:
            values = times[env_name, label]
            median = medians[env_name, label]
            print(f"  [{env_name}] {label:<38} {median * 1e3:>10.1f} {min(values) * 1e3:>8.1f} "
                  f"{max(values) * 1e3:>8.1f} {(ours - median) * 1e3:>11.1f} ms {ours / median:>14.2f} "
                  f"{statistics.median(cpu[env_name, label]) * 1e3:>7.1f}")
        floor = medians[env_name, floor_label]
        above = (ours - floor) * 1e3
        verdicts[env_name] = "PASS" if above <= TARGET_MS else "FAIL"
        judged = "the target is judged here" if env_name == "pyc" else "for information"
        cpu_above = (statistics.median(cpu[env_name, ours_label]) - statistics.median(cpu[env_name, floor_label])) * 1e3
        print(f"  [{env_name}] target cgraph - import click <= {TARGET_MS:.0f} ms: cgraph {ours * 1e3:.1f} ms, "
              f"import click {floor * 1e3:.1f} ms, difference {above:.1f} ms: {verdicts[env_name]} ({judged}); "
              f"CPU time difference {cpu_above:.1f} ms")

    imported, slowest, count = imports_on_path()
    print(f"imports on the cgraph eval --format json path ({count} modules, python -X importtime -m cgraph_cli):")
    print("  " + ", ".join(f"{name}: {'IMPORTED' if flag else 'no'}" for name, flag in imported.items()))
    print("  slowest imports, depth <= 1 (cumulative ms, self ms; under -X importtime, so inflated):")
    for cumulative, self_us, name in slowest:
        print(f"    {cumulative / 1e3:7.1f} {self_us / 1e3:7.1f}  {name.rstrip()[1:]}")
    verdict = verdicts.get("pyc", verdicts.get("as-is"))   # judged on the pyc environment when measured
    ok = verdict == "PASS" and not imported["numpy"] and not imported["rich"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
