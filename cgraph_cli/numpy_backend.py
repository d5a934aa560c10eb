"""The NumPy backend now lives in ops/arrays.py."""
# re-export for the command layer; removed at merge
from cgraph_cli.ops import array_table
from cgraph_cli.ops.arrays import NUMPY, unbroadcast  # noqa: F401

OPS = array_table()
