"""Tools for instructors: the student notebooks and the autograder, both made by nbgrader.

Two commands (``python -m companion.instructors --help``)::

    python -m companion.instructors student --output _build/student       # make student
    python -m companion.instructors grade SUBMISSIONS --output _build/grades  # make grade SUBMISSIONS=dir

``student`` writes one ``<chapter>.ipynb`` per chapter that has exercises: nbgrader's
``generate_assignment`` replaces each solution region by ``# YOUR CODE HERE`` /
``raise NotImplementedError()`` and removes the hidden tests; the ``{solution}`` text blocks are
dropped before. ``grade`` runs nbgrader's ``autograde`` and ``generate_feedback`` on every student's
notebooks and writes ``grades.csv`` (one row per student, chapter and exercise) and the feedback
pages. A bad submission (one that raises, loops forever, is missing, is not a notebook, or has its
tests edited or deleted) is graded and reported, never fatal.

Every grading kernel runs in a bubblewrap sandbox (:mod:`.sandbox`), and a test cell's points count
only if the values it published through :func:`companion.checks.expect` match the solution's, compared
outside the student's kernel (:mod:`.comparison`).

Modules: :mod:`.edition` (the chapters, their student notebooks and graded notebooks), :mod:`.course`
(an nbgrader course folder, and nbgrader run in it), :mod:`.nbgrader_server` (nbgrader imported
once per worker, forked for each command), :mod:`.grading` (the autograder),
:mod:`.sandbox`, :mod:`.comparison` and :mod:`.synthetic` (a synthetic class, for the benchmark and
the tests).
"""


class InstructorError(Exception):
    """A problem the instructor can fix; the message says how."""
