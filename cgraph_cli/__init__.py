"""cgraph: formulas to computational graphs, forward values and reverse-mode gradients."""

__version__ = "0.3.0"
