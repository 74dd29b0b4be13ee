"""nbgrader imported once per grading worker, each command run in a child forked from it.

``python -m nbgrader`` spends about 2.5 s of this machine's time on its imports before it does
anything, and the grader runs it once per student and chapter. :class:`NbgraderServer` starts one
process that imports nbgrader and then, for each command, forks a child that runs ``nbgrader ARGS``
exactly as the command line would (its own arguments, environment, folder, and output files) and
exits. Each command still starts from a fresh nbgrader app, a crash or a kill ends only its child,
and the server holds no student's data: it only imports and forks.

The protocol is one JSON line per command on the server's stdin, ``{"argv", "env", "cwd", "stdout",
"stderr"}``, answered by one JSON line on its stdout, ``{"returncode"}`` (negative: the child was
killed by that signal, as in :mod:`subprocess`). The server ends at the end of its stdin.
"""
import atexit
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path


class NbgraderServer:
    """A server started with ``prefix`` (e.g. a ``prlimit`` command), environment ``env`` and folder
    ``cwd``, writing each command's output under ``logs``; it starts at the first :meth:`run`, and
    again after it died."""

    def __init__(self, *, env, cwd, logs, prefix=()):
        self.env, self.cwd, self.logs, self.prefix = dict(env), Path(cwd), Path(logs), list(prefix)
        self.process, self.commands = None, 0

    def run(self, argv, *, env, cwd):
        """``nbgrader ARGV`` with environment ``env`` in ``cwd``, as a :class:`subprocess.CompletedProcess`."""
        argv = [str(arg) for arg in argv]
        self.commands += 1
        self.logs.mkdir(parents=True, exist_ok=True)
        out, err = (self.logs / f"nbgrader-{self.commands}.{name}" for name in ("out", "err"))
        try:
            returncode, lost = self._ask({"argv": argv, "env": dict(env), "cwd": str(cwd),
                                          "stdout": str(out), "stderr": str(err)}), ""
        except ServerDied as died:
            returncode, lost = 1, f"\nServerDied: the nbgrader server ended during the command ({died})\n"
        try:
            return subprocess.CompletedProcess(["nbgrader", *argv], returncode, read(out), read(err) + lost)
        finally:
            out.unlink(missing_ok=True)
            err.unlink(missing_ok=True)

    def _ask(self, job):
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen([*self.prefix, sys.executable, "-m", __name__], cwd=self.cwd,
                                            env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            text=True)
        try:
            self.process.stdin.write(json.dumps(job) + "\n")
            self.process.stdin.flush()
            answer = self.process.stdout.readline()
        except OSError as error:               # a broken pipe: it had ended already
            self.close()
            raise ServerDied(str(error)) from error
        if not answer:
            self.close()
            raise ServerDied(f"exit status {self.process.returncode}")
        return json.loads(answer)["returncode"]

    def close(self):
        """End the server (it exits at the end of its stdin) and wait for it."""
        if self.process is None:
            return
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


class ServerDied(Exception):
    """The server ended before it answered."""


LOG_KEPT = 2 ** 20      # bytes of the end of each output file read back (a kernel shares nbgrader's)


def read(path, limit=LOG_KEPT):
    """The end of the text of ``path`` (at most ``limit`` bytes; '' if it was never written)."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - limit))
            text = f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
    return text if size <= limit else f"[... the first {size - limit:,} bytes cut]\n" + text


def serve(jobs=sys.stdin, answers=sys.stdout):
    """The server's loop: import nbgrader, then run each job of ``jobs`` in a forked child."""
    import nbgrader
    from nbgrader.apps.nbgraderapp import main
    program = str(Path(nbgrader.__file__).with_name("__main__.py"))     # sys.argv[0] of python -m nbgrader
    if threading.active_count() != 1:          # a fork copies only this thread; it must be the only one
        sys.exit(f"importing nbgrader started threads ({threading.enumerate()}): cannot fork safely")
    for line in jobs:
        job = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        server, pid = os.getpid(), os.fork()
        if pid == 0:
            end_with(server)
            os._exit(child(job, main, program))
        _, status = os.waitpid(pid, 0)
        answers.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        answers.flush()


def child(job, main, program):
    """Run one job in the forked child; its exit status."""
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, name in ((1, "stdout"), (2, "stderr")):
            os.dup2(os.open(job[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
        os.chdir(job["cwd"])
        os.environ.clear()
        os.environ.update(job["env"])
        tempfile.tempdir = None                # TMPDIR is read again
        sys.argv = [program, *job["argv"]]
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if not isinstance(exit_.code, (int, type(None))):
            print(exit_.code, file=sys.stderr)
    except BaseException:                      # what an uncaught exception would print, and its status
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()                # what the interpreter does at exit (logging's flush, ...)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    return code


def end_with(server):
    """Have the kernel kill this child when its parent, ``server``, ends (Linux' PR_SET_PDEATHSIG)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != server:                 # it ended before the call
        os._exit(1)


if __name__ == "__main__":
    serve()
