"""``deploy/``: the hub's files parse, agree with each other and with the course, and install the
repository's own requirements. (Building the image and a real hub are not possible here.)"""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from traitlets.config import Config

from companion.instructors.course import COURSE_ID
from companion.instructors.nbgrader_course import DEFAULT_EXCHANGE

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


def load_config(path):
    """The traitlets ``Config`` a Jupyter config file sets."""
    config = Config()
    exec(compile(path.read_text(), str(path), "exec"), {"get_config": lambda: config, "c": config})
    return config


def test_everyone_shares_the_course_id_and_the_exchange():
    hub = load_config(DEPLOY / "jupyter" / "nbgrader_config.py")
    assert hub.CourseDirectory.course_id == COURSE_ID
    assert hub.Exchange.root == DEFAULT_EXCHANGE
    values = yaml.safe_load((DEPLOY / "z2jh" / "config.yaml").read_text())
    mounts = values["singleuser"]["storage"]["extraVolumeMounts"]
    assert [m["mountPath"] for m in mounts] == [DEFAULT_EXCHANGE]
    claim = yaml.safe_load((DEPLOY / "z2jh" / "exchange-pvc.yaml").read_text())
    volumes = values["singleuser"]["storage"]["extraVolumes"]
    assert volumes[0]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    init = values["singleuser"]["initContainers"][0]
    assert DEFAULT_EXCHANGE in " ".join(init["command"]) and init["volumeMounts"][0]["mountPath"] == DEFAULT_EXCHANGE
    assert DEFAULT_EXCHANGE in (DEPLOY / "tljh" / "install.sh").read_text()


def test_the_hub_config_sets_the_role_the_start_script_reads():
    values = yaml.safe_load((DEPLOY / "z2jh" / "config.yaml").read_text())
    assert values["singleuser"]["cmd"] == "course-start"
    code = values["hub"]["extraConfig"]["course-roles"]
    config = Config()
    exec(compile(code, "course-roles", "exec"), {"c": config})
    hook = config.KubeSpawner.pre_spawn_hook

    class Spawner:
        def __init__(self, name):
            self.user, self.environment = type("User", (), {"name": name})(), {}

    roles = {}
    for name in ("instructor", "student-1"):
        spawner = Spawner(name)
        hook(spawner)
        roles[name] = spawner.environment["COURSE_ROLE"]
    assert roles == {"instructor": "instructor", "student-1": "student"}
    start = (DEPLOY / "image" / "course-start").read_text()
    assert '"${COURSE_ROLE:-student}" = instructor' in start and "exec jupyterhub-singleuser" in start


def test_the_image_installs_the_repositorys_own_files():
    dockerfile = (DEPLOY / "image" / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-\S*bookworm", dockerfile, re.M), "the course is pinned to Python 3.11"
    assert re.search(r"^RUN pip install -r requirements.txt", dockerfile, re.M)
    for path in ("etc/jupyterlab-overrides.json", "deploy/jupyter/nbgrader_config.py", "deploy/image/course-start"):
        assert path in dockerfile and (ROOT / path).exists(), path
    assert "dataset-fashion-mnist" in dockerfile and 'CMD ["course-start"]' in dockerfile
    pins = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line)
    assert pins["jupyterhub"].startswith("5."), "the image's single-user server must match Zero to JupyterHub 4.x"


def test_the_tljh_installer_uses_the_course_pins():
    script = (DEPLOY / "tljh" / "install.sh").read_text()
    assert "pip install -r requirements.txt" in script and "grep -E '^(jupytext|nbgrader)=='" in script
    assert "--name python3" in script, "the chapters' kernelspec is python3"
    names = set(re.findall(r"^([a-z-]+)==", (ROOT / "requirements.txt").read_text(), re.M))
    assert {"jupytext", "nbgrader"} <= names


@pytest.mark.parametrize("script, shell", [("tljh/install.sh", "bash"), ("image/course-start", "sh")])
def test_the_scripts_are_valid_shell(script, shell):
    if not shutil.which(shell):
        pytest.skip(f"no {shell}")
    run = subprocess.run([shell, "-n", str(DEPLOY / script)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (DEPLOY / script).stat().st_mode & 0o111, f"{script} is not executable"
