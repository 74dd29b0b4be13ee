"""pytest runs each chapter (a MyST ``.md`` notebook under ``book/``) through nbval, from its source.

nbval collects only ``.ipynb`` files; this hook hands it the notebook that jupytext reads from the
``.md``, so no generated notebook is ever written or committed. Active with ``--nbval-lax`` (as
``make test`` runs it): then each code cell is a test, and a chapter's ``assert``s are its checks.
"""
import types
from unittest import mock

import jupytext
import nbval.plugin
import pytest


class MystNotebook(nbval.plugin.IPyNbFile):
    """An nbval notebook whose cells come from a MyST Markdown file read by jupytext."""

    def collect(self):
        notebook = jupytext.read(self.path)
        reader = types.SimpleNamespace(read=lambda *args, **kwargs: notebook)
        with mock.patch.object(nbval.plugin, "nbformat", reader):
            return list(super().collect())


def is_chapter(path):
    """True for a ``.md`` under ``book/`` whose front matter names a kernel (a MyST notebook)."""
    if path.suffix != ".md" or "book" not in path.parts:
        return False
    with open(path, encoding="utf-8") as f:
        head = f.read(4_000)
    return head.startswith("---") and "kernelspec:" in head.split("\n---", 1)[0]


def pytest_collect_file(file_path, parent):
    opt = parent.config.option
    if (opt.nbval or opt.nbval_lax) and is_chapter(file_path):
        return MystNotebook.from_parent(parent, path=file_path)
    return None


@pytest.fixture(autouse=True)
def _no_progress_bars(monkeypatch):
    """Unit tests print no progress bars."""
    monkeypatch.setenv("COURSE_PROGRESS", "0")
