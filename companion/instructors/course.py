"""An nbgrader course folder of our own, and nbgrader run in it (by a :mod:`.nbgrader_server`).

Everything nbgrader (and the kernels it starts) writes stays in the folder: its configuration, its
gradebook, the kernels' connection files, and the Jupyter, IPython, Matplotlib and Keras folders that
would otherwise go to the home directory.
"""
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from . import InstructorError, sandbox
from .nbgrader_server import NbgraderServer

COURSE_ID = "gradients"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"   # nbgrader's default, said explicitly
DEFAULT_TIMEOUT = 120
# Where nbgrader, Jupyter and the kernels would write in the home directory or /tmp (nbgrader's kernels
# get their connection files from tempfile): under <root>/home instead.
HOME_FOLDERS = {"JUPYTER_CONFIG_DIR": "jupyter-config", "JUPYTER_DATA_DIR": "jupyter-data",
                "JUPYTER_RUNTIME_DIR": "jupyter-runtime", "IPYTHONDIR": "ipython",
                "MPLCONFIGDIR": "matplotlib", "KERAS_HOME": "keras", "TMPDIR": "tmp"}

GRADING_CONFIG = """\
c.ClearSolutions.code_stub = {{"python": {stub!r}}}
c.Execute.timeout = {timeout}
c.OverwriteCells.add_missing_cells = True
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
"""                                   # nbgrader's settings shared by every course folder the course writes
CONFIG = """\
# Written by companion.instructors; rewritten at every run.
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.db_url = {db_url!r}
""" + GRADING_CONFIG + "{sandbox}"
SANDBOX_CONFIG = """\
# Every grading kernel runs in the sandbox (companion.instructors.sandbox).
c.Execute.kernel_name = {kernel!r}
"""


def atomic_write(path, data):
    """Write ``data`` (bytes or str) to ``path`` through a temporary file in the same folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~_umask())        # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_copy(source, dest):
    """Copy the file ``source`` to ``dest`` atomically."""
    atomic_write(dest, Path(source).read_bytes())


class Course:
    """A new nbgrader course root at ``root`` (emptied first), whose cells may run ``timeout`` s each.

    With ``limits`` (:class:`.sandbox.Limits`), every kernel nbgrader starts runs in the sandbox, as
    worker ``worker``; without, kernels run unconfined (trusted submissions only). nbgrader's commands
    run in children of one server process (:mod:`.nbgrader_server`), which :meth:`close` (or the end
    of a ``with`` block) ends.
    """

    def __init__(self, root, *, timeout=DEFAULT_TIMEOUT, limits=None, worker=0):
        self.root = Path(root).resolve()
        self.timeout = timeout
        self.limits, self.worker, self.kernels = limits, worker, 0
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        for folder in HOME_FOLDERS.values():
            (self.root / "home" / folder).mkdir(parents=True, exist_ok=True)
        self.db_url = f"sqlite:///{self.root / 'gradebook.db'}"
        if limits is not None:
            sandbox.write_kernelspec(self.root / "home" / HOME_FOLDERS["JUPYTER_DATA_DIR"])
        config = CONFIG.format(root=str(self.root), course_id=COURSE_ID, db_url=self.db_url,
                               stub=CODE_STUB, timeout=int(timeout),
                               sandbox=SANDBOX_CONFIG.format(kernel=sandbox.KERNEL_NAME) if limits else "")
        atomic_write(self.root / "nbgrader_config.py", config)
        self.server = NbgraderServer(env=self.env(), cwd=self.root, logs=self.root / "home" / "logs",
                                     prefix=memory_limit())

    def close(self):
        """End the nbgrader server (a later command starts it again)."""
        self.server.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def env(self, extra=None):
        """The environment of nbgrader and its kernels: the quick size, and no writes to ``~``."""
        env = dict(os.environ, **(extra or {}))
        env.update({var: str(self.root / "home" / folder) for var, folder in HOME_FOLDERS.items()})
        env.update(COURSE_SIZE="quick", COURSE_PROGRESS="0", PYTHONDONTWRITEBYTECODE="1",
                   COURSE_GRADING="1",
                   PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]))
        return env

    def nbgrader(self, *args, check=True, env=None):
        """Run ``nbgrader ARGS`` in the course folder; on failure (if ``check``) raise with its log."""
        result = self.server.run(args, env=self.env(env), cwd=self.root)
        if check and result.returncode != 0:
            raise InstructorError(f"`nbgrader {' '.join(map(str, args))}` failed "
                                  f"(exit {result.returncode}):\n{last_lines(result.stderr + result.stdout)}")
        return result

    def path(self, step, chapter, student=None):
        """``<root>/<step>[/<student>]/<chapter>/<chapter>.ipynb`` (step: source, release, ...)."""
        parts = [step] + ([student] if student is not None else []) + [chapter, f"{chapter}.ipynb"]
        return self.root.joinpath(*parts)

    def generate(self, chapter, notebook):
        """Write ``notebook`` as the source of assignment ``chapter`` and release it; the release's path."""
        source = self.path("source", chapter)
        atomic_write(source, nbformat.writes(notebook))
        self.nbgrader("generate_assignment", chapter, "--force")
        release = self.path("release", chapter)
        if not release.exists():
            raise InstructorError(f"nbgrader generate_assignment wrote no {release}")
        return release

    def autograde(self, chapter, student):
        """``nbgrader autograde`` of one student's chapter, its kernel in a fresh sandbox if sandboxed."""
        env, options = None, []
        if self.limits is not None:
            self.kernels += 1
            env, options = sandbox.new_scratch(self.root, self.kernels, limits=self.limits, worker=self.worker)
        try:
            return self.nbgrader("autograde", chapter, "--force", f"--student={student}", *options,
                                 check=False, env=env)
        finally:
            shutil.rmtree(self.root / "scratch", ignore_errors=True)


NBGRADER_MEMORY_GIB = 8     # nbgrader's own process: a flood of output from a kernel ends it, not the machine


def memory_limit():
    """The ``prlimit`` prefix that gives nbgrader's process at most :data:`NBGRADER_MEMORY_GIB` of address
    space (none where util-linux' prlimit is missing)."""
    return ["prlimit", f"--as={NBGRADER_MEMORY_GIB * 2 ** 30}", "--"] if shutil.which("prlimit") else []


def last_lines(text, n=15):
    """The last ``n`` lines of a log, without the SQLAlchemy warnings nbgrader prints."""
    lines = [line for line in text.splitlines() if line.strip() and "SAWarning" not in line]
    return "\n".join(lines[-n:])
