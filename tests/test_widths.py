"""No number is ever cut (issue 13, section 4): at 60, 80 and 120 columns and piped (COLUMNS unset:
80), every value and gradient that --format json reports, written here at the human precision (12
significant digits; 6 in --steps, 10 in gradcheck), appears unbroken in the tree and the table, on
its node's row; every expected and got number in check and gradcheck of the course-check example."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import run_cgraph
from cgraph_cli.render.layout import RULE, Column, Grid, elide, wrap_numbers

COURSE = Path(__file__).resolve().parent.parent / "examples" / "course-check"
WIDTHS = ["60", "80", "120", None]   # None: piped, COLUMNS unset
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]\d+)?")

APPLE = ("apple_price = apple*apple_num; orange_price = orange*orange_num; "
         "all_price = apple_price + orange_price; price = all_price*tax")
X = [[1.5, 2.0, -3.0], [0.25, 5.0, 6.0]]
W = [[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.0, 0.125], [3.0, 3.0, 3.0, 3.0]]
EXAMPLES = {
    "square of a sum": ["(x+y)^2", "--x", "1", "--y", "3"],
    "sum times z": ["(x+y)*z", "--x", "-2", "--y", "5", "--z", "-4"],
    "neuron": ["1/(1+exp(-(w0*x0 + w1*x1 + w2)))", "--w0", "2", "--w1", "-3", "--w2", "-3",
               "--x0", "-1", "--x1", "-2"],
    "staged": ["-f", str(COURSE / "staged.cg"), "--x", "3", "--y", "-4"],
    "apple": [APPLE, "--apple", "100", "--apple_num", "2", "--orange", "150", "--orange_num", "3",
              "--tax", "1.1"],
    "batch affine": ["X @ W + b", "--X", json.dumps(X), "--W", json.dumps(W), "--b", "[0.1, -0.2, 0.3, 0.5]"],
}


def run(*args, columns):
    result = run_cgraph(*args, env={"COLUMNS": columns})
    assert result.code == 0, result.err
    return result.out


def shown(value, digits=12) -> list:
    """The number texts a person is shown, written here: `digits` significant digits, each element."""
    texts = ["%.*g" % (digits, v) for v in np.ravel(np.asarray(value, dtype=float))]
    return ["0" if text == "-0" else text for text in texts]


def tokens(text: str) -> set:
    return set(NUMBER.findall(text))


def width_of(columns) -> int:
    return int(columns or 80)


def records(out: str) -> dict:
    """The text of each node's row in eval's table, by id: boxed rows (the lines from a row's `#id`
    cell to the next one) or records (from `id #k` to the next `id #`)."""
    rows, current = {}, None
    for line in out.splitlines():
        match = re.match(r"^[│|]?\s*#(\d+)\s*[│|]", line) or re.match(r"^id #(\d+) ", line)
        if match:
            current = int(match.group(1))
            rows[current] = ""
        elif line.startswith(("└", "output:")) or not line.strip():
            current = None
        if current is not None:
            rows[current] += line + "\n"
    return rows


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize("example", list(EXAMPLES))
def test_every_number_appears_unbroken_in_the_tree_and_table(example, columns):
    args = EXAMPLES[example]
    document = run_cgraph("eval", *args, "--format", "json").json()
    assert document["nodes"]
    for output_format in ("tree", "table"):
        out = run("eval", *args, "--format", output_format, columns=columns)
        found = tokens(out)
        for node in document["nodes"]:
            for key in ("value", "grad"):
                if node[key] is not None:
                    missing = set(shown(node[key])) - found
                    assert not missing, (output_format, node["id"], key, missing, out)
        for name, gradient in document["gradients"].items():
            assert set(shown(gradient)) <= found, (output_format, name)
        if example != "batch affine":   # (a tensor row may be wider than 60 columns: the terminal's)
            assert max(map(len, out.splitlines())) <= width_of(columns), (output_format, out)
        if output_format == "table":   # a row's cells never drift apart: each node's numbers on its row
            rows = records(out)
            for node in document["nodes"]:
                row = tokens(rows[node["id"]])
                assert set(shown(node["value"])) <= row, (node["id"], rows[node["id"]])
                if node["grad"] is not None:
                    assert set(shown(node["grad"])) <= row, (node["id"], rows[node["id"]])


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize("example", ["staged", "neuron", "apple"])
def test_each_node_input_pair_of_steps_keeps_its_numbers_on_its_row(example, columns):
    args = EXAMPLES[example]
    steps = run_cgraph("eval", *args, "--steps", "--format", "json").json()["steps"]
    lines = run("eval", *args, "--steps", columns=columns).splitlines()
    assert max(map(len, lines)) <= width_of(columns)
    position = 0
    for step in steps:
        for entry in step["inputs"]:
            tag = re.compile(rf"#{entry['id']}(?!\d)")
            while not tag.search(lines[position]):   # this pair's row: the next line naming its input
                position += 1
            row = lines[position]
            more = position + 1   # the record layout may carry the pair's last fields to a line below
            while more < len(lines) and lines[more].startswith("    ") and "#" not in lines[more]:
                row += lines[more]
                more += 1
            for key in ("local", "sent"):
                if entry[key] is not None:
                    assert set(shown(entry[key], 6)) <= tokens(row), (step["step"], key, row)
            position += 1


@pytest.mark.parametrize("columns", WIDTHS)
def test_check_shows_every_expected_and_got_number_unbroken(columns):
    cases = str(COURSE / "cases.toml")
    document = run_cgraph("check", cases, "--format", "json").json()
    out = run("check", cases, columns=columns)
    assert max(map(len, out.splitlines())) <= width_of(columns)
    found = tokens(out)
    for case in document["cases"]:
        for check in case["checks"]:
            for key in ("expected", "got"):
                assert set(shown(check[key])) <= found, (case["name"], check["what"], key)


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize("example", ["staged", "neuron"])
def test_gradcheck_shows_every_number_unbroken(example, columns):
    args = EXAMPLES[example]
    document = run_cgraph("gradcheck", *args, "--format", "json").json()
    out = run("gradcheck", *args, columns=columns)
    assert max(map(len, out.splitlines())) <= width_of(columns)
    found = tokens(out)
    for row in document["checks"]:
        assert set(shown(row["analytic"], 10)) | set(shown(row["reference"], 10)) <= found, row


@pytest.mark.parametrize("columns", WIDTHS)
def test_hessian_and_minimize_show_every_number_unbroken(columns):
    args = ["sin(x)*exp(y)*z", "--x", "0.3", "--y", "-1.7", "--z", "2.5"]
    hessian = run_cgraph("hessian", *args, "--format", "json").json()["hessian"]
    out = run("hessian", *args, columns=columns)
    assert max(map(len, out.splitlines())) <= width_of(columns)
    assert {text for row in hessian.values() for text in shown(list(row.values()))} <= tokens(out)
    args = ["(x-3)^2 + (y+1)^2", "--x", "0", "--y", "0", "--wrt", "x", "--wrt", "y", "--no-plot"]
    document = run_cgraph("minimize", *args, "--format", "json").json()
    out = run("minimize", *args, columns=columns)
    numbers = [document["loss"], *document["variables"].values(), *document["gradients"].values()]
    assert set(shown(numbers)) <= tokens(out)


def test_the_tree_elides_a_node_text_only_when_its_line_would_not_fit():
    wide = run("eval", *EXAMPLES["apple"], columns="200")
    assert "all_price = apple_price + orange_price  add" in wide
    assert "…" not in wide
    narrow = run("eval", *EXAMPLES["apple"], columns="60")
    cut = [line for line in narrow.splitlines() if "all_price =" in line][0]
    text = cut.split("#7 ")[1].split("  add")[0]
    assert "…" in text and text.startswith("all_price = apple") and text.endswith("_price")   # the middle


def test_small_matrices_print_one_row_a_line_and_larger_ones_elide_like_numpy():
    six = np.arange(36.0).reshape(6, 6) - 17.5
    out = run("eval", "2*A", "--A", json.dumps(six.tolist()), columns="200")
    for row in 2 * six:   # each row of the value on one line of its own, in order
        assert any(tokens(line) >= set(shown(row)) and len(NUMBER.findall(line)) == 6
                   for line in out.splitlines()), row
    seven = np.arange(49.0).reshape(7, 7)
    out = run("eval", "2*A + 1000", "--A", json.dumps(seven.tolist()), columns="200")
    assert "..." in out and not {"1006", "1042", "1048"} & tokens(out)   # row 3 and column 3 elided
    assert {"1000", "1012", "1084", "1096"} <= tokens(out)              # as NumPy does; corners shown
    full = run("eval", "2*A + 1000", "--A", json.dumps(seven.tolist()), "--full", columns="200")
    assert set(shown(2 * seven + 1000)) <= tokens(full) and "..." not in full


def test_a_big_table_fits_the_width_with_every_number(tmp_path):
    program = tmp_path / "sum.cg"
    program.write_text(" + ".join(["0.25*x - y"] * 1500), encoding="utf-8")
    out = run("eval", "-f", program, "--x", "2.123456789", "--y", "3", "--format", "table", "--all",
              columns="80")
    lines = out.splitlines()
    assert len(lines) > 4500 and max(map(len, lines)) <= 80
    assert "2.123456789" in tokens(out) and "-1500" in tokens(out)


# ----- the drawer itself -----

def test_elide_keeps_both_ends():
    assert elide("all_price = apple_price + orange_price", 20) == "all_price …nge_price"
    assert elide("short", 8) == "short"
    assert len(elide("x" * 100, 9)) == 9


def test_wrap_numbers_breaks_only_after_a_comma():
    line = "[1.25, -3.5, 1e-07, 42]"
    assert wrap_numbers(line, 12) == ["[1.25, -3.5,", " 1e-07, 42]"]
    assert wrap_numbers(line, 80) == [line]


numbers = st.floats(allow_nan=False, allow_infinity=False, width=64).map(lambda v: "%.12g" % v)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.text("abcxyz+*() ", min_size=0, max_size=70), numbers, numbers),
                     min_size=1, max_size=8),
       width=st.integers(min_value=60, max_value=200))
def test_the_grid_never_cuts_a_number_and_fits_the_width(rows, width):
    from rich.console import Console

    grid = Grid([Column("node"), Column("value", justify="right", kind="number"),
                 Column("grad", justify="right", kind="number")],
                [list(row) for row in rows] + [RULE] + [list(rows[0])])
    console = Console(width=width, file=open("/dev/null", "w"), color_system=None)
    with console.capture() as capture:
        console.print(grid)
    out = capture.get()
    assert max(map(len, out.splitlines())) <= width
    found = set(re.findall(r"-?[\d.]+(?:e[+-]\d+)?|inf", out))
    for _, value, grad in rows:
        assert value in found and grad in found


def test_the_tree_on_a_terminal_ends_with_where_to_look_next_and_a_pipe_does_not():
    import re

    from conftest import on_terminal

    from cgraph_cli.render.tree import FOOTER

    args = ["eval", "(x+y)*z", "--x", "1", "--y", "3", "--z", "-3"]
    shown = re.sub(r"\x1b\[[0-9;]*m", "", on_terminal(args, COLUMNS="60", NO_COLOR="1"))
    assert shown.rstrip().splitlines()[-1].strip() == FOOTER and len(FOOTER) <= 60
    piped = run_cgraph(*args)
    assert FOOTER not in piped.out
