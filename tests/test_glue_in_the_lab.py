"""In a notebook (JupyterLab), glue shows the values the prose quotes under their cell; in the book's
build (COURSE_BOOK_BUILD=1, set by book/_ext/course_book.py) it shows nothing."""
import os

import nbformat
import pytest
from nbclient import NotebookClient

CELLS = ["from companion.book import glue\nglue('ratio', 6950.98969)\nglue('n_seeds', 3)",
         "glue('angle', 41.4716)"]


def run(tmp_path, **env):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    saved = dict(os.environ)
    os.environ.pop("COURSE_BOOK_BUILD", None)
    os.environ.update(env)
    try:
        NotebookClient(notebook, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return [[out["data"]["text/plain"] for out in cell.outputs if "text/plain" in out.get("data", {})]
            for cell in notebook.cells]           # (glue's own outputs are papermill records)


def test_each_cell_shows_one_line_of_the_values_it_quotes(tmp_path):
    assert run(tmp_path) == [["quoted in the text: ratio = 6951, n_seeds = 3"], ["quoted in the text: angle = 41.47"]]


def test_the_book_build_shows_nothing(tmp_path):
    assert run(tmp_path, COURSE_BOOK_BUILD="1") == [[], []]


def test_a_script_shows_nothing(capsys):
    pytest.importorskip("myst_nb")
    from companion.book import glue
    glue("x", 1.0)
    assert capsys.readouterr().out == ""
