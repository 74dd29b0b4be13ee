"""The course's Sphinx extension: the size-aware execution cache, the two editions of the book, its
launch buttons, its style sheet and its citation labels.

- Jupyter Book's execution cache is keyed on a notebook's source, not on ``COURSE_SIZE``: a chapter run
  at the quick size would be served to a full-size build. Each size gets its own cache folder,
  ``_build/.jupyter_cache-quick`` and ``_build/.jupyter_cache-full``.
- The student edition (``make book-student``): with ``COURSE_EDITION=student`` in the environment it sets sphinx-exercise's ``hide_solutions`` (the
``{solution}`` blocks disappear) and edits the exercises' code cells the way nbgrader's
``generate_assignment`` edits the notebooks: a solution region becomes ``# YOUR CODE HERE`` /
``raise NotImplementedError()``, and hidden tests are removed. Cells are recognized by their nbgrader
metadata, so the book and the student notebooks cannot disagree about what is a solution.
- The public edition (``make book``, ``COURSE_EDITION`` unset) shows no grading machinery: each answer
  cell's code, its ``### BEGIN/END SOLUTION`` lines dropped, moves into the folded ``{solution}`` block
  of its exercise (the answer cell ``L-answer`` goes to ``{solution} L``) and is not shown where the
  cell stood; a test cell shows its visible tests, without the hidden ones. Only the page changes: the
  notebook runs as written. The sources a reader can download from a page (``_sources/``) are edited
  the same way in both editions.
- Repository, issues and launch buttons come from the environment at build time, never from
  ``_config.yml``: ``COURSE_REPOSITORY_URL``, ``COURSE_REPOSITORY_BRANCH``, ``COURSE_BINDERHUB_URL``,
  ``COURSE_JUPYTERHUB_URL`` (see :func:`theme_options`). Unset, the button is not there.
- ``book/_static/course.css``: pages that fit a phone (code, tables, outputs and equations scroll inside
  their own box, never the page) and tables with readable padding.
- ``COURSE_BOOK_BUILD=1`` is set for the chapters' kernels while the book builds: in JupyterLab,
  :func:`companion.book.glue` also shows the values it quotes under their cell; in the book it does not.
- Bibliography entries are labelled like the text cites them, author-year ("Glorot and Bengio, 2010"):
  the pybtex styles ``author_year`` registered here.
"""
import os
import re
from collections import Counter
from pathlib import Path

from docutils import nodes
from sphinx.errors import ConfigError
from sphinx.util import logging

logger = logging.getLogger(__name__)
BOOK_BUILD_VARIABLE = "COURSE_BOOK_BUILD"   # read by companion.book.glue

SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION.*?### END SOLUTION[ \t]*$", re.S | re.M)
HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S | re.M)
SOLUTION_MARKER = re.compile(r"^[ \t]*### (?:BEGIN|END) SOLUTION[ \t]*(?:\n|\Z)", re.M)
SOLUTION_BLOCK = re.compile(r"\A\s*(?:`{3,}|:{3,})\{solution\}")
EDITIONS = ("public", "student")
REPOSITORY_OPTIONS = ("repository_url", "use_repository_button", "use_issues_button", "use_edit_page_button")
LAUNCH_OPTIONS = ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url", "jupyterlite_url", "thebe")
STATIC = Path(__file__).resolve().parents[1] / "_static"


def student_source(source, nbgrader):
    """The source a student sees of a cell with ``nbgrader`` metadata."""
    if nbgrader.get("solution"):
        source = SOLUTION.sub(r"\1# YOUR CODE HERE\n\1raise NotImplementedError()", source)
    if nbgrader.get("grade"):
        source = HIDDEN_TESTS.sub("", source)
    return source


def public_source(source, nbgrader):
    """The source a reader of the public book sees of a cell with ``nbgrader`` metadata: the solution
    without its ``### BEGIN/END SOLUTION`` lines, the tests without the hidden ones."""
    if nbgrader.get("solution"):
        source = SOLUTION_MARKER.sub("", source)
    if nbgrader.get("grade"):
        source = HIDDEN_TESTS.sub("", source)
    return source.rstrip()


def edition(environ=os.environ):
    """``"public"`` (``COURSE_EDITION`` unset or empty) or ``"student"``."""
    name = environ.get("COURSE_EDITION", "").strip().lower() or "public"
    if name not in EDITIONS:
        raise ConfigError(f"COURSE_EDITION={name!r}: use 'student', or leave it unset for the public book")
    return name


def theme_options(options, environ=os.environ):
    """``html_theme_options`` with the repository, issues and launch buttons the environment asks for.

    - ``COURSE_REPOSITORY_URL``: the repository button and the issues button (and the repository the
      launch buttons open); ``COURSE_REPOSITORY_BRANCH`` its branch (``main`` when unset).
    - ``COURSE_BINDERHUB_URL`` (e.g. ``https://mybinder.org``): a Binder launch button.
    - ``COURSE_JUPYTERHUB_URL``: a JupyterHub launch button (nbgitpuller pulls the repository).

    A button whose variable is unset or empty is left out: a book built with none of the variables links
    nowhere. Addresses and buttons that ``options`` had (``_config.yml``) are dropped, with a warning.
    Binder and JupyterHub both open the repository, so without ``COURSE_REPOSITORY_URL`` their
    variables are ignored, with a warning. ``environ`` is ``os.environ`` unless given.
    """
    def get(name):
        return environ.get(name, "").strip()

    options = dict(options)
    launch = dict(options.pop("launch_buttons", None) or {})
    branch = get("COURSE_REPOSITORY_BRANCH") or options.pop("repository_branch", None) or "main"
    ignored = [key for key in REPOSITORY_OPTIONS if options.pop(key, None)]
    ignored += [f"launch_buttons.{key}" for key in LAUNCH_OPTIONS if launch.pop(key, None)]
    if ignored:
        logger.warning(f"ignored in _config.yml: {', '.join(ignored)}; the book's repository and launch buttons "
                       "come from COURSE_REPOSITORY_URL, COURSE_BINDERHUB_URL, COURSE_JUPYTERHUB_URL (README)",
                       type="course", subtype="launch")
    repository, binder, hub = get("COURSE_REPOSITORY_URL"), get("COURSE_BINDERHUB_URL"), get("COURSE_JUPYTERHUB_URL")
    if repository:
        options.update(repository_url=repository.rstrip("/"), repository_branch=branch,
                       use_repository_button=True, use_issues_button=True)
        if binder:
            launch["binderhub_url"] = binder.rstrip("/")
        if hub:
            launch["jupyterhub_url"] = hub.rstrip("/")
    elif binder or hub:
        logger.warning("COURSE_BINDERHUB_URL / COURSE_JUPYTERHUB_URL are ignored without COURSE_REPOSITORY_URL: "
                       "a launch button opens the course's repository", type="course", subtype="launch")
    options["launch_buttons"] = launch
    return options


def _configure(app, config):
    os.environ[BOOK_BUILD_VARIABLE] = "1"     # the chapters' kernels inherit it: glue shows nothing
    size = os.environ.get("COURSE_SIZE", "full").strip().lower() or "full"
    config.nb_execution_cache_path = os.path.join(app.confdir, "_build", f".jupyter_cache-{size}")
    if edition() == "student":
        config.hide_solutions = True
    config.html_theme_options = theme_options(config.html_theme_options or {})
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def _nbgrader_cells(doctree):
    """The notebook code cells with nbgrader metadata, and their source blocks."""
    for cell in list(doctree.findall(nodes.container)):
        nbgrader = (cell.get("cell_metadata") or {}).get("nbgrader") or {}
        if cell.get("nb_element") != "cell_code" or not nbgrader:
            continue
        sources = [b for b in cell.findall(nodes.literal_block) if b.parent.get("nb_element") == "cell_code_source"]
        yield cell, nbgrader, sources


def _edit_cells(app, doctree):
    if not app.config.hide_solutions:
        return _public_edition(app, doctree)
    for cell in doctree.findall(nodes.container):
        nbgrader = (cell.get("cell_metadata") or {}).get("nbgrader") or {}
        if cell.get("nb_element") != "cell_code" or not nbgrader:
            continue
        for block in cell.findall(nodes.literal_block):
            if block.parent.get("nb_element") == "cell_code_source":
                text = student_source(block.astext(), nbgrader)
                block.children = [nodes.Text(text)]
                block.rawsource = text


def _public_edition(app, doctree):
    """Each answer cell's code goes into its exercise's solution block; test cells lose hidden tests."""
    from sphinx_exercise.nodes import solution_node

    solutions = {node.get("target_label"): node for node in doctree.findall(solution_node)}
    for cell, nbgrader, sources in _nbgrader_cells(doctree):
        for block in sources:
            text = public_source(block.astext(), nbgrader)
            block.children = [nodes.Text(text)]
            block.rawsource = text
        if not nbgrader.get("solution") or nbgrader.get("grade") or not sources:
            continue
        grade_id = nbgrader.get("grade_id", "")
        solution = solutions.get(grade_id.removesuffix("-answer"))
        if not grade_id.endswith("-answer") or solution is None:
            logger.warning(f"answer cell {grade_id!r} has no solution block {grade_id.removesuffix('-answer')!r} "
                           "to show its code in (CONTRIBUTING.md, the exercise format)", location=cell,
                           type="course", subtype="exercise")
            continue
        code = "\n\n".join(block.astext() for block in sources)
        literal = nodes.literal_block(code, code, language="python", classes=["course-answer"])
        literal.source, literal.line = sources[0].source, sources[0].line
        content = next((s for s in solution.children if isinstance(s, nodes.section)), solution)
        content += literal
        for source_container in [b.parent for b in sources]:
            source_container.parent.remove(source_container)
        if not [c for c in cell.children if isinstance(c, nodes.Element)]:
            cell.parent.remove(cell)


def _downloadable_source(notebook, name):
    """Edit a notebook the way its edition's pages show it; True if anything changed."""
    changed = False
    cells = []
    for cell in notebook.cells:
        nbgrader = cell.metadata.get("nbgrader") or {}
        if name == "student" and cell.cell_type == "markdown" and SOLUTION_BLOCK.match(cell.source):
            changed = True
            continue
        if nbgrader and cell.cell_type == "code":
            text = (student_source if name == "student" else public_source)(cell.source, nbgrader)
            if text != cell.source:
                cell.source, changed = text, True
                cell.outputs = [] if name == "student" else cell.outputs
        cells.append(cell)
    notebook.cells = cells
    return changed


def _edit_downloads(app, exception):
    """The page's download buttons serve ``_sources/``: the same edition as the page."""
    if exception is not None or app.builder.format != "html":
        return
    import jupytext

    name = "student" if app.config.hide_solutions else "public"
    for path in sorted(Path(app.outdir, "_sources").rglob("*")):
        if path.suffix not in (".md", ".ipynb") or not path.is_file():
            continue
        if path.suffix == ".md" and "kernelspec:" not in path.read_text(encoding="utf-8").split("\n---", 1)[0]:
            continue
        notebook = jupytext.read(path)
        if _downloadable_source(notebook, name):
            jupytext.write(notebook, path, fmt="md:myst" if path.suffix == ".md" else "ipynb")


def _register_bibliography_styles():
    import pybtex.plugin
    from pybtex.richtext import Text
    from pybtex.style.formatting.plain import Style as PlainStyle
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabelStyle(BaseLabelStyle):
        """'Hochreiter, 1991', 'Glorot and Bengio, 2010', 'He et al., 2015': the text's citations."""

        @staticmethod
        def _surname(person):
            return Text.from_latex(" ".join(person.prelast_names + person.last_names)).render_as("text")

        def format_label(self, entry):
            persons = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [self._surname(p) for p in persons]
            if not names:
                who = Text.from_latex(entry.fields.get("title", entry.key)).render_as("text")
            elif len(names) <= 2:
                who = " and ".join(names)
            else:
                who = f"{names[0]} et al."
            return f"{who}, {entry.fields.get('year', 'n.d.')}"

        def format_labels(self, sorted_entries):
            labels = [self.format_label(e) for e in sorted_entries]
            repeated, seen = Counter(labels), Counter()
            for label in labels:
                if repeated[label] > 1:
                    seen[label] += 1
                    label += "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
                yield label

    class AuthorYearStyle(PlainStyle):
        """pybtex's plain style (sorted by author, year, title) with author-year labels."""
        default_label_style = "author_year"

    pybtex.plugin.register_plugin("pybtex.style.labels", "author_year", AuthorYearLabelStyle, force=True)
    pybtex.plugin.register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle, force=True)


def setup(app):
    _register_bibliography_styles()
    app.connect("config-inited", _configure)
    app.connect("doctree-read", _edit_cells)
    app.connect("build-finished", _edit_downloads)
    app.add_css_file("course.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
