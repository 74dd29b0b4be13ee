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


def table(frame, columns=None, caption=None, digits=3, index_name=None):
    """A pandas ``Styler`` for a table in a chapter: readable column names, padded cells.

    ``columns`` maps the frame's column names to the names a reader sees (and selects them, in that
    order); numbers are shown with ``digits`` significant digits, missing values as a dash.
    """
    if columns:
        frame = frame[list(columns)].rename(columns=columns)
    if index_name is not None:
        frame = frame.rename_axis(index_name)
    styler = frame.style.format(f"{{:.{digits}g}}", subset=frame.select_dtypes("number").columns,
                                na_rep="–")
    styler = styler.set_table_styles([
        {"selector": "th, td", "props": "padding: 0.3em 0.8em; text-align: right;"},
        {"selector": "caption", "props": "caption-side: top; padding-bottom: 0.4em;"},
    ])
    return styler.set_caption(caption) if caption else styler
