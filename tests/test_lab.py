"""A chapter in JupyterLab, as a student meets it: ``make lab`` (as root too), a click on the chapter in
the file browser, its first cells run, then a save. Headless Chromium (tests/browser.py) on loopback.

What must hold: the ``.md`` chapter opens as a notebook with no dialog; its first code cells run with
no error and no red block (TensorFlow's start-up messages: companion.quiet); the rendered Markdown shows
no raw MyST (``{glue``, ``{cite``, ``:::{``, a directive's fence: jupyterlab-myst renders it); saving the
chapter unchanged leaves its file as it was; and when the lab is shut down nothing it started is left.
"""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import browser

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "clipping.md"
FIRST_CODE_CELLS = 4          # imports, seeds, NumPy's clipping, the frameworks' clipping (TF and torch)
RAW_MYST = ("{glue", "{cite", ":::{", "```{", "{exercise}", "{solution}", "{tab-set}", "{literalinclude}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_mentioning(marker):
    """PIDs whose command line holds ``marker`` (this test's folder)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace"):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


@pytest.fixture
def lab(tmp_path):
    """``make lab`` on a copy of book/, on loopback; ``(base_url, token, book_folder, log)``."""
    reason = browser.missing()
    if reason:
        pytest.skip(reason)
    book = tmp_path / "book"
    shutil.copytree(ROOT / "book", book, ignore=shutil.ignore_patterns("_build", "*.ipynb"))
    home, port, token = tmp_path / "home", free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "COURSE_FRAMEWORK_LOGS", "COURSE_BOOK_BUILD")}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               COURSE_SIZE="quick", COURSE_PROGRESS="0")
    args = (f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token} "
            "--ServerApp.disable_check_xsrf=False")
    log = tmp_path / "lab.log"
    process = subprocess.Popen(["make", "-s", "-C", str(ROOT), "lab", f"LAB_ARGS={args}", f"LAB_DIR={book}"],
                               env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("JupyterLab did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.5)
    try:
        yield base, token, book, log
    finally:
        try:
            urllib.request.urlopen(urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST",
                                                          data=b""), timeout=30)
            process.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        deadline = time.monotonic() + 20
        while processes_mentioning(str(tmp_path)) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = processes_mentioning(str(tmp_path))
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert not left, f"processes left running after JupyterLab's shutdown: {left}"


def wait_for(driver, script, what, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = driver.execute_script(script)
        if result:
            return result
        time.sleep(0.5)
    driver.save_screenshot(str(Path(os.environ.get("TMPDIR", "/tmp")) / "course-lab-failure.png"))
    pytest.fail(what)


def test_a_student_opens_a_chapter_runs_its_first_cells_and_saves(lab):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base, token, book, log = lab
    original, written = (book / CHAPTER).read_bytes(), (book / CHAPTER).stat().st_mtime_ns
    assert "--allow-root" in log.read_text() or os.geteuid() != 0
    with browser.chromium(width=1280, height=900) as driver:
        driver.get(f"{base}/lab?token={token}")
        item = wait_for(driver, f"""return [...document.querySelectorAll('.jp-DirListing-item')]
                        .find(e => e.innerText.trim().startsWith({CHAPTER!r}) && e.getBoundingClientRect().height > 0);""",
                        "the chapter is not in JupyterLab's file browser")
        ActionChains(driver).double_click(item).perform()
        wait_for(driver, "return document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length > 20",
                 f"{CHAPTER} did not open as a notebook")
        assert not driver.find_elements(By.CSS_SELECTOR, ".jp-Dialog"), "a dialog opened with the chapter"
        assert not driver.find_elements(By.CSS_SELECTOR, ".jp-FileEditor"), "the chapter opened as text"
        wait_for(driver, "return document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status == 'idle'"
                         " || document.querySelector('.jp-Toolbar-kernelStatus, .jp-Notebook-ExecutionIndicator')",
                 "the kernel did not start")
        cells = driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Notebook .jp-Cell")
        cells[0].click()
        code_run, pressed = 0, 0
        while code_run < FIRST_CODE_CELLS and pressed < 40:
            active = driver.find_element(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell.jp-mod-active")
            is_code = "jp-CodeCell" in active.get_attribute("class")
            ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
            pressed += 1
            code_run += is_code
            time.sleep(0.3)
        wait_for(driver, f"""const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
                 .slice(0, {FIRST_CODE_CELLS}).map(c => c.querySelector('.jp-InputPrompt').textContent);
                 return prompts.every(p => /\\[\\d+\\]/.test(p));""", "the first code cells did not finish", 240)
        code_cells = driver.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-CodeCell")[:FIRST_CODE_CELLS]
        for number, cell in enumerate(code_cells, 1):
            red = cell.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            assert not red, f"code cell {number} shows an error block: {red[0].get_attribute('textContent')[:500]!r}"
        assert "quoted in the text: n_seeds = 3" in code_cells[1].get_attribute("textContent")   # glue, in the lab
        rendered = driver.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-MarkdownCell .jp-Cell-inputWrapper .myst")
        markdown_cells = driver.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-MarkdownCell")
        assert len(rendered) == len(markdown_cells), "not every Markdown cell was rendered by jupyterlab-myst"
        markdown = "\n".join(e.get_attribute("textContent") for e in rendered)
        assert driver.find_elements(By.CSS_SELECTOR, ".jp-MarkdownCell .myst-tab-set"), "the framework tabs did not render"
        assert "Exploding gradients and gradient clipping" in markdown and "Exercise" in markdown
        shown = [marker for marker in RAW_MYST if marker in markdown]
        assert not shown, f"raw MyST in the rendered Markdown: {shown}"
        assert not driver.find_elements(By.CSS_SELECTOR, ".jp-Dialog"), "a dialog opened while the cells ran"
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("s").key_up(Keys.CONTROL).perform()
        wait_for(driver, "return !document.querySelector('.jp-mod-current.jp-mod-dirty, .lm-TabBar-tab.jp-mod-current.jp-mod-dirty')",
                 "the chapter was not saved", 60)
        time.sleep(1)
    assert (book / CHAPTER).stat().st_mtime_ns > written, "Ctrl+S did not save the chapter"
    assert (book / CHAPTER).read_bytes() == original, "saving the chapter unchanged rewrote its file"


def test_every_make_lab_copies_the_setting_that_opens_chapters_as_notebooks(tmp_path):
    """A .venv made before the setting existed (or with an older one) gets it at the next ``make lab``."""
    venv = tmp_path / "old-venv"
    settings = venv / "share/jupyter/lab/settings/overrides.json"
    settings.parent.mkdir(parents=True)
    settings.write_text("{}")
    (venv / ".installed").touch()                              # an installed venv: make lab must not reinstall it
    plan = subprocess.run(["make", "-n", "-C", str(ROOT), "lab", f"VENV={venv}"], capture_output=True, text=True)
    assert plan.returncode == 0, plan.stderr
    assert f"cp etc/jupyterlab-overrides.json {venv}/share/jupyter/lab/settings/overrides.json" in plan.stdout
    subprocess.run(["make", "-s", "-C", str(ROOT), "lab-settings", f"VENV={venv}"], check=True)
    assert settings.read_bytes() == (ROOT / "etc/jupyterlab-overrides.json").read_bytes()
    assert '"md": "Jupytext Notebook"' in settings.read_text() or '"markdown": "Jupytext Notebook"' in settings.read_text()
