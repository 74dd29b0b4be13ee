"""TensorFlow's start-up noise stays out of the notebook (companion.quiet); real warnings do not."""
import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from companion import quiet

USE_TENSORFLOW = """
import companion
import tensorflow as tf
tf.constant(1.0) + 1
graph = tf.Graph()
with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32)
    y = 2 * x
with tf.compat.v1.Session(graph=graph) as session:
    session.run(y, {x: 1.0})
"""


def run(code, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "COURSE_FRAMEWORK_LOGS")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**environment, **env})


def test_tensorflow_starts_quietly_after_import_companion():
    loud = run(USE_TENSORFLOW, COURSE_FRAMEWORK_LOGS="1")
    assert loud.returncode == 0 and any(quiet.framework_noise(line) for line in loud.stderr.splitlines()), \
        "TensorFlow printed no start-up message: nothing to hide on this machine"
    silent = run(USE_TENSORFLOW)
    assert silent.returncode == 0, silent.stderr
    assert silent.stderr.strip() == "", silent.stderr


def test_keras_first_is_quiet_too_and_real_warnings_show():
    result = run("import companion, warnings\nimport keras\nkeras.layers.Dense(2)\nwarnings.warn('a real warning')")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().endswith("UserWarning: a real warning\n  warnings.warn('a real warning')") \
        or "UserWarning: a real warning" in result.stderr
    assert not any(quiet.framework_noise(line) for line in result.stderr.splitlines())


def test_lines_that_are_not_the_known_noise_are_forwarded(monkeypatch, capfd):
    class FakeTensorFlow:
        class config:
            @staticmethod
            def list_physical_devices():
                os.write(2, b"E0000 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n")
                os.write(2, b"E0000 something.cc:1] a real error the student must see\n")

    monkeypatch.setattr(quiet.importlib, "import_module", lambda name: FakeTensorFlow)
    quiet._import_quietly()
    err = capfd.readouterr().err
    assert "a real error the student must see" in err and "cuInit" not in err


@pytest.mark.parametrize("line, noise", [
    ("I0000 00:00:1.1 12 port.cc:153] oneDNN custom operations are on. You may see ...", True),
    ("I0000 00:00:1.2 12 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.", True),
    ("E0000 00:00:1.3 12 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: (303)", True),
    ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR", True),
    ("E0000 00:00:1.4 12 op_kernel.cc:1] OP_REQUIRES failed: Incompatible shapes", False),
    ("UserWarning: the learning rate is large", False),
])
def test_the_noise_is_only_the_known_start_up_messages(line, noise):
    assert quiet.framework_noise(line) is noise


def test_a_notebook_shows_no_red_block_when_it_builds_a_model(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from companion import models\nmodel = models.build('mlp', 'keras')\ngraph = models.build('mlp', 'tf1')")])
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "COURSE_FRAMEWORK_LOGS")}
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    streams = [out for out in notebook.cells[0].outputs if out.output_type == "stream" and out.name == "stderr"]
    assert streams == [], "".join(out.text for out in streams)
