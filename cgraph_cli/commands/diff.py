"""`cgraph diff`: the derivative as a formula, built by reverse mode over expressions (derivatives.py).

Bindings substitute numbers for variables after differentiating: `diff "x*y" --y 3 --wrt x`
prints 3, and with every variable bound the derivative's value at that point. Numbers are
always kept exact (`x/3` differentiates to 1/3); functions of numbers stay as formulas
(exp(1)), which are exact too. With --exact, bindings are read exactly (`--x 1/3`) and numbers
print as fractions (11/5 rather than 2.2), as eval --exact prints them.
"""

import click

from cgraph_cli.commands.support import (binding_command, const_option, emit, exact_options, input_options,
                                         load_scalar, wrt_option)
from cgraph_cli.derivatives import MAX_ORDER, derivatives, substitute, too_large_is_an_evaluation_error
from cgraph_cli.errors import UsageError
from cgraph_cli.graph import refuse_data
from cgraph_cli.render.diff import RENDERERS
from cgraph_cli.ops.algebra import Algebra


@binding_command("diff")
@input_options
@const_option
@wrt_option("Differentiate with respect to NAME (repeatable; default: every variable). With one "
            "--wrt the bare formula is printed, ready for `cgraph eval \"$(...)\"`.")
@click.option("--order", type=click.IntRange(1, MAX_ORDER), default=1, show_default=True,
              help="Differentiate this many times (2: the second derivative).")
@click.option("--inline", is_flag=True,
              help="Write shared subexpressions out at every use instead of as assignments t1 = ...")
@click.option("--latex", is_flag=True, help="Print LaTeX.")
@exact_options("Read bindings exactly (--x 1/3) and print numbers as fractions (11/5).",
               "The same as --exact here: diff keeps irrational numbers as formulas (exp(1)).")
def command(invocation, wrt, order, inline, latex, exact):
    """Print the derivative of a formula as a formula, in cgraph's own syntax.

    Reverse mode run over expressions instead of numbers: the derivative is simplified
    (constants folded, 0 and 1 identities, like terms and repeated factors collected) and a
    subexpression used more than once is printed once, as an assignment.

    \b
    Examples:
      cgraph diff "(x+y)^2"                      # d/dx = 2*(x + y), d/dy = 2*(x + y)
      cgraph diff "sigmoid(x)" --wrt x           # sigmoid(x)*(1 - sigmoid(x))
      cgraph eval "$(cgraph diff 'x^3' --wrt x)" --x 2
      cgraph diff "x^3*y^2" --wrt x --order 2    # 6*x*y^2
      cgraph diff "x*y" --y 3 --wrt x            # 3 (bindings substitute numbers)
      cgraph diff "(x+y)^2" --latex
    """
    exact = bool(exact)   # --exact-auto is --exact here
    graph, bindings = load_scalar(invocation, exact, "diff")
    refuse_data(graph, wrt)
    names = list(dict.fromkeys(wrt)) or graph.differentiable()
    if not names:
        raise UsageError("the expression has no variables to differentiate with respect to")
    algebra = Algebra()
    with too_large_is_an_evaluation_error():
        results = substitute(derivatives(graph, names, order, algebra), bindings, algebra)
    render = RENDERERS["latex" if latex else "program"]
    emit(render(graph, results, order, bare=len(wrt) == 1, inline=inline, exact=exact))
