"""The reader's book: the public edition (``make book``) as a reader gets it.

- No grading machinery on any page: no ``### BEGIN/END SOLUTION`` or hidden-test line, no hidden test;
  each answer's code once, inside its exercise's folded solution; the visible tests shown.
- No placeholder address, and no repository, issues or launch button unless the build's environment
  names one (``COURSE_REPOSITORY_URL`` ...; tested on the configuration function, without a build).
- One citation style: the bibliography is labelled author-year, as the text cites.
- In a real browser (Debian's Chromium): at 390 px no page scrolls sideways, and at 1280 px no display
  equation is wider than its box.

One build at the quick size, shared by every test of the module; it reuses the execution cache that
``tests/test_book.py``'s student build fills (``_build/.jupyter_cache-quick``).
"""
import html
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import jupytext
import pytest
from bs4 import BeautifulSoup

from companion.instructors.edition import toc_chapters

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser  # noqa: E402
from course_book import HIDDEN_TESTS, SOLUTION, public_source, theme_options  # noqa: E402

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS",
           "BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS")
PLACEHOLDERS = ("example.org", "example.com", "gradients-course/gradients-course", "github.com/gradients-course",
                "mybinder", "executablebooks/jupyter-book", "hub/user-redirect")
BUTTONS = ("btn-source-repository-button", "btn-source-issues-button", "btn-source-edit-button",
           "btn-launch-buttons")   # sphinx-book-theme's header buttons
BUTTON_TITLES = ("Launch interactive content", "Launch on", "Source repositor", "Open an issue", "Edit this page")
URL_VARIABLES = ("COURSE_REPOSITORY_URL", "COURSE_REPOSITORY_BRANCH", "COURSE_BINDERHUB_URL", "COURSE_JUPYTERHUB_URL")


def _chapters():
    """The notebook pages of ``_toc.yml`` (front matter with a kernelspec)."""
    return [p for p in toc_chapters(ROOT).values() if "kernelspec:" in p.read_text().split("\n---", 1)[0]]


CHAPTERS = _chapters()
IDS = [p.stem for p in CHAPTERS]


@pytest.fixture(scope="module")
def public_book(tmp_path_factory):
    """The public edition built at the quick size, as ``make book`` builds it (but with --all): its html/."""
    out = tmp_path_factory.mktemp("public-book")
    env = {k: v for k, v in os.environ.items() if k not in URL_VARIABLES and k != "COURSE_EDITION"}
    env.update(COURSE_SIZE="quick", COURSE_PROGRESS="0")
    jb = Path(sys.executable).with_name("jupyter-book")
    build = subprocess.run([str(jb), "build", str(ROOT), "--all", "-W", "-n", "--keep-going",
                            "--path-output", str(out)], env=env, timeout=1800, capture_output=True, text=True)
    if build.returncode != 0:
        pytest.fail("the public book did not build:\n" + "\n".join(
            line for line in (build.stdout + build.stderr).splitlines() if "WARNING" in line or "rror" in line))
    return out / "_build" / "html"


def _page(book, path):
    return book / path.relative_to(ROOT).with_suffix(".html")


def _text(node):
    return html.unescape(node.get_text())


def _long_lines(text, length=12):
    return [line.strip() for line in text.splitlines() if len(line.strip()) > length]


def _exercise_cells(path):
    notebook = jupytext.read(path)
    return notebook, [c for c in notebook.cells if c.cell_type == "code" and c.metadata.get("nbgrader")]


def _solution_div(soup, label):
    """The solution block (sphinx-exercise) of the exercise ``label``: its title links to the exercise."""
    for div in soup.select("div.solution"):
        title = div.select_one(".admonition-title")
        if title and any(a.get("href", "").endswith(f"#{label}") for a in title.find_all("a")):
            return div
    return None


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_pages_show_no_grading_machinery(public_book, path):
    raw = _page(public_book, path).read_text()
    soup = BeautifulSoup(raw, "html.parser")
    for marker in MARKERS:
        assert marker not in raw, f"{path.name}: {marker!r} in the public book"
    notebook, cells = _exercise_cells(path)
    page = _text(soup.select_one("main") or soup)
    for cell in cells:
        hidden = [ln for m in HIDDEN_TESTS.finditer(cell.source) for ln in _long_lines(m.group(0))[1:-1]]
        visible_elsewhere = "\n".join(public_source(c.source, c.metadata.get("nbgrader") or {})
                                      for c in notebook.cells)
        for line in hidden:
            if line not in visible_elsewhere:
                assert line not in page, f"{path.name}: hidden test in the public book: {line!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_each_answer_is_shown_once_in_its_folded_solution(public_book, path):
    soup = BeautifulSoup(_page(public_book, path).read_text(), "html.parser")
    notebook, cells = _exercise_cells(path)
    answers = [c for c in cells if c.metadata["nbgrader"].get("solution") and not c.metadata["nbgrader"].get("grade")]
    for cell in answers:
        label = cell.metadata["nbgrader"]["grade_id"].removesuffix("-answer")
        solution = _solution_div(soup, label)
        assert solution is not None, f"{path.name}: no solution block for {label}"
        assert "dropdown" in solution.get("class", []), f"{path.name}: the solution of {label} is not folded"
        code = public_source(cell.source, cell.metadata["nbgrader"])
        blocks = [_text(pre) for pre in solution.select("pre")]
        assert any(code.strip() in block for block in blocks), \
            f"{path.name}: the answer of {label} is not in its solution block"
        others = [c for c in notebook.cells if c is not cell]
        for line in [ln for m in SOLUTION.finditer(cell.source) for ln in _long_lines(m.group(0))[1:-1]]:
            expected = sum(public_source(c.source, c.metadata.get("nbgrader") or {}).count(line) for c in others)
            shown = sum(_text(pre).count(line) for pre in soup.select("main pre"))
            assert shown == code.count(line) + expected, \
                f"{path.name}: {label}'s answer line {line!r} shown {shown} times in code, expected once"
    assert len(soup.select("div.solution")) == len(re.findall(r"\{solution\}", path.read_text()))


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_visible_tests_are_shown(public_book, path):
    soup = BeautifulSoup(_page(public_book, path).read_text(), "html.parser")
    code = "\n".join(_text(pre) for pre in soup.select("main div.cell pre"))
    _, cells = _exercise_cells(path)
    tests = [c for c in cells if c.metadata["nbgrader"].get("grade")]
    assert tests or "{exercise}" not in path.read_text()
    for cell in tests:
        visible = public_source(cell.source, cell.metadata["nbgrader"])
        assert visible.strip(), f"{path.name}: {cell.metadata['nbgrader']['grade_id']} shows no test"
        for line in _long_lines(visible, 0):
            assert line in code, f"{path.name}: the visible test line {line!r} is not shown"


def test_downloadable_sources_show_no_grading_machinery(public_book):
    sources = [p for p in (public_book / "_sources").rglob("*") if p.suffix in (".md", ".ipynb")]
    assert sources
    for source in sources:
        text = source.read_text()
        for marker in MARKERS:
            assert marker not in text, f"{source.relative_to(public_book)}: {marker!r}"


def test_glue_shows_no_line_of_its_own_in_the_book(public_book):
    """companion.book.glue's "quoted in the text" line is for JupyterLab only (COURSE_BOOK_BUILD)."""
    for path in CHAPTERS:
        assert "quoted in the text:" not in _page(public_book, path).read_text(), path.name


def test_no_placeholder_address_and_no_button_by_default(public_book):
    pages = sorted(public_book.rglob("*.html"))
    assert len(pages) >= len(CHAPTERS) + 1
    for page in pages:
        text = page.read_text()
        name = page.relative_to(public_book)
        for placeholder in PLACEHOLDERS:
            assert placeholder not in text, f"{name}: placeholder address {placeholder!r}"
        soup = BeautifulSoup(text, "html.parser")
        for button in BUTTONS:
            assert not soup.select(f".{button}"), f"{name}: a {button} button"
        for title in BUTTON_TITLES:
            assert title not in text, f"{name}: a button {title!r}"


def test_bibliography_is_labelled_as_the_text_cites(public_book):
    soup = BeautifulSoup((public_book / "book" / "references.html").read_text(), "html.parser")
    labels = {}
    for entry in soup.select("div.citation"):
        label = _text(entry.select_one(".label")).strip("[] \n")
        assert re.fullmatch(r"[^\W\d][\w\s.'-]*(?: and [\w\s.'-]+| et al\.)?, \d{4}[a-z]?", label), \
            f"not an author-year label: {label!r}"
        labels[entry["id"]] = label
    assert labels, "no bibliography entries"
    cited = 0
    for path in CHAPTERS:
        page = BeautifulSoup(_page(public_book, path).read_text(), "html.parser")
        for link in page.select("main a[href*='references.html#']"):
            target = link["href"].split("#", 1)[1]
            if target not in labels:
                continue
            text = re.sub(r"\s+", " ", _text(link)).strip("() ")
            author, year = labels[target].rsplit(", ", 1)
            assert author in text and year in text or text in (author, year), \
                f"{path.name}: cited as {text!r}, listed as {labels[target]!r}"
            cited += 1
    assert cited


def _cell(source, outputs=(), **nbgrader):
    from docutils import nodes

    cell = nodes.container(nb_element="cell_code", cell_metadata={"nbgrader": nbgrader} if nbgrader else {})
    cell += nodes.container("", nodes.literal_block(source, source), nb_element="cell_code_source")
    for text in outputs:
        cell += nodes.container("", nodes.literal_block(text, text), nb_element="cell_code_output")
    return cell


def test_the_public_edition_on_a_doctree():
    """The transform alone, on a hand-made doctree: what moves where, and what stays."""
    from docutils import nodes
    from docutils.utils import new_document
    from sphinx_exercise.nodes import solution_node
    from course_book import _public_edition

    answer = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n\n### BEGIN SOLUTION\nK = 2\n### END SOLUTION"
    tests = "assert f() == 1\n### BEGIN HIDDEN TESTS\nassert K == 2\n### END HIDDEN TESTS\n"
    doc = new_document("page")
    doc += [_cell("x = 1"), _cell(answer, grade_id="p-one-answer", solution=True, grade=False),
            _cell(tests, grade_id="p-one", grade=True, points=1),
            _cell(answer.replace("f()", "g()"), ["printed"], grade_id="p-two-answer", solution=True, grade=False)]
    for label in ("p-one", "p-two"):
        solution = solution_node(target_label=label)
        solution += nodes.section("", nodes.paragraph(text="Why."), ids=["solution-content"])
        doc += solution
    _public_edition(None, doc)
    cells = [c for c in doc.findall(nodes.container) if c.get("nb_element") == "cell_code"]
    assert [c.astext() for c in cells] == ["x = 1", "assert f() == 1", "printed"]   # answer inputs gone
    moved = [[b.astext() for b in s.findall(nodes.literal_block)] for s in doc.findall(solution_node)]
    assert moved == [["def f():\n    return 1\n\nK = 2"], ["def g():\n    return 1\n\nK = 2"]]
    assert all(b["language"] == "python" for s in doc.findall(solution_node) for b in s.findall(nodes.literal_block))


def test_buttons_come_from_the_environment():
    configured = {"path_to_docs": "", "repository_branch": "main", "launch_buttons": {"notebook_interface": "jupyterlab"}}
    none = theme_options(configured, {})
    assert not {"repository_url", "use_repository_button", "use_issues_button"} & set(none)
    assert none["launch_buttons"] == {"notebook_interface": "jupyterlab"}
    env = {"COURSE_REPOSITORY_URL": "https://github.com/someone/course/", "COURSE_REPOSITORY_BRANCH": "spring",
           "COURSE_BINDERHUB_URL": "https://binder.uni.edu/", "COURSE_JUPYTERHUB_URL": "https://hub.uni.edu"}
    full = theme_options(configured, env)
    assert full["repository_url"] == "https://github.com/someone/course"
    assert full["repository_branch"] == "spring"
    assert full["use_repository_button"] and full["use_issues_button"]
    assert full["launch_buttons"] == {"notebook_interface": "jupyterlab", "binderhub_url": "https://binder.uni.edu",
                                      "jupyterhub_url": "https://hub.uni.edu"}
    repository_only = theme_options(configured, {"COURSE_REPOSITORY_URL": env["COURSE_REPOSITORY_URL"]})
    assert repository_only["use_repository_button"] and repository_only["repository_branch"] == "main"
    assert "binderhub_url" not in repository_only["launch_buttons"]
    # a launch button opens the repository: without one, no launch button
    hub_only = theme_options(configured, {"COURSE_JUPYTERHUB_URL": "https://hub.uni.edu"})
    assert "jupyterhub_url" not in hub_only["launch_buttons"] and "repository_url" not in hub_only
    # and what _config.yml says is not used
    legacy = theme_options({**configured, "repository_url": "https://github.com/x/y", "use_issues_button": True,
                            "launch_buttons": {"binderhub_url": "https://mybinder.org"}}, {})
    assert "repository_url" not in legacy and not legacy.get("use_issues_button") and not legacy["launch_buttons"]


def test_the_sphinx_configuration_gets_the_buttons(tmp_path, monkeypatch):
    """The extension's config-inited handler, on a real (empty) Sphinx project: the theme options the
    page templates read."""
    from sphinx.application import Sphinx

    (tmp_path / "conf.py").write_text(
        "extensions = ['course_book']\nhtml_theme = 'sphinx_book_theme'\n"
        "html_theme_options = {'launch_buttons': {'notebook_interface': 'jupyterlab'}}\n")
    (tmp_path / "index.rst").write_text("Title\n=====\n")
    monkeypatch.setenv("COURSE_REPOSITORY_URL", "https://github.com/someone/course")
    monkeypatch.setenv("COURSE_BINDERHUB_URL", "https://binder.uni.edu")
    monkeypatch.delenv("COURSE_JUPYTERHUB_URL", raising=False)
    monkeypatch.delenv("COURSE_EDITION", raising=False)
    app = Sphinx(str(tmp_path), str(tmp_path), str(tmp_path / "_build"), str(tmp_path / "_doctrees"), "html",
                 status=None, warning=None, freshenv=True)
    options = app.config.html_theme_options
    assert options["repository_url"] == "https://github.com/someone/course"
    assert options["use_repository_button"] and options["use_issues_button"]
    assert options["launch_buttons"] == {"notebook_interface": "jupyterlab", "binderhub_url": "https://binder.uni.edu"}
    assert app.config.html_context.get("github_repo") == "course"
    assert str(ROOT / "book" / "_static") in app.config.html_static_path, app.config.html_static_path


# The browser: one Chromium for the two passes below, quit at the end of the module.

@pytest.fixture(scope="module")
def chromium():
    reason = browser.missing()
    if reason:
        pytest.skip(f"no headless browser: {reason}")
    with browser.chromium(width=1280) as driver:
        yield driver


def _html_pages(book):
    return sorted(p for p in book.rglob("*.html") if "_static" not in p.parts)


def _visit(driver, book):
    """Load each built page once (a redirect page, such as index.html, is its target): yield its name."""
    seen = set()
    for page in _html_pages(book):
        browser.load(driver, page)
        if driver.current_url in seen:
            continue
        seen.add(driver.current_url)
        yield driver.current_url.split(book.as_uri() + "/", 1)[-1]


def _describe(name, equation):
    kind = "display" if equation["display"] else "inline"
    room = equation["box"] if equation["display"] else min(equation["box"], equation["parent"])
    return (f"{name} #{equation['section']}: {kind} equation {max(equation['width'], equation['scroll'])} px "
            f"in {room} px: {equation['tex'][:70]!r}")


def test_no_page_scrolls_sideways_on_a_phone(public_book, chromium):
    browser.set_viewport(chromium, 390)
    wide, scrolled, pages = [], [], 0
    for name in _visit(chromium, public_book):
        pages += 1
        measure = browser.horizontal_overflow(chromium)
        assert measure["innerWidth"] == 390, f"the viewport is {measure['innerWidth']} px wide, not 390"
        if measure["scrollWidth"] > measure["innerWidth"]:
            scrolled.append(f"{name}: {measure['scrollWidth']} px wide; what sticks out: " + "; ".join(
                f"{w['element']} to {w['right']} px ({w['text']!r})" for w in measure["wide"]))
        wide += [_describe(name, e) for e in browser.equations(chromium, inline=True) if browser.too_wide(e)]
    assert pages >= len(CHAPTERS)
    if wide:   # they scroll inside their box; the chapter should break them (\begin{aligned})
        warnings.warn("equations wider than a 390 px phone (they scroll inside their box):\n" + "\n".join(wide))
    assert not scrolled, "pages that scroll sideways at 390 px:\n" + "\n".join(scrolled)


def test_no_equation_is_cut_on_a_desktop(public_book, chromium):
    browser.set_viewport(chromium, 1280)
    wide, typeset = [], 0
    for name in _visit(chromium, public_book):
        equations = browser.equations(chromium, inline=True)
        typeset += len(equations)
        wide += [_describe(name, e) for e in equations if browser.too_wide(e)]
    assert typeset, "no equation on any page: is MathJax typesetting?"
    assert not wide, "equations wider than their box at 1280 px (break them with \\begin{aligned}):\n" + "\n".join(wide)
