"""The README's table of functions is generated from the op rows: this test fails when it drifts.

    python tests/test_readme_functions.py --write    # rewrite the table in README.md from the rows
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cgraph_cli import ops, reference  # noqa: E402
from cgraph_cli.reference import INPUTS  # noqa: E402

BEGIN = "<!-- functions: generated from the op rows by tests/test_readme_functions.py --write -->"
END = "<!-- end of the generated functions -->"
def table() -> str:
    return "\n".join([BEGIN, reference.markdown(), END])


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def _replace(text: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    assert pattern.search(text), "README.md has no generated function table (markers missing)"
    return pattern.sub(lambda _: table(), text)


def test_the_readme_function_table_is_generated_from_the_rows():
    text = _readme()
    assert _replace(text) == text, ("README.md's function table differs from the op rows: run "
                                    "python tests/test_readme_functions.py --write")


def test_every_row_with_a_gradient_has_a_rule_text_or_says_why_not():
    for op in ops.OPS.values():
        if op.name in ("var", "const") or not op.differentiable:
            continue
        assert op.rule == () or len(op.rule) == op.arity or op.arity < 0, op.name
        if not op.tensor:   # every scalar row's local derivative is written (and evaluated below)
            assert len(op.rule) == op.arity, f"{op.name}: no rule text"
    written_without = {op.name for op in ops.OPS.values() if op.tensor and op.differentiable and not op.rule}
    assert written_without == {"stack", "index", "concatenate"}, written_without   # slices of g: no syntax


if __name__ == "__main__" and "--write" in sys.argv:
    (ROOT / "README.md").write_text(_replace(_readme()), encoding="utf-8")
    print("README.md: function table rewritten from the op rows")


# Points tried in turn: the first where the row's forward is defined and away from its kinks.
POINTS = ((0.37, 0.61, 0.83), (1.7, 2.3, 0.4), (-0.45, 0.8, 1.9), (3.2, -1.3, 2.0))


def test_the_rule_texts_of_the_scalar_rows_compute_their_vjp():
    """Each scalar row's `rule` is a cgraph formula over a, b, c and out: evaluated by cgraph, it gives
    the local derivatives the row's vjp computes (so the texts the README and --steps show are true)."""
    import math

    from cgraph_cli import engine, graph
    from cgraph_cli.grammar import parse
    from cgraph_cli.ops.backend import PARAMETER_DEFAULTS

    checked = 0
    for op in ops.OPS.values():
        if op.tensor or not op.rule or not op.differentiable or op.arity < 1:
            continue
        # a parameter (leaky_relu's negative_slope) away from its default, named in the rule text
        params = {name: float(value) * 1.5 for name, value in PARAMETER_DEFAULTS.get(op.name, {}).items()}
        for point in POINTS:
            arguments = point[:op.arity]
            try:
                out = op.forward(*arguments, **params)
                local = op.vjp(1.0, out, *arguments, **params)
            except (ArithmeticError, ValueError):
                continue
            if op.kink is None or not op.kink(out, *arguments, **params):
                break
        else:
            raise AssertionError(f"{op.name}: no point of POINTS where it is defined")
        bindings = dict(zip(INPUTS, arguments), out=out, **params)
        for text, expected in zip(op.rule, local):
            built = graph.build(parse(text), text, frozenset(bindings))
            got = engine.evaluate(built, bindings).value
            assert math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-15), (op.name, text, got, expected)
        checked += 1
    assert checked == sum(1 for op in ops.OPS.values() if op.rule and op.differentiable and not op.tensor)
