"""Every page of the book is committed in the form jupytext writes: opened and saved in JupyterLab
(jupytext's contents manager, as ``make lab`` runs it) without an edit, it stays byte for byte the same."""
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "book").glob("*.md"))


@pytest.fixture(scope="module")
def contents_manager(tmp_path_factory):
    from jupyter_server.services.contents.largefilemanager import LargeFileManager
    from jupytext.sync_contentsmanager import build_sync_jupytext_contents_manager_class

    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "book", root / "book", ignore=shutil.ignore_patterns("_build", "*.ipynb"))
    for name in ("pyproject.toml", "_config.yml"):            # where jupytext would look for its settings
        shutil.copy(ROOT / name, root / name)
    return root, build_sync_jupytext_contents_manager_class(LargeFileManager)(root_dir=str(root))


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_saving_an_unchanged_page_changes_nothing(contents_manager, page):
    root, manager = contents_manager
    path = f"book/{page.name}"
    model = manager.get(path, content=True, type="notebook")
    assert model["type"] == "notebook", f"{page.name} does not open as a notebook"
    manager.save(model, path)
    saved = (root / path).read_text()
    assert saved == page.read_text(), (
        f"{page.name} changes when saved from JupyterLab: rewrite it with `jupytext --to md:myst {path}` "
        "and commit the result")
