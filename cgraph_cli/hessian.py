"""Kept importable for the tests that still import `cgraph_cli.hessian.hessian_rows`: the code is in
derivatives.py (the command in commands/hessian.py). Remove once nothing imports it."""

from cgraph_cli.derivatives import hessian_rows  # noqa: F401
