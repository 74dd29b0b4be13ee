"""The chapters of ``_toc.yml``, their exercises, and the student edition of their notebooks.

A chapter is a MyST Markdown notebook; its exercises are cells with nbgrader metadata (see the
"Exercises" section of ``book/intro.md``). The student notebook of a chapter is made by nbgrader's
``generate_assignment`` from the chapter read by jupytext, minus its ``{solution}`` text blocks: the
whole chapter, which students read and run.

The *graded* notebook of a chapter is lighter: its set-up cells (code cells tagged
``exercise-setup``, the imports and data the exercises use) followed by its exercises section (from
the first ``{exercise}`` block or nbgrader cell to the end). The chapter's experiments are not in it,
so a submission grades in seconds; :func:`graded_notebook` makes it, from the chapter for the
assignment and from a student's notebook for the submission (whose set-up cells are the release's,
not the student's).
"""
import copy
import re
import shutil
from pathlib import Path

import jupytext
import nbformat
import yaml

from . import InstructorError
from .course import Course, atomic_copy

WORK_FOLDER = ".nbgrader"
SOLUTION_OPEN = re.compile(r"^[ \t]*(`{3,}|:{3,})[ \t]*\{solution", re.M)
EXERCISE_OPEN = re.compile(r"^[ \t]*(`{3,}|:{3,})[ \t]*\{exercise", re.M)
SETUP_TAG = "exercise-setup"
CHECK_TAG = "solution-check"        # a cell asserting the solutions' claims: in the book only


def course_root():
    """The folder of ``_toc.yml``: the source checkout the companion package is installed from."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "_toc.yml").exists():
        raise InstructorError(f"no _toc.yml in {root}: run from a source checkout of the course "
                              "(pip install -e . in the repository)")
    return root


def toc_chapters(root=None):
    """``{name: path}`` of the chapters of ``_toc.yml``, in the book's order (name: the file's stem)."""
    root = Path(root) if root else course_root()
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = []

    def walk(entry):
        if isinstance(entry, dict):
            if "file" in entry:
                files.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                for child in entry.get(key) or []:
                    walk(child)

    walk({**toc, "file": toc["root"]})
    chapters = {}
    for file in files:
        path = root / file
        if path.suffix not in (".md", ".ipynb"):
            candidates = [path.parent / f"{path.name}.md", path.parent / f"{path.name}.ipynb"]
            path = next((p for p in candidates if p.exists()), candidates[0])
        chapters[path.stem] = path
    return chapters


def is_solution_block(cell, where="a chapter"):
    """True if ``cell`` is a markdown cell holding one ``{solution}`` directive and nothing else.

    Raises :class:`InstructorError` if the cell holds a ``{solution}`` directive and other text too,
    which dropping the cell would lose.
    """
    found = SOLUTION_OPEN.search(cell.source) if cell.cell_type == "markdown" else None
    if not found:
        return False
    block = cell.source[found.start():].splitlines()[0].strip()
    lines = cell.source.strip().splitlines()
    opening = SOLUTION_OPEN.match(lines[0])
    fence = opening.group(1) if opening else None
    closing = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == fence), None)
    if opening and closing is None:
        raise InstructorError(f"{where}: the block {block!r} is not closed by a {fence} line")
    if opening and closing == len(lines) - 1:
        return True
    other = " ".join(" ".join(lines[closing + 1:] if opening else lines[:1]).split())
    raise InstructorError(
        f"{where}: the block {block!r} shares its markdown cell with other text, which the student "
        f"edition would drop with it ({other[:70]!r}...). Put a `+++` line before and after the block "
        f"so that it is a markdown cell of its own.")


def has_exercises(notebook):
    """True if some cell of ``notebook`` has nbgrader metadata."""
    return any("nbgrader" in cell.metadata for cell in notebook.cells)


def exercises_start(notebook):
    """Index of the first cell of the exercises: the first ``{exercise}`` block or nbgrader cell."""
    for i, cell in enumerate(notebook.cells):
        if "nbgrader" in cell.metadata or (cell.cell_type == "markdown" and EXERCISE_OPEN.search(cell.source)):
            return i
    return len(notebook.cells)


def setup_cells(notebook):
    """The code cells tagged ``exercise-setup`` before the exercises, in order."""
    return [cell for cell in notebook.cells[:exercises_start(notebook)]
            if cell.cell_type == "code" and SETUP_TAG in cell.metadata.get("tags", [])]


def graded_notebook(chapter, answers=None):
    """The notebook the autograder runs: ``chapter``'s set-up cells and metadata, then the exercises
    section of ``answers`` (a student's notebook; default: ``chapter`` itself).

    Only the exercises section of a submission is graded: what a student changed in the reading above
    it does not run, and cells a student added inside it do.
    """
    answers = chapter if answers is None else answers
    graded = nbformat.v4.new_notebook(metadata=copy.deepcopy(chapter.metadata))
    graded.cells = copy.deepcopy(setup_cells(chapter) + answers.cells[exercises_start(answers):])
    return graded


def read_chapter(path):
    """The notebook of the chapter at ``path``: no ``{solution}`` blocks, no cells tagged
    ``solution-check``, no outputs, no jupytext pairing."""
    notebook = jupytext.read(path)
    notebook.cells = [cell for i, cell in enumerate(notebook.cells)
                      if not is_solution_block(cell, f"{path}, cell {i + 1}")
                      and CHECK_TAG not in cell.metadata.get("tags", [])]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.metadata.pop("jupytext", None)    # a student's notebook is not paired with our .md
    return notebook


def select_chapters(names=None, root=None):
    """``{name: notebook}`` of the chapters with exercises (all, or those in ``names``), in book order."""
    chapters = toc_chapters(root)
    unknown = [name for name in names or [] if name not in chapters]
    if unknown:
        raise InstructorError(f"unknown chapter(s) {', '.join(unknown)}: the chapters of _toc.yml are "
                              f"{', '.join(chapters)}")
    selected = {}
    for name, path in chapters.items():
        if names and name not in names:
            continue
        notebook = read_chapter(path)
        if has_exercises(notebook):
            selected[name] = notebook
        elif names:
            raise InstructorError(f"chapter {name} has no exercises (no cell with nbgrader metadata in "
                                  f"{path.name}); leave it out of --chapters")
    if not selected:
        raise InstructorError("no chapter of _toc.yml has exercises (cells with nbgrader metadata); "
                              "see the Exercises section of book/intro.md for the format")
    return selected


def make_student_edition(output, chapters=None):
    """Write ``<output>/<chapter>.ipynb`` for each chapter with exercises; return the paths written.

    nbgrader runs in ``<output>/.nbgrader``, which is removed afterwards: it holds the solutions.
    """
    output = Path(output).resolve()
    notebooks = select_chapters(chapters)
    written = []
    try:
        with Course(output / WORK_FOLDER) as course:
            for name, notebook in notebooks.items():
                release = course.generate(name, notebook)
                atomic_copy(release, output / f"{name}.ipynb")
                written.append(output / f"{name}.ipynb")
    finally:
        shutil.rmtree(output / WORK_FOLDER, ignore_errors=True)
    return written
