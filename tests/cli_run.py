"""Kept for the test modules that import `from cli_run import cgraph`: the runner is conftest's."""

from conftest import Result, run_cgraph as cgraph  # noqa: F401
