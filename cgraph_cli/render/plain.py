"""--format plain: `value V`, then `NAME GRADIENT` per variable, for awk and cut."""

from cgraph_cli.text import elements, machine


def render(evaluation, options) -> str:
    """`value V` (`value[i,j] V` per element of a tensor output), then `NAME GRADIENT` lines."""
    pairs = list(elements("value", evaluation.value))
    for name, gradient in evaluation.gradients().items():
        pairs += elements(name, gradient)
    return "".join(f"{label} {machine(v, options.precision)}\n" for label, v in pairs)
