"""A Picture as a Mermaid flowchart (renders in GitHub and GitLab Markdown): text, no library.

Each edge has one two-row label, the forward value over the gradient, coloured with
HTML spans as Mermaid's HTML labels allow. Text is put in double quotes with
Mermaid's entity codes for the characters that would end or confuse a label.
"""

from cgraph_cli.render.dot import GRADIENT_COLOUR, INPUT_FILL, OP_FILL, RULE_COLOUR, VALUE_COLOUR

ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "|": "#124;", "&": "#amp;"}

SHAPES = {   # kind -> (opening, closing) of the node's shape
    "input": ('(["', '"])'),
    "const": ('["', '"]'),
    "op": ('(("', '"))'),
    "output-marker": ('>"', '"]'),
    "stub": ('["', '"]'),
}


def render(picture) -> str:
    lines = ["flowchart LR"]
    if picture.with_values:
        lines.append(f"  %% edge labels: forward value (green, {VALUE_COLOUR}) over the gradient of the "
                     f"output (red, {GRADIENT_COLOUR})")
    if picture.note:
        lines.append(f"  %% {picture.note}")
    classes = {}
    output = None
    for node in picture.nodes:
        opening, closing = SHAPES[node.kind]
        if node.is_output:
            output = node.key
        text = f"<b>{quote(node.symbol)}</b>"
        if node.name:   # on the same line: Mermaid sizes a circle by its label's width only
            text += f" <i>{quote(node.name)}</i>"
        if node.detail:
            text += f"<br/><small>{quote(node.detail)}</small>"
        lines.append(f"  {node.key}{opening}{text}{closing}")
        classes.setdefault(node.kind, []).append(node.key)
    for edge in picture.edges:
        arrow = "-.->" if edge.source.startswith("cut") else "-->"
        rows = []
        if edge.value is not None:
            rows.append(f"<span style='color:{VALUE_COLOUR}'>{quote(edge.value)}</span>")
        if edge.gradient is not None:
            rows.append(f"<span style='color:{GRADIENT_COLOUR}'>{quote(edge.gradient)}</span>")
        if edge.local is not None:
            rows.append(f"<span style='color:{RULE_COLOUR}'>{quote(edge.local)}</span>")
        label = f'|"{"<br/>".join(rows)}"|' if rows else ""
        lines.append(f"  {edge.source} {arrow}{label} {edge.target}")
    if picture.note:
        lines.append(f'  cg_note["{quote(picture.note)}"]')
        classes.setdefault("note", []).append("cg_note")
    styles = {"input": f"fill:{INPUT_FILL},stroke:#3b82f6", "op": f"fill:{OP_FILL},stroke:#6b7280",
              "const": "fill:none,stroke:none,color:#4b5563",
              "output-marker": "fill:none,stroke:none", "stub": "fill:none,stroke:none,color:#6b7280",
              "note": "fill:none,stroke:none,color:#6b7280"}
    for kind, keys in classes.items():
        lines.append(f"  classDef {_class(kind)} {styles[kind]}")
        lines.append(f"  class {','.join(keys)} {_class(kind)}")
    if output is not None:   # a heavy border marks the output (Mermaid's double circle crowds a label)
        lines.append(f"  style {output} stroke:#111827,stroke-width:3px")
    return "\n".join(lines) + "\n"


def quote(text: str) -> str:
    """Text safe inside a double-quoted Mermaid label."""
    return "".join(ENTITIES.get(ch, ch) for ch in text)


def _class(kind: str) -> str:
    return "cg_" + kind.replace("-", "_")
