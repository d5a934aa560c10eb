"""Where the benchmarks find the anchors and the workload files (shared by the bench scripts).

The anchors live in ../shared/bench-anchors beside the repository; their workloads are
generated (deterministically, fixed seed) into bench/data/ on first use.
"""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ANCHORS_DIR = Path(os.environ.get("CGRAPH_BENCH_ANCHORS", REPO.parent / "shared" / "bench-anchors"))
ANCHOR_PYTHON = os.environ.get("CGRAPH_BENCH_ANCHOR_PYTHON", "/tmp/anchors-venv/bin/python")
DATA_DIR = Path(os.environ.get("CGRAPH_BENCH_DATA", REPO / "bench" / "data"))


def data_dir(needed: str = "chain_1000000.txt") -> Path:
    """The workload directory, generating the files with the anchors' gen_workloads.py if missing."""
    if not (DATA_DIR / needed).exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        print(f"generating workloads into {DATA_DIR} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(ANCHORS_DIR / "gen_workloads.py"), "--out", str(DATA_DIR)],
                       check=True, stdout=subprocess.DEVNULL)
    return DATA_DIR


def source_stamp(python: str = sys.executable) -> str:
    """Which cgraph_cli is measured: its directory, git commit, and whether it has uncommitted edits."""
    done = subprocess.run([python, "-c", "import cgraph_cli, os; print(os.path.dirname(cgraph_cli.__file__))"],
                          capture_output=True, text=True, cwd="/")
    package = done.stdout.strip() or "?"
    root = os.path.dirname(package)
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if commit.returncode != 0:
        return f"{package} (not a git checkout)"
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "cgraph_cli", "grammar"],
                           capture_output=True, text=True).stdout.strip()
    return f"{package} at {commit.stdout.strip()}" + (" + uncommitted edits" if dirty else "")
