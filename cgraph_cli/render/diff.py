"""`cgraph diff`'s output: each derivative as a cgraph program, or as LaTeX (--latex)."""

from cgraph_cli.formula import LatexPrinter, Printer, latex_name


def render_program(graph, results: list, order: int, bare: bool, inline: bool, exact: bool) -> str:
    """`d/dx = FORMULA` per name (`d2/dx2 = ...` for order 2); with `bare` the formula alone."""
    avoid = frozenset(graph.variables) | frozenset(graph.assigned)   # hashed once: see temp_prefix
    lines = []
    for name, expression in results:
        program = Printer(expression, avoid=avoid, inline=inline, exact=exact).program()
        if bare:
            lines.append(program)
        else:
            lhs = f"d/d{name}" if order == 1 else f"d{order}/d{name}{order}"
            lines.append(f"{lhs} = {program}")
    return "\n".join(lines) + "\n"


def render_latex(graph, results: list, order: int, bare: bool, inline: bool, exact: bool) -> str:
    """`\\frac{\\partial f}{\\partial x} = ...`, in an aligned block when there are assignments."""
    avoid = frozenset(graph.variables) | frozenset(graph.assigned)   # hashed once: see temp_prefix
    output = graph.names[graph.output]
    top = latex_name(output) if output else "f"
    power = "" if order == 1 else f"^{{{order}}}"
    lines = []
    for name, expression in results:
        printer = LatexPrinter(expression, avoid=avoid, inline=inline, exact=exact)
        lhs = rf"\frac{{\partial{power} {top}}}{{\partial {latex_name(name)}{power}}}"
        assignments = printer.assignments()
        formula = printer.text(expression)
        if assignments:
            rows = [f"{latex_name(temp)} &= {text}" for temp, text in assignments] + [f"{lhs} &= {formula}"]
            lines.append("\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}")
        else:
            lines.append(f"{lhs} = {formula}")
    return "\n".join(lines) + "\n"


RENDERERS = {"program": render_program, "latex": render_latex}
