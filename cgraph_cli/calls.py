"""Calls, methods and attributes to tape nodes (graph.build's part for them): which op a call builds,
its constant parameters checked against their kinds, constructors evaluated into one constant,
`A.T`, and the advice for module prefixes (`np.exp(x)`). Every mistake is a parse error with a caret."""

from cgraph_cli import ast
from cgraph_cli.errors import ParseError, caret_context
from cgraph_cli.grammar import MODULES
from cgraph_cli.ops import (BOOLEANS, CONSTANTS, FUNCTIONS, KEYWORD_ALIASES, KEYWORD_KINDS, KEYWORDS, METHODS,
                            OPS)


def integer(part: ast.Integer, source: str) -> int:
    text = part.text
    if not text.lstrip("-").isdigit():
        raise ParseError(f"an index or axis must be an integer, got {text}, at "
                         + caret_context(source, *part.span))
    # beyond any array's rank or size (NumPy would call it an overflow); the length is checked first,
    # as int() refuses more than 4,300 digits
    if len(text.lstrip("-").lstrip("0")) > 19 or abs(int(text)) >= 2 ** 62:
        shown = text if len(text) <= 30 else text[:12] + "…" + text[-12:]
        raise ParseError(f"an index or axis this large ({shown}) is out of range, at "
                         + caret_context(source, *part.span))
    return int(text)


KIND_WORDS = {"int": "an integer", "axis": "one integer (this function takes a single axis)", "axes": "an integer or a tuple of integers, such as 0 or (0, 1)",
              "shape": "a size or a tuple of sizes, such as 3 or (2, 3)", "bool": "True or False",
              "number": "a number"}


def call(graph, node, results: list, source: str, bound) -> int:
    """The node of a call f(...) or a method a.f(...): its inputs from the results, its constant
    parameters (positional ones after the inputs, and keywords) as attrs; a constructor (zeros)
    becomes one const node. Every mistake is a parse error with a caret."""
    method = type(node) is ast.Method
    if method:
        _refuse_module(graph, node, source, bound)
    op, inputs, params, keywords = ast.split(node)
    shown = f".{node.func}()" if method else f"{node.func}()"
    if op is None:
        _unknown_call(graph, node, len(inputs) + len(params), source, bound)
    row = OPS[op]
    _check_counts(node, row, shown, inputs, params, source)
    keyword_seen = None
    for arg in node.args:
        if type(arg) is ast.Keyword:
            keyword_seen = arg
        elif keyword_seen is not None:
            raise ParseError(f"a positional argument cannot follow the keyword argument {keyword_seen.name}=, at "
                             + caret_context(source, *arg.span))
    attrs, by_keyword = {}, set()
    for name, param in zip(row.params, params):
        attrs[name] = _parameter(graph, param, name, shown, source, bound, row)
    for keyword in keywords:
        name = keyword.name
        if name not in row.params and KEYWORD_ALIASES.get(name) in row.params:
            name = KEYWORD_ALIASES[name]   # PyTorch's dim=, keepdim=
        if name not in row.params:
            allowed = ", ".join(sorted(KEYWORDS.get(op, ()))) or "none"
            choice = FUNCTIONS.get(node.func)
            other = [OPS[o] for o in (choice.values() if isinstance(choice, dict) else ()) if o != op]
            hint = "".join(f"\n{node.func}() with {o.arity} input{'s' * (o.arity > 1)} takes {name}=: "
                           f"{node.func}(x, {name}=...)" for o in other if name in o.params)
            raise ParseError(f"{shown[:-2]}() has no keyword '{keyword.name}' (it takes: {allowed}), at "
                             + caret_context(source, *keyword.span) + hint)
        if name in attrs:
            again = "given twice" if name in by_keyword else "given by position and by keyword"
            raise ParseError(f"{name} {again}, at " + caret_context(source, *keyword.span))
        by_keyword.add(name)
        attrs[name] = _parameter(graph, keyword.value, name, shown, source, bound, row)
    count = 0
    for k, arg in enumerate(inputs):
        if type(arg) is ast.Tuple:
            raise ParseError(f"a tuple such as (2, 3) is a shape or axes, given as a parameter "
                             f"(reshape(x, (2, 3)), sum(X, axis=(0, 1))); argument {k + 1} of {shown} is an "
                             "input: for a tensor write [2, 3], at " + caret_context(source, *arg.span))
        count += len(arg.elements) if type(arg) is ast.List else 1
    if row.arity == 0:
        return _construct(graph, node, op, attrs, source)
    arguments = tuple(results[len(results) - count:])
    del results[len(results) - count:]
    return graph.add(op, arguments, node.span, attrs=attrs)


def _check_counts(node, row, shown: str, inputs: list, params: list, source: str) -> None:
    method = type(node) is ast.Method
    if row.arity < 0:
        if not inputs or type(inputs[0]) is not ast.List:
            example = f"{node.func}([a, b]" + (", axis=0)" if "axis" in row.params else ")")
            raise ParseError(f"{shown} takes a list of its inputs: write {example}, at "
                             + caret_context(source, *node.span))
        return
    if len(inputs) == row.arity and len(params) <= len(row.params):
        return
    arity = row.arity - method   # a method's receiver is not counted
    plural = "argument" if arity == 1 else "arguments"
    also = ""
    if row.params:
        count = len(row.params)
        also = (f" and at most {count} parameter{'s' if count > 1 else ''} ({', '.join(row.params)})")
        plural = "argument" if arity == 1 else "arguments"
    got = len(inputs) + len(params) - method
    hint = ("\nfor a base-2 logarithm write log2(x), or log(x)/log(2) for any base"
            if node.func in ("log", "ln") and got == 2 and not method else "")
    raise ParseError(f"{shown} takes {arity} {plural}{also}, got {got}, at "
                     + caret_context(source, *node.span) + hint)


def _unknown_call(graph, node, count: int, source: str, bound):
    """The parse error for a call no row fits: an unknown name, or a count no spelling takes."""
    import difflib

    name_span = (node.span[0], node.span[0] + len(node.func))
    if type(node) is ast.Method:
        if node.func in FUNCTIONS:
            hint = f"{node.func} is not a method: write {node.func}({_text(source, node.args[0])}, ...)"
        else:
            close = difflib.get_close_matches(node.func, list(METHODS), n=1)
            hint = f"did you mean .{close[0]}()?" if close else "methods: " + ", ".join(sorted(METHODS))
        at = source.find(node.func, node.args[0].span[1])
        raise ParseError(f"unknown method '.{node.func}()' at "
                         f"{caret_context(source, at, at + len(node.func))}\n{hint}")
    if node.func not in FUNCTIONS:
        if node.func in graph.variables or node.func in graph.assigned or node.func in bound:
            hint = f"'{node.func}' is a variable, not a function: write {node.func}*(...) to multiply"
        else:
            close = difflib.get_close_matches(node.func, list(FUNCTIONS), n=1)
            hint = f"did you mean '{close[0]}'?" if close else (
                "known functions: " + ", ".join(sorted(FUNCTIONS)))
        raise ParseError(f"unknown function '{node.func}' at {caret_context(source, *name_span)}\n{hint}")
    choice = FUNCTIONS[node.func]   # a spelling whose op the count chooses (max, min)
    wanted = " or ".join(map(str, sorted(choice)))
    extra = ""
    if count > max(choice):
        extra = f"\n(its argument count chooses the op, so parameters go by keyword: {node.func}(X, axis=0))"
    raise ParseError(f"{node.func}() takes {wanted} arguments, got {count}, at "
                     + caret_context(source, *node.span) + extra)


def _parameter(graph, node, name: str, shown: str, source: str, bound, row):
    """A constant parameter's value, checked against its kind (KEYWORD_KINDS; a row's `one_axis`
    makes its axis one integer): an int, a tuple of ints, a bool, or a float."""
    kind = "axis" if name == "axis" and row.one_axis else KEYWORD_KINDS.get(name, "number")
    value = _constant(graph, node, source, bound)
    if value is None:
        raise ParseError(f"the parameter {name} of {shown} must be a constant ({KIND_WORDS[kind]}), at "
                         + caret_context(source, *node.span))
    integers = isinstance(value, int) and not isinstance(value, bool)
    sizes = isinstance(value, tuple) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if kind in ("int", "axis") and integers or kind == "axes" and (integers or sizes):
        return value
    if kind == "shape" and (integers or sizes) and all(v >= -1 for v in (value if sizes else (value,))):
        return value
    if kind == "bool" and (isinstance(value, bool) or value in (0, 1)) and not isinstance(value, tuple):
        return bool(value)
    if kind == "number" and not isinstance(value, tuple):
        return float(value) if not integers else value
    raise ParseError(f"{name}= takes {KIND_WORDS[kind]}, got {_text(source, node)}, at "
                     + caret_context(source, *node.span))


# one operation of two constants in a parameter (leaky_relu(x, 1/10), 2*pi): floats, as the formula's own
_ARITHMETIC = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
               "div": lambda a, b: float(a) / b, "pow": lambda a, b: float(a) ** b}


def _constant(graph, node, source: str, bound):
    """The value of a constant written in a parameter: 2 (an int), 2.5, -1, True, pi, (2, 3); None
    for anything else (a variable, an expression)."""
    kind = type(node)
    if kind is ast.Num:
        if node.text.isdigit():
            return integer(ast.Integer(node.text, node.span), source)
        return node.value
    if kind is ast.Name:
        name = node.name
        if name in bound or name in graph.assigned or name in graph.variables:
            return None
        if name in BOOLEANS:
            return name == "True"
        return CONSTANTS.get(name)
    if kind is ast.Unary and type(node.operand) in (ast.Num, ast.Name):
        value = _constant(graph, node.operand, source, bound)
        if value is None or isinstance(value, bool):
            return None
        if node.op == "neg" and type(node.operand) is ast.Num and node.operand.text.isdigit():
            return integer(ast.Integer("-" + node.operand.text, node.span), source)
        return -value if node.op == "neg" else value
    if kind is ast.Binary and type(node.left) is not ast.Binary and type(node.right) is not ast.Binary:
        left, right = _constant(graph, node.left, source, bound), _constant(graph, node.right, source, bound)
        if left is None or right is None or isinstance(left, (bool, tuple)) or isinstance(right, (bool, tuple)):
            return None
        try:
            return _ARITHMETIC[node.op](left, right)
        except (ArithmeticError, ValueError, TypeError):
            return None
    if kind is ast.Tuple:
        values = tuple(_constant(graph, element, source, bound) for element in node.elements)
        return None if any(v is None or isinstance(v, tuple) for v in values) else values
    return None


def _construct(graph, node, op: str, attrs: dict, source: str) -> int:
    """A constructor (zeros((2, 3)), arange(5)): evaluated now, with NumPy, into one const node."""
    from cgraph_cli.ops import array_table

    try:
        value = array_table()[op].forward(**attrs)
    except TypeError:   # a parameter it needs was not given: full(2)
        missing = [name for name in OPS[op].params if name not in attrs]
        raise ParseError(f"{node.func}() needs its {' and '.join(missing)}: write {node.func}("
                         f"{', '.join(OPS[op].params)}), at " + caret_context(source, *node.span)) from None
    except (ValueError, OverflowError, MemoryError) as error:
        raise ParseError(f"{error}, at " + caret_context(source, *node.span)) from None
    graph.uses_tensors = True
    return graph.add("const", (), node.span, constant=value)


def attribute(graph, node: ast.Attribute, operand: int, source: str, bound) -> int:
    """A.T is transpose(A); any other attribute is a parse error saying what to write."""
    receiver = node.operand
    if type(receiver) is ast.Name and receiver.name in MODULES and receiver.name not in bound \
            and receiver.name not in graph.assigned:
        what = f"write {node.name}" if node.name in CONSTANTS else "cgraph's functions need no module prefix"
        raise ParseError(f"module prefix '{receiver.name}.' at {caret_context(source, *_prefix(source, receiver))}"
                         f"\n{what}")
    if node.name == "T":
        return graph.add("transpose", (operand,), node.span)
    at = source.find(node.name, receiver.span[1])
    where = caret_context(source, at, at + len(node.name))
    if node.name in METHODS:
        hint = f"a method needs parentheses: write {_text(source, receiver)}.{node.name}()"
    else:
        hint = f"the only attribute is .T (the transpose); for a function f write f({_text(source, receiver)})"
    raise ParseError(f"unknown attribute '.{node.name}' at {where}\n{hint}")


# NumPy's and PyTorch's names for cgraph's functions, for the module-prefix hint (np.maximum(x, 0)).
MODULE_NAMES = {"maximum": "max", "minimum": "min", "power": "pow", "absolute": "abs", "amax": "max",
                "amin": "min",
                "cat": "concatenate", "concat": "concatenate"}


def _refuse_module(graph, node: ast.Method, source: str, bound) -> None:
    """np.exp(x), torch.relu(x), F.relu(x): a parse error saying to drop the prefix (never
    'unbound variable np'), unless the receiver is a bound or assigned name."""
    receiver = node.args[0]
    if type(receiver) is not ast.Name or receiver.name not in MODULES or receiver.name in bound \
            or receiver.name in graph.assigned:
        return
    name = node.func if node.func in FUNCTIONS else MODULE_NAMES.get(node.func)
    args = node.args[1:]
    inside = source[args[0].span[0]:args[-1].span[1]] if args else ""
    if len(inside) > 40 or "\n" in inside:
        inside = "..."
    positional = [arg for arg in args if type(arg) is not ast.Keyword]
    if name is None:
        import difflib

        close = difflib.get_close_matches(node.func, list(FUNCTIONS), n=1)
        hint = (f"cgraph's functions need no module prefix, and it has no function '{node.func}'"
                + (f": did you mean {close[0]}(...)?" if close else ""))
    elif node.func in ("max", "min", "amax", "amin") and len(positional) == 2 and inside != "...":
        first, second = (source[arg.span[0]:arg.span[1]] for arg in positional)
        hint = (f"cgraph's functions need no module prefix: write {name}({first}, axis={second}) for "
                f"NumPy's reduction over axis {second}; cgraph's {name}({first}, {second}) is the "
                f"elementwise {'maximum' if name == 'max' else 'minimum'} of {first} and {second}")
    else:
        hint = f"cgraph's functions need no module prefix: write {name}({inside})"
    raise ParseError(f"module prefix '{receiver.name}.' at {caret_context(source, *_prefix(source, receiver))}"
                     f"\n{hint}")


def _prefix(source: str, receiver) -> tuple:
    """The span of `np.` in `np.exp(x)`."""
    dot = source.find(".", receiver.span[1])
    return receiver.span[0], dot + 1


def _text(source: str, node, width: int = 30) -> str:
    text = source[node.span[0]:node.span[1]]
    return text if len(text) <= width and "\n" not in text else "..."
