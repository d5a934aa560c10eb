"""`cgraph functions`: the language's reference, generated from the op rows."""

import json

from conftest import run_cgraph

from cgraph_cli import ops, reference


def test_json_lists_every_op_a_formula_can_write_with_its_rule():
    result = run_cgraph("functions", "--format", "json")
    assert result.code == 0, result.err
    body = json.loads(result.out)
    listed = {entry["op"] for entry in body["functions"]}
    assert listed == set(ops.OPS) - set(reference.HIDDEN)
    relu = next(entry for entry in body["functions"] if entry["op"] == "relu")
    assert relu["written"][0] == "relu(a)" and relu["inputs"] == 1 and relu["tensors_only"] is False
    assert relu["rule"] == list(ops.OPS["relu"].rule)
    assert [row["operators"] for row in body["operators"]][:2] == ["< <= > >= == !=", "+ -"]


def test_names_choose_rows_and_an_unknown_name_is_a_usage_error():
    result = run_cgraph("functions", "ln", "sum", "--format", "plain")
    assert result.code == 0, result.err
    assert [line.split("\t")[0] for line in result.out.splitlines()] == ["log", "sum"]
    wrong = run_cgraph("functions", "rleu")
    assert wrong.code == 2 and wrong.out == ""
    assert wrong.err.strip() == "cgraph: usage error: no function or operator named rleu; did you mean relu?"


def test_markdown_is_the_readmes_table_and_the_table_fits_80_columns():
    result = run_cgraph("functions", "--format", "markdown")
    assert result.code == 0 and result.out == reference.markdown() + "\n"
    table = run_cgraph("functions", env={"COLUMNS": "80"})
    assert table.code == 0, table.err
    assert max(len(line) for line in table.out.splitlines()) <= 80
    assert "softmax_cross_entropy" in table.out.replace("\n", "")
