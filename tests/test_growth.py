"""Every output format grows linearly with the size of the graph (issue 11: H3, H4, H5 and the
growth exponents): 8x the input must take less than 20x the time (linear is 8x, quadratic 64x;
loose enough for a noisy 2-core machine). bench/growth.py measures the exponents as processes."""

import time

import pytest

from conftest import run_cgraph

SMALL, LARGE = 250, 2000   # groups `0.25*x - y`: 8x
XY = ["--x", "2", "--y", "3"]


def sum_groups(n: int) -> str:
    return " + ".join(["0.25*x - y"] * n) + "\n"


def products(n: int) -> str:
    return " + ".join(f"x{i}*x{i + 1}" for i in range(n)) + "\n"


def wide(n: int) -> str:
    return "sum([" + ", ".join(["x*2"] * n) + "]) + y\n"


CASES = {
    "tree": (sum_groups, ["eval", *XY]),
    "table": (sum_groups, ["eval", "--format", "table", *XY]),
    "json": (sum_groups, ["eval", "--format", "json", *XY]),
    "tree --all": (sum_groups, ["eval", "--all", *XY]),
    "tree --all of a wide tensor": (wide, ["eval", "--all", *XY]),
    "table --all": (sum_groups, ["eval", "--format", "table", "--all", *XY]),
    "steps table": (sum_groups, ["eval", "--steps", *XY]),
    "steps plain": (sum_groups, ["eval", "--steps", "--format", "plain", *XY]),
    "steps json": (sum_groups, ["eval", "--steps", "--format", "json", *XY]),
    "order 2 json": (sum_groups, ["eval", "--order", "2", "--format", "json", *XY]),
    "dot": (sum_groups, ["graph", "--to", "dot", "--max-nodes", "1000000", *XY]),
    "mermaid": (sum_groups, ["graph", "--to", "mermaid", "--max-nodes", "1000000", *XY]),
    "diff of every variable": (products, ["diff"]),
    "hessian": (sum_groups, ["hessian", *XY]),
}


def seconds(tmp_path, build, args, n: int) -> float:
    program = tmp_path / f"p{n}.cg"
    program.write_text(build(n), encoding="utf-8")
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        result = run_cgraph(*args, "-f", program, env={"COLUMNS": "80"})
        best = min(best, time.perf_counter() - start)
        assert result.code == 0, result.err
    return best


@pytest.mark.parametrize("case", list(CASES))
def test_time_grows_linearly(tmp_path, case):
    build, args = CASES[case]
    for attempt in range(2):   # a shared machine's load spike is measured again, once, before it fails
        small = seconds(tmp_path, build, args, SMALL)
        large = seconds(tmp_path, build, args, LARGE)
        if large < 20 * max(small, 0.005):
            return
    raise AssertionError(f"{case}: {small:.3f} s at n={SMALL}, {large:.3f} s at n={LARGE}")


def test_long_node_texts_are_cut_in_every_format(tmp_path):
    """A prefix node of a long sum is shown by the ends of its text, never the whole of it."""
    program = tmp_path / "long.cg"
    program.write_text(sum_groups(LARGE), encoding="utf-8")
    longest = 260   # a backward line: three texts cut at 80, its numbers and rule texts (the sum is 16,000)
    for args in (["eval", "--steps", "--format", "plain", *XY], ["eval", "--format", "table", "--all", *XY]):
        result = run_cgraph(*args, "-f", program, env={"COLUMNS": "80"})
        assert result.code == 0
        assert max(map(len, result.out.splitlines())) < longest, args
    document = run_cgraph("eval", "--format", "json", *XY, "-f", program).json()
    assert max(len(node["text"]) for node in document["nodes"]) <= 80
