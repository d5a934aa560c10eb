"""`cgraph hessian` and `eval --order 2`: against hand-derived second derivatives and against
central finite differences of the engine's own gradient."""

import json
import math

import pytest
from hypothesis import given, settings

from cgraph_cli.engine import evaluate
from cgraph_cli.errors import CgraphError
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build
from cgraph_cli.derivatives import hessian_rows
from cgraph_cli.ops import OPS
from cli_run import cgraph
from expressions import VARIABLES, points, programs


def graph_of(source, bound):
    return build(parse(source), source, frozenset(bound))


def gradient(source, point):
    return evaluate(graph_of(source, point), point, ops=OPS).gradients()


def finite_difference_hessian(source, point, names, h=1e-5):
    """Row i: central differences, in each variable j, of the numeric gradient's component i."""
    rows = [[0.0] * len(names) for _ in names]
    for j, b in enumerate(names):
        ahead = gradient(source, {**point, b: point[b] + h})
        behind = gradient(source, {**point, b: point[b] - h})
        for i, a in enumerate(names):
            rows[i][j] = (ahead[a] - behind[a]) / (2 * h)
    return rows


@pytest.mark.parametrize("x, y", [(1.0, 2.0), (-1.5, 0.5), (0.0, 3.0), (2.0, 0.0)])
def test_hand_derived_hessian_of_x3_y2(x, y):
    rows, warnings = hessian_rows(graph_of("x^3*y^2", ["x", "y"]), {"x": x, "y": y}, ["x", "y"])
    assert rows == [[6 * x * y ** 2, 6 * x ** 2 * y], [6 * x ** 2 * y, 2 * x ** 3]] and warnings == []
    result = cgraph("hessian", "x^3*y^2", "--x", x, "--y", y, "--format", "json")
    assert json.loads(result.out)["hessian"] == {"x": {"x": 6 * x * y ** 2, "y": 6 * x ** 2 * y},
                                                 "y": {"x": 6 * x ** 2 * y, "y": 2 * x ** 3}}


def test_hessian_formats():
    table = cgraph("hessian", "x^3*y^2", "--x", "1", "--y", "2")
    assert table.code == 0 and "Hessian of x^3*y^2 at x = 1, y = 2" in table.out
    assert "24" in table.out and "12" in table.out
    plain = cgraph("hessian", "x^3*y^2", "--x", "1", "--y", "2", "--format", "plain").out
    assert plain == "x x 24\nx y 12\ny x 12\ny y 2\n"
    only = cgraph("hessian", "x^3*y^2*z", "--x", "1", "--y", "2", "--z", "1", "--wrt", "z", "--wrt", "x",
                  "--format", "plain").out
    assert only == "z z 0\nz x 12\nx z 12\nx x 24\n"


def test_eval_order_2():
    document = json.loads(cgraph("eval", "x^3*y^2", "--x", "1", "--y", "2", "--order", "2",
                                 "--format", "json").out)
    assert document["value"] == 4 and document["gradients"] == {"x": 12, "y": 4}
    assert document["hessian"] == {"x": {"x": 24, "y": 12}, "y": {"x": 12, "y": 2}}
    plain = cgraph("eval", "x*y", "--x", "3", "--y", "4", "--order", "2", "--format", "plain").out
    assert plain == "value 12\nx 4\ny 3\nhessian x x 0\nhessian x y 1\nhessian y x 1\nhessian y y 0\n"
    tree = cgraph("eval", "x*y", "--x", "3", "--y", "4", "--order", "2").out
    assert "Hessian" in tree
    assert "hessian" not in json.loads(cgraph("eval", "x*y", "--x", "3", "--y", "4", "--format", "json").out)
    assert cgraph("eval", "x*y", "--x", "3", "--y", "4", "--order", "2", "--steps").code == 2
    assert cgraph("eval", "x*y", "--x", "3", "--y", "4", "--order", "3").code == 2


def test_kinks_and_errors():
    # relu' = sign(relu(x)) is flat on both sides: relu'' = 0, also at the kink
    assert cgraph("hessian", "relu(x)*y", "--x", "0", "--y", "2", "--format", "plain").out == \
        "x x 0\nx y 0\ny x 0\ny y 0\n"
    # d/dx sqrt(x) = 1/(2*sqrt(x)) cannot be evaluated at 0: exit 3, naming the derivative
    result = cgraph("hessian", "sqrt(x)", "--x", "0")
    assert result.code == 3 and "d/dx = 1/(2*sqrt(x))" in result.err
    assert cgraph("hessian", "x*y", "--x", "1").code == 2            # y unbound
    assert cgraph("hessian", "a = x*y; a", "--x", "1", "--y", "1", "--wrt", "a").code == 2
    assert cgraph("hessian", "x*y", "--x", "1", "--y", "1", "--wrt", "q").code == 2


@settings(max_examples=60, deadline=None)
@given(programs(kinks=False), points)
def test_hessian_matches_finite_differences_of_the_gradient(source, point):
    try:
        gradient(source, point)
        reference = finite_difference_hessian(source, point, list(VARIABLES))
        coarser = finite_difference_hessian(source, point, list(VARIABLES), h=2e-5)
    except CgraphError:
        return     # the reference refuses (overflow or a domain error near this point): nothing to compare
    rows, _ = hessian_rows(graph_of(source, point), point, list(VARIABLES))
    for i in range(3):
        for j in range(3):
            got, expected = rows[i][j], reference[i][j]
            if not (math.isfinite(got) and math.isfinite(expected)):
                continue
            # the difference quotient's own error, estimated from two step sizes (Richardson),
            # plus rounding: a rapidly oscillating formula gets the wider margin it needs
            truncation = abs(expected - coarser[i][j])
            assert abs(got - expected) <= 1e-6 * max(1.0, abs(got)) + 2 * truncation, \
                (source, i, j, got, expected, truncation)
            # a Hessian of smooth functions is symmetric (up to rounding)
            assert abs(rows[i][j] - rows[j][i]) <= 1e-9 * max(1.0, abs(rows[i][j]))
