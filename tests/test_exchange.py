"""A class through nbgrader's exchange on one machine: ``make course``, release, fetch, submit, collect,
then the course's autograder (sandboxed) and nbgrader's own ``autograde`` on what was collected.

The instructor and each student have a home folder and a Jupyter configuration of their own; the
students are told apart by nbgrader's ``--student`` (on a hub, by their login), so ``collect`` runs with
``check_owner`` off: here every file belongs to the one user running the tests.
"""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from companion.instructors import InstructorError, edition, synthetic
from companion.instructors.nbgrader_course import MARK, write_course

CHAPTER = "intro"              # the lightest chapter with exercises
COURSE = "gradients"
STUDENTS = {"alice": "right", "bob": "blank"}
BIN = Path(sys.executable).parent


def nbgrader(home, cwd, *args):
    """``nbgrader ARGS`` as the person whose home is ``home``, in ``cwd``; its output."""
    env = {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
           "JUPYTER_DATA_DIR": str(home / ".local" / "share" / "jupyter"), "COURSE_SIZE": "quick",
           "COURSE_PROGRESS": "0", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run([str(BIN / "nbgrader"), *map(str, args)], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, f"nbgrader {' '.join(map(str, args))}:\n{run.stderr[-3000:]}"
    return run.stdout + run.stderr


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """The course folder after release, two students' fetch and submit, and collect."""
    root = tmp_path_factory.mktemp("class")
    course, exchange, instructor = root / "course", root / "exchange", root / "instructor"
    run = subprocess.run([sys.executable, "-m", "companion.instructors", "course", "--output", str(course),
                          "--exchange", str(exchange), "--chapters", CHAPTER], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    instructor.mkdir()
    nbgrader(instructor, course, "generate_assignment", CHAPTER)
    nbgrader(instructor, course, "release_assignment", CHAPTER)
    solution = jupytext.read(edition.toc_chapters()[CHAPTER])
    for student, kind in STUDENTS.items():
        home = root / "home" / student
        (home / ".jupyter").mkdir(parents=True)
        (home / ".jupyter" / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\nc.CourseDirectory.course_id = {COURSE!r}\n")
        nbgrader(home, home, "fetch_assignment", CHAPTER)
        fetched = home / CHAPTER / f"{CHAPTER}.ipynb"
        answered = synthetic.submission(kind, nbformat.read(fetched, as_version=4), solution)
        nbformat.write(answered, fetched)
        nbgrader(home, home, "submit", CHAPTER, f"--student={student}")
    nbgrader(instructor, course, "collect", CHAPTER, "--CollectApp.check_owner=False")
    return root, course, instructor


def test_the_course_folder_is_an_nbgrader_course(collected):
    root, course, _ = collected
    assert MARK in (course / "nbgrader_config.py").read_text()
    release = nbformat.read(course / "release" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    sources = "\n".join(cell.source for cell in release.cells)
    assert "### BEGIN SOLUTION" not in sources and "YOUR CODE HERE" in sources
    assert (root / "exchange" / COURSE / "outbound" / CHAPTER / f"{CHAPTER}.ipynb").exists()
    for student in STUDENTS:
        assert (course / "submitted" / student / CHAPTER / f"{CHAPTER}.ipynb").exists()


def test_the_course_autograder_grades_what_was_collected(collected, tmp_path):
    _, course, _ = collected
    run = subprocess.run([sys.executable, "-m", "companion.instructors", "grade", str(course / "submitted"),
                          "--output", str(tmp_path / "grades"), "--chapters", CHAPTER],
                         capture_output=True, text=True, env={**os.environ, "COURSE_PROGRESS": "0"})
    assert run.returncode == 0, run.stderr[-3000:]
    with open(tmp_path / "grades" / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    points = {}
    for row in rows:
        points.setdefault(row["exercise"], float(row["max_score"]))
    for student, kind in STUDENTS.items():
        scores = [float(row["score"]) for row in rows if row["student"] == student]
        assert scores == synthetic.expected_scores(kind, list(points.values())), (student, rows)
    assert (tmp_path / "grades" / "feedback" / "alice" / f"{CHAPTER}.html").exists()


def test_plain_nbgrader_autograde_accepts_the_collected_submissions(collected):
    _, course, instructor = collected
    for student in STUDENTS:
        nbgrader(instructor, course, "db", "student", "add", student)
    nbgrader(instructor, course, "autograde", CHAPTER)
    export = course / "grades.csv"
    nbgrader(instructor, course, "export", f"--to={export}")
    with open(export, newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert float(rows["alice"]["raw_score"]) == float(rows["alice"]["max_score"]) > 0
    assert float(rows["bob"]["raw_score"]) == 0


def test_a_config_of_someone_else_is_never_overwritten(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 'mine'\n")
    with pytest.raises(InstructorError, match="was not written by this command"):
        write_course(tmp_path, [CHAPTER])
    assert "mine" in (tmp_path / "nbgrader_config.py").read_text()
    assert not (tmp_path / "source").exists()


def test_running_it_again_updates_and_keeps_the_rest(tmp_path):
    write_course(tmp_path, [CHAPTER], exchange="/first")
    (tmp_path / "gradebook.db").write_bytes(b"an instructor's grades")
    written = write_course(tmp_path, [CHAPTER], exchange="/second")
    assert "'/second'" in (tmp_path / "nbgrader_config.py").read_text()
    assert (tmp_path / "gradebook.db").read_bytes() == b"an instructor's grades"
    assert written[1] == tmp_path / "source" / CHAPTER / f"{CHAPTER}.ipynb"
    with pytest.raises(InstructorError, match="unknown chapter"):
        write_course(tmp_path / "other", ["nonsense"])
    assert not (tmp_path / "other").exists()


def test_collected_layout_is_found_and_a_linked_folder_is_not_followed(tmp_path):
    from companion.instructors.grading import read_notebook, submission_path

    (tmp_path / "ann" / CHAPTER).mkdir(parents=True)
    nested = tmp_path / "ann" / CHAPTER / f"{CHAPTER}.ipynb"
    nested.write_text(nbformat.writes(nbformat.v4.new_notebook()))
    assert submission_path(tmp_path, "ann", CHAPTER) == nested
    flat = tmp_path / "ann" / f"{CHAPTER}.ipynb"
    flat.write_text(nbformat.writes(nbformat.v4.new_notebook()))
    assert submission_path(tmp_path, "ann", CHAPTER) == flat
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / f"{CHAPTER}.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    (tmp_path / "ben").mkdir()
    (tmp_path / "ben" / CHAPTER).symlink_to(secret)
    linked = submission_path(tmp_path, "ben", CHAPTER)
    assert read_notebook(linked) == (None, "not a regular file (a link or a folder is not graded)")
    assert submission_path(tmp_path, "cay", CHAPTER) is None


# JupyterHub on loopback: a dummy authenticator, local processes for the users' servers, and the
# student's server (nbgrader's Assignments extension) lists and fetches the released assignment.

def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


HUB_CONFIG = """\
c = get_config()
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {homes!r} + "/{{username}}"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = {args!r}
c.Spawner.environment = {{"COURSE_SIZE": "quick", "COURSE_PROGRESS": "0"}}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.db_url = "sqlite:///" + {root!r} + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = {root!r} + "/cookie_secret"
c.ConfigurableHTTPProxy.pid_file = {root!r} + "/proxy.pid"
c.JupyterHub.services = [{{"name": "course-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "course-test", "services": ["course-test"],
                             "scopes": ["admin:users", "admin:servers", "access:servers"]}}]
"""


def proxy_command():
    """configurable-http-proxy: on PATH, or installed by ``make setup`` under .venv/node."""
    local = BIN.parent / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
    return str(local) if local.exists() else shutil.which("configurable-http-proxy")


def test_a_student_on_jupyterhub_sees_and_fetches_the_released_assignment(collected, tmp_path):
    import json
    import secrets
    import signal
    import time
    import urllib.request

    proxy = proxy_command()
    if proxy is None or not (BIN / "jupyterhub-singleuser").exists():
        pytest.skip("no configurable-http-proxy or jupyterhub: run make setup (npm installs the proxy)")
    root, _, _ = collected
    homes, token, port = tmp_path / "homes", secrets.token_hex(16), free_port()
    student_home = homes / "carol"
    (student_home / ".jupyter").mkdir(parents=True)
    (student_home / ".jupyter" / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.Exchange.root = {str(root / 'exchange')!r}\nc.CourseDirectory.course_id = {COURSE!r}\n")
    config = tmp_path / "jupyterhub_config.py"
    config.write_text(HUB_CONFIG.format(port=port, hub_port=free_port(), proxy_api_port=free_port(), proxy=proxy,
                                        homes=str(homes), singleuser=str(BIN / "jupyterhub-singleuser"),
                                        root=str(tmp_path), token=token,
                                        args=["--allow-root"] if os.geteuid() == 0 else []))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    hub = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(config)], cwd=tmp_path, env=env,
                           stdout=open(tmp_path / "hub.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def call(method, path, timeout=30):
        request = urllib.request.Request(base + path, method=method, headers={"Authorization": f"token {token}"},
                                         data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            return json.loads(body) if body else None

    def wait(check, what, seconds=180):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                result = check()
                if result:
                    return result
            except OSError:
                pass
            if hub.poll() is not None:
                break
            time.sleep(0.5)
        pytest.fail(f"{what}; the hub's log:\n" + (tmp_path / "hub.log").read_text()[-3000:])

    try:
        wait(lambda: call("GET", "/hub/api/"), "the hub did not answer")
        call("POST", "/hub/api/users/carol")
        call("POST", "/hub/api/users/carol/server")
        wait(lambda: call("GET", "/hub/api/users/carol")["servers"].get("", {}).get("ready"),
             "carol's server did not start")
        listed = call("GET", f"/user/carol/assignments?course_id={COURSE}")
        assert listed["success"], listed
        assert [(a["course_id"], a["assignment_id"], a["status"]) for a in listed["value"]] == \
            [(COURSE, CHAPTER, "released")]
        fetched = call("POST", f"/user/carol/assignments/fetch?course_id={COURSE}&assignment_id={CHAPTER}")
        assert [a["status"] for a in fetched["value"]] == ["fetched"], fetched
        notebook = nbformat.read(student_home / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
        assert "YOUR CODE HERE" in "\n".join(cell.source for cell in notebook.cells)
    finally:
        try:
            os.killpg(hub.pid, signal.SIGTERM)
            hub.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(hub.pid, signal.SIGKILL)
        for pid_file in [tmp_path / "proxy.pid"]:
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text()), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
