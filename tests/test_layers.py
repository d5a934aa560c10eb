"""The package's layers, read from the source with `ast`: every import of a cgraph_cli module
(module top and inside functions alike; a package's __init__ is a module of its own) goes to the
same or a lower layer, and no group of modules imports each other in a circle.

    0  errors, text, rational, interrupt                stdlib only
    1  ast, grammar, fastparse, parse_tables, ops (and ops/*)  text -> AST; everything about an op
    2  graph, calls, engine, bindings, words                  AST -> tape; forward/backward; words -> values
    3  analyses: exact, derivatives, steps, gradcheck, optimize, expect, picture, formula,
       cases, batch, reference
    4  render, render/*                                  pure: result -> str | rich renderable
    5  commands, commands/*                              one module per command, and their support
       api, testing                                      the Python API (cg.evaluate ...), its assertions
    6  cli                                               the group and main
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cgraph_cli"

LAYERS = {
    0: {"errors", "text", "rational", "interrupt"},
    1: {"ast", "grammar", "fastparse", "parse_tables", "ops"},
    2: {"graph", "calls", "engine", "bindings", "words"},
    3: {"exact", "derivatives", "steps", "trace", "gradcheck", "optimize", "expect", "picture", "reference",
        "formula", "cases", "batch", "grading", "jacobians"},
    4: {"render"},
    5: {"commands", "api", "testing"},
    6: {"cli"},
}
UNLAYERED = {"__init__", "__main__"}   # the package itself (__version__) and `python -m cgraph_cli`


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts[-1:] = [] if len(parts) > 2 else ["__init__"]   # cgraph_cli/render/__init__ -> render
    return ".".join(parts)


def modules() -> dict:
    """dotted name (cgraph_cli.render.check) -> parsed source, for every .py file of the package."""
    return {module_name(path): ast.parse(path.read_text(encoding="utf-8"), str(path))
            for path in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str, tree: ast.Module, known: set) -> set:
    """The package modules `name` imports, anywhere in its source."""
    found = set()
    package = name.rsplit(".", 1)[0] if not _is_package(name) else name
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("cgraph_cli")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:   # a relative import
                base = package.split(".")
                base = ".".join(base[:len(base) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if not target.startswith("cgraph_cli"):
                continue
            found.add(target)
            for alias in node.names:   # `from cgraph_cli import engine`, `from cgraph_cli.render import dot`
                if f"{target}.{alias.name}" in known:
                    found.add(f"{target}.{alias.name}")
    found = {_resolve(target, known) for target in found}
    found.discard(name)
    return {target for target in found if target}


def _is_package(name: str) -> bool:
    return (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists()


def _resolve(target: str, known: set) -> str | None:
    """The module an import names: itself, or for `cgraph_cli` the package's __init__."""
    if target == "cgraph_cli":
        return "cgraph_cli.__init__"
    return target if target in known else None


def layer(name: str) -> int | None:
    short = name.split(".")[1]
    if short in UNLAYERED:
        return None
    return next((number for number, members in LAYERS.items() if short in members), -1)


GRAPH = None


def import_graph() -> dict:
    global GRAPH
    if GRAPH is None:
        trees = modules()
        GRAPH = {name: imports(name, tree, set(trees)) for name, tree in trees.items()}
    return GRAPH


def cycles(graph: dict) -> list:
    """The strongly connected components of more than one module (Tarjan, written without recursion)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def short(name: str) -> str:
    return name.split(".")[1]


def test_every_module_has_a_layer():
    unplaced = sorted(name for name in import_graph() if layer(name) == -1)
    assert not unplaced, f"give these modules a layer in test_layers.LAYERS: {unplaced}"


def upward_imports() -> list:
    """(module, imported module) where the imported one is in a higher layer."""
    upward = []
    for name, targets in sorted(import_graph().items()):
        own = layer(name)
        for target in sorted(targets):
            if own is not None and layer(target) is not None and layer(target) > own:
                upward.append((name, target))
    return upward


def test_no_module_imports_a_higher_layer():
    upward = [f"{name} (layer {layer(name)}) imports {target} (layer {layer(target)})"
              for name, target in upward_imports()]
    assert not upward, "\n".join(upward)


def test_commands_import_neither_cli_nor_each_other():
    wrong = []
    for name, targets in sorted(import_graph().items()):
        if not name.startswith("cgraph_cli.commands."):
            continue
        for target in sorted(targets):
            helper = target in ("cgraph_cli.commands.support", "cgraph_cli.commands.eval_batch")
            if target == "cgraph_cli.cli" or (target.startswith("cgraph_cli.commands.") and not helper):
                wrong.append(f"{name} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle():
    found = cycles(import_graph())
    assert not found, found


def test_the_checker_sees_imports_inside_functions_and_cycles():
    tree = ast.parse("def f():\n    from cgraph_cli.engine import evaluate\n"
                     "from cgraph_cli import text\n")
    known = {"cgraph_cli.engine", "cgraph_cli.text", "cgraph_cli.__init__"}
    # `from cgraph_cli import text` runs the package's __init__ too
    assert imports("cgraph_cli.expect", tree, known) == {"cgraph_cli.engine", "cgraph_cli.text",
                                                          "cgraph_cli.__init__"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_layer_zero_uses_the_standard_library_only():
    """errors, text and rational import nothing outside the standard library at their top
    (text imports NumPy inside a function, only when given a tensor)."""
    import sys

    outside = []
    for name, tree in sorted(modules().items()):
        if layer(name) != 0:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                roots = [(node.module or "").split(".")[0]]
            else:
                continue
            outside += [f"{name} imports {root}" for root in roots
                        if root not in sys.stdlib_module_names and root != "cgraph_cli"]
    assert not outside, outside
