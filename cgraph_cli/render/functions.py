"""`cgraph functions`: the language's reference (reference.entries) as a table, Markdown, JSON or lines."""

import json

from cgraph_cli.reference import PRECEDENCE, markdown


def render_table(entries: list) -> str:
    """A definition list, wrapped at spaces to the terminal's width (never a cut word or number):

        relu(a), a.relu(…)   1 input, elementwise
            ∂/∂a = where(a > 0, 1, 0)
            at kinks: relu'(0) = 0
    """
    import shutil
    import textwrap

    width = max(40, shutil.get_terminal_size((80, 24)).columns)

    def wrapped(text: str, indent: str) -> list:
        return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + "  ",
                             break_long_words=False, break_on_hyphens=False) or [indent]

    lines = ["Operators, lowest binding first:"]
    for operators, how in PRECEDENCE:
        lines += wrapped(f"{operators:<22} {how}", "    ")
    lines += [""] + wrapped("Functions (∂/∂a: the local derivative, times the upstream gradient; to a: "
                            "the gradient sent, g the upstream):", "")
    for entry in entries:
        inputs = entry["inputs"]
        count = f"{inputs} input{'' if inputs == 1 else 's'}" if inputs != "any" else "any number of inputs"
        kind = "tensors only" if entry["tensors_only"] else "elementwise"
        lines += wrapped(", ".join(entry["written"] + entry["methods"]) + f"   {count}, {kind}", "")
        for line in entry["rule_lines"] or [entry["rule_text"]]:
            lines += wrapped(line, "    ")
        if entry["convention"]:
            lines += wrapped("at kinks, ties and jumps: " + entry["convention"], "    ")
    return "\n".join(lines) + "\n"


def render_json(entries: list) -> str:
    body = {"schema": 1, "operators": [{"operators": ops, "note": note} for ops, note in PRECEDENCE],
            "functions": entries}
    return json.dumps(body, ensure_ascii=False) + "\n"


def render_plain(entries: list) -> str:
    """One tab-separated line per op: op, spellings, inputs, tensors only, rule, convention."""
    return "".join("\t".join([entry["op"], " | ".join(entry["written"] + entry["methods"]), str(entry["inputs"]),
                              "tensor" if entry["tensors_only"] else "elementwise", entry["rule_text"],
                              entry["convention"] or "-"]) + "\n" for entry in entries)


def render_markdown(entries: list) -> str:
    return markdown(entries) + "\n"


RENDERERS = {"table": render_table, "markdown": render_markdown, "json": render_json, "plain": render_plain}
