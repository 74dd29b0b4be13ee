"""nbgrader run by the server (a forked child per command) behaves as ``python -m nbgrader`` does."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from companion.instructors.nbgrader_server import NbgraderServer


@pytest.fixture
def server(tmp_path):
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_DATA_DIR=str(tmp_path / "data"),
               PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    served = NbgraderServer(env=env, cwd=tmp_path, logs=tmp_path / "logs")
    yield served, env
    served.close()


def command_line(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], env=env, cwd=cwd, capture_output=True,
                          text=True)


@pytest.mark.parametrize("args", [["--version"], ["no_such_command"], ["autograde", "--no-such-option"],
                                  ["db", "student", "list"]])
def test_it_answers_as_the_command_line_does(server, tmp_path, args):
    served, env = server
    for folder in ("served", "command line"):
        (tmp_path / folder).mkdir()
    result = served.run(args, env=env, cwd=tmp_path / "served")
    expected = command_line(args, env, tmp_path / "command line")
    assert result.args == ["nbgrader", *args]
    assert result.returncode == expected.returncode
    assert result.stdout.strip() == expected.stdout.strip()
    assert result.stderr.splitlines()[-1:] == expected.stderr.splitlines()[-1:]
    assert not list((tmp_path / "logs").iterdir())               # its output files are read and removed


# nbgrader runs the nbgrader_config.py of its folder: this one takes its gradebook from the environment,
# and sleeps on request.
CONFIG = """import os, time
c = get_config()
c.CourseDirectory.db_url = "sqlite:///" + os.path.abspath(os.environ["GRADEBOOK"])
time.sleep(float(os.environ.get("SLEEP", 0)))
"""


def test_each_command_has_its_own_environment_and_folder(server, tmp_path):
    served, env = server
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "nbgrader_config.py").write_text(CONFIG)

    def nbgrader(folder, gradebook, *args):
        result = served.run(args, env=dict(env, GRADEBOOK=gradebook), cwd=tmp_path / folder)
        assert result.returncode == 0, result.stderr
        return result.stdout + result.stderr

    nbgrader("a", "one.db", "db", "student", "add", "ada")
    nbgrader("b", "one.db", "db", "student", "add", "bob")
    assert "ada" in nbgrader("a", "one.db", "db", "student", "list")
    assert "ada" not in nbgrader("b", "one.db", "db", "student", "list")       # another folder
    assert "bob" not in nbgrader("b", "two.db", "db", "student", "list")       # another environment
    assert (tmp_path / "a" / "one.db").exists() and not (tmp_path / "two.db").exists()


def test_a_killed_command_is_a_status_and_the_next_one_runs(server, tmp_path):
    served, env = server
    (tmp_path / "nbgrader_config.py").write_text(CONFIG)
    env = dict(env, GRADEBOOK="gradebook.db")
    assert served.run(["--version"], env=env, cwd=tmp_path).returncode == 0
    first = served.process.pid
    results = []
    runner = threading.Thread(target=lambda: results.append(
        served.run(["db", "student", "list"], env=dict(env, SLEEP="600"), cwd=tmp_path)))
    runner.start()
    os.kill(wait_for_child(first), signal.SIGKILL)
    runner.join(60)
    assert results and results[0].returncode == -signal.SIGKILL
    assert served.run(["db", "student", "list"], env=env, cwd=tmp_path).returncode == 0
    assert served.process.pid == first                                         # the same server


def test_a_server_killed_during_a_command_fails_that_command_only(server, tmp_path):
    served, env = server
    (tmp_path / "nbgrader_config.py").write_text(CONFIG)
    env = dict(env, GRADEBOOK="gradebook.db")
    results = []
    runner = threading.Thread(target=lambda: results.append(
        served.run(["db", "student", "list"], env=dict(env, SLEEP="600"), cwd=tmp_path)))
    runner.start()
    first = wait_for(lambda: served.process and served.process.pid)
    child = wait_for_child(first)
    os.kill(first, signal.SIGKILL)
    runner.join(60)
    assert results and results[0].returncode != 0 and "ServerDied" in results[0].stderr
    wait_for(lambda: not os.path.exists(f"/proc/{child}"))                   # its command ended with it
    assert served.run(["db", "student", "list"], env=env, cwd=tmp_path).returncode == 0
    assert served.process.pid != first


def wait_for(condition, seconds=60):
    """The first true value of ``condition()``, polled for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"still false after {seconds} s")


def wait_for_child(pid, seconds=60):
    """The pid of the first child of process ``pid``, once it has one."""
    def first_child():
        try:
            return int(open(f"/proc/{pid}/task/{pid}/children").read().split()[0])
        except (FileNotFoundError, IndexError):
            return None
    return wait_for(first_child, seconds)


def test_a_flood_of_output_is_cut_to_its_end(tmp_path):
    from companion.instructors.nbgrader_server import LOG_KEPT, read
    (tmp_path / "log").write_bytes(b"x" * (3 * LOG_KEPT) + b"\nValueError: the last line\n")
    text = read(tmp_path / "log")
    assert len(text) < LOG_KEPT + 100 and text.endswith("ValueError: the last line\n")
    assert text.startswith(f"[... the first {2 * LOG_KEPT + 27:,} bytes cut]")
    assert read(tmp_path / "never written") == ""
