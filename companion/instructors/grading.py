"""The autograder: nbgrader's ``autograde`` and ``generate_feedback`` on the students' notebooks.

``SUBMISSIONS/<student>/<chapter>.ipynb`` (or ``<student>/<chapter>/<chapter>.ipynb``, as nbgrader's
``collect`` leaves it in ``COURSE_DIR/submitted``) is graded in nbgrader course folders of our own,
``<output>/.nbgrader/worker-<k>``, one per worker (the students are shared among the workers); the
results are ``<output>/grades.csv`` and ``<output>/feedback/<student>/<chapter>.html``. What runs is
the chapter's graded notebook (:func:`.edition.graded_notebook`: set-up cells and exercises, not the
experiments). Each student's chapter is graded by its own ``nbgrader autograde`` run, so no
submission can stop the others, and nothing is written outside ``<output>``.
"""
import copy
import csv
import io
import os
import re
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from . import InstructorError, comparison, sandbox
from .course import DEFAULT_TIMEOUT, Course, atomic_copy, atomic_write, last_lines
from .edition import WORK_FOLDER, graded_notebook, select_chapters

REFERENCE = "solution-reference"     # the gradebook's student whose notebook is the chapter's solution
COLUMNS = ("student", "chapter", "exercise", "score", "max_score", "status")


@dataclass
class Row:
    """One line of ``grades.csv``: a student's score on one exercise, and the notebook's status."""
    student: str
    chapter: str
    exercise: str
    score: float
    max_score: float
    status: str


def autograded_cells(notebook):
    """``{grade_id: cell}`` of the autograded test cells (nbgrader ``grade`` and not ``solution``)."""
    cells = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            cells[meta["grade_id"]] = cell
    return cells


def tampering(submitted, release, source):
    """Status notes on the test cells a student edited or deleted (nbgrader grades the release's)."""
    ids = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in submitted.cells}
    answers = [cell.metadata.nbgrader["grade_id"] for cell in release.cells
               if cell.metadata.get("nbgrader", {}).get("solution")]
    notes = [f"answer cell {grade_id} was deleted" for grade_id in answers if grade_id not in ids]
    theirs = autograded_cells(submitted)
    for grade_id, cell in autograded_cells(release).items():
        allowed = {cell.source.strip(), autograded_cells(source)[grade_id].source.strip()}
        if grade_id not in theirs:
            notes.append(f"test cell {grade_id} was deleted; restored from the release")
        elif theirs[grade_id].source.strip() not in allowed:
            notes.append(f"test cell {grade_id} was edited; the release's version was graded")
    return notes


def keep_last_copies(notebook):
    """Keep the nbgrader metadata of the last cell of each ``grade_id`` only.

    nbgrader 0.9.6 does the same (DeduplicateIds) but leaves ``nbgrader: {}`` on the other copies, on
    which its ``add_missing_cells`` then fails (KeyError: 'grade_id'): a student who copied an exercise
    cell would get no grade at all.
    """
    seen = set()
    for cell in reversed(notebook.cells):
        if "nbgrader" not in cell.metadata:
            continue
        grade_id = cell.metadata.nbgrader.get("grade_id")
        if grade_id in seen or not grade_id:
            del cell.metadata["nbgrader"]
        seen.add(grade_id)


def run_problems(notebook, timeout):
    """Status notes from an autograded notebook: cells that timed out, the first other cell that raised.

    Errors of test cells are failed tests (their score says so) unless they timed out.
    """
    timeouts, raised = [], []
    for number, cell in enumerate(notebook.cells, 1):
        names = [out.ename for out in cell.get("outputs", []) if out.output_type == "error"]
        meta = cell.metadata.get("nbgrader", {})
        label = f"cell {number}" + (f" ({meta['grade_id']})" if "grade_id" in meta else "")
        if "CellTimeoutError" in names:           # nbgrader's Execute adds it after interrupting
            timeouts.append(f"{label} timed out after {timeout:g} s")
        elif names and not (meta.get("grade") and not meta.get("solution")):
            raised.append(f"{label} raised {names[0]}")
    if len(raised) > 1:
        raised = [f"{raised[0]} (and {len(raised) - 1} later cell(s) raised too)"]
    return timeouts + raised


MAX_NOTEBOOK_MIB = 20                 # a larger submission is refused unread
STUDENT_NAME = re.compile(r"[A-Za-z0-9_@+][A-Za-z0-9._@+-]*")


def read_notebook(path):
    """The notebook at ``path``, or the reason it cannot be read (which never quotes the file: the
    grader may read what the student may not, and a link could point there)."""
    if path.is_symlink() or not path.is_file():
        return None, "not a regular file (a link or a folder is not graded)"
    if path.stat().st_size > MAX_NOTEBOOK_MIB * 2 ** 20:
        return None, f"larger than {MAX_NOTEBOOK_MIB} MiB"
    try:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        return notebook, None
    except nbformat.ValidationError:
        return None, "not a valid notebook (nbformat's schema)"
    except Exception:                             # any unreadable file is a status, not a crash
        return None, "not JSON, or not a notebook"


def students_in(submissions):
    """The student folders of ``submissions``, sorted; errors say what the folder should hold."""
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise InstructorError(f"SUBMISSIONS {submissions} is not a directory: give a folder with one "
                              "folder per student, each holding the chapter notebooks (<chapter>.ipynb)")
    students = sorted(p.name for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not students:
        raise InstructorError(f"no student folders in {submissions}: expected one folder per student, "
                              "each holding the chapter notebooks (<chapter>.ipynb)")
    odd = [name for name in students if not STUDENT_NAME.fullmatch(name)]
    if odd:
        raise InstructorError(f"student folder names may hold only letters, digits and . _ @ + - (not first: "
                              f". -); rename {', '.join(map(repr, odd[:5]))}")
    if REFERENCE in students:
        raise InstructorError(f"a student folder is named {REFERENCE!r}, the name the grader gives the "
                              "chapters' solutions: rename that folder")
    return students


def default_workers():
    """One grading worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def grade(submissions, output, *, timeout=DEFAULT_TIMEOUT, chapters=None, workers=None, progress=None,
          trusted=False, limits=sandbox.Limits()):
    """Grade every student of ``submissions`` on the chapters with exercises; return the rows written.

    Writes ``<output>/grades.csv`` and ``<output>/feedback/<student>/<chapter>.html``. The students
    are shared among ``workers`` (default: one per core), each grading its share in an nbgrader course
    folder of its own; ``progress``, if given, is called with a line of text after each notebook.
    Every kernel runs in the sandbox (:mod:`.sandbox`) with ``limits``, unless ``trusted``; an
    :class:`InstructorError` says how to get the sandbox where it cannot run.
    """
    if not trusted:
        reason = sandbox.unavailable()
        if reason:
            raise InstructorError(f"cannot grade in a sandbox: {reason}. To fix it, {sandbox.INSTALL_HINT}.")
        limits.check()
    if timeout <= 0:
        raise InstructorError(f"the timeout must be a positive number of seconds, not {timeout}")
    workers = default_workers() if workers is None else workers
    if not isinstance(workers, int) or workers < 1:
        raise InstructorError(f"the number of workers must be a whole number of at least 1, not {workers!r}")
    submissions, output = Path(submissions).resolve(), Path(output).resolve()
    students = students_in(submissions)
    notebooks = {name: graded_notebook(chapter) for name, chapter in select_chapters(chapters).items()}
    shutil.rmtree(output / WORK_FOLDER, ignore_errors=True)
    shares = [students[k::workers] for k in range(min(workers, len(students)))]
    done, lock = [0], threading.Lock()

    def report(line):
        if progress:
            with lock:
                done[0] += 1
                progress(f"[{done[0]}/{len(students) * len(notebooks)}] {line}")

    def grade_share(k, share):
        with Course(output / WORK_FOLDER / f"worker-{k}", timeout=timeout,
                    limits=None if trusted else limits, worker=k) as course:
            return grade_in(course, submissions, output, share, notebooks, report)

    with ThreadPoolExecutor(max_workers=len(shares)) as pool:
        results = list(pool.map(grade_share, range(len(shares)), shares))
    order = {student: i for i, student in enumerate(students)}
    rows = sorted((row for share in results for row in share), key=lambda row: order[row.student])
    write_csv(output / "grades.csv", rows)
    return rows


def grade_in(course, submissions, output, students, notebooks, report):
    """Grade ``students`` on ``notebooks`` (``{chapter: graded notebook}``) in ``course``; the rows.

    Each chapter's solution is graded first, as the student :data:`REFERENCE`: the values its test
    cells publish are what the students' values are compared with (:mod:`.comparison`).
    """
    releases = {name: nbformat.read(course.generate(name, notebook), as_version=4)
                for name, notebook in notebooks.items()}
    roster = course.root / "students.csv"
    atomic_write(roster, "id\n" + "".join(f"{student}\n" for student in [REFERENCE, *students]))
    course.nbgrader("db", "student", "import", roster)
    statuses = {}
    for chapter, release in releases.items():
        source = nbformat.read(course.path("source", chapter), as_version=4)
        reference = reference_values(course, chapter, source)
        for student in students:
            status, graded, values = autograde(course, submissions, student, chapter, release, source)
            if graded:
                status = enforce(course, chapter, student, status, comparison.verdicts(values, reference))
            statuses[student, chapter] = status, graded
            report(f"{chapter} {student}: {status}")
        feedback(course, output, [s for s in students if statuses[s, chapter][1]], chapter)
    for (student, chapter), (_, graded) in statuses.items():
        if not graded:                            # no feedback page left from an earlier run
            (output / "feedback" / student / f"{chapter}.html").unlink(missing_ok=True)
    return read_scores(course, students, releases, statuses)


def reference_values(course, chapter, source):
    """The values the test cells of ``chapter``'s solution publish; an error if it does not pass them."""
    status, graded, values = run_autograde(course, chapter, REFERENCE, copy.deepcopy(source), [],
                                           autograded_cells(source))
    problem = None if graded and status == "ok" else status
    if problem is None:
        with Gradebook(course.db_url) as gradebook:
            for grade_id, cell in autograded_cells(source).items():
                score = gradebook.find_grade(grade_id, chapter, chapter, REFERENCE).score
                if score != float(cell.metadata.nbgrader["points"]):
                    problem = f"test cell {grade_id} scored {score:g}"
                    break
    if problem:
        raise InstructorError(f"the solution of chapter {chapter} does not pass its own tests in the grader "
                              f"({problem}); fix the chapter (make test checks it) before grading")
    for grade_id in autograded_cells(source):
        if not values.get(grade_id):
            raise InstructorError(f"test cell {grade_id} of chapter {chapter} calls no "
                                  "companion.checks.expect, so its points could be faked; see "
                                  "CONTRIBUTING.md (The exercise format)")
    return values


def enforce(course, chapter, student, status, verdicts):
    """Zero, in the gradebook, each test cell that passed in the kernel with values not the solution's."""
    notes = []
    with Gradebook(course.db_url) as gradebook:
        for grade_id, agrees in verdicts.items():
            try:
                grade = gradebook.find_grade(grade_id, chapter, chapter, student)
            except MissingEntry:
                continue
            if not agrees and grade.score:
                grade.manual_score = 0.0
                notes.append(f"test cell {grade_id} passed in the kernel, but its values are not the "
                             "solution's: 0 points")
        gradebook.db.commit()
    return "; ".join(([] if status == "ok" else [status]) + notes) or "ok"


def read_scores(course, students, releases, statuses):
    """The rows of ``grades.csv``, scores from nbgrader's gradebook (0 for notebooks it did not grade)."""
    rows = []
    with Gradebook(course.db_url) as gradebook:
        for student, chapter in ((student, chapter) for student in students for chapter in releases):
            status, graded = statuses[student, chapter]
            for exercise, cell in autograded_cells(releases[chapter]).items():
                score = 0.0
                if graded:
                    try:
                        score = gradebook.find_grade(exercise, chapter, chapter, student).score
                    except MissingEntry:
                        pass
                rows.append(Row(student, chapter, exercise, score, float(cell.metadata.nbgrader["points"]),
                                status))
    return rows


def submission_path(submissions, student, chapter):
    """``<student>/<chapter>.ipynb``, or nbgrader's collected ``<student>/<chapter>/<chapter>.ipynb``;
    None if neither is there (a link counts as there: reading it is refused later, with a status)."""
    flat, folder = submissions / student / f"{chapter}.ipynb", submissions / student / chapter
    if flat.exists() or flat.is_symlink():
        return flat
    if folder.is_symlink():
        return folder                             # refused by read_notebook, never followed
    nested = folder / f"{chapter}.ipynb"
    return nested if nested.exists() or nested.is_symlink() else None


def autograde(course, submissions, student, chapter, release, source):
    """Autograde one student's chapter; ``(status, graded, values)``: graded says nbgrader scored it,
    values are what its test cells published (:func:`.comparison.published`).

    nbgrader grades the release's set-up cells followed by the exercises section of the submission.
    """
    path = submission_path(submissions, student, chapter)
    if path is None:
        return "missing notebook", False, {}
    submitted, reason = read_notebook(path)
    if submitted is None:
        return f"not a readable notebook ({reason})", False, {}
    notes = tampering(submitted, release, source)
    return run_autograde(course, chapter, student, graded_notebook(release, submitted), notes,
                         autograded_cells(release))


def run_autograde(course, chapter, student, notebook, notes, test_ids):
    """nbgrader's autograde of ``notebook`` as ``student``'s submission, reading what the test cells
    ``test_ids`` published (nbgrader restores deleted ones); see :func:`autograde`."""
    keep_last_copies(notebook)
    atomic_write(course.path("submitted", chapter, student), nbformat.writes(notebook))
    result = course.autograde(chapter, student)
    autograded = course.path("autograded", chapter, student)
    if result.returncode != 0 or not autograded.exists():
        error = nbgrader_error(result)
        if "DeadKernelError" in error:
            error = "the kernel died (the code exited, crashed or was killed), so nothing was graded"
        else:
            error = f"nbgrader could not grade it: {error}"
        return "; ".join(notes + [error]), False, {}
    executed = nbformat.read(autograded, as_version=4)
    notes += run_problems(executed, course.timeout)
    values, executed = comparison.published(executed, test_ids)
    cap_outputs(executed)
    atomic_write(autograded, nbformat.writes(executed))
    return "; ".join(notes) or "ok", True, values


OUTPUT_CHARS = 20_000                # of each output kept in the graded notebook and its feedback page


def cut(text, limit):
    """``text`` cut to ``limit`` characters, saying how many were cut."""
    return text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit:,} characters cut]\n"


def cap_outputs(notebook, limit=OUTPUT_CHARS):
    """Cut every text output of ``notebook`` to ``limit`` characters, and drop larger images."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output.text = cut(output.text, limit)
            for mime, content in list(output.get("data", {}).items()):
                text = content if isinstance(content, str) else str(content)
                if mime.startswith("text/"):
                    output.data[mime] = cut(text, limit)
                elif len(text) > limit:
                    del output.data[mime]
            if output.get("traceback") and sum(map(len, output.traceback)) > limit:
                output.traceback = output.traceback[:5] + ["[... traceback cut]"] + output.traceback[-5:]


def nbgrader_error(result):
    """The exception nbgrader's log ends with (its last lines only say "see the above traceback")."""
    log = (result.stderr + result.stdout).splitlines()
    errors = [line.strip() for line in log if re.match(r"\s*[\w.]*(Error|Exception|Interrupt)\b.*:", line)]
    return (errors or [last_lines("\n".join(log), 1) or f"exit status {result.returncode}"])[-1][:200]


def feedback(course, output, students, chapter):
    """nbgrader's feedback pages of ``chapter`` for ``students``, copied to ``<output>/feedback``."""
    if not students:
        return
    if course.nbgrader("generate_feedback", chapter, "--force", check=False).returncode != 0:
        for student in students:                  # one broken page must not cost the others theirs
            course.nbgrader("generate_feedback", chapter, "--force", "--student", student, check=False)
    for student in students:
        page = course.root / "feedback" / student / chapter / f"{chapter}.html"
        if page.exists():
            atomic_copy(page, output / "feedback" / student / f"{chapter}.html")


def write_csv(path, rows):
    """Write ``rows`` to ``path`` with the columns of :data:`COLUMNS`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**asdict(row), "score": f"{row.score:g}", "max_score": f"{row.max_score:g}"})
    atomic_write(path, buffer.getvalue())


def summary(rows):
    """A text table: one line per student and chapter, with the total score and the status."""
    totals = {}
    for row in rows:
        score, points, _ = totals.get((row.student, row.chapter), (0.0, 0.0, row.status))
        totals[row.student, row.chapter] = (score + row.score, points + row.max_score, row.status)
    width = max([len("student")] + [len(student) for student, _ in totals])
    cwidth = max([len("chapter")] + [len(chapter) for _, chapter in totals])
    lines = [f"{'student':{width}}  {'chapter':{cwidth}}  {'score':>9}  status"]
    for (student, chapter), (score, points, status) in totals.items():
        lines.append(f"{student:{width}}  {chapter:{cwidth}}  {f'{score:g}/{points:g}':>9}  {status}")
    return "\n".join(lines)
