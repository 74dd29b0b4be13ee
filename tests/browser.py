"""Headless Chromium for the tests: Debian's ``chromium`` and ``chromium-driver``, driven by selenium.

Selenium is given both paths, so it never looks for (or downloads) a driver of its own. The window's CSS
viewport is set exactly with Chrome's device-metrics override (a desktop page, device pixel ratio 1),
and every measurement waits for MathJax to finish typesetting.
"""
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "apt-get install chromium chromium-driver"


def missing():
    """Why the browser tests cannot run here (``None`` when they can)."""
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if absent:
        return f"{' and '.join(absent)} not found: as root, `{INSTALL}` (make test does it on Debian)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: pip install -r requirements.txt"
    return None


@contextmanager
def chromium(width=1280, height=844):
    """A headless Chromium whose CSS viewport is ``width`` x ``height``; it is quit on the way out."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--hide-scrollbars", "--force-device-scale-factor=1", "--disable-extensions",
                     "--no-first-run", "--disable-background-networking",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    profile = Path(os.environ.get("TMPDIR", "/tmp")) / f"course-chromium-{os.getpid()}"
    options.add_argument(f"--user-data-dir={profile}")
    service = Service(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_page_load_timeout(60)
        driver.set_script_timeout(60)
        set_viewport(driver, width, height)
        yield driver
    finally:
        driver.quit()
        _wait_for_exit(str(profile))
        shutil.rmtree(profile, ignore_errors=True)


def _wait_for_exit(marker, timeout=10.0):
    """Wait until no process with ``marker`` (this browser's profile folder) on its command line is left:
    Chromium's helper processes take a moment to go after the driver quits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = False
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                alive = alive or marker.encode() in cmdline.read_bytes()
            except OSError:
                continue
        if not alive:
            return
        time.sleep(0.1)


def set_viewport(driver, width, height=844):
    """Make the CSS viewport exactly ``width`` x ``height`` pixels (a desktop page, not a mobile one:
    a mobile viewport would zoom out to fit a page that is too wide, and hide the very overflow we test)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


_TYPESET = """
const done = arguments[arguments.length - 1];
const ready = () => document.readyState === "complete" && document.body;
const settle = () => document.fonts ? document.fonts.ready.then(() => done("ok")) : done("ok");
const hasMath = document.querySelector("script[src*='mathjax'], script[src*='MathJax']") !== null;
let tries = 0;
(function poll() {
  if (!ready() && tries++ < 400) {
    setTimeout(poll, 50);
  } else if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(settle, e => done("MathJax failed: " + e));
  } else if (!hasMath || tries++ > 200) {
    done(hasMath ? "MathJax did not start" : "ok");
  } else {
    setTimeout(poll, 50);
  }
})();
"""


_EXPAND = """
document.querySelectorAll("details").forEach(d => d.open = true);
document.querySelectorAll(".toggle-hidden").forEach(e => e.classList.remove("toggle-hidden"));
document.querySelectorAll(".sd-tab-content").forEach(e => e.style.display = "block");
"""


def load(driver, path, expand=True):
    """Open a built page from the disk and wait until its math is typeset; with ``expand``, unfold what
    a reader can unfold (solutions, hidden cells, every tab), so that it is measured too."""
    driver.get(Path(path).resolve().as_uri())
    state = driver.execute_async_script(_TYPESET)
    if state != "ok":
        raise AssertionError(f"{path}: {state}")
    if expand:
        driver.execute_script(_EXPAND)


_OVERFLOW = """
const width = window.innerWidth;
const root = document.body || document.documentElement;
const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
                 + [...e.classList].slice(0, 3).map(c => "." + c).join("");
// Content of a box that scrolls (or clips) does not widen the page, and a fixed element is not in the page.
const contained = e => {
  for (let a = e.parentElement; a && a !== document.body && a !== document.documentElement; a = a.parentElement) {
    const style = getComputedStyle(a);
    if (style.overflowX !== "visible" || style.position === "fixed") return true;
  }
  return getComputedStyle(e).position === "fixed";
};
const wide = [];
for (const e of root.querySelectorAll("*")) {
  const box = e.getBoundingClientRect();
  if (box.width === 0 || box.right <= width + 0.5 || contained(e)) continue;
  const parent = e.parentElement && e.parentElement.getBoundingClientRect();
  if (parent && parent.right > width + 0.5 && e.parentElement !== document.body) continue;   // the parent is named
  wide.push({element: name(e), right: Math.round(box.right), width: Math.round(box.width),
             text: (e.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 60)});
}
wide.sort((a, b) => b.right - a.right);
return {innerWidth: width, scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 5)};
"""


def horizontal_overflow(driver):
    """``{innerWidth, scrollWidth, wide}``: the page's widths, and the outermost elements that stick out
    to the right of the viewport, widest first."""
    return driver.execute_script(_OVERFLOW)


_EQUATIONS = """
let items = [];
try { items = [...MathJax.startup.document.math]; } catch (e) {}
const tex = new Map(items.map(item => [item.typesetRoot, item.math]));
return [...document.querySelectorAll(arguments[0] ? 'mjx-container[jax]' : 'mjx-container[display="true"]')]
       .filter(c => c.getBoundingClientRect().width > 0).map(c => {
  const math = c.querySelector("mjx-math") || c;
  return {display: c.getAttribute("display") === "true",
          width: Math.round(math.getBoundingClientRect().width), box: c.clientWidth, scroll: c.scrollWidth,
          parent: Math.round(c.parentElement.getBoundingClientRect().width),
          tex: (tex.get(c) || "").trim().replace(/\\s+/g, " "),
          section: (c.closest("section") && c.closest("section").id) || ""};
});
"""


def equations(driver, inline=False):
    """The page's display equations (and its inline ones, with ``inline``), as shown: the typeset
    width, its box's and its box's parent's, the TeX source and the section."""
    return driver.execute_script(_EQUATIONS, inline)


def too_wide(equation):
    """An equation wider than its box or than the box's parent: cut, or only seen by scrolling.
    (An inline formula's box scrolls a few pixels for its glyphs' overhang: only its width counts.)"""
    if equation["display"]:
        return equation["scroll"] > equation["box"] + 1 or equation["width"] > equation["parent"] + 1
    return equation["width"] > min(equation["box"], equation["parent"]) + 1
