"""A synthetic class: submissions with right, missing, partial, crashing and endless answers.

``make_class(folder, kinds)`` writes ``<folder>/<student>/<chapter>.ipynb`` for every chapter with
exercises, each student's notebooks made from the student edition and the chapter's solutions as a
student of that kind would hand them in. The grading benchmark (``make bench-grading``) grades such a
class, and the tests use it to check the scores each kind must get (:func:`expected_scores`).
"""
import copy
from pathlib import Path

import jupytext
import nbformat

from .course import atomic_write
from .edition import make_student_edition, toc_chapters

KINDS = {
    "right": "every answer solved",
    "blank": "the student notebook untouched (every answer raises NotImplementedError)",
    "partial": "the first answer solved, the others untouched",
    "crash": "every answer solved, and a cell raising ZeroDivisionError after the first answer",
    "endless": "the first answer an endless loop, the others solved",
}
# A class's mix: mostly right, with one of every kind of trouble.
MIX = ("right", "right", "blank", "partial", "right", "crash", "right", "endless", "right", "partial")


def answer_indices(notebook):
    """Indices of the answer cells (nbgrader ``solution: true``), in order."""
    return [i for i, cell in enumerate(notebook.cells) if cell.metadata.get("nbgrader", {}).get("solution")]


def solved(source):
    """A solution cell's source as a student would write it: without the nbgrader markers."""
    return "\n".join(line for line in source.splitlines() if "### " not in line)


def submission(kind, student, solution):
    """The notebook a student of ``kind`` hands in, from the student edition and the solved chapter."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of submission {kind!r}: one of {', '.join(KINDS)}")
    notebook = copy.deepcopy(student)
    answers, solutions = answer_indices(notebook), answer_indices(solution)
    for number, (i, j) in enumerate(zip(answers, solutions)):
        if kind in ("right", "crash") or (kind == "partial" and number == 0) or (kind == "endless" and number):
            notebook.cells[i].source = solved(solution.cells[j].source)
    if kind == "endless":
        notebook.cells[answers[0]].source = "while True:\n    pass"
    if kind == "crash":
        notebook.cells.insert(answers[0] + 1, nbformat.v4.new_code_cell("1 / 0"))
    return notebook


def expected_scores(kind, points):
    """The scores a ``kind`` of submission must get, given the exercises' ``points`` in order."""
    keep = {"right": [True] * len(points), "crash": [True] * len(points),
            "blank": [False] * len(points), "partial": [True] + [False] * (len(points) - 1),
            "endless": [False] + [True] * (len(points) - 1)}[kind]
    return [p if k else 0.0 for p, k in zip(points, keep)]


def make_class(folder, kinds=MIX, chapters=None):
    """Write one folder per student (``student-01``...) under ``folder``; ``{student: kind}``."""
    folder = Path(folder)
    editions = folder / ".student-edition"
    paths = make_student_edition(editions, chapters)
    sources = toc_chapters()
    students = {f"student-{n:02d}": kind for n, kind in enumerate(kinds, 1)}
    for path in paths:
        student = nbformat.read(path, as_version=4)
        solution = jupytext.read(sources[path.stem])
        for name, kind in students.items():
            atomic_write(folder / name / path.name, nbformat.writes(submission(kind, student, solution)))
        path.unlink()
    editions.rmdir()
    return students
