"""Helpers for the chapters' cells: quoting numbers in the prose."""
import numbers
import os
import uuid

import numpy as np

BOOK_BUILD_VARIABLE = "COURSE_BOOK_BUILD"     # set by book/_ext/course_book.py while the book builds
_quoted = {"cell": None, "display_id": None, "items": []}


def glue(name, value):
    """``myst_nb.glue(name, value, display=False)`` for a number, as a plain Python number.

    NumPy 2 scalars print as ``np.float64(0.25)``, which myst-nb's ``{glue:text}`name:.2f``` cannot
    format; this converts them first. Returns nothing, so a glue on a cell's last line prints nothing.
    Outside the book's build (in JupyterLab, where ``{glue:text}`` roles cannot render), the cell also
    shows one line, ``quoted in the text: name = value, ...``, so the number the prose quotes is there.
    """
    from myst_nb import glue as _glue

    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, (numbers.Number, str)):
        raise TypeError(f"glue {name!r}: expected a number or a string, got {type(value).__name__}")
    _glue(name, value, display=False)
    if not os.environ.get(BOOK_BUILD_VARIABLE):
        _show_quoted(name, value)


def _show_quoted(name, value):
    """In a notebook (JupyterLab, not the book), one line under the cell: the values its glue calls
    quote, since ``{glue:text}`` roles only render in the book (in the lab they read ``name:.2f``)."""
    try:
        from IPython import get_ipython
        from IPython.display import display, update_display
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):      # a script or a terminal: nothing to show
        return
    if _quoted["cell"] != shell.execution_count:
        _quoted.update(cell=shell.execution_count, display_id=uuid.uuid4().hex, items=[])
        show = display
    else:
        show = update_display
    _quoted["items"].append(f"{name} = {value:.4g}" if isinstance(value, numbers.Number) and
                            not isinstance(value, bool) else f"{name} = {value}")
    show({"text/plain": "quoted in the text: " + ", ".join(_quoted["items"])}, raw=True,
         display_id=_quoted["display_id"])


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
