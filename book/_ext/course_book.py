"""The course's Sphinx extension: a size-aware execution cache and the student edition of the book.

- Jupyter Book's execution cache is keyed on a notebook's source, not on ``COURSE_SIZE``: a chapter run
  at the quick size would be served to a full-size build. Each size gets its own cache folder,
  ``_build/.jupyter_cache-quick`` and ``_build/.jupyter_cache-full``.
- The student edition (``make book-student``): with ``COURSE_EDITION=student`` in the environment it sets sphinx-exercise's ``hide_solutions`` (the
``{solution}`` blocks disappear) and edits the exercises' code cells the way nbgrader's
``generate_assignment`` edits the notebooks: a solution region becomes ``# YOUR CODE HERE`` /
``raise NotImplementedError()``, and hidden tests are removed. Cells are recognized by their nbgrader
metadata, so the book and the student notebooks cannot disagree about what is a solution.
"""
import os
import re

from docutils import nodes

SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION.*?### END SOLUTION[ \t]*$", re.S | re.M)
HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S | re.M)


def student_source(source, nbgrader):
    """The source a student sees of a cell with ``nbgrader`` metadata."""
    if nbgrader.get("solution"):
        source = SOLUTION.sub(r"\1# YOUR CODE HERE\n\1raise NotImplementedError()", source)
    if nbgrader.get("grade"):
        source = HIDDEN_TESTS.sub("", source)
    return source


def _configure(app, config):
    size = os.environ.get("COURSE_SIZE", "full").strip().lower() or "full"
    config.nb_execution_cache_path = os.path.join(app.confdir, "_build", f".jupyter_cache-{size}")
    if os.environ.get("COURSE_EDITION") == "student":
        config.hide_solutions = True


def _edit_cells(app, doctree):
    if not app.config.hide_solutions:
        return
    for cell in doctree.findall(nodes.container):
        nbgrader = (cell.get("cell_metadata") or {}).get("nbgrader") or {}
        if cell.get("nb_element") != "cell_code" or not nbgrader:
            continue
        for block in cell.findall(nodes.literal_block):
            if block.parent.get("nb_element") == "cell_code_source":
                text = student_source(block.astext(), nbgrader)
                block.children = [nodes.Text(text)]
                block.rawsource = text


def setup(app):
    app.connect("config-inited", _configure)
    app.connect("doctree-read", _edit_cells)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
