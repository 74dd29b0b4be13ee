"""The course as an nbgrader course folder, for an instructor's own nbgrader, formgrader and JupyterHub.

``python -m companion.instructors course --output COURSE_DIR`` (``make course COURSE_DIR=...``) writes::

    COURSE_DIR/nbgrader_config.py                 course id, exchange, code stub, time limits
    COURSE_DIR/source/<chapter>/<chapter>.ipynb   each chapter with exercises, as students read it

The source notebook of a chapter is the whole chapter (its reading, experiments and exercises, without
the ``{solution}`` text blocks), with the nbgrader metadata that marks its answers and tests: nbgrader's
own ``generate_assignment``, ``release_assignment``, ``collect`` and ``autograde`` accept it as it is.
Collected submissions (``COURSE_DIR/submitted/<student>/<chapter>/<chapter>.ipynb``) are graded best
with the course's autograder, which runs only the exercises, in its sandbox, and compares the values
outside the student's kernel: ``python -m companion.instructors grade COURSE_DIR/submitted``.

Running it again updates the configuration and the sources and leaves everything else in the folder
(gradebook, releases, submissions, feedback) as it was. A ``nbgrader_config.py`` this command did not
write is never overwritten.
"""
from pathlib import Path

import nbformat

from . import InstructorError
from .course import CODE_STUB, COURSE_ID, DEFAULT_TIMEOUT, GRADING_CONFIG, atomic_write
from .edition import select_chapters

DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"
MARK = "# Written by `python -m companion.instructors course`"
CONFIG = """\
{mark}: running it again rewrites this file.
# To change a setting for good, put it in a config file of your own, e.g. /etc/jupyter/nbgrader_config.py.
c = get_config()
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
""" + GRADING_CONFIG


def course_config(exchange=DEFAULT_EXCHANGE, timeout=DEFAULT_TIMEOUT, course_id=COURSE_ID):
    """The text of the course folder's ``nbgrader_config.py``."""
    return CONFIG.format(mark=MARK, course_id=course_id, exchange=str(exchange), stub=CODE_STUB,
                         timeout=int(timeout))


def write_course(folder, chapters=None, exchange=DEFAULT_EXCHANGE, timeout=DEFAULT_TIMEOUT):
    """Write (or update) the nbgrader course folder ``folder``; return the paths written.

    ``chapters``: names of ``_toc.yml`` chapters (default: every chapter with exercises). ``exchange``:
    the nbgrader exchange folder students fetch from and submit to (on a hub, a volume every user
    mounts). Each file is written atomically; the folder's other contents are left alone.
    """
    folder = Path(folder).resolve()
    if folder.exists() and not folder.is_dir():
        raise InstructorError(f"{folder} is a file: give a folder for the course (it is created if missing)")
    config = folder / "nbgrader_config.py"
    if config.exists() and MARK not in config.read_text(errors="replace"):
        raise InstructorError(f"{config} was not written by this command: move it away, or give another "
                              "folder (the course's settings go in a file of their own)")
    if not isinstance(timeout, int) or timeout <= 0:
        raise InstructorError(f"the timeout must be a positive whole number of seconds, not {timeout!r}")
    notebooks = select_chapters(chapters)          # every error before anything is written
    written = []
    for name, notebook in notebooks.items():
        path = folder / "source" / name / f"{name}.ipynb"
        atomic_write(path, nbformat.writes(notebook))
        written.append(path)
    atomic_write(config, course_config(exchange, timeout))
    return [config, *written]
