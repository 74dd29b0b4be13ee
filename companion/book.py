"""Helpers for the chapters' cells: quoting numbers in the prose."""
import numbers

import numpy as np


def glue(name, value):
    """``myst_nb.glue(name, value, display=False)`` for a number, as a plain Python number.

    NumPy 2 scalars print as ``np.float64(0.25)``, which myst-nb's ``{glue:text}`name:.2f``` cannot
    format; this converts them first. Returns nothing, so a glue on a cell's last line prints nothing.
    """
    from myst_nb import glue as _glue

    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, (numbers.Number, str)):
        raise TypeError(f"glue {name!r}: expected a number or a string, got {type(value).__name__}")
    _glue(name, value, display=False)
