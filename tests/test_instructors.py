"""The instructors' tools on the intro: the student notebook (nbgrader generate_assignment) and the
autograder (nbgrader autograde), with good and bad submissions.

All the students are graded by one ``grade`` run (a module-scoped fixture), so the intro is executed
once per submission; the assertions read its ``grades.csv``.
"""
import copy
import csv
import importlib.util
import json
import os
import subprocess
import sys

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from companion.instructors import InstructorError, edition, grading, synthetic
from companion.instructors.__main__ import main

CHAPTER = "intro"
TIMEOUT = 15
ROOT = edition.course_root()
SOURCE = edition.toc_chapters()[CHAPTER]
# A submission that looks for the gradebook, the solutions, the other submissions and the network, and
# tries to write into the repository; it prints what it reached.
HOSTILE = """import glob, json, socket
reached = {{"found": [p for pattern in ("{output}/**/gradebook.db", "{output}/**/source/**", "{subs}/*/*",
                                        "{root}/book/*.md") for p in glob.glob(pattern, recursive=True)]}}
try:
    open("{root}/hacked.txt", "w").write("x")
    reached["wrote"] = True
except OSError:
    reached["wrote"] = False
try:
    socket.create_connection(("pypi.org", 443), timeout=3)
    reached["network"] = True
except OSError:
    reached["network"] = False
print("REACHED " + json.dumps(reached))
def chain_gradient(w, b, x, t):
    return 0.0
"""
# Wrong answers that make every test pass inside the kernel: rewritten NumPy and checks, and an object
# equal to everything.
TRICKS = ("""import math, numpy as np
import companion.checks
np.isclose = np.allclose = lambda *args, **kwargs: True
math.isclose = lambda *args, **kwargs: True
companion.checks.matches = lambda *args: True
def chain_gradient(w, b, x, t):
    return 0.0
""", """class Anything(float):
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False
    __hash__ = float.__hash__
def guaranteed_depth(threshold):
    return Anything(0.0)
""")
HIDDEN = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "{solution}")


def cli(*args, **options):
    """``python -m companion.instructors ARGS`` from the repository, as ``make`` runs it."""
    return subprocess.run([sys.executable, "-m", "companion.instructors", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900, **options)


def nbgrader_cells(notebook, kind):
    """Indices of the answer (``"solution"``) or autograded test (``"test"``) cells, in order."""
    found = []
    for i, cell in enumerate(notebook.cells):
        meta = cell.metadata.get("nbgrader", {})
        if (kind == "solution" and meta.get("solution")) or (kind == "test" and meta.get("grade")
                                                             and not meta.get("solution")):
            found.append(i)
    return found


def grade_id(cell):
    return cell.metadata["nbgrader"]["grade_id"]


def files_under(folder, skip=(".git", ".venv", "_build", "__pycache__")):
    """The set of files under ``folder`` (relative paths), outside the ``skip`` folders."""
    found = set()
    for parent, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if name not in skip]
        found.update(os.path.relpath(os.path.join(parent, name), folder) for name in files)
    return found


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """The student notebook of the intro, written by ``python -m companion.instructors student``."""
    output = tmp_path_factory.mktemp("student")
    result = cli("student", "--output", output, "--chapters", CHAPTER)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in output.iterdir()) == [f"{CHAPTER}.ipynb"]   # no work folder left
    return output / f"{CHAPTER}.ipynb"


@pytest.fixture(scope="module")
def graded(released, tmp_path_factory):
    """One ``grade`` run over every kind of submission; ``(output, {(student, exercise): row}, run)``."""
    base = tmp_path_factory.mktemp("grading")
    subs, output, home, tmp = (base / name for name in ("submissions", "output", "home", "tmp"))
    for folder in (subs, home, tmp):
        folder.mkdir()
    student = nbformat.read(released, as_version=4)
    solution = jupytext.read(SOURCE)
    answers, tests = nbgrader_cells(student, "solution"), nbgrader_cells(student, "test")
    sol_answers = nbgrader_cells(solution, "solution")

    def submit(name, notebook=None, text=None):
        (subs / name).mkdir()
        if notebook is not None:
            nbformat.write(notebook, subs / name / f"{CHAPTER}.ipynb")
        if text is not None:
            (subs / name / f"{CHAPTER}.ipynb").write_text(text)

    def copy():
        return nbformat.from_dict(nbformat.reads(nbformat.writes(student), as_version=4))

    submit("full", solution)                                     # (a) the chapter with its solutions
    submit("blank", student)                                     # (b) the untouched student notebook
    one = copy()                                                 # (c) first exercise solved, and a crash
    one.cells[answers[0]].source = synthetic.solved(solution.cells[sol_answers[0]].source)
    one.cells.append(nbformat.v4.new_code_cell("1 / 0"))
    copied = nbformat.from_dict(one.cells[answers[1]])           # a copy of an answer cell, to try things
    copied.id = "copied-answer"
    one.cells.insert(answers[1] + 1, copied)
    submit("one_solved", one)
    loop = copy()                                                # (d) first answer loops, others solved
    loop.cells[answers[0]].source = "while True:\n    pass"
    for i, j in zip(answers[1:], sol_answers[1:]):
        loop.cells[i].source = synthetic.solved(solution.cells[j].source)
    submit("loop", loop)
    submit("missing")                                            # (e) no notebook
    (subs / "missing" / "notes.txt").write_text("forgot the notebook")
    tampered = copy()                                            # (f) edited test + wrong answer,
    tampered.cells[answers[0]].source = "def chain_gradient(w, b, x, t):\n    return 0.0"
    tampered.cells[tests[0]].source = "assert True"              #     deleted test + right answer
    tampered.cells[answers[1]].source = synthetic.solved(solution.cells[sol_answers[1]].source)
    del tampered.cells[tests[1]]
    submit("tampered", tampered)
    submit("unreadable", text="this is not a notebook")         # (g)
    hostile = copy()                                             # (h) looks for the grades and solutions
    hostile.cells[answers[0]].source = HOSTILE.format(output=output, subs=subs, root=ROOT)
    submit("hostile", hostile)
    dies = copy()                                                # (i) kills its kernel, then (j) eats memory
    dies.cells[answers[0]].source = "import os\nos._exit(1)"
    submit("dies", dies)
    greedy = copy()
    greedy.cells[answers[0]].source = "import numpy as np\nblock = np.ones(2 ** 31)   # 16 GiB"
    submit("greedy", greedy)
    tricks = copy()                                              # (k) rewrites the checks, fakes equality
    tricks.cells[answers[0]].source = TRICKS[0]
    tricks.cells[answers[1]].source = TRICKS[1]
    submit("tricks", tricks)
    flood = copy()                                               # (l) prints 5 MB
    flood.cells[answers[0]].source = "print('x' * 5_000_000)"
    submit("flood", flood)

    repo_before, subs_before = files_under(ROOT), {p: p.stat().st_mtime_ns for p in subs.rglob("*")}
    tmp_mode = tmp.stat().st_mode
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmp)}
    run = cli("grade", subs, "--output", output, "--timeout", TIMEOUT, "--chapters", CHAPTER, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    run.stray = {"repo": files_under(ROOT) - repo_before, "home": files_under(home),
                 "tmp": files_under(tmp), "tmp touched": tmp.stat().st_mode != tmp_mode,
                 "submissions touched": {p: p.stat().st_mtime_ns for p in subs.rglob("*")} != subs_before}
    with open(output / "grades.csv", newline="") as f:
        rows = {(row["student"], row["exercise"]): row for row in csv.DictReader(f)}
    return output, rows, run


@pytest.fixture(scope="module")
def exercises(released):
    """``[(grade_id, points)]`` of the intro's autograded tests, in order."""
    notebook = nbformat.read(released, as_version=4)
    return [(grade_id(notebook.cells[i]), float(notebook.cells[i].metadata.nbgrader.points))
            for i in nbgrader_cells(notebook, "test")]


def scores(rows, student, exercises):
    return [float(rows[student, exercise]["score"]) for exercise, _ in exercises]


def status(rows, student, exercises):
    statuses = {rows[student, exercise]["status"] for exercise, _ in exercises}
    assert len(statuses) == 1                      # one status per notebook, on each of its rows
    return statuses.pop()


# The student notebook.

def test_student_notebook_has_stubs_and_no_solutions(released):
    text = released.read_text()
    assert not [marker for marker in HIDDEN if marker in text]
    notebook = nbformat.read(released, as_version=4)
    assert nbgrader_cells(notebook, "solution") and nbgrader_cells(notebook, "test")
    for i in nbgrader_cells(notebook, "solution"):
        assert "# YOUR CODE HERE\n    raise NotImplementedError()" in notebook.cells[i].source
    for cell in notebook.cells:
        if "nbgrader" in cell.metadata:
            assert len(cell.metadata.nbgrader["checksum"]) == 32
        assert not cell.get("outputs") and not cell.get("execution_count")
    assert "jupytext" not in notebook.metadata          # not paired with a .md in the student's Jupyter


def test_student_notebook_matches_the_student_html_book(released):
    """nbgrader and the book's extension (``make book-student``) show students the same code."""
    spec = importlib.util.spec_from_file_location("course_book", ROOT / "book/_ext/course_book.py")
    extension = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extension)
    source = {grade_id(c): c for c in jupytext.read(SOURCE).cells if "nbgrader" in c.metadata}
    for cell in nbformat.read(released, as_version=4).cells:
        if "nbgrader" in cell.metadata:
            original = source[grade_id(cell)]
            assert cell.source.strip() == extension.student_source(original.source,
                                                                   original.metadata.nbgrader).strip()


def test_student_notebook_runs_up_to_the_first_exercise(released, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_SIZE", "quick")
    notebook = nbformat.read(released, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError) as error:
        client.execute()
    assert error.value.ename == "NotImplementedError"
    failed = [i for i, cell in enumerate(notebook.cells)
              if any(out.output_type == "error" for out in cell.get("outputs", []))]
    assert failed == [nbgrader_cells(notebook, "test")[0]]      # the first exercise's test, nothing before


# The grades.

def test_solutions_score_full_marks(graded, exercises):
    _, rows, _ = graded
    assert scores(rows, "full", exercises) == [points for _, points in exercises]
    assert [float(rows["full", e]["max_score"]) for e, _ in exercises] == [p for _, p in exercises]
    assert status(rows, "full", exercises) == "ok"


def test_untouched_notebook_scores_zero(graded, exercises):
    _, rows, _ = graded
    assert scores(rows, "blank", exercises) == [0.0] * len(exercises)
    assert status(rows, "blank", exercises) == "ok"


def test_one_exercise_solved_scores_its_points(graded, exercises):
    _, rows, _ = graded
    assert scores(rows, "one_solved", exercises) == [exercises[0][1]] + [0.0] * (len(exercises) - 1)
    assert "raised ZeroDivisionError" in status(rows, "one_solved", exercises)


def test_endless_loop_times_out_and_the_rest_is_graded(graded, exercises):
    _, rows, _ = graded
    assert scores(rows, "loop", exercises) == [0.0] + [points for _, points in exercises[1:]]
    assert f"timed out after {TIMEOUT} s" in status(rows, "loop", exercises)


def test_missing_notebook(graded, exercises):
    output, rows, _ = graded
    assert scores(rows, "missing", exercises) == [0.0] * len(exercises)
    assert status(rows, "missing", exercises) == "missing notebook"
    assert not (output / "feedback" / "missing").exists()


def test_tampered_test_cells_are_restored(graded, exercises):
    _, rows, _ = graded
    (edited, _), (deleted, points) = exercises[:2]
    assert scores(rows, "tampered", exercises)[:2] == [0.0, points]   # the wrong answer still fails
    text = status(rows, "tampered", exercises)
    assert f"test cell {edited} was edited; the release's version was graded" in text
    assert f"test cell {deleted} was deleted; restored from the release" in text


def test_unreadable_file_is_reported(graded, exercises):
    _, rows, _ = graded
    assert scores(rows, "unreadable", exercises) == [0.0] * len(exercises)
    assert status(rows, "unreadable", exercises).startswith("not a readable notebook")


def test_a_hostile_submission_reaches_nothing(graded, exercises):
    output, rows, _ = graded
    assert scores(rows, "hostile", exercises)[0] == 0.0
    autograded = next(output.glob(".nbgrader/worker-*/autograded/hostile/intro/intro.ipynb"))
    printed = "".join(out.get("text", "") for cell in nbformat.read(autograded, as_version=4).cells
                      for out in cell.get("outputs", []))
    reached = json.loads(printed.split("REACHED ")[1].splitlines()[0])
    assert reached == {"found": [], "wrote": False, "network": False}
    assert not (ROOT / "hacked.txt").exists()


def test_a_dead_kernel_and_a_memory_hog_are_statuses(graded, exercises):
    _, rows, _ = graded
    assert scores(rows, "dies", exercises) == [0.0] * len(exercises)
    assert "kernel died" in status(rows, "dies", exercises)
    assert scores(rows, "greedy", exercises) == [0.0] + [0.0] * (len(exercises) - 1)
    assert "raised MemoryError" in status(rows, "greedy", exercises)


def test_tricks_that_pass_in_the_kernel_earn_nothing(graded, exercises):
    _, rows, _ = graded
    assert scores(rows, "tricks", exercises) == [0.0] * len(exercises)
    text = status(rows, "tricks", exercises)
    for exercise, _ in exercises:
        assert f"test cell {exercise} passed in the kernel, but its values are not the solution's" in text


def test_output_is_cut(graded):
    output, _, _ = graded
    autograded = next(output.glob(".nbgrader/worker-*/autograded/flood/intro/intro.ipynb"))
    assert autograded.stat().st_size < 200_000
    assert "characters cut" in autograded.read_text()
    assert (output / "feedback" / "flood" / "intro.html").stat().st_size < 1_000_000


def test_feedback_and_summary(graded):
    output, rows, run = graded
    for student in ("full", "blank", "one_solved", "loop", "tampered"):
        assert "<html" in (output / "feedback" / student / f"{CHAPTER}.html").read_text()[:1000].lower()
    assert len({student for student, _ in rows}) == 12
    assert "missing notebook" in run.stdout and "full" in run.stdout


def test_nothing_written_outside_the_output(graded):
    _, _, run = graded
    assert run.stray == {"repo": set(), "home": set(), "tmp": set(), "tmp touched": False,
                         "submissions touched": False}


# Errors that say what to do.

def test_unknown_chapter_lists_the_known_ones():
    with pytest.raises(InstructorError, match=f"unknown chapter.*{CHAPTER}"):
        edition.select_chapters(["no_such_chapter"])


def test_submissions_must_be_a_folder(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    with pytest.raises(InstructorError, match="one folder per student"):
        grading.students_in(tmp_path)


def test_a_solution_block_with_prose_is_refused(tmp_path):
    chapter = tmp_path / "chapter.md"
    chapter.write_text("# Title\n\n+++\n\n````{solution} x\nThe answer.\n````\n\nProse a student needs.\n")
    with pytest.raises(InstructorError, match="cell of its own"):
        edition.read_chapter(chapter)


def test_no_chapter_with_exercises(tmp_path):
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (tmp_path / "page.md").write_text("# A page without exercises\n")
    with pytest.raises(InstructorError, match="no chapter of _toc.yml has exercises"):
        edition.select_chapters(root=tmp_path)
    with pytest.raises(InstructorError, match="has no exercises"):
        edition.select_chapters(["page"], root=tmp_path)


# Every other chapter with exercises: full marks, zero, exactly one exercise's points, a crash; and
# what runs is the graded notebook (set-up and exercises), not the chapter's experiments.

OTHER_CHAPTERS = [name for name, path in edition.toc_chapters().items()
                  if name != CHAPTER and edition.has_exercises(edition.read_chapter(path))]


@pytest.mark.parametrize("chapter", OTHER_CHAPTERS)
def test_chapter_grades(chapter, tmp_path):
    output, subs = tmp_path / "output", tmp_path / "submissions"
    kinds = synthetic.make_class(subs, ("right", "blank", "partial", "crash"), chapters=[chapter])
    run = cli("grade", subs, "--output", output, "--chapters", chapter, "--timeout", 60)
    assert run.returncode == 0, run.stderr[-3000:]
    with open(output / "grades.csv", newline="") as f:
        rows = [row for row in csv.DictReader(f) if row["chapter"] == chapter]
    points = {row["exercise"]: float(row["max_score"]) for row in rows}
    assert len(points) >= 3
    for student, kind in kinds.items():
        mine = [row for row in rows if row["student"] == student]
        assert [float(row["score"]) for row in mine] == synthetic.expected_scores(kind, list(points.values()))
        status = {row["status"] for row in mine}.pop()
        assert status == "ok" if kind == "right" else kind != "crash" or "raised ZeroDivisionError" in status
    graded = nbformat.read(output / ".nbgrader" / "worker-0" / "autograded" / "student-01" / chapter
                           / f"{chapter}.ipynb", as_version=4)
    chapter_code = [c for c in jupytext.read(edition.toc_chapters()[chapter]).cells if c.cell_type == "code"]
    graded_code = [c for c in graded.cells if c.cell_type == "code"]
    assert len(graded_code) < len(chapter_code) / 2         # the exercises, not the experiments


def test_links_large_files_and_odd_names_are_refused(tmp_path):
    secret = tmp_path / "secret.ipynb"
    secret.write_text("root:$6$the instructor's secret")
    (tmp_path / "link.ipynb").symlink_to(secret)
    (tmp_path / "huge.ipynb").write_bytes(b" " * (grading.MAX_NOTEBOOK_MIB * 2 ** 20 + 1))
    assert grading.read_notebook(tmp_path / "link.ipynb") == (None, "not a regular file (a link or a folder "
                                                                    "is not graded)")
    assert grading.read_notebook(tmp_path / "huge.ipynb")[1].startswith("larger than")
    assert "secret" not in grading.read_notebook(secret)[1]               # the reason never quotes the file
    for name in ("--help", "*", ".hidden-is-skipped", "a b"):
        (tmp_path / "subs" / name).mkdir(parents=True)
    with pytest.raises(InstructorError, match=r"rename '\*', '--help', 'a b'"):
        grading.students_in(tmp_path / "subs")


def test_grading_again_gives_the_same_grades(tmp_path):
    subs, output = tmp_path / "submissions", tmp_path / "output"
    synthetic.make_class(subs, ("right", "partial", "endless"), chapters=[CHAPTER])
    runs = []
    for _ in range(2):
        assert cli("grade", subs, "--output", output, "--chapters", CHAPTER, "--timeout", 5).returncode == 0
        runs.append(((output / "grades.csv").read_bytes(),
                     sorted(p.relative_to(output) for p in (output / "feedback").rglob("*.html"))))
    assert runs[0] == runs[1] and len(runs[0][1]) == 3
    assert not [p for p in output.rglob("*.tmp")]                  # no temporary file left behind


def test_graded_notebook_is_set_up_and_exercises():
    chapter = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np", metadata={"tags": [edition.SETUP_TAG]}),
        nbformat.v4.new_code_cell("train_a_network()"),
        nbformat.v4.new_markdown_cell("## Exercises\n\n````{exercise}\n:label: x-y\nDo it.\n````"),
        nbformat.v4.new_code_cell("answer = 1", metadata={"nbgrader": {"solution": True, "grade_id": "a"}}),
        nbformat.v4.new_code_cell("assert answer == 1", metadata={"nbgrader": {"grade": True, "grade_id": "t"}})])
    graded = edition.graded_notebook(chapter)
    assert [c.source[:12] for c in graded.cells] == ["import numpy", "## Exercises", "answer = 1",
                                                    "assert answe"]
    student = copy.deepcopy(chapter)
    student.cells[0].source = "import os; os.remove('everything')"        # the reading: not graded
    student.cells.insert(4, nbformat.v4.new_code_cell("helper = 2"))       # an added cell: graded
    graded = edition.graded_notebook(chapter, student)
    assert [c.source[:10] for c in graded.cells] == ["import num", "## Exercis", "answer = 1", "helper = 2",
                                                    "assert ans"]


# A light exercise imports no framework it does not use.
FRAMEWORKS_USED = {"intro": [], "sigmoid": [], "relu": ["torch"], "batchnorm": [], "clipping": []}


@pytest.mark.parametrize("chapter", sorted(FRAMEWORKS_USED))
def test_graded_notebook_imports_only_the_frameworks_it_uses(chapter, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_SIZE", "quick")
    notebook = edition.graded_notebook(edition.read_chapter(edition.toc_chapters()[chapter]))
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import sys\nprint(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))"))
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert notebook.cells[-1].outputs[0].text.strip() == str(FRAMEWORKS_USED[chapter])
