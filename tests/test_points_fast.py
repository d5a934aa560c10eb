"""--points's CSV writer: the polars path (the optional extra cgraph[fast]) and the pure-Python path
give the same text, each float as Python's repr writes it (the shortest round-trip text)."""

import math
import random
import sys
from importlib.util import find_spec

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgraph_cli.batch import PointsData
from cgraph_cli.commands import eval_batch
from cgraph_cli.render.batch import points_csv
from conftest import run_cgraph

needs_polars = pytest.mark.skipif(find_spec("polars") is None, reason="polars (cgraph[fast]) is not installed")

EDGES = [0.0, -0.0, 1e-4, -1e-4, 9.999999999999999e-05, 1e-05, 1e16, 9999999999999998.0, 1e15, 1e22, 5e-324,
         -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 1 / 3, 2.5, 100.0, 1e-07, 123456789.0,
         math.inf, -math.inf, math.nan]
FLOATS = st.one_of(st.floats(), st.sampled_from(EDGES), st.floats(-1e6, 1e6))


def expected(header: str, rows: list, outputs: list, columns: list) -> str:
    """The CSV written here with repr, independently of both writers."""
    lines = [",".join([header] + outputs)]
    for i, row in enumerate(rows):
        lines.append(",".join([row] + [repr(float(column[i])) for column in columns]))
    return "\n".join(lines) + "\n"


def written(chunks) -> str:
    return "".join(chunks)


def data_of(rows: list, header: str = "x,y") -> PointsData:
    return PointsData(header.split(","), header, rows, None, {})


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.tuples(FLOATS, FLOATS), max_size=40), chunk=st.integers(1, 9))
def test_both_writers_give_repr_of_every_float(values, chunk):
    rows = [f"{i},{-i}" for i in range(len(values))]
    columns = [numpy.array([v[0] for v in values], dtype=float), numpy.array([v[1] for v in values], dtype=float)]
    outputs = ["value", "d_x"]
    want = expected("x,y", rows, outputs, columns)
    assert written(points_csv(data_of(rows), outputs, columns, None)) == want
    if find_spec("polars") is not None:
        original = eval_batch.POLARS_CHUNK_ROWS
        eval_batch.POLARS_CHUNK_ROWS = chunk   # several chunks: their joins too
        try:
            assert written(eval_batch.points_csv_polars(data_of(rows), outputs, columns)) == want
        finally:
            eval_batch.POLARS_CHUNK_ROWS = original


@needs_polars
def test_polars_writer_on_values_of_every_magnitude():
    rng = numpy.random.default_rng(17)
    count = 200_000
    column = rng.standard_normal(count) * numpy.exp(rng.uniform(-60, 60, count))
    column[::97] = 0.0
    column[1::89] = -0.0
    bits = numpy.frombuffer(rng.bytes(8 * count), dtype=numpy.float64)
    rows = [str(i) for i in range(count)]
    text = written(eval_batch.points_csv_polars(data_of(rows, "i"), ["value", "d_i"], [column, bits]))
    lines = text.split("\n")
    assert lines[0] == "i,value,d_i" and lines[-1] == "" and len(lines) == count + 2
    values, others = column.tolist(), bits.tolist()
    for i in range(0, count, 7):
        assert lines[i + 1] == f"{i},{values[i]!r},{others[i]!r}"


def test_without_polars_the_pure_path_runs(monkeypatch):
    monkeypatch.setitem(sys.modules, "polars", None)   # import polars raises ImportError
    assert eval_batch.points_csv_polars(data_of(["1,2"]), ["value"], [numpy.array([1.5])]) is None


# ---------------------------------------------------------------------------------- end to end

EXPRESSION = "sigmoid(x*y + sin(x)) * (x^2 + y) + 2*y"


def by_hand(x, y):
    """The expression's value and gradient, derived by hand."""
    s = 1 / (1 + math.exp(-(x * y + math.sin(x))))
    q = x * x + y
    return s * q + 2 * y, s * (1 - s) * (y + math.cos(x)) * q + 2 * x * s, s * (1 - s) * x * q + s + 2


@pytest.fixture(params=["polars", "pure"])
def writer(request, monkeypatch):
    """Which CSV writer the run takes; each is checked to be the one taken."""
    taken = []
    if request.param == "pure":
        monkeypatch.setitem(sys.modules, "polars", None)
        original = eval_batch.points_csv
        monkeypatch.setattr(eval_batch, "points_csv", lambda *a: taken.append("pure") or original(*a))
    else:
        if find_spec("polars") is None:
            pytest.skip("polars (cgraph[fast]) is not installed")
        original = eval_batch.points_csv_polars
        monkeypatch.setattr(eval_batch, "points_csv_polars",
                            lambda *a: taken.append("polars") or original(*a))
    yield request.param
    assert taken == [request.param]


def test_points_output_is_the_same_through_either_writer(tmp_path, writer):
    rng = random.Random(3)
    rows = [(round(rng.uniform(-3, 3), 4), round(rng.uniform(-3, 3), 4)) for _ in range(300)] + [(0, 0), (1e-3, 2e5)]
    path = tmp_path / "points.csv"
    path.write_text("x,y\n" + "".join(f"{x},{y}\n" for x, y in rows))
    result = run_cgraph("eval", EXPRESSION, "--points", path)
    assert result.code == 0, result.err
    lines = result.out.split("\n")
    assert lines[0] == "x,y,value,d_x,d_y" and lines[-1] == "" and len(lines) == len(rows) + 2
    for (x, y), line in zip(rows, lines[1:]):
        fields = line.split(",")
        assert fields[:2] == [str(x), str(y)]
        assert all(field == repr(float(field)) for field in fields[2:])   # shortest round-trip text
        for got, want in zip(map(float, fields[2:]), by_hand(x, y)):
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_precision_takes_the_pure_path(tmp_path, monkeypatch):
    path = tmp_path / "p.csv"
    path.write_text("x,y\n1,2\n")
    monkeypatch.setattr(eval_batch, "points_csv_polars", lambda *a: pytest.fail("polars path with --precision"))
    result = run_cgraph("eval", "x*y", "--points", path, "--precision", 3)
    assert result.code == 0, result.err
    assert result.out == "x,y,value,d_x,d_y\n1,2,2,2,1\n"


# ---------------------------------------------------------------------------------- reading

FIELDS = st.one_of(FLOATS.filter(math.isfinite).map(repr), st.integers(-10**6, 10**6).map(str),
                   st.sampled_from(["1e5", "+2", "-0", ".5", "5.", " 3", "4 ", '"6.5"', "1E-3", "007"]))


def read_both(tmp_path, text: str, monkeypatch):
    """read_points with polars (when installed) and without: (columns or error message) for each."""
    from cgraph_cli import batch
    from cgraph_cli.errors import UsageError

    path = tmp_path / "p.csv"
    path.write_text(text)
    outcomes = []
    for hide in ([False] if find_spec("polars") is None else [False, True]) + [True]:
        with monkeypatch.context() as patch:
            if hide:
                patch.setitem(sys.modules, "polars", None)
            try:
                data = batch.read_points(str(path))
                outcomes.append({name: data.columns[name].tolist() for name in data.names})
            except UsageError as error:
                outcomes.append(error.message)
    return outcomes


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(st.tuples(FIELDS, FIELDS), min_size=1, max_size=20))
def test_reading_with_and_without_polars_gives_the_same_numbers(tmp_path_factory, rows):
    tmp_path = tmp_path_factory.mktemp("read")
    with pytest.MonkeyPatch.context() as monkeypatch:
        outcomes = read_both(tmp_path, "x,y\n" + "".join(f"{a},{b}\n" for a, b in rows), monkeypatch)
    assert all(outcome == outcomes[-1] for outcome in outcomes)
    if isinstance(outcomes[-1], dict):   # NumPy's reading, against float() of each field here
        assert outcomes[-1]["x"] == [float(a.strip().strip('"')) for a, _ in rows]


@pytest.mark.parametrize("text", ["x,y\n1,2\n3\n", "x,y\n1,2\n3,abc\n", "x,y\n1,2\n3,\n", "x,y\n1,2,3\n",
                                  "x,y\n1,inf\n", "x,y\n1,nan\n", "x,y\n1,2\n\n3,4\n", "x\n1e999\n"])
def test_a_bad_row_gives_the_same_message_either_way(tmp_path, monkeypatch, text):
    outcomes = read_both(tmp_path, text, monkeypatch)
    assert len(set(map(str, outcomes))) == 1, outcomes
