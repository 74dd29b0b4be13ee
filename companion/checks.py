"""``expect``: the check of the exercises' test cells, compared by the grader outside the student's kernel.

A test cell runs in the student's kernel, where the student's code can rewrite anything (NumPy,
builtins, this module) or return objects that claim to equal everything; an ``assert`` there proves
nothing to a grader. So a test cell hands its results to the grader instead::

    expect(chain_gradient(w, b, 1.0, 0.0), product[0], rtol=1e-6)      # visible: feedback too
    expect(chain_gradient(w_test, b_test, x_test, t_test))              # hidden: no expected value

In the student's notebook, ``expect(value, expected)`` compares at once and raises ``AssertionError``
with a readable message (the feedback). When the autograder runs the notebook (``COURSE_GRADING=1``),
``expect`` also publishes ``value`` as plain data (numbers, arrays, strings) in the cell's output; the
grader (:mod:`companion.instructors.comparison`) runs the chapter's solution the same way and gives a
test cell its points only if every value it published matches the solution's, within the tolerance
the *solution's* run asked for. A hidden test must therefore never compute its expected value in the
kernel (the student's code could read it): it calls ``expect(value)`` alone, and the grader compares.
``one_of`` accepts any of several answers (strings, numbers).
"""
import math
import os

import numpy as np

MIME = "application/vnd.course.check+json"
GRADING_VAR = "COURSE_GRADING"


def plain(value):
    """``value`` as plain JSON data: ``{"type": ..., ...}``; what cannot be made plain is "unsupported"."""
    if value is None:
        return {"type": "none"}
    if type(value) is str:
        return {"type": "str", "value": value}
    if isinstance(value, (bool, np.bool_)):
        return {"type": "bool", "value": bool(value)}
    try:
        array = np.asarray(value, dtype=np.float64)
    except Exception:                               # any object that is not numbers
        return {"type": "unsupported", "value": type(value).__name__}
    return {"type": "array", "shape": list(array.shape),
            "value": [x if math.isfinite(x) else repr(x) for x in array.ravel().tolist()]}


def describe(value):
    """A short text of ``value`` for a feedback message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def expect(value, expected=None, *, rtol=1e-7, atol=0.0, one_of=None):
    """Check ``value`` (against ``expected`` or ``one_of`` when given) and hand it to the grader."""
    if os.environ.get(GRADING_VAR) == "1":
        from IPython.display import display
        record = {"value": plain(value), "rtol": float(rtol), "atol": float(atol),
                  "one_of": None if one_of is None else [plain(v) for v in one_of]}
        display({MIME: record, "text/plain": ""}, raw=True)
    if one_of is not None:
        assert any(matches(plain(value), plain(option), 0.0, 0.0) for option in one_of), \
            f"expected one of {describe(list(one_of))}, got {describe(value)}"
    elif expected is not None:
        assert matches(plain(value), plain(expected), rtol, atol), \
            f"expected {describe(expected)} (rtol={rtol:g}, atol={atol:g}), got {describe(value)}"


def matches(got, want, rtol, atol):
    """True if the plain value ``got`` equals ``want``: same type and shape, numbers within tolerance."""
    try:
        if got["type"] != want["type"] or got["type"] == "unsupported":
            return False
        if got["type"] != "array":
            return type(got.get("value")) is type(want.get("value")) and got.get("value") == want.get("value")
        if got["shape"] != want["shape"]:
            return False
        a, b = (np.array([float(x) for x in side["value"]], dtype=np.float64) for side in (got, want))
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))
    except (TypeError, ValueError, KeyError, AttributeError):     # malformed data is no match
        return False
