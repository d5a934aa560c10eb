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
