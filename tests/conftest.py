"""Shared test harness: running `cgraph` in-process as the console script does, the course's staged
program. (The hypothesis strategies for random formulas are in expressions.py.)

Test modules import the helpers by name (`from conftest import run_cgraph`); the same helpers are
also fixtures (`cgraph`, `staged`) for new tests."""

import gc
import json
import sys
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from cgraph_cli.cli import _run, main
from seeds import STAGED, staged_reference  # noqa: F401  (re-exported: the staged program)

# The staged program on one line, as the engine, steps and graph tests write it.
STAGED_ONE_LINE = ("sigy = 1/(1+exp(-y)); num = x + sigy; sigx = 1/(1+exp(-x)); xpy = x + y; "
                   "xpysqr = xpy^2; den = sigx + xpysqr; invden = 1/den; f = num*invden")


class Result(NamedTuple):
    """What a run of `cgraph` gave: unpacks as (code, out, err)."""
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)

    def lines(self):
        """plain / grad output: {label: number}."""
        pairs = (line.rsplit(" ", 1) for line in self.out.splitlines())
        return {label: float(value) for label, value in pairs}


def run_cgraph(*args, input=None, env=None) -> Result:
    """`cgraph ARGS...` in-process through cli._run (errors -> exit codes), `input` on standard input."""
    with CliRunner().isolation(input=input, env=env) as (stdout, stderr, _):
        code = _run([str(a) for a in args], debug=False)
        sys.stdout.flush()
        sys.stderr.flush()
        return Result(int(code), stdout.getvalue().decode(), stderr.getvalue().decode())


def runner(base_env: dict):
    """run_cgraph with environment variables set for every run (e.g. COLUMNS), `env` added over them."""
    def run(*args, input=None, env=None) -> Result:
        return run_cgraph(*args, input=input, env={**base_env, **(env or {})})

    return run


def run_main(*args, input=None, env=None) -> Result:
    """`cgraph ARGS` in-process through cli.main, as the console script runs it (SystemExit -> code)."""
    with CliRunner().isolation(input=input, env=env) as (out, err, _):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        finally:
            gc.enable()    # main() turns the collector off for the one-shot process
        return Result(code, out.getvalue().decode(), err.getvalue().decode())


@pytest.fixture
def cgraph():
    return run_cgraph


@pytest.fixture
def staged():
    return STAGED
