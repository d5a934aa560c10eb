"""The README's table of functions is generated from the op rows: this test fails when it drifts.

    python tests/test_readme_functions.py --write    # rewrite the table in README.md from the rows
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cgraph_cli import ops  # noqa: E402

BEGIN = "<!-- functions: generated from the op rows by tests/test_readme_functions.py --write -->"
END = "<!-- end of the generated functions -->"
INPUTS = ("a", "b", "c")
OPERATORS = {"neg": "-a", "index": "a[…]", "stack": "[a, b, …]"}   # rows written without a call


def _spelling(op) -> str:
    """How a formula writes the row: `a + b`, `log(a)` / `ln(a)`, `sum(a, axis, keepdims)`."""
    inputs = list(INPUTS[:op.arity]) if op.arity >= 0 else ["a", "b", "…"]
    if op.name in OPERATORS:
        return f"`{OPERATORS[op.name]}`"
    if op.infix:
        written = [f"`a {op.symbol} b`"] + [f"`{name}(a, b)`" for name in op.names]
        return ", ".join(written)
    arguments = ", ".join(inputs + list(op.params))
    written = [f"`{name}({arguments})`" for name in op.names]
    if op.name == "matmul":
        written.insert(0, "`a @ b`")
    methods = sorted(m for m, name in getattr(ops, "METHODS", {}).items() if name == op.name)
    if methods:
        written.append("method " + ", ".join(f"`a.{m}(…)`" for m in methods))
    return ", ".join(written)


def _rule(op) -> str:
    if not op.differentiable:
        return "no gradient"
    if not op.rule:
        return "—"
    inputs = INPUTS[:len(op.rule)]
    if op.tensor:
        return "; ".join(f"to {name}: `{text}`" for name, text in zip(inputs, op.rule))
    return "; ".join(f"∂/∂{name} = `{text}`" for name, text in zip(inputs, op.rule))


def rows() -> list:
    shown = [op for op in ops.OPS.values() if op.name not in ("var", "const", "pos")]
    return [f"| {_spelling(op)} | {op.arity if op.arity >= 0 else 'any'} | "
            f"{'tensors only' if op.tensor else 'elementwise'} | {_rule(op)} | "
            f"{op.convention.replace('|', '∣') or ''} |" for op in shown]


def table() -> str:
    head = ["| Function | Inputs | On tensors | Derivative (∂: the local derivative; to: the gradient sent, "
            "g the upstream) | At kinks, ties and jumps |", "|---|---|---|---|---|"]
    return "\n".join([BEGIN, *head, *rows(), END])


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

    checked = 0
    for op in ops.OPS.values():
        if op.tensor or not op.rule or not op.differentiable or op.arity < 1:
            continue
        for point in POINTS:
            arguments = point[:op.arity]
            try:
                out = op.forward(*arguments)
                local = op.vjp(1.0, out, *arguments)
            except (ArithmeticError, ValueError):
                continue
            if op.kink is None or not op.kink(out, *arguments):
                break
        else:
            raise AssertionError(f"{op.name}: no point of POINTS where it is defined")
        bindings = dict(zip(INPUTS, arguments), out=out)
        for text, expected in zip(op.rule, local):
            built = graph.build(parse(text), text, frozenset(bindings))
            got = engine.evaluate(built, bindings).value
            assert math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-15), (op.name, text, got, expected)
        checked += 1
    assert checked == sum(1 for op in ops.OPS.values() if op.rule and op.differentiable and not op.tensor)
