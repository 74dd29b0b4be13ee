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

Modules: :mod:`.edition` (the chapters and their student notebooks), :mod:`.course` (an nbgrader
course folder, and nbgrader run in it) and :mod:`.grading` (the autograder).
"""


class InstructorError(Exception):
    """A problem the instructor can fix; the message says how."""
