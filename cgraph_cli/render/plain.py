"""--format plain: `value V`, then (with --tangent) `tangent T`, then `NAME GRADIENT` per variable,
for awk and cut."""

from cgraph_cli.text import elements, machine


def render(evaluation, options) -> str:
    """`value V` (`value[i,j] V` per element of a tensor output), with --tangent the output's
    `tangent T` (`tangent[i,j] T`), then `NAME GRADIENT` lines."""
    pairs = list(elements("value", evaluation.value))
    if evaluation.tangents is not None:
        pairs += elements("tangent", evaluation.tangents[evaluation.graph.output])
    for name, gradient in evaluation.gradients().items():
        pairs += elements(name, gradient)
    return "".join(f"{label} {machine(v, options.precision)}\n" for label, v in pairs)
