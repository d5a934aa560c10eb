"""The language's reference, generated from the op rows: `cgraph functions` and the README's table.

One entry per op row: how a formula writes it, its inputs, whether it needs tensors, its derivative
rule (the row's `rule` texts) and its convention at kinks, ties and jumps. Nothing here is written by
hand except the operators' precedence, which is the grammar's (grammar/cgraph.lark).
"""

from cgraph_cli import ops

INPUTS = ("a", "b", "c")
WRITTEN = {"neg": "-a", "index": "a[…]", "stack": "[a, b, …]"}   # rows written without a call
HIDDEN = ("var", "const", "pos")   # leaves, and unary plus (the identity)

# The operators, lowest binding first (grammar/cgraph.lark reads the same way).
PRECEDENCE = (
    ("< <= > >= == !=", "comparisons, 1 where true else 0; not chained (a < b < c is an error)"),
    ("+ -", "left-associative"),
    ("* / @", "left-associative; @ is the matrix product"),
    ("- + (unary)", "-x^2 is -(x^2)"),
    ("^ **", "right-associative, tighter than unary minus: 2^-1 is 0.5"),
    ("f(…) x[…] x.f(…) x.T", "calls, indexing, methods and the transpose"),
)


def spellings(op) -> list:
    """How a formula writes the row: ["a + b"], ["log(a)", "ln(a)"], ["sum(a, axis, keepdims)"]."""
    if op.name in WRITTEN:
        return [WRITTEN[op.name]]
    if op.infix:
        return [f"a {op.symbol} b"] + [f"{name}(a, b)" for name in op.names]
    inputs = list(INPUTS[:op.arity]) if op.arity >= 0 else ["a", "b", "…"]
    arguments = ", ".join(inputs + list(op.params))
    written = [f"{name}({arguments})" for name in op.names]
    if op.name == "matmul":
        written.insert(0, "a @ b")
    return written


def methods(op) -> list:
    return sorted(f"a.{method}(…)" for method, name in getattr(ops, "METHODS", {}).items() if name == op.name)


def rule_parts(op) -> list:
    """[(head, text)] per input: ("∂/∂a = ", "cos(a)") for a local derivative, ("to a: ",
    "g @ transpose(b)") for a gradient sent; [] when there is no rule text."""
    inputs = INPUTS[:len(op.rule)] if op.arity >= 0 else ("each",)
    head = "to {}: " if op.tensor else "∂/∂{} = "
    return [(head.format(name), text) for name, text in zip(inputs, op.rule)]


def rule_text(op, quote: str = "") -> str:
    """`∂/∂a = cos(a)`, `to a: g @ transpose(b)`, or why there is none ("no gradient", "—")."""
    if not op.differentiable:
        return "no gradient"
    return "; ".join(f"{head}{quote}{text}{quote}" for head, text in rule_parts(op)) or "—"


def entries() -> list:
    """Every op a formula can write, as plain data (JSON-able)."""
    return [{"op": op.name, "written": spellings(op), "methods": methods(op),
             "inputs": op.arity if op.arity >= 0 else "any", "tensors_only": op.tensor,
             "rule": list(op.rule), "rule_text": rule_text(op),
             "rule_lines": [head + text for head, text in rule_parts(op)] if op.differentiable else [], "differentiable": op.differentiable,
             "convention": op.convention, "doc": getattr(op, "doc", "")}
            for op in ops.OPS.values() if op.name not in HIDDEN]


def markdown(chosen: list = None) -> str:
    """The README's table: one line per row (of `chosen` entries, default all)."""
    lines = ["| Function | Inputs | On tensors | Derivative (∂: the local derivative; to: the gradient "
             "sent, g the upstream) | At kinks, ties and jumps |", "|---|---|---|---|---|"]
    for entry in entries() if chosen is None else chosen:
        written = ", ".join(f"`{text}`" for text in entry["written"])
        if entry["methods"]:
            written += ", method " + ", ".join(f"`{text}`" for text in entry["methods"])
        rule = rule_text(ops.OPS[entry["op"]], quote="`")
        lines.append(f"| {written} | {entry['inputs']} | {'tensors only' if entry['tensors_only'] else 'elementwise'}"
                     f" | {rule} | {entry['convention'].replace('|', '∣')} |")
    return "\n".join(lines)
