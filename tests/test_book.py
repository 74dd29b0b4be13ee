"""The book's sources follow the course's conventions, and the student edition shows no solution.

- Every tab-set shows the three dialects with the sync keys ``tf1``, ``keras``, ``torch``, and every
  ``literalinclude :pyobject:`` names a function that exists in the companion (the book shows the
  tested source, never a copy).
- Every exercise follows the format of CONTRIBUTING.md.
- ``make book-student``'s build contains no solution text.
"""
import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

from companion.instructors.edition import is_solution_block, toc_chapters

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from course_book import SOLUTION, HIDDEN_TESTS  # noqa: E402


def notebook_chapters():
    """The pages of ``_toc.yml`` that are notebooks (front matter with a kernelspec)."""
    return [p for p in toc_chapters(ROOT).values() if "kernelspec:" in p.read_text().split("\n---", 1)[0]]


CHAPTERS = notebook_chapters()
IDS = [p.stem for p in CHAPTERS]


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_tab_sets_show_the_three_dialects_from_the_companion(path):
    text = path.read_text()
    for tab_set in re.findall(r"(:{4,}\{tab-set\}.*?\n:{4,}\n)", text, re.S):
        keys = re.findall(r":sync: (\S+)", tab_set)
        assert keys == ["tf1", "keras", "torch"], f"{path.name}: tab-set with sync keys {keys}"
    for source, name in re.findall(r"\{literalinclude\} (\S+)\n(?::[^\n]*\n)*?:pyobject: (\S+)", text):
        module = (path.parent / source).resolve()
        assert module.is_file(), f"{path.name}: literalinclude of a missing file {source}"
        defined = {n.name for n in ast.walk(ast.parse(module.read_text()))
                   if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        assert set(name.split(".")) <= defined, f"{path.name}: {source} defines no {name}"  # or Class.method


def _exercise_cells(path):
    notebook = jupytext.read(path)
    return notebook, [c for c in notebook.cells if c.metadata.get("nbgrader")]


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_exercises_follow_the_format(path):
    notebook, cells = _exercise_cells(path)
    text = path.read_text()
    exercises = re.findall(r"\{exercise\}\n:label: (\S+)", text)
    solutions = re.findall(r"\{solution\} (\S+)", text)
    assert exercises == solutions, f"{path.name}: every exercise needs one solution block, in order"
    ids = [c.metadata["nbgrader"]["grade_id"] for c in cells]
    assert len(ids) == len(set(ids)), f"{path.name}: nbgrader grade_ids must be unique: {ids}"
    tests = [c for c in cells if c.metadata["nbgrader"].get("grade")]
    assert [c.metadata["nbgrader"]["grade_id"] for c in tests] == exercises, \
        f"{path.name}: each exercise's autograded test cell is named by the exercise's label"
    for cell in cells:
        meta = cell.metadata["nbgrader"]
        if meta.get("solution"):
            assert cell.cell_type == "code" and SOLUTION.search(cell.source), meta["grade_id"]
            assert "hide-input" in cell.metadata.get("tags", []), f"{meta['grade_id']}: fold the solution"
        if meta.get("grade"):
            assert meta.get("locked") and meta.get("points", 0) > 0, meta["grade_id"]
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and "{solution}" in cell.source:
            assert is_solution_block(cell, path.name)   # raises, saying what to fix, if it is not alone


def _solution_texts(path):
    """Lines that appear only in solutions: solution regions, hidden tests, solution blocks."""
    notebook, cells = _exercise_cells(path)
    texts = []
    for cell in cells:
        for match in [*SOLUTION.finditer(cell.source), *HIDDEN_TESTS.finditer(cell.source)]:
            texts += [ln.strip() for ln in match.group(0).splitlines()[1:-1] if len(ln.strip()) > 12]
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and "{solution}" in cell.source:
            texts += [ln.strip() for ln in cell.source.splitlines()[3:-1] if len(ln.strip()) > 30]
    return texts


def test_student_book_has_no_solutions(tmp_path):
    env = {**os.environ, "COURSE_EDITION": "student", "COURSE_SIZE": "quick", "COURSE_PROGRESS": "0"}
    jb = Path(sys.executable).with_name("jupyter-book")
    build = subprocess.run([str(jb), "build", str(ROOT), "--all", "-W", "-n", "--keep-going",
                            "--path-output", str(tmp_path)], env=env, timeout=1200, capture_output=True,
                           text=True)
    assert build.returncode == 0, "the student book did not build:\n" + "\n".join(
        line for line in (build.stdout + build.stderr).splitlines() if "WARNING" in line or "rror" in line)
    import html
    for path in CHAPTERS:
        texts = _solution_texts(path)
        if not texts:
            continue
        page = (tmp_path / "_build" / "html" / path.relative_to(ROOT).with_suffix(".html")).read_text()
        page = html.unescape(re.sub(r"<[^>]+>", "", page))
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"):
            assert marker not in page, f"{path.name}: {marker!r} in the student book"
        for line in texts:
            assert line not in page, f"{path.name}: solution text in the student book: {line!r}"
        assert "YOUR CODE HERE" in page
