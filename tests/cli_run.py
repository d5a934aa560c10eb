"""Run the cgraph command line in-process, as the console script does (errors -> exit codes)."""

import sys
from typing import NamedTuple

from click.testing import CliRunner

from cgraph_cli.cli import _run


class Result(NamedTuple):
    code: int
    out: str
    err: str


def cgraph(*args, input=None, env=None) -> Result:
    """`cgraph ARGS...` with `input` on standard input: (exit code, stdout, stderr)."""
    with CliRunner().isolation(input=input, env=env) as (stdout, stderr, _):
        code = _run([str(a) for a in args], debug=False)
        sys.stdout.flush()
        sys.stderr.flush()
        return Result(int(code), stdout.getvalue().decode(), stderr.getvalue().decode())
