"""The two sizes every chapter runs at: ``quick`` (CI, ``make test``) and ``full`` (the built book).

One environment variable, ``COURSE_SIZE``, picks the size of every run in the course (how much data,
how many epochs or steps). A chapter asks for its numbers with :func:`pick`::

    from companion import sizes
    n_train = sizes.pick(quick=2_000, full=55_000)

and its assertions must hold at both sizes. Unset, the size is ``full`` (a student running a chapter in
JupyterLab gets the numbers of the book); ``make test`` and CI set ``COURSE_SIZE=quick``.
"""
import os

SIZES = ("quick", "full")
ENV_VAR = "COURSE_SIZE"


def current():
    """The size in force: the value of ``COURSE_SIZE`` (``quick`` or ``full``), ``full`` if unset."""
    value = os.environ.get(ENV_VAR, "full").strip().lower() or "full"
    if value not in SIZES:
        raise ValueError(f"{ENV_VAR}={value!r} is not a course size: set it to 'quick' or 'full' "
                         f"(or leave it unset for 'full').")
    return value


def is_quick():
    """True when the course runs at the quick (CI) size."""
    return current() == "quick"


def pick(*, quick, full):
    """Return ``quick`` or ``full`` according to :func:`current`.

    >>> pick(quick=2, full=20)  # doctest: +SKIP
    """
    return quick if is_quick() else full
