"""Gradient descent on a formula: the course's training loop, closed.

    repeat: forward (the loss), backward (its gradient), W = W - lr * grad

Each iteration is one engine.evaluate of the same graph with the current values.
The update rules are written with arithmetic only, so one code path serves floats
and NumPy arrays alike. No printing here: `on_step` lets the command show progress.
"""

import math
from typing import Callable, NamedTuple, Optional

from cgraph_cli.engine import evaluate
from cgraph_cli.errors import BindingError, EvalError, UsageError
from cgraph_cli.graph import refuse_data
from cgraph_cli.text import unknown_name


class Record(NamedTuple):
    iteration: int             # 0 is the starting point
    loss: float
    gradient_norm: float       # Euclidean norm over every trained variable (all elements)
    values: dict               # the trained variables' values at this point


class Result(NamedTuple):
    trajectory: list           # one Record per evaluated point, the last one the final point
    converged: bool            # did the gradient norm fall under tol?
    values: dict               # every bound variable's final value (trained and fixed)
    gradients: dict            # the trained variables' final gradients


class GradientDescent:
    """value -= lr * grad"""

    def __init__(self, lr: float, **_):
        self.lr = lr

    def step(self, name, value, grad):
        return value - self.lr * grad


class Momentum:
    """velocity = beta * velocity + grad; value -= lr * velocity (PyTorch's SGD with momentum)."""

    def __init__(self, lr: float, beta: float = 0.9, **_):
        self.lr, self.beta = lr, beta
        self.velocity = {}

    def step(self, name, value, grad):
        velocity = self.velocity.get(name)
        velocity = grad if velocity is None else self.beta * velocity + grad
        self.velocity[name] = velocity
        return value - self.lr * velocity


class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction: betas 0.9, 0.999, eps 1e-8."""

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, **_):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.first, self.second, self.count = {}, {}, {}

    def step(self, name, value, grad):
        t = self.count.get(name, 0) + 1
        self.count[name] = t
        first = self.beta1 * self.first.get(name, grad * 0) + (1 - self.beta1) * grad
        second = self.beta2 * self.second.get(name, grad * 0) + (1 - self.beta2) * (grad * grad)
        self.first[name], self.second[name] = first, second
        first_unbiased = first / (1 - self.beta1 ** t)
        second_unbiased = second / (1 - self.beta2 ** t)
        return value - self.lr * first_unbiased / (second_unbiased ** 0.5 + self.eps)


METHODS = {"gd": GradientDescent, "momentum": Momentum, "adam": Adam}


def is_tensor(value) -> bool:
    return getattr(value, "shape", ()) != ()


def default_wrt(graph, bindings: dict) -> list:
    """The variable trained when --wrt is not given: the one bound scalar variable that is not
    data (--const). With a tensor bound, or several variables, the caller must say which (so data
    such as X and y, or a label, stays fixed): a usage error listing them."""
    if any(is_tensor(v) for v in bindings.values()):
        tensors = ", ".join(sorted(name for name, v in bindings.items() if is_tensor(v)))
        raise UsageError(f"tensors are bound ({tensors}): say which variables to train with --wrt NAME "
                         "(repeatable), so that data is not trained")
    used = set().union(*graph.inputs) if graph.inputs else set()   # an unused binding is not a parameter
    names = [name for name in graph.differentiable() if name in bindings and graph.variables[name] in used]
    if len(names) > 1:
        listed = ", ".join(names)
        raise UsageError(f"several variables are bound ({listed}): say which to train with --wrt NAME "
                         f"(repeatable, e.g. --wrt {names[0]}), so that data is not trained; "
                         "mark data with --const NAME")
    return names


def minimize(graph, bindings: dict, wrt: list, lr: float = 0.1, iterations: int = 200,
             method: str = "gd", tol: float = 1e-6, beta: float = 0.9,
             on_step: Optional[Callable] = None, ops: Optional[dict] = None) -> Result:
    """Up to `iterations` updates of the `wrt` variables, stopping once the gradient norm < tol."""
    for name in wrt:
        if name not in graph.variables:
            raise BindingError(unknown_name(f"--wrt {name}", name, sorted(graph.variables)))
    refuse_data(graph, wrt)
    optimizer = METHODS[method](lr, beta=beta)
    values = dict(bindings)
    trajectory = []
    converged = False
    for iteration in range(iterations + 1):
        evaluation = _evaluate(graph, values, iteration, lr, ops)
        loss = evaluation.value
        if is_tensor(loss):
            raise UsageError(f"minimize needs a scalar loss, but the output has shape {loss.shape}: "
                             "reduce it, e.g. with sum(...) or mean(...)")
        grads = {name: _gradient(evaluation, name) for name in wrt}
        norm = math.sqrt(sum(_squared_norm(g) for g in grads.values()))
        trajectory.append(Record(iteration, float(loss), norm, {name: values[name] for name in wrt}))
        if on_step is not None:
            on_step(iteration, float(loss), norm)
        if not math.isfinite(norm):
            detail = "; ".join(evaluation.warnings) or "a gradient overflowed float64"
            raise EvalError(f"the gradient is not finite at iteration {iteration} ({detail}); "
                            f"the values were {_shown(values, wrt)}")
        if norm < tol:
            converged = True
            break
        if iteration == iterations:
            break
        for name in wrt:
            values[name] = optimizer.step(name, values[name], grads[name])
    return Result(trajectory, converged, values, grads)


def _evaluate(graph, values, iteration, lr, ops):
    try:
        return evaluate(graph, values, ops=ops) if ops is not None else evaluate(graph, values)
    except EvalError as error:
        if iteration == 0:
            raise
        raise EvalError(f"diverged at iteration {iteration}: {error.message}\n"
                        f"the steps grew too large: try a smaller --lr (it was {lr:g})") from None


def _gradient(evaluation, name):
    grad = evaluation.grads[evaluation.graph.variables[name]]
    return 0.0 if grad is None else grad


def _squared_norm(grad) -> float:
    if is_tensor(grad):
        return float((grad * grad).sum())
    return float(grad) * float(grad)


def _shown(values: dict, names: list) -> str:
    return ", ".join(f"{name} = {values[name]}" for name in names)
