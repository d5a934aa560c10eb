"""--format plain: `value V`, then `NAME GRADIENT` per variable, for awk and cut."""

from cgraph_cli.render.numbers import machine


def render(evaluation, options) -> str:
    lines = [f"value {machine(evaluation.value, options.precision)}"]
    lines += [f"{name} {machine(g, options.precision)}" for name, g in evaluation.gradients().items()]
    return "\n".join(lines) + "\n"
