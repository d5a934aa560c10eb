"""Advice that points the right way (issue 10 §4): each slip gets the suggestion the user meant.

Run as real processes, as a user's shell runs cgraph: exit code, empty stdout, the message text.
"""

import subprocess
import sys

import pytest


def run(*args, input=None):
    done = subprocess.run([sys.executable, "-m", "cgraph_cli", *map(str, args)], input=input,
                          capture_output=True, text=True, encoding="utf-8", timeout=60)
    return done.returncode, done.stdout, done.stderr


def advised(args, *phrases, code=2):
    returncode, out, err = run(*args)
    assert returncode == code, err
    assert out == ""
    assert err.startswith("cgraph: ") and "Traceback" not in err
    for phrase in phrases:
        assert phrase in err, err
    return err


@pytest.mark.parametrize("text, advice", [
    ("sin x", "write sin(x)"),
    ("2 x", "write 2*x"),
    ("x − 1", "U+2212 MINUS SIGN: write -"),
    ("2×x", "U+00D7 MULTIPLICATION SIGN: write *"),
    ("x·y", "U+00B7 MIDDLE DOT: write *"),
    ("x ÷ 2", "U+00F7 DIVISION SIGN: write /"),
    ("x²", "U+00B2 SUPERSCRIPT TWO: write ^2"),
    ("x³", "U+00B3 SUPERSCRIPT THREE: write ^3"),
    ("x\u00a0+ 1", "U+00A0 NO-BREAK SPACE: write a plain space"),
    ("“x+1”", "U+201C LEFT DOUBLE QUOTATION MARK"),
    ("np.exp(x)", "cgraph's functions need no module prefix: write exp(x)"),
    ("math.sin(x)", "write sin(x)"),
    ("torch.relu(x)", "write relu(x)"),
    ("F.relu(x)", "write relu(x)"),
    ("jnp.tanh(x)", "write tanh(x)"),
    ("f(x) = x^2", "write the body only: x^2, or a program line f = x^2"),
])
def test_parse_advice(text, advice):
    err = advised(["eval", text, "--x", 1, "--y", 2], "parse error", advice)
    assert "\nexpected " not in err   # the advice replaces the list of tokens


def test_tensor_literal_without_commas():
    advised(["eval", "sum(W)", "--W", "[1 2 3]"], "a tensor literal needs commas", "[1, 2, 3]")
    advised(["eval", "sum(W)", "--W", "[[1 2] [3 4]]"], "[[1, 2], [3, 4]]")
