"""Kept importable for the tests that still import `cgraph_cli.diff.derivatives`: the code is in
derivatives.py (the command in commands/diff.py). Remove once nothing imports it."""

from cgraph_cli.derivatives import derivatives, differentiate_again, node_for, substitute  # noqa: F401
