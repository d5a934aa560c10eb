"""Renderers: pure functions from a result to str or a rich renderable, one module per command
(render/eval.py, render/check.py, ...), each with its RENDERERS mapping of --format names.

rich is imported only by the human formats, inside their functions, so the json and plain paths
start without it."""
