"""Untrusted code in a bubblewrap sandbox: the kernels that run students' notebooks.

A student's submission is code that runs on the instructor's machine. The autograder starts each
grading kernel through :func:`command`, which wraps it in `bubblewrap <https://github.com/containers/
bubblewrap>`_ (``bwrap``, Debian package ``bubblewrap``), a namespace sandbox maintained for Flatpak.
Inside, the kernel

- sees, read-only, only what an exercise needs: ``/usr``, the Python installation and virtual
  environment, the ``companion`` package, the data set and a few files of ``/etc``; it does not see
  the repository (solutions, hidden tests, the book's sources), the gradebook, other students'
  submissions, the home directory, or the machine's ``/tmp``;
- writes only its scratch folder (and a private ``/tmp`` in memory);
- has no network: a network namespace of its own, whose loopback is not the machine's;
- has a memory limit per process (``RLIMIT_AS``), a process limit (``RLIMIT_NPROC``, counted for a
  user of its own when the grader is root), no core files and a limit on the size of a file;
- runs in a PID namespace of its own that dies with the kernel's launcher: when the grader ends the
  kernel, every process the submission started ends with it.

The kernel talks to the grader through Unix sockets in the scratch folder (Jupyter's ``ipc``
transport): the only channel out. When the grader runs as root, the sandbox runs as an unprivileged
user (uid :data:`SANDBOX_UID` + worker), so that file permissions hold inside too.
"""
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from . import InstructorError

SANDBOX_UID = 61000                 # + the worker's number: a user of its own per worker, when root
ETC_FILES = ("ld.so.cache", "ld.so.conf", "nsswitch.conf", "localtime", "passwd", "group", "hosts")
INSTALL_HINT = ("install bubblewrap (Debian: `apt-get install bubblewrap`; `make grade` does it when run "
                "as root), or grade without a sandbox with TRUSTED=1 (make) / --trusted, only for "
                "submissions you trust")


@dataclass(frozen=True)
class Limits:
    """What one sandboxed kernel may use."""
    memory_gib: float = 3.0         # address space of each process
    processes: int = 64             # processes and threads of the sandbox's user
    file_mib: int = 256             # the largest file it may write

    def check(self):
        if not self.memory_gib > 0 or self.processes < 8 or self.file_mib < 1:
            raise InstructorError(f"sandbox limits out of range: {self}; memory must be positive, at least "
                                  "8 processes (a kernel needs a few threads), at least 1 MiB per file")
        return self


def readable_paths():
    """What the kernel must read: the interpreter, the virtual environment, the companion package."""
    import companion
    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(companion.__file__).resolve().parent}
    from companion import data
    for name in ("fashion", "mnist"):
        for _, directory in data._places(name):
            if directory is not None and directory.is_dir():
                paths.add(directory.resolve())
    return sorted(paths)


# Passed on from the grader's environment: the size and the places of the data; nothing else (no tokens).
PASSED_ON = ("COURSE_SIZE", "COURSE_PROGRESS", "COURSE_GRADING", "COURSE_DATA_DIR", "FASHION_MNIST_DIR",
             "MNIST_DIR", "LANG",
             "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def environment(scratch):
    """The kernel's whole environment: its home and caches in the scratch folder."""
    env = {var: os.environ[var] for var in PASSED_ON if var in os.environ}
    env.update(HOME=str(scratch), TMPDIR="/tmp", PYTHONDONTWRITEBYTECODE="1",
               PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
               MPLCONFIGDIR=str(scratch / ".matplotlib"), KERAS_HOME=str(scratch / ".keras"),
               IPYTHONDIR=str(scratch / ".ipython"), JUPYTER_CONFIG_DIR=str(scratch / ".jupyter"),
               JUPYTER_DATA_DIR=str(scratch / ".jupyter-data"))
    return env


def bwrap_arguments(scratch, *, readable, limits, uid=None, cwd=None):
    """The ``bwrap ... prlimit ...`` prefix that runs a command in the sandbox.

    As root (``uid`` given), bwrap makes the namespaces and the mounts, then ``setpriv`` inside turns the
    command into the unprivileged user ``uid`` with no capabilities and no way to gain any (setuid
    programs included); otherwise bwrap also makes a user namespace, for the grader's own user.
    """
    limits.check()
    if uid is None:
        args = ["bwrap", "--unshare-all", "--cap-drop", "ALL"]
    else:
        args = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try"]
    args += ["--die-with-parent", "--new-session", "--hostname", "sandbox", "--proc", "/proc",
             "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp", "--ro-bind", "/usr", "/usr"]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = Path("/", link)
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), f"/{link}"]
        elif target.is_dir():
            args += ["--ro-bind", str(target), f"/{link}"]
    for name in ETC_FILES:
        if Path("/etc", name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    made = {Path("/"), Path("/usr"), Path("/tmp"), Path("/etc")}
    for path, how in [(p, "--ro-bind") for p in readable if not str(p).startswith("/usr/")] + [
            (scratch, "--bind")]:
        for parent in reversed(path.parents):      # bwrap would make them 0700: unreadable to the user
            if parent not in made:
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        args += [how, str(path), str(path)]
    args += ["--chdir", str(cwd or scratch), "--clearenv"]
    for var, value in environment(scratch).items():
        args += ["--setenv", var, value]
    args.append("--")
    if uid is not None:
        args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
                 "--inh-caps=-all", "--bounding-set=-all", "--"]
    memory = int(limits.memory_gib * 2 ** 30)
    return args + ["prlimit", f"--as={memory}", f"--nproc={limits.processes}", "--core=0",
                   f"--fsize={limits.file_mib * 2 ** 20}", "--"]


def sandbox_uid(worker):
    """The sandbox's own user when the grader is root (``None`` otherwise: the grader's user)."""
    return SANDBOX_UID + worker if os.geteuid() == 0 else None


def command(argv, scratch, *, limits=Limits(), worker=0, cwd=None):
    """``argv`` wrapped to run in the sandbox, with ``scratch`` (a folder) its only writable place, in
    ``cwd`` (default: ``scratch``; inside the sandbox, a parent of it shows only the way to it)."""
    uid = sandbox_uid(worker)
    scratch = Path(scratch).resolve()
    if uid is not None:
        os.chown(scratch, uid, uid)
    return bwrap_arguments(scratch, readable=readable_paths(), limits=limits, uid=uid, cwd=cwd) + list(argv)


def unavailable():
    """Why the sandbox cannot run here (``None`` if it can): bwrap missing, or namespaces refused."""
    if not shutil.which("bwrap") or not shutil.which("prlimit"):
        return "bubblewrap (bwrap) is not installed"
    probe = bwrap_arguments(Path("/tmp"), readable=[], limits=Limits(), uid=sandbox_uid(0)) + ["true"]
    result = subprocess.run(probe, capture_output=True, text=True)
    if result.returncode != 0:
        return f"bwrap cannot make a sandbox here: {result.stderr.strip()[:200] or result.returncode}"
    return None


# The kernel launcher: a kernelspec whose argv runs ``python -m companion.instructors.sandbox kernel``.

KERNEL_NAME = "course-sandbox"
CONFIG_VAR = "COURSE_SANDBOX"       # JSON {"scratch": folder, "worker": k, "limits": {...}} for the launcher
SCRATCH_MARK = ".grading-scratch"   # the file that makes a folder a scratch folder the launcher may use


def write_kernelspec(data_dir):
    """Install the sandboxed kernel in ``<data_dir>/kernels`` (a grader's own Jupyter data folder)."""
    spec = {"argv": [sys.executable, "-m", "companion.instructors.sandbox", "kernel", "{connection_file}"],
            "display_name": "Python 3 (grading sandbox)", "language": "python",
            "interrupt_mode": "message", "metadata": {"debugger": False}}   # bwrap would not pass SIGINT on
    folder = Path(data_dir) / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))


def new_scratch(course_root, number, *, limits, worker):
    """Make ``<course_root>/scratch/<number>`` anew as one kernel's scratch folder; ``(environment,
    Jupyter options)`` that run the next kernel there: the launcher's configuration, a connection
    file inside it, and ipc sockets named relative to ``course_root`` (where nbgrader runs, and where
    the kernel starts), since a socket's path may not be longer than 107 characters."""
    course_root = Path(course_root).resolve()
    folder = course_root / "scratch" / str(number)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / SCRATCH_MARK).touch()
    env = {CONFIG_VAR: json.dumps({"scratch": str(folder), "cwd": str(course_root), "worker": worker,
                                   "limits": asdict(limits)})}
    options = ["--KernelManager.transport=ipc", f"--KernelManager.connection_file={folder / 'kernel.json'}",
               f"--KernelManager.ip={folder.relative_to(course_root) / 'ipc'}"]
    return env, options


def launch_kernel(connection_file):
    """Replace this process by an IPython kernel in the sandbox (the kernelspec's argv)."""
    config = json.loads(os.environ[CONFIG_VAR])
    scratch, cwd = Path(config["scratch"]), Path(config["cwd"])
    connection_file = Path(connection_file).resolve()
    if not (scratch / SCRATCH_MARK).is_file() or connection_file.parent != scratch or cwd not in scratch.parents:
        sys.exit(f"the kernel's connection file {connection_file} is not in a scratch folder made by "
                 "companion.instructors.sandbox.new_scratch")
    uid = sandbox_uid(config["worker"])
    if uid is not None:
        os.chown(connection_file, uid, uid)
    # The kernel binds its sockets where it starts (cwd), then works in its scratch folder.
    argv = command([sys.executable, "-m", "ipykernel_launcher", "-f", str(connection_file),
                    "--HistoryManager.hist_file=:memory:",
                    f"--IPKernelApp.exec_lines=import os as _os; _os.chdir({str(scratch)!r}); del _os"],
                   scratch, limits=Limits(**config["limits"]), worker=config["worker"], cwd=cwd)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    if sys.argv[1:2] == ["kernel"] and len(sys.argv) == 3:
        launch_kernel(sys.argv[2])
    sys.exit("usage: python -m companion.instructors.sandbox kernel CONNECTION_FILE")
