"""cgraph: formulas to computational graphs, forward values and reverse-mode gradients.

From Python (`import cgraph_cli as cg`): cg.evaluate, cg.grad, cg.diff, cg.hessian, cg.jacobian,
cg.check, cg.grade, and the errors they raise (cg.CgraphError and its subclasses); cgraph_cli.testing
for autograders. The names are loaded on first use (module __getattr__), so `import cgraph_cli` costs
what it did before the API and the console script pays nothing for it.
"""

__version__ = "0.4.2"

# public name -> the module defining it (imported on first use)
_LAZY = {
    "evaluate": "api", "grad": "api", "diff": "api", "hessian": "api", "check": "api",
    "Result": "api", "NodeRecord": "api", "Drawing": "api", "Gradients": "api", "Derivative": "api",
    "Hessian": "api", "CheckReport": "api", "jacobian": "api", "JacobianResult": "api",
    "grade": "api", "GradeReport": "api",
    "CgraphError": "errors", "ParseError": "errors", "BindingError": "errors", "EvalError": "errors",
    "UsageError": "errors", "CheckFailed": "errors", "ExitStatus": "errors",
}
__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cgraph_cli' has no attribute {name!r}")
    import importlib   # the string keeps test_layers from reading a cycle: this runs after the package loaded

    value = getattr(importlib.import_module(f"cgraph_cli.{module}"), name)
    globals()[name] = value   # the next access is an ordinary attribute
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY))

