"""`cgraph minimize`: gradient descent checked against closed forms and hand-written optimizers."""

import json
import math
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from cgraph_cli.grammar import parse
from cgraph_cli.graph import build
from cgraph_cli.optimize import minimize
from conftest import run_cgraph as cgraph

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "regression" / "data.csv"
QUADRATIC = "(x-3)^2 + (y+1)^2"
ROSENBROCK = "(1-a)^2 + 100*(b-a^2)^2"
REGRESSION = "mean((X @ w + b - y)^2)"
TRAIN_XY = ("--wrt", "x", "--wrt", "y")   # with several variables bound, minimize needs --wrt
TRAIN_AB = ("--wrt", "a", "--wrt", "b")


def trajectory_json(*args):
    code, out, err = cgraph("minimize", *args, "--format", "json")
    assert code == 0, err
    return json.loads(out), err


# ---------------------------------------------------------------------------------------------
# The quadratic: every iterate against the closed form of gradient descent
# ---------------------------------------------------------------------------------------------

def test_quadratic_converges_to_three_minus_one():
    document, err = trajectory_json(QUADRATIC, "--x", 0, "--y", 0, *TRAIN_XY)
    assert document["converged"] is True and err == ""
    assert document["variables"]["x"] == pytest.approx(3, abs=1e-6)
    assert document["variables"]["y"] == pytest.approx(-1, abs=1e-6)
    assert document["loss"] < 1e-12


def test_quadratic_iterates_follow_the_closed_form():
    """x_k - 3 = (1 - 2 lr)^k (x_0 - 3), y likewise; the run stops at the first k whose
    gradient norm 2 * 0.8^k * sqrt(10) is under 1e-6."""
    document, _ = trajectory_json(QUADRATIC, "--x", 0, "--y", 0, *TRAIN_XY, "--lr", 0.1)
    trajectory = document["trajectory"]
    for point in trajectory:
        k = point["iteration"]
        shrink = 0.8 ** k
        assert point["variables"]["x"] == pytest.approx(3 - 3 * shrink, rel=1e-12, abs=1e-13)
        assert point["variables"]["y"] == pytest.approx(-1 + shrink, rel=1e-12, abs=1e-13)
        assert point["loss"] == pytest.approx(10 * shrink ** 2, rel=1e-9, abs=1e-20)
        assert point["gradient_norm"] == pytest.approx(2 * shrink * math.sqrt(10), rel=1e-9)
    first_k = math.ceil(math.log(1e-6 / (2 * math.sqrt(10))) / math.log(0.8))
    assert document["iterations"] == first_k == len(trajectory) - 1
    losses = [p["loss"] for p in trajectory]
    assert all(b < a for a, b in zip(losses, losses[1:]))


@pytest.mark.parametrize("method, lr", [("momentum", 0.05), ("adam", 0.1)])
def test_quadratic_converges_with_momentum_and_adam(method, lr):
    document, _ = trajectory_json(QUADRATIC, "--x", 0, "--y", 0, *TRAIN_XY, "--method", method, "--lr", lr,
                                  "--iterations", 3000, "--tol", 1e-9)
    assert document["converged"]
    assert document["variables"]["x"] == pytest.approx(3, abs=1e-6)
    assert document["variables"]["y"] == pytest.approx(-1, abs=1e-6)


def test_momentum_matches_a_hand_written_heavy_ball():
    lr, beta = 0.001, 0.9
    graph = build(parse(ROSENBROCK), ROSENBROCK, frozenset("ab"))
    result = minimize(graph, {"a": -1.0, "b": 1.0}, ["a", "b"], lr=lr, iterations=60,
                      method="momentum", beta=beta, tol=0)
    a, b, va, vb = -1.0, 1.0, None, None
    for record in result.trajectory:
        assert record.values["a"] == pytest.approx(a, rel=1e-12)
        assert record.values["b"] == pytest.approx(b, rel=1e-12)
        ga, gb = -2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)
        va = ga if va is None else beta * va + ga
        vb = gb if vb is None else beta * vb + gb
        a, b = a - lr * va, b - lr * vb


# ---------------------------------------------------------------------------------------------
# Rosenbrock with Adam
# ---------------------------------------------------------------------------------------------

def reference_adam(a, b, lr, steps, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam as Kingma & Ba write it, with the Rosenbrock gradient derived by hand."""
    m, v = [0.0, 0.0], [0.0, 0.0]
    points = [(a, b)]
    for t in range(1, steps + 1):
        grad = [-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)]
        update = []
        for i, g in enumerate(grad):
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            m_hat, v_hat = m[i] / (1 - beta1 ** t), v[i] / (1 - beta2 ** t)
            update.append(lr * m_hat / (math.sqrt(v_hat) + eps))
        a, b = a - update[0], b - update[1]
        points.append((a, b))
    return points


def test_rosenbrock_with_adam_reaches_one_one():
    document, err = trajectory_json(ROSENBROCK, "--a", -1, "--b", 1, *TRAIN_AB, "--method", "adam", "--lr", 0.05,
                                    "--iterations", 5000, "--tol", 1e-8)
    assert document["converged"] and err == ""
    assert document["variables"]["a"] == pytest.approx(1, abs=1e-6)
    assert document["variables"]["b"] == pytest.approx(1, abs=1e-6)
    reference = reference_adam(-1.0, 1.0, 0.05, 200)
    for point, (a, b) in zip(document["trajectory"][:201], reference):
        assert point["variables"]["a"] == pytest.approx(a, rel=1e-9, abs=1e-12)
        assert point["variables"]["b"] == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_rosenbrock_with_plain_gradient_descent_does_not_converge_in_200_steps():
    code, out, err = cgraph("minimize", ROSENBROCK, "--a", -1, "--b", 1, *TRAIN_AB, "--lr", 0.001, "--format", "plain")
    assert code == 0                                  # not converging is not an error ...
    assert "warning: did not converge in 200 iterations" in err   # ... but it is said
    assert out.splitlines()[0].startswith("loss ")


# ---------------------------------------------------------------------------------------------
# The regression example: mean((X @ w + b - y)^2) on examples/regression/data.csv
# ---------------------------------------------------------------------------------------------

def least_squares():
    numpy = pytest.importorskip("numpy")
    data = numpy.loadtxt(DATA, delimiter=",", skiprows=1)
    design = numpy.column_stack([data[:, :2], numpy.ones(len(data))])
    solution, *_ = numpy.linalg.lstsq(design, data[:, 2], rcond=None)
    return solution


@pytest.mark.parametrize("method, lr", [("gd", 0.1), ("adam", 0.05)])
def test_regression_example_fits_the_least_squares_solution(method, lr):
    w1, w2, b = least_squares()
    document, err = trajectory_json(REGRESSION, "--X", f"@{DATA}:x1,x2", "--y", f"@{DATA}:y",
                                    "--w", "[0,0]", "--b", 0, "--wrt", "w", "--wrt", "b",
                                    "--method", method, "--lr", lr, "--iterations", 5000, "--tol", 1e-10)
    assert document["converged"], err
    assert document["variables"]["w"] == pytest.approx([w1, w2], abs=1e-7)
    assert document["variables"]["b"] == pytest.approx(b, abs=1e-7)
    assert len(document["trajectory"][0]["variables"]["w"]) == 2
    assert set(document["trajectory"][0]["variables"]) == {"w", "b"}   # the data is not trained


def test_tensors_bound_require_wrt():
    code, out, err = cgraph("minimize", REGRESSION, "--X", f"@{DATA}:x1,x2", "--y", f"@{DATA}:y",
                            "--w", "[0,0]", "--b", 0)
    assert code == 2 and out == ""
    assert "--wrt" in err and "X" in err


def test_a_non_scalar_loss_is_refused():
    code, _, err = cgraph("minimize", "w*2", "--w", "[1,2]", "--wrt", "w")
    assert code == 2 and "scalar loss" in err and "sum(...)" in err


# ---------------------------------------------------------------------------------------------
# Output: table with the terminal plot, json, plain, the --plot file
# ---------------------------------------------------------------------------------------------

def test_table_output_has_the_loss_curve_and_the_final_values():
    code, out, err = cgraph("minimize", QUADRATIC, "--x", 0, "--y", 0, *TRAIN_XY, env={"COLUMNS": "100"})
    assert code == 0 and err == ""
    assert "iteration" in out and "loss" in out
    assert "┌" in out and any(ch in out for ch in "⠁⠂⠄⡀⠈⠐⠠⢀")    # plotext's frame and braille curve
    assert "1e0┤" in out and "1e-12┤" in out                       # log scale over 13 decades
    assert "\x1b[" not in out                                       # no colour when not a terminal
    assert "2.99999960508" in out and "converged after 71 iterations" in out
    code, out, _ = cgraph("minimize", QUADRATIC, "--x", 0, "--y", 0, *TRAIN_XY, "--no-plot")
    assert "┌" not in out and "converged after 71 iterations" in out


def test_plain_output():
    code, out, _ = cgraph("minimize", "(x-3)^2", "--x", 0, "--format", "plain")
    lines = out.splitlines()
    assert lines[0].startswith("loss ") and lines[1].startswith("x ")
    assert float(lines[1].split()[1]) == pytest.approx(3, abs=1e-6)


def test_wrt_trains_only_the_named_variables():
    document, _ = trajectory_json(QUADRATIC, "--x", 0, "--y", 5, "--wrt", "x")
    assert set(document["variables"]) == {"x"}
    assert document["variables"]["x"] == pytest.approx(3, abs=1e-6)
    assert document["loss"] == pytest.approx(36, abs=1e-6)          # (y+1)^2 with y fixed at 5
    code, _, err = cgraph("minimize", QUADRATIC, "--x", 0, "--y", 0, "--wrt", "z")
    assert code == 2 and "no variable z" in err


def test_divergence_is_said_and_overflow_is_an_evaluation_error():
    code, _, err = cgraph("minimize", "(x-3)^2", "--x", 0, "--lr", 1.5, "--format", "plain")
    assert code == 0 and "the loss grew from 9" in err and "smaller --lr" in err
    code, out, err = cgraph("minimize", "x^4", "--x", 10, "--lr", 1)
    assert code == 3 and out == ""
    assert "diverged at iteration" in err and "smaller --lr" in err


def test_unbound_variables_and_bad_options():
    assert cgraph("minimize", QUADRATIC, "--x", 0)[0] == 2
    assert cgraph("minimize", QUADRATIC, "--x", 0, "--y", 0, *TRAIN_XY, "--lr", 0)[0] == 2
    assert cgraph("minimize", QUADRATIC, "--x", 0, "--y", 0, *TRAIN_XY, "--method", "sgd2")[0] == 2
    code, _, err = cgraph("minimize", QUADRATIC, "--x", 0, "--y", 0, *TRAIN_XY, "--plot", "loss.gif")
    assert code == 2 and ".png, .svg or .pdf" in err


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_plot_file(tmp_path, suffix, magic):
    pytest.importorskip("matplotlib")
    target = tmp_path / f"loss{suffix}"
    code, out, err = cgraph("minimize", QUADRATIC, "--x", 0, "--y", 0, *TRAIN_XY, "--plot", target, "--no-plot")
    assert code == 0, err
    assert target.read_bytes().startswith(magic)
    if suffix == ".svg":
        assert "iteration" in target.read_text()


def test_plot_file_without_matplotlib_is_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # `import matplotlib` now fails
    code, out, err = cgraph("minimize", QUADRATIC, "--x", 0, "--y", 0, *TRAIN_XY, "--plot", tmp_path / "l.png")
    assert code == 2 and out == ""
    assert "pip install 'cgraph-cli[plot]'" in err
    assert not (tmp_path / "l.png").exists()


# ---------------------------------------------------------------------------------------------
# The progress bar: on a terminal only
# ---------------------------------------------------------------------------------------------

COMMAND = [sys.executable, "-m", "cgraph_cli", "minimize", ROSENBROCK, "--a", "-1", "--b", "1",
           "--wrt", "a", "--wrt", "b", "--method", "adam", "--lr", "0.05", "--iterations", "3000", "--tol", "1e-8"]


def test_no_progress_bar_when_stdout_is_not_a_terminal():
    completed = subprocess.run(COMMAND + ["--no-plot"], capture_output=True, text=True,
                               env=dict(os.environ, TERM="xterm-256color"))
    assert completed.returncode == 0
    assert completed.stderr == ""
    assert "minimizing" not in completed.stdout and "\x1b[" not in completed.stdout
    assert "converged after" in completed.stdout


def test_progress_bar_on_a_terminal():
    """stdout and stderr on a pseudo-terminal: rich draws the bar with the current loss."""
    primary, secondary = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="120")
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(COMMAND, stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary,
                               env=env)
    os.close(secondary)
    output = b""
    while True:
        ready, _, _ = select.select([primary], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(primary, 65536)
        except OSError:   # the terminal closed: the process is done
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=30) == 0
    os.close(primary)
    text = output.decode("utf-8", "replace")
    assert "minimizing" in text and "loss" in text and "|grad|" in text
    assert "converged after" in text
