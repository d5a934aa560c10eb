"""The Python API: `import cgraph_cli as cg`, then `cg.evaluate("(x+y)*z", x=1, y=3, z=-3)`.

The same layers the commands call (parse, build, evaluate, the analyses, the renderers), with the
command line's words replaced by Python values, and results returned as objects instead of printed:
warnings are data (`.warnings`), errors are raised (the CgraphError classes of errors.py, carrying
the message the CLI prints). Nothing here writes to stdout or stderr, exits, or changes the
interpreter's state (the garbage collector, signal handlers, the streams).

Bindings come as a mapping (`cg.evaluate(src, {"x": 1})`) or as keywords (`x=1`); a variable named
like one of the keyword options (exact, const, ...) goes in the mapping. Keywords are like the CLI's
`--NAME VALUE` (a keyword the formula does not use draws the CLI's note, in `.warnings`), the mapping
like `--vars FILE.json` (a shared set of values: no note); a keyword wins over the mapping.

Layer 5, beside commands/; it imports no command and no click.
"""

import math
import numbers
import shutil
from fractions import Fraction
from typing import Any, Iterable, Mapping, NamedTuple, Optional, Sequence, Union

from cgraph_cli import ast
from cgraph_cli.bindings import MAX_DIMENSIONS, check_name, parse_value, to_tensor, written_exact
from cgraph_cli.engine import Evaluation, evaluate as engine_evaluate
from cgraph_cli.errors import BindingError, UsageError
from cgraph_cli.grammar import parse
from cgraph_cli.graph import Graph, at_once, build, check_data, refuse_data, require_scalar

Exact = Union[bool, str]   # False, True (strict: an irrational operation is an error) or "auto"
HTML_WIDTH = 10_000        # the notebook's tree: wide enough that no formula text is cut


# ----------------------------------------------------------------------------- bindings

def _exact_mode(exact: Exact) -> Optional[str]:
    """The engine's mode: None, "strict" (exact=True) or "auto" (exact="auto": irrational operations
    in float64, said in .warnings)."""
    if exact is False or exact is None:
        return None
    if exact is True or exact == "strict":
        return "strict"
    if exact == "auto":
        return "auto"
    raise ValueError(f"exact must be False, True or 'auto', not {exact!r}")


def _value(value: Any, name: str):
    """A Python value as the engine's: a float, or a float64 array (from nested lists or an array)."""
    if isinstance(value, str):   # the CLI's words: "1/3", "[1, 2]", "@weights.npy"
        return parse_value(value, name)
    if isinstance(value, bool):
        raise BindingError(f"{name}: expected a number or nested lists of numbers, got {value!r}")
    if isinstance(value, numbers.Real):   # int, float, Fraction, NumPy scalars
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise BindingError(f"{name}: {value!r} is not a finite float64; cgraph computes with finite float64")
        return number
    if isinstance(value, (list, tuple)) or hasattr(value, "__array__"):
        return _array(value, name)
    raise BindingError(f"{name}: expected a number, nested lists of numbers or an array, "
                       f"got {type(value).__name__}")


def _array(value, name: str):
    import numpy

    try:
        array = numpy.array(value)   # a copy: the caller's array is never aliased
    except (ValueError, TypeError):
        array = None
    if array is None or array.dtype.kind not in "iuf":
        if isinstance(value, list):
            to_tensor(value, name)   # the CLI's message for ragged or non-numeric lists
        kind = "booleans" if array is not None and array.dtype.kind == "b" else "not numbers"
        raise BindingError(f"{name}: tensor elements must be numbers ({kind} given)")
    array = array.astype(float)
    if array.ndim == 0:
        return _value(float(array), name)
    if array.size == 0:
        raise BindingError(f"{name}: empty tensors are not supported")
    if array.ndim > MAX_DIMENSIONS:
        raise BindingError(f"{name}: a tensor of more than {MAX_DIMENSIONS} dimensions is not supported")
    if not numpy.isfinite(array).all():
        raise BindingError(f"{name}: tensor elements must be finite numbers")
    return array


def _bindings(mapping: Optional[Mapping], variables: dict, exact: Optional[str]) -> tuple:
    """(bindings, keyword names): the mapping, then the keywords over it, read as floats and arrays
    (or exact Fractions)."""
    if mapping is not None and not isinstance(mapping, Mapping):
        raise TypeError(f"bindings must be a mapping of name -> value, not {type(mapping).__name__}")
    merged = {**(mapping or {}), **variables}
    values = {}
    for name, value in merged.items():
        if not isinstance(name, str):
            raise TypeError(f"a variable's name must be a str, not {type(name).__name__}")
        check_name(name, name)
        values[name] = written_exact(value, name) if exact else _value(value, name)
    return values, tuple(variables)


class _Loaded(NamedTuple):
    graph: Graph
    bindings: dict
    notes: list   # "y is bound but not used in the formula", as the CLI notes it


def _load(source: str, mapping, variables: dict, const: Iterable[str] = (), exact: Optional[str] = None,
          ) -> _Loaded:
    """Parse, bind, build: the preamble of commands/support.load_graph, from Python values."""
    if not isinstance(source, str):
        raise TypeError(f"source must be a str (a cgraph program), not {type(source).__name__}")
    if isinstance(const, str):
        const = (const,)
    graph = failed = None
    try:
        bindings, keywords = _bindings(mapping, variables, exact)
    except Exception as error:   # raised once the formula is parsed (its errors come first)
        failed = error
    else:   # the common formula parsed and built at once, as the CLI does
        graph = at_once(source, frozenset(bindings), frozenset(const))
    if graph is None:
        program = parse(source)
        if failed is not None:
            raise failed
        used = ast.names(program)
        graph = build(program, source, frozenset(bindings), frozenset(const))
    else:
        used = graph.used()
    notes = [f"{name} is bound but not used in the formula" for name in keywords if name not in used]
    check_data(graph, bindings)
    return _Loaded(graph, bindings, notes)


def _run(loaded: _Loaded, exact: Optional[str], tangents: Optional[dict] = None) -> Evaluation:
    """Forward (with `tangents`, every node's tangent in the same sweep) and backward, floats or
    rationals; the notes joined to the warnings as the CLI's JSON lists them."""
    if exact:
        from cgraph_cli import exact as exact_arithmetic

        evaluation = exact_arithmetic.evaluate(loaded.graph, loaded.bindings, auto=exact == "auto",
                                               tangents=tangents)
    else:
        evaluation = engine_evaluate(loaded.graph, loaded.bindings, tangents=tangents)
    evaluation.warnings.extend(loaded.notes)
    return evaluation


# ----------------------------------------------------------------------------- evaluate

class NodeRecord(NamedTuple):
    """One node of the graph: as the JSON's node, with the values as Python numbers or arrays."""
    id: int
    op: str
    name: Optional[str]
    text: str            # its source text, cut in the middle past 80 characters (as in the JSON)
    inputs: tuple
    value: Any
    grad: Any            # None for a constant or data (const=)
    kink: Optional[str]  # where the node was evaluated exactly at a kink: the convention used
    tangent: Any = None  # with tangent=: the node's tangent (its value's derivative along the direction)


class Result:
    """What `cg.evaluate` returns: the value, the gradients, every node, and the views of them."""

    def __init__(self, evaluation: Evaluation):
        self.evaluation = evaluation   # the engine's own record (graph, values, grads, ...)

    @property
    def value(self) -> Any:
        """The output's value: a float, a NumPy array, or a Fraction with exact=True."""
        return self.evaluation.value

    @property
    def gradients(self) -> dict:
        """d(output)/d(variable) by name, for every variable that is not data (const=)."""
        return self.evaluation.gradients()

    @property
    def warnings(self) -> list:
        """Non-finite gradients, kinks met with --exact-auto, unused keyword bindings: never printed."""
        return list(self.evaluation.warnings)

    @property
    def nodes(self) -> list:
        """Every node in tape order (inputs before their users), as NodeRecords."""
        from cgraph_cli.render.json import TEXT_WIDTH

        e, graph = self.evaluation, self.evaluation.graph
        tangents = e.tangents if e.tangents is not None else [None] * len(graph)
        return [NodeRecord(i, op, graph.names[i], graph.excerpt(i, TEXT_WIDTH, escape=False),
                           tuple(graph.inputs[i]), e.values[i], e.grads[i], e.kinks.get(i), tangents[i])
                for i, op in enumerate(graph.ops)]

    @property
    def tangents(self) -> Optional[list]:
        """With tangent=: every node's tangent, in tape order (`.tangent` is the output's); else None."""
        return self.evaluation.tangents

    @property
    def tangent(self) -> Any:
        """With tangent=: the output's tangent, the directional derivative along the seeds; else None."""
        tangents = self.evaluation.tangents
        return None if tangents is None else tangents[self.evaluation.graph.output]

    def steps(self) -> list:
        """The backward pass step by step, with each rule: the "steps" of `eval --steps --format json`
        (dicts: step, id, op, name, text, upstream, inputs with rule, local_rule, local, sent, total)."""
        from cgraph_cli.render.steps import steps_document
        from cgraph_cli.steps import backward_steps

        return steps_document(self.evaluation, backward_steps(self.evaluation))

    def trace(self) -> list:
        """The evaluation trace, one statement per node (`v1 = x + y`, the names the rules use): the
        "forward_steps" of `eval --steps --format json` (dicts: id, name, statement, value)."""
        from cgraph_cli import trace
        from cgraph_cli.render.steps import forward_document

        return forward_document(self.evaluation, trace.trace_names(self.evaluation.graph))

    def to_json(self, *, steps: bool = False, precision: Optional[int] = None) -> str:
        """Exactly what `cgraph eval ... --format json` prints (with `steps`: `--steps --format json`)."""
        from cgraph_cli.render.eval import RENDERERS, Options

        options = Options(precision)
        if steps:
            from cgraph_cli.render.steps import render

            return render(self.evaluation, options, "json")
        return RENDERERS["json"](self.evaluation, options)

    def graph(self, format: str = "svg", *, local: bool = False, max_nodes: int = 150,
              precision: int = 4) -> "Drawing":
        """A picture of the graph, values and gradients on the edges, as `cgraph graph --to FORMAT`:
        "svg" and "png" (drawn by Graphviz's dot program), "dot" or "mermaid" (text)."""
        from cgraph_cli.picture import build_picture
        from cgraph_cli.render.graph import RENDERERS
        from cgraph_cli.steps import edge_gradients

        if format not in RENDERERS:
            raise ValueError(f"format must be one of {', '.join(RENDERERS)}, not {format!r}")
        e = self.evaluation
        walk = format == "html"   # the walk-through page: the rules on the edges, and the steps
        picture = build_picture(e.graph, e, max_nodes, precision, edge_gradients(e), local or walk)
        if walk:
            return Drawing(picture, format, RENDERERS["html"](picture, "html", e.graph, e, precision))
        return Drawing(picture, format)

    def rich(self, table: bool = False):
        """The tree (or the table) as a rich renderable, as `cgraph eval` prints it."""
        from cgraph_cli.render.eval import RENDERERS, Options

        return RENDERERS["table" if table else "tree"](self.evaluation, Options(show_all=False))

    def _repr_html_(self) -> str:
        """Jupyter: the tree and the gradient table, colours kept, no width cut-off."""
        return rich_html(self.rich())

    def __repr__(self) -> str:
        value = _short(self.value)
        gradients = ", ".join(f"{name}={_short(g)}" for name, g in list(self.gradients.items())[:8])
        more = ", ..." if len(self.gradients) > 8 else ""
        return f"<cgraph Result value={value} gradients={{{gradients}{more}}}>"


def _short(value) -> str:
    from cgraph_cli.text import human

    return human(value) if not getattr(value, "ndim", 0) else f"array{tuple(value.shape)}"


def rich_html(renderable) -> str:
    """A rich renderable as self-contained HTML (inline styles), at a width that cuts nothing."""
    import io

    from rich.console import Console

    console = Console(record=True, file=io.StringIO(), width=HTML_WIDTH, color_system="truecolor",
                      force_terminal=True, force_jupyter=False, legacy_windows=False)
    console.print(renderable)
    return console.export_html(inline_styles=True, code_format="<pre style=\"font-family:Menlo,'DejaVu "
                               "Sans Mono',consolas,'Courier New',monospace;line-height:1.3\">{code}</pre>")


class Drawing:
    """A picture of the graph (Result.graph): `.data` is str (dot, mermaid) or bytes (svg, png);
    Jupyter shows it as an image when Graphviz's dot program is installed."""

    def __init__(self, picture, format: str, data: Union[str, bytes, None] = None):
        from cgraph_cli.render.graph import RENDERERS

        self.format = format
        self.picture = picture
        self.data = RENDERERS[format](picture, format) if data is None else data
        self.warnings = [picture.note] if picture.note else []   # e.g. nodes left out (max_nodes)

    def save(self, path) -> None:
        mode = "wb" if isinstance(self.data, bytes) else "w"
        with open(path, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as handle:
            handle.write(self.data)

    def _image(self, format: str) -> Optional[bytes]:
        if self.format == format:
            return self.data
        if self.format not in ("dot", "svg", "png") or shutil.which("dot") is None:
            return None
        from cgraph_cli.render.graph import render_image

        return render_image(self.picture, format)

    def _repr_svg_(self) -> Optional[str]:
        if self.format == "png":   # asked for PNG: Jupyter shows that one
            return None
        image = self._image("svg")
        return None if image is None else image.decode("utf-8")

    def _repr_png_(self) -> Optional[bytes]:
        return self.data if self.format == "png" else None

    def _repr_html_(self) -> Optional[str]:
        """The walk-through page (format="html") in a frame of its own: its script and styles stay
        inside it."""
        if self.format != "html":
            return None
        import html

        return (f'<iframe srcdoc="{html.escape(self.data, quote=True)}" style="width: 100%; height: 640px; '
                'border: 1px solid #ddd" sandbox="allow-scripts"></iframe>')

    def _repr_markdown_(self) -> Optional[str]:
        """Mermaid text in a fenced block: JupyterLab 4.1 and GitHub draw it."""
        return f"```mermaid\n{self.data.rstrip()}\n```" if self.format == "mermaid" else None

    def __str__(self) -> str:
        return self.data if isinstance(self.data, str) else self.data.decode("utf-8", "replace")

    def __repr__(self) -> str:
        if self.format == "html":
            return f"<cgraph Drawing html, {len(self.data):,} characters: .save('walk.html') to open it>"
        if isinstance(self.data, str):
            return self.data
        return f"<cgraph Drawing {self.format}, {len(self.data):,} bytes>"


def evaluate(source: str, bindings: Optional[Mapping[str, Any]] = None, /, *, exact: Exact = False,
             tangent: Optional[Mapping[str, Any]] = None, const: Iterable[str] = (),
             **variables: Any) -> Result:
    """Evaluate a cgraph program: the forward value of every node and the reverse-mode gradient of
    the output. `cg.evaluate("(x+y)*z", x=1, y=3, z=-3).gradients` is {'x': -3.0, 'y': -3.0, 'z': 4.0}.

    bindings: name -> number, nested lists or a NumPy array (or a CLI word such as "1/3" or
    "@weights.npy"); keywords too. exact: True for rationals (2.2 is 11/5), "auto" to compute
    irrational operations in float64. tangent: name -> the variable's tangent (a number, or a tensor
    of its shape; others get 0), as `eval --tangent`: forward mode, every node's tangent in
    `.tangents` and the output's in `.tangent`. const: names bound as data (no gradient)."""
    mode = _exact_mode(exact)
    loaded = _load(source, bindings, variables, const, mode)
    seeds = None if tangent is None else _tangent_seeds(loaded, tangent, mode)
    return Result(_run(loaded, mode, seeds))


def _tangent_seeds(loaded: _Loaded, tangent: Mapping[str, Any], exact: Optional[str]) -> dict:
    """tangent= as `eval --tangent`'s seeds (name -> tangent), checked by the same rule
    (engine.check_tangent): a variable of the formula, not data, a number or a tensor of its shape."""
    from cgraph_cli.engine import check_tangent

    if not isinstance(tangent, Mapping):
        raise TypeError(f"tangent must be a mapping of name -> tangent, not {type(tangent).__name__}")
    graph, bindings = loaded.graph, loaded.bindings
    seeds = {}
    for name, given in tangent.items():
        source = f"tangent[{name!r}]"
        if name not in graph.variables or name in graph.data:
            check_tangent(graph, bindings, name, None, source, seeds, f"const=[{name!r}]")
        value = written_exact(given, source) if exact else _value(given, source)
        check_tangent(graph, bindings, name, value, source, seeds, f"const=[{name!r}]")
        seeds[name] = value
    return seeds


# ----------------------------------------------------------------------------- grad

class Gradients(dict):
    """name -> gradient (a float, an array, or a Fraction with exact=True), with `.value` (the
    output's) and `.warnings`."""

    def __init__(self, gradients: dict, value: Any = None, warnings: Sequence[str] = ()):
        super().__init__(gradients)
        self.value = value
        self.warnings = list(warnings)


def grad(source: str, bindings: Optional[Mapping[str, Any]] = None, /, *,
         wrt: Union[str, Sequence[str], None] = None, exact: Exact = False, const: Iterable[str] = (),
         **variables: Any) -> Gradients:
    """The gradient of the output: every variable's, or those of `wrt` (a name or a list of names:
    variables, or assigned names, whose gradient is d(output)/d(that node)), as `cgraph grad`."""
    mode = _exact_mode(exact)
    loaded = _load(source, bindings, variables, const, mode)
    evaluation = _run(loaded, mode)
    graph, all_gradients = evaluation.graph, evaluation.gradients()
    if wrt is None:
        chosen = all_gradients
    else:
        from cgraph_cli.text import unknown_name

        names = [wrt] if isinstance(wrt, str) else list(wrt)
        known = set(graph.variables) | set(graph.assigned)
        for name in names:
            if name not in known:
                raise BindingError(unknown_name(f"wrt={name!r}", name, sorted(known), "variable or assigned name"))
        refuse_data(graph, names)
        chosen = {}
        for name in dict.fromkeys(names):
            if name in all_gradients:
                chosen[name] = all_gradients[name]
            else:
                g = evaluation.grads[graph.assigned[name]]
                chosen[name] = 0.0 if g is None else g
    return Gradients(chosen, evaluation.value, evaluation.warnings)


# ----------------------------------------------------------------------------- diff

class Derivative:
    """What `cg.diff` returns: each derivative as a cgraph program (`.formulas`, name -> text, ready
    for cg.evaluate), the CLI's text (`str()`), LaTeX (`.latex`, and Jupyter's `_repr_latex_`)."""

    def __init__(self, graph, results: list, order: int, inline: bool, exact: bool):
        from cgraph_cli.render.diff import render_latex, render_program

        self.order = order
        self.formulas = {name: render_program(graph, [(name, e)], order, True, inline, exact).rstrip("\n")
                         for name, e in results}
        self.text = render_program(graph, results, order, False, inline, exact)
        self._latex = [render_latex(graph, [(name, e)], order, False, inline, exact).rstrip("\n")
                       for name, e in results]
        self.latex = "\n".join(self._latex) + "\n"
        self.warnings: list = []

    def __getitem__(self, name: str) -> str:
        return self.formulas[name]

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text.rstrip("\n")

    def _repr_latex_(self) -> str:
        if len(self._latex) == 1:
            return f"$${self._latex[0]}$$"
        return "$$\\begin{gathered}\n" + " \\\\\n".join(self._latex) + "\n\\end{gathered}$$"


def diff(source: str, wrt: Union[str, Sequence[str], None] = None,
         bindings: Optional[Mapping[str, Any]] = None, /, *, order: int = 1, inline: bool = False,
         exact: bool = False, const: Iterable[str] = (), **variables: Any) -> Derivative:
    """The derivative as a formula, as `cgraph diff`: with respect to `wrt` (a name, a list, or None
    for every variable), `order` times; bound variables are substituted after differentiating."""
    from cgraph_cli.derivatives import MAX_ORDER, derivatives, substitute, too_large_is_an_evaluation_error
    from cgraph_cli.ops.algebra import Algebra

    if not isinstance(order, int) or isinstance(order, bool) or not 1 <= order <= MAX_ORDER:
        raise ValueError(f"order must be an integer from 1 to {MAX_ORDER}, not {order!r}")
    exact = bool(exact)
    loaded = _load(source, bindings, variables, const, "strict" if exact else None)
    graph = loaded.graph
    require_scalar(graph, loaded.bindings, "diff")
    names = [wrt] if isinstance(wrt, str) else list(wrt or ())
    refuse_data(graph, names)   # an unknown name: derivatives() says so, listing the names there are
    names = list(dict.fromkeys(names)) or graph.differentiable()
    if not names:
        raise UsageError("the expression has no variables to differentiate with respect to")
    algebra = Algebra()
    with too_large_is_an_evaluation_error():
        results = substitute(derivatives(graph, names, order, algebra), loaded.bindings, algebra)
    derivative = Derivative(graph, results, order, inline, exact)
    derivative.warnings = list(loaded.notes)
    return derivative


# ----------------------------------------------------------------------------- hessian

def _variables(graph, wrt) -> list:
    """The `wrt` names (a name, a list, or None for every variable that carries a gradient), once
    each: an assigned name is a usage error, an unknown one a binding error listing the variables,
    a data name (const=) a usage error."""
    from cgraph_cli.text import unknown_name

    names = [wrt] if isinstance(wrt, str) else list(wrt or ())
    for name in names:
        if name in graph.assigned and name not in graph.variables:
            raise UsageError(f"--wrt {name}: the Hessian is with respect to variables; {name} is an assigned name")
        if name not in graph.variables:
            raise BindingError(unknown_name(f"wrt={name!r}", name, sorted(graph.variables), "variable"))
    refuse_data(graph, names)
    return list(dict.fromkeys(names)) or graph.differentiable()


class Hessian:
    """What `cg.hessian` returns: `.variables` (names), `.rows` (rows[i][j] = d2f/dx_i dx_j), `[a, b]`,
    `.to_json()` (exactly `cgraph hessian --format json`), `.warnings`."""

    def __init__(self, graph, bindings, names: list, rows: list, warnings: list):
        self._graph, self._bindings = graph, bindings
        self.variables, self.rows, self.warnings = names, rows, warnings

    def __getitem__(self, pair: tuple) -> Any:
        a, b = pair
        return self.rows[self.variables.index(a)][self.variables.index(b)]

    def to_json(self, *, precision: Optional[int] = None) -> str:
        from cgraph_cli.render.hessian import render_json

        return render_json(self._graph, self._bindings, self.variables, self.rows, precision)

    def _repr_html_(self) -> str:
        from cgraph_cli.render.hessian import render_table

        return rich_html(render_table(self._graph, self._bindings, self.variables, self.rows, None))

    def __repr__(self) -> str:
        from cgraph_cli.render.hessian import render_plain

        return render_plain(self._graph, self._bindings, self.variables, self.rows, None).rstrip("\n")


def hessian(source: str, bindings: Optional[Mapping[str, Any]] = None, /, *,
            wrt: Union[str, Sequence[str], None] = None, exact: Exact = False, const: Iterable[str] = (),
            **variables: Any) -> Hessian:
    """The second derivatives of the output at a point, as `cgraph hessian`."""
    from cgraph_cli.derivatives import hessian_rows, too_large_is_an_evaluation_error

    mode = _exact_mode(exact)
    loaded = _load(source, bindings, variables, const, mode)
    graph = loaded.graph
    require_scalar(graph, loaded.bindings, "hessian")
    names = _variables(graph, wrt)
    with too_large_is_an_evaluation_error():
        rows, warnings = hessian_rows(graph, loaded.bindings, names, mode)
    return Hessian(graph, loaded.bindings, names, rows, warnings + loaded.notes)


# ----------------------------------------------------------------------------- check

class CheckReport:
    """What `cg.check` returns: `.passed` (every case), `.results` (cases.CaseResult: .case.name,
    .passed, .checks, .error), `.to_json()` / `.to_junit()` (exactly `cgraph check --format json|junit`),
    `.warnings` (the notes the CLI prints)."""

    def __init__(self, path: str, results: list):
        self.path, self.results = path, results
        self.warnings = [f"case {r.case.name}: {message}" for r in results for message in r.notes]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def failed(self) -> list:
        return [result for result in self.results if not result.passed]

    def to_json(self) -> str:
        from cgraph_cli.render.check import RENDERERS

        return RENDERERS["json"]([(self.path, self.results)], None)

    def to_junit(self) -> str:
        from cgraph_cli.render.check import RENDERERS

        return RENDERERS["junit"]([(self.path, self.results)], None)

    def __repr__(self) -> str:
        from cgraph_cli.render.check import summary

        return f"<cgraph CheckReport {self.path}: {summary(self.results)}>"


def check(path: str, *, program: Optional[str] = None, allow_outside: bool = False,
          exact: Exact = False) -> CheckReport:
    """Run a file of cases (TOML or JSON Lines), as `cgraph check CASES [-f PROGRAM]`; a malformed file
    raises (CasesError, a UsageError), a failing case does not: see `.passed`."""
    from cgraph_cli.cases import load, run_case

    mode = _exact_mode(exact)
    path = str(path)
    if path == "-":
        raise ValueError("cg.check reads a file: give its path")
    cases = load(path, None if program is None else str(program), allow_outside)
    parsed = {}   # a program shared by many cases is parsed once, as the CLI does
    return CheckReport(path, [run_case(case, mode, parsed) for case in cases])


# ----------------------------------------------------------------------------- jacobian

class JacobianResult:
    """What `cg.jacobian` returns: `.jacobians` (name -> array of shape output.shape + x.shape, a
    number when both are scalars), `[name]`, `.value`, `.mode` and `.passes` (how it was computed),
    `.to_json()` (exactly `cgraph jacobian --format json`), `.warnings`."""

    def __init__(self, graph, result, notes: list):
        self._graph, self.result = graph, result
        self.value, self.jacobians, self.variables = result.value, result.jacobians, list(result.names)
        self.mode, self.passes = result.mode, result.passes
        self.warnings = list(result.warnings) + list(notes)

    def __getitem__(self, name: str) -> Any:
        return self.jacobians[name]

    def to_json(self, *, precision: Optional[int] = None) -> str:
        from cgraph_cli.render.jacobian import Options, render_json

        return render_json(self._graph, self.result, Options(precision))

    def _repr_html_(self) -> str:
        from cgraph_cli.render.jacobian import Options, render_table

        return rich_html(render_table(self._graph, self.result, Options()))

    def __repr__(self) -> str:
        return f"<cgraph Jacobian {', '.join(self.variables)} ({self.mode} mode, {self.passes} passes)>"


def jacobian(source: str, bindings: Optional[Mapping[str, Any]] = None, /, *,
             wrt: Union[str, Sequence[str], None] = None, mode: str = "auto", exact: Exact = False,
             const: Iterable[str] = (), **variables: Any) -> JacobianResult:
    """The Jacobian of the output with respect to each of `wrt` (default: every variable that
    carries a gradient), as `cgraph jacobian`: mode "reverse", "forward" or "auto" (fewer passes)."""
    from cgraph_cli.commands.jacobian import chosen_variables
    from cgraph_cli.jacobians import MODES, jacobian as compute

    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    exact_mode = _exact_mode(exact)
    loaded = _load(source, bindings, variables, const, exact_mode)
    names = chosen_variables(loaded.graph, [wrt] if isinstance(wrt, str) else list(wrt or ()))
    return JacobianResult(loaded.graph, compute(loaded.graph, loaded.bindings, names, mode, exact_mode),
                          loaded.notes)


# ----------------------------------------------------------------------------- grade

class GradeReport:
    """What `cg.grade` returns: `.students` (grading.Student: .student, .score, .max, .answers, each a
    grading.Graded with .passed, .points, .diagnosis, .message), `.scores` (id -> score),
    `.render(format)` (exactly `cgraph grade --format FORMAT`: table is a rich renderable, md, csv,
    json, junit and gradescope are text), `.to_json()`, `.warnings` (the notes the CLI prints)."""

    def __init__(self, report, notes: list):
        self.report, self.students, self.warnings = report, list(report.students), list(notes)

    @property
    def scores(self) -> dict:
        return {student.student: student.score for student in self.students}

    def render(self, format: str = "md"):
        from cgraph_cli.render.grade import RENDERERS

        if format not in RENDERERS:
            raise ValueError(f"format must be one of {', '.join(RENDERERS)}, not {format!r}")
        return RENDERERS[format](self.report)

    def to_json(self) -> str:
        return self.render("json")

    def _repr_html_(self) -> str:
        return rich_html(self.render("table"))

    def __repr__(self) -> str:
        from cgraph_cli.render.grade import summary

        return f"<cgraph GradeReport: {summary(self.report)}>"


def grade(key: str, answers: str, *, id_column: Optional[str] = None, hide_correct: bool = False,
          random_seed: Optional[int] = None, allow_outside: bool = False) -> GradeReport:
    """A class's answers sheet (CSV or JSON Lines) against a key (TOML or JSON Lines), as
    `cgraph grade KEY ANSWERS`: a malformed key or sheet raises; wrong answers do not."""
    from cgraph_cli import grading

    key_path, answers_path = str(key), str(answers)
    loaded = grading.load_key(key_path, allow_outside)
    truths = grading.truths(loaded, grading.DEFAULT_SEED if random_seed is None else random_seed)
    sheet = grading.read_sheet(answers_path, loaded.questions, id_column)
    students = grading.grade(loaded.questions, truths, sheet, hide_correct)
    report = grading.Report(key_path, answers_path, loaded.questions, truths, students, hide_correct)
    return GradeReport(report, sheet.notes)
