"""Shared test harness: running `cgraph` in-process as the console script does, the course's staged
program. (The hypothesis strategies for random formulas are in expressions.py.)

Test modules import the helpers by name (`from conftest import run_cgraph`); the same helpers are
also fixtures (`cgraph`, `staged`) for new tests."""

import gc
import json
import os
import pty
import select
import subprocess
import sys
import time
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


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "CGRAPH_DEBUG", "COLUMNS", "TTY_COMPATIBLE")}
    env.update(extra)
    return env


def on_terminal(args, **env):
    """Run with stdout on a pseudo-terminal; return what it printed there."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "cgraph_cli", *args], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=subprocess.PIPE,
                            env=clean_env(TERM="xterm-256color", **env))
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    proc.wait(timeout=10)
    assert proc.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace")
