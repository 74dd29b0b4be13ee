"""TensorFlow without its start-up noise.

Imported, TensorFlow 2.21 writes to the process' stderr a block of messages that are harmless on a
CPU machine (oneDNN's note, "Could not find cuda drivers", a failed ``cuInit`` "CUDA error", the CPU
instructions it was not built for). Most come before its logging is set up, so ``TF_CPP_MIN_LOG_LEVEL``
cannot hide them, and in JupyterLab they show as a red block under the first cell that builds a model:
it looks like a failure in a course about things going wrong.

:func:`install` (called by ``import companion``) makes the first import of ``tensorflow`` or ``keras``
in the process, wherever it happens, run with stderr captured at the file-descriptor level, together
with TensorFlow's device discovery (where the ``cuInit`` message comes from). Afterwards every captured
line that is not one of the known start-up messages (:data:`NOISE`) is written to ``sys.stderr``, so
real warnings and errors still show. ``TF_CPP_MIN_LOG_LEVEL`` defaults to 1 (TensorFlow's later INFO
lines hidden, its warnings and errors shown) unless you set it. ``COURSE_FRAMEWORK_LOGS=1`` turns all
of this off.
"""
import importlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

NOISE = re.compile("|".join([
    r"oneDNN custom operations are on",
    r"cudart_stub\.cc.*Could not find cuda drivers",
    r"cuda_platform\.cc.*failed call to cuInit",
    r"cuda_(dnn|fft|blas)\.cc.*Unable to register",
    r"computation placer already registered",
    r"cpu_feature_guard\.cc.*This TensorFlow binary is optimized",
    r"^To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags",
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$",
    r"TF-TRT Warning: Could not find TensorRT",
]))


def framework_noise(line):
    """Is ``line`` one of TensorFlow's harmless start-up messages?"""
    return bool(NOISE.search(line))


def _import_quietly():
    """Import TensorFlow and discover its devices with fd 2 captured; forward what is not noise."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError):
        pass
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            tf = importlib.import_module("tensorflow")
            tf.config.list_physical_devices()
        finally:
            try:
                sys.stderr.flush()
            except (AttributeError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode("utf-8", "replace").splitlines()
                    if line.strip() and not framework_noise(line)]
            if kept:
                print("\n".join(kept), file=sys.stderr)


class _AlreadyImported(importlib.abc.Loader):
    """The loader of a module :class:`QuietTensorFlow` has just imported: it hands over that module."""

    def create_module(self, spec):
        return sys.modules[spec.name]

    def exec_module(self, module):
        pass


class QuietTensorFlow(importlib.abc.MetaPathFinder):
    """Catches the first ``import tensorflow`` or ``import keras`` and runs it quietly, then leaves."""

    def find_spec(self, name, path=None, target=None):
        if name not in ("tensorflow", "keras"):
            return None
        uninstall()
        if "tensorflow" not in sys.modules:
            _import_quietly()
        if name not in sys.modules:              # keras: TensorFlow is in, the import goes on as usual
            return None
        return importlib.util.spec_from_loader(name, _AlreadyImported())


def install():
    """Make the first TensorFlow import of the process quiet (nothing if it already happened, or if
    ``COURSE_FRAMEWORK_LOGS`` is set)."""
    if os.environ.get("COURSE_FRAMEWORK_LOGS") or "tensorflow" in sys.modules:
        return
    if not any(isinstance(finder, QuietTensorFlow) for finder in sys.meta_path):
        sys.meta_path.insert(0, QuietTensorFlow())


def uninstall():
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, QuietTensorFlow)]
