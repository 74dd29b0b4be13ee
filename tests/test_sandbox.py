"""The autograder's sandbox (companion.instructors.sandbox): what a hostile submission cannot do.

Each test runs a small Python program in the sandbox, as a grading kernel runs, and checks what it
could reach. ``make test`` installs bubblewrap (as root, from Debian); elsewhere these tests fail with
the sandbox's own message, since an autograder without its sandbox is not one to ship.
"""
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from companion.instructors import InstructorError, grading, sandbox
from companion.instructors.edition import course_root

ROOT = course_root()
HOME = Path.home().resolve()


def run(code, scratch, limits=sandbox.Limits(), timeout=120):
    """Run ``code`` in the sandbox with ``scratch`` its folder; its last line of output, parsed as JSON."""
    scratch.mkdir(exist_ok=True)
    result = subprocess.run(sandbox.command([sys.executable, "-c", textwrap.dedent(code)], scratch,
                                            limits=limits), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_sandbox_runs_here():
    assert sandbox.unavailable() is None


def test_it_sees_only_what_an_exercise_needs(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the solutions")
    seen = run(f"""
        import json, os
        import companion, numpy
        from companion import data
        X = data.load_fashion_mnist(subset=100)[0][0]
        paths = {[str(p) for p in (ROOT / "book", ROOT / "tests", ROOT / ".git", ROOT / "_build",
                                   ROOT / "companion", secret, "/etc/shadow")]}
        home = {str(HOME)!r}
        print(json.dumps({{"data": X.shape[0], "exists": {{p: os.path.exists(p) for p in paths}},
                          "home": os.listdir(home) if os.path.isdir(home) else []}}))
        """, tmp_path / "scratch")
    assert seen["data"] == 100                                     # the package and the data set are there
    exists = seen["exists"]
    assert exists.pop(str(ROOT / "companion")) is True
    assert not any(exists.values()), exists                        # the repository, the rest: not
    # Of the home directory, only the folders on the way to the interpreter (say ~/.pyenv) are there.
    on_the_way = {p.relative_to(HOME).parts[0] for p in sandbox.readable_paths() if HOME in p.parents}
    assert set(seen["home"]) <= on_the_way


def test_it_writes_only_its_scratch_folder(tmp_path):
    targets = [ROOT / "companion" / "stray.py", ROOT / "stray.txt", sys.prefix + "/stray", "/usr/stray",
               "/tmp/stray-from-the-sandbox"]
    wrote = run(f"""
        import json, os
        result = {{}}
        for path in {[str(t) for t in targets]} + ["written.txt"]:
            try:
                with open(path, "w") as f:
                    f.write("x")
                result[path] = True
            except OSError:
                result[path] = False
        print(json.dumps(result))
        """, tmp_path / "scratch")
    assert wrote.pop("written.txt") is True and (tmp_path / "scratch" / "written.txt").exists()
    assert wrote.pop("/tmp/stray-from-the-sandbox") is True        # a private /tmp, in memory
    assert not os.path.exists("/tmp/stray-from-the-sandbox")
    assert not any(wrote.values()), wrote
    assert not any(os.path.exists(t) for t in targets)


def test_no_network_not_even_the_machines_loopback(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    threading.Thread(target=lambda: server.accept(), daemon=True).start()
    socket.create_connection(("127.0.0.1", port), timeout=5).close()     # reachable from outside
    reached = run(f"""
        import json, socket
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=5).close()
            print(json.dumps("connected"))
        except OSError as error:
            print(json.dumps(type(error).__name__))
        """, tmp_path / "scratch")
    server.close()
    assert reached in ("ConnectionRefusedError", "OSError", "TimeoutError")


def test_memory_is_limited(tmp_path):
    result = run("""
        import json
        import numpy as np
        try:
            block = np.ones(2 ** 31 // 8 * 3)      # 3 GiB
            print(json.dumps("allocated"))
        except MemoryError:
            print(json.dumps("MemoryError"))
        """, tmp_path / "scratch", limits=sandbox.Limits(memory_gib=1.5))
    assert result == "MemoryError"


def test_processes_are_limited_and_all_end_with_the_sandbox(tmp_path):
    marker = f"600.{os.getpid()}"                                  # sleep takes fractional seconds
    started = run(f"""
        import json, subprocess
        started = 0
        try:
            for _ in range(200):
                subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
                started += 1
        except OSError:
            pass
        print(json.dumps(started))
        """, tmp_path / "scratch", limits=sandbox.Limits(processes=24))
    assert 0 < started < 24
    left = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True).stdout.split()
    assert left == []                                              # the detached sleeps died with it


def test_no_root_and_no_secrets_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTRUCTOR_TOKEN", "hunter2")
    seen = run("""
        import json, os
        try:
            os.setuid(0)
            became_root = True
        except OSError:
            became_root = False
        print(json.dumps({"uid": os.getuid(), "root": became_root, "env": sorted(os.environ)}))
        """, tmp_path / "scratch")
    assert "INSTRUCTOR_TOKEN" not in seen["env"]
    if os.geteuid() == 0:
        assert seen["uid"] != 0 and seen["root"] is False


def test_limits_are_checked():
    with pytest.raises(InstructorError, match="at least 8 processes"):
        sandbox.Limits(processes=2).check()


def test_the_grader_refuses_to_run_without_the_sandbox(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "unavailable", lambda: "bubblewrap (bwrap) is not installed")
    (tmp_path / "subs" / "someone").mkdir(parents=True)
    with pytest.raises(InstructorError, match="apt-get install bubblewrap.*TRUSTED=1"):
        grading.grade(tmp_path / "subs", tmp_path / "out", chapters=["intro"])
    assert not (tmp_path / "out").exists()
