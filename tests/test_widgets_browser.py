"""The widgets, live: the solution notebooks in a real JupyterLab driven by
Debian's Chromium (Playwright), started as a student starts it (no
COURSE_WIDGETS): the explorers are live in the grading profile (the solution
notebooks) and in the full profile (a short notebook showing one explorer).

For each notebook with explorers: run all cells (no error output), every
explorer renders, and moving each of its controls redraws its figure (the
image under the controls changes). The time from a change to the redraw, and
the optimizer race's frames per second, go to a report
(``$WIDGET_REPORT``, default tests/output/widgets/widget_times.json); only the
redraw itself is asserted. Screenshots of each explorer before and after each
change go to tests/output/widgets/.

Needs /usr/bin/chromium (``./setup.sh`` as root installs it, or
``apt-get install chromium``); a missing browser fails, it is never skipped.
Deselect with ``./test.sh -m "not browser"``.
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from course_grader.course import REPO, SOLUTIONS

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = "widget-test"
OUTPUT = REPO / "tests" / "output" / "widgets"
REPORT = Path(os.environ.get("WIDGET_REPORT", OUTPUT / "widget_times.json"))
EXPLORERS = {  # notebook -> its explorers, in the order they appear
    "03_optimizers": ["lr_explorer", "optimizer_race"],
    "04_initialization": ["init_explorer"],
    "05_batch_norm": ["bn_explorer"],
    "07_regularization": ["reg_explorer"],
    "08_modern_cnns": ["depth_explorer"],
    "09_recurrent": ["memory_explorer"],
}
TRAINING_CURVES = {  # notebook -> epochs its grading profile trains with live curves (LiveCurves), at least
    "02_numpy_mlp": 5,
}
RUN_ALL_TIMEOUT_S = 300
REDRAW_TIMEOUT_S = 60
PLAY_SECONDS = 4.0

# Records (time, image id) whenever the figure under an explorer's controls
# changes: a new <img>, or a new src on it (data: URI or blob: URL).
WATCH_JS = """(el) => {
  el.__frames = [];
  const key = (src) => {  // FNV-1a of the whole src: PNGs of one size end alike
    let h = 2166136261;
    for (let i = 0; i < src.length; i++) h = Math.imul(h ^ src.charCodeAt(i), 16777619);
    return src.length + ':' + (h >>> 0);
  };
  const record = () => {
    const images = el.querySelectorAll('img');
    const src = images.length ? images[images.length - 1].src : '';
    const frames = el.__frames;
    if (src && (!frames.length || frames[frames.length - 1].key !== key(src)))
      frames.push({t: performance.now(), key: key(src)});
  };
  new MutationObserver(record).observe(el, {subtree: true, childList: true,
                                            attributes: true, attributeFilter: ['src']});
  record();
  // When a control changed: a dropdown's change, Enter in a slider's readout.
  el.__acted = null;
  const acted = () => { el.__acted = performance.now(); };
  el.addEventListener('change', acted, true);
  el.addEventListener('keydown', (e) => { if (e.key === 'Enter') acted(); }, true);
}"""


# ---------------------------------------------------------------- fixtures

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base: str, path: str, method: str = "GET"):
    request = urllib.request.Request(f"{base}{path}?token={TOKEN}", method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


@contextlib.contextmanager
def serve_lab(root: Path, profile: str):
    """JupyterLab on 127.0.0.1 serving ``root`` in ``profile``, as a student
    starts it: nothing says widgets on (COURSE_WIDGETS is removed); yields
    the base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "COURSE_WIDGETS"}
    env.update(COURSE_PROFILE=profile,
               JUPYTER_CONFIG_DIR=str(root / ".jupyter"),  # no user settings, no news prompt
               JUPYTERLAB_SETTINGS_DIR=str(root / ".lab-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(root / ".lab-workspaces"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    _write_lab_settings(root / ".lab-settings")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    log = open(OUTPUT / f"jupyterlab_{profile}.log", "w")  # with the kernels' errors, for review
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: api(base, "/api/status"), 90, "JupyterLab did not start")
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of the solution notebooks, grading profile;
    yields (base URL, root folder)."""
    root = tmp_path_factory.mktemp("lab")
    for name in [*EXPLORERS, *TRAINING_CURVES]:
        shutil.copy(REPO / SOLUTIONS / name / f"{name}.ipynb", root)
    with serve_lab(root, "grading") as base:
        yield base, root


def _write_lab_settings(settings: Path) -> None:
    """No news prompt; every cell in the DOM (JupyterLab's default windowing
    leaves cells out of view unrendered, widgets included)."""
    for extension, values in [
            ("apputils-extension/notification", {"fetchNews": "false", "checkForUpdates": False}),
            ("notebook-extension/tracker", {"windowingMode": "none"})]:
        path = settings / "@jupyterlab" / f"{extension}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _wait_for(probe, seconds: float, message: str):
    deadline = time.time() + seconds
    while True:
        try:
            found = probe()
            if found:
                return found
        except OSError:
            pass
        if time.time() > deadline:
            raise TimeoutError(message)
        time.sleep(0.5)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run ./setup.sh as root or `apt-get install chromium` "
                    "(or deselect with -m 'not browser')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def report():
    """Collected times, written once every notebook has been measured."""
    found = {"machine": f"{platform.node()}, {os.cpu_count()} CPUs",
             "date": time.strftime("%Y-%m-%d %H:%M"),
             "load_average_before": round(os.getloadavg()[0], 1), "notebooks": {}}
    yield found
    found["load_average_after"] = round(os.getloadavg()[0], 1)  # others' work shows here
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(found, indent=1) + "\n")


# ---------------------------------------------------------------- the page

def open_and_run_all(page, base: str, name: str, before_run: str | None = None) -> None:
    """Open the notebook, evaluate the script ``before_run`` in the page (if
    given), run all cells and wait until they ran."""
    # A workspace of its own, reset: no tab of the previous notebook comes back.
    page.goto(f"{base}/lab/workspaces/{name}/tree/{name}.ipynb?reset&token={TOKEN}")
    page.locator(".jp-Notebook").first.wait_for(timeout=60_000)
    if before_run:
        page.evaluate(before_run)
    _wait_for(lambda: _kernel_settled(page, base), 60, f"{name}: the kernel did not start")
    from playwright.sync_api import TimeoutError as ClickTimeout

    for _ in range(3):  # a click too early in the page's life (or on a loaded machine) is lost: again
        try:
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Cells", exact=True).click()
            _wait_for(lambda: _started(page), 20, "")
            break
        except (TimeoutError, ClickTimeout):
            if _started(page):    # the click took effect late: never run all twice
                break
            page.keyboard.press("Escape")
    _wait_for(lambda: _all_cells_ran(page), RUN_ALL_TIMEOUT_S, f"{name}: Run All did not finish")


def _started(page) -> bool:
    return any(ch == "*" or ch.isdigit()
               for p in page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts() for ch in p)


def _kernel_idle(page) -> bool:
    return page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0


def _kernel_settled(page, base: str) -> bool:
    """The page's kernel idle, and the server's kernels the same, all idle, 2 s apart: at page
    load JupyterLab may start a kernel and replace it a second later, and a Run All sent to the
    first one ran its first cell only (CI, 2026-12-08: "0 of 2 explorers rendered")."""
    def kernels():
        return {k["id"]: k["execution_state"] for k in api(base, "/api/kernels") or []}
    before = kernels()
    if not (_kernel_idle(page) and before and set(before.values()) == {"idle"}):
        return False
    page.wait_for_timeout(2000)
    return kernels() == before and _kernel_idle(page)


def _all_cells_ran(page) -> bool:
    """Idle with no cell queued, twice 2 s apart (Run All stops at an error:
    the cells after it keep an empty prompt, and the error check reports it)."""
    def done():
        prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        return (any(ch.isdigit() for p in prompts for ch in p)
                and not any("*" in p for p in prompts) and _kernel_idle(page))
    if not done():
        return False
    page.wait_for_timeout(2000)
    return done()


def saved_error_outputs(page, root: Path, name: str) -> list[str]:
    """Save the notebook and return its error outputs (read from the file)."""
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.keyboard.press("Escape")  # command mode, where Ctrl+S saves the notebook
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1500)
    notebook = nbformat.read(root / f"{name}.ipynb", as_version=4)
    return [f"{cell.get('id')}: {out.get('ename')}: {out.get('evalue')}"
            for cell in notebook.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if out.get("output_type") == "error"]


def shut_down_kernels(base: str) -> None:
    for kernel in api(base, "/api/kernels") or []:
        api(base, f"/api/kernels/{kernel['id']}", method="DELETE")


# ---------------------------------------------------------------- one explorer

class Explorer:
    """One explorer's box in the page: its controls and its figure."""

    def __init__(self, page, box, name: str, out: Path):
        self.page, self.box, self.name, self.out = page, box, name, out
        box.scroll_into_view_if_needed()
        box.evaluate(WATCH_JS)

    def frames(self) -> list[dict]:
        return self.box.evaluate("el => el.__frames")

    def now(self) -> float:
        return self.page.evaluate("performance.now()")

    def figure(self):
        return self.box.locator("img").last

    def screenshot(self, label: str) -> bytes:
        """Screenshot the explorer for review; return the figure's pixels alone
        (the controls change with every move)."""
        self.box.screenshot(path=str(self.out / f"{self.name}_{label}.png"))
        return self.figure().screenshot()

    def wait_first_drawing(self) -> None:
        _wait_for(lambda: self.frames(), REDRAW_TIMEOUT_S, f"{self.name}: no figure drawn")
        self.settle()

    def settle(self, quiet_s: float = 1.0, limit_s: float = REDRAW_TIMEOUT_S) -> None:
        """Wait until no new frame has come for ``quiet_s`` (a late frame
        would be counted for the next control)."""
        deadline = time.time() + limit_s
        while time.time() < deadline:
            frames = self.frames()
            if not frames or self.now() - frames[-1]["t"] > quiet_s * 1000:
                return
            self.page.wait_for_timeout(200)

    def redraw_after(self, action) -> float | None:
        """Run ``action`` and return the seconds from the control's change
        event to the figure's change (None: not within REDRAW_TIMEOUT_S)."""
        before = self.frames()[-1]["key"]
        self.box.evaluate("el => { el.__acted = null; }")
        fallback = self.now()
        action()
        deadline = time.time() + REDRAW_TIMEOUT_S
        while time.time() < deadline:
            start = self.box.evaluate("el => el.__acted") or fallback
            later = [f for f in self.frames() if f["t"] >= start and f["key"] != before]
            if later:
                return (later[0]["t"] - start) / 1000
            self.page.wait_for_timeout(20)
        return None

    def controls(self):
        """(kind, label, locator) of every enabled dropdown, slider and play button."""
        found = []
        for kind, selector in (("dropdown", ".widget-dropdown"), ("slider", ".widget-slider"),
                               ("play", ".widget-play, .widget-toggle-button:has-text('play')")):
            items = self.box.locator(selector)
            for i in range(items.count()):
                item = items.nth(i)
                label = item.locator(".widget-label").first
                text = label.inner_text().strip() if label.count() else kind
                found.append((kind, text or kind, item))
        return found


def change_dropdown(control) -> tuple[str, str, callable]:
    select = control.locator("select")
    options = select.locator("option").all_inner_texts()
    old = select.evaluate("s => s.options[s.selectedIndex].text")
    new = options[(options.index(old) + 1) % len(options)]
    return old, new, lambda: select.select_option(label=new)


def change_slider(page, control) -> tuple[str, str, callable]:
    """Move a slider to its maximum (its minimum if it is there already):
    the most work an explorer is asked to do."""
    handle = control.locator(".noUi-handle").first
    low, high, now = (float(handle.get_attribute(a))
                      for a in ("aria-valuemin", "aria-valuemax", "aria-valuenow"))
    readout = control.locator(".widget-readout").first
    old = readout.inner_text()
    new = low if abs(now - high) < 1e-9 else high
    text = f"{new:g}"
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    return old, text, lambda: page.keyboard.press("Enter")


def read_value(kind: str, control) -> str:
    if kind == "dropdown":
        return control.locator("select").evaluate("s => s.options[s.selectedIndex].text")
    return control.locator(".widget-readout").first.inner_text()


def measure_controls(explorer: Explorer) -> dict:
    """Move every control once; returns {label: {from, to, redraw_s}}."""
    times = {}
    for kind, label, control in explorer.controls():
        if kind == "play" or control.locator("[disabled]").count():
            continue
        if kind == "dropdown":
            old, new, action = change_dropdown(control)
        else:
            old, new, action = change_slider(explorer.page, control)
        slug = label.replace(" ", "_").replace("(", "").replace(")", "")
        before = explorer.screenshot(f"{slug}_before")
        seconds = explorer.redraw_after(action)
        explorer.settle()
        after = explorer.screenshot(f"{slug}_after")
        new = read_value(kind, control)
        times[label] = {"from": old, "to": new, "redraw_s": seconds,
                        "screenshot_changed": before != after}
    return times


def measure_play(explorer: Explorer) -> dict | None:
    """Frames per second while the play button runs, and frames still
    arriving after it is paused (a backlog)."""
    plays = [c for kind, _, c in explorer.controls() if kind == "play"]
    if not plays:
        return None
    play = plays[0]
    buttons = play.locator("button")  # ipywidgets' Play: play, pause, ...; else a toggle
    start_button, pause_button = ((buttons.nth(0), buttons.nth(1)) if buttons.count()
                                  else (play, play))
    start, count = explorer.now(), len(explorer.frames())
    start_button.click()
    explorer.page.wait_for_timeout(PLAY_SECONDS * 1000)
    pause_button.click()
    paused = explorer.now()
    played = [f["t"] for f in explorer.frames()[count:] if f["t"] <= paused]
    explorer.page.wait_for_timeout(2000)
    late = sum(1 for f in explorer.frames() if f["t"] > paused + 200)
    # The rate while playing (first to last frame); the click's round trip to
    # the first frame is reported on its own.
    fps = (len(played) - 1) / ((played[-1] - played[0]) / 1000) if len(played) > 1 else 0.0
    return {"fps": fps, "frames": len(played), "first_frame_s": (played[0] - start) / 1000 if played else None,
            "frames_after_pause": late}


# ---------------------------------------------------------------- the tests

@pytest.mark.parametrize("notebook", list(EXPLORERS))
def test_widgets_render_and_redraw(lab, browser, report, notebook):
    base, root = lab
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        open_and_run_all(page, base, notebook)
        assert saved_error_outputs(page, root, notebook) == []
        boxes = page.locator(".jp-OutputArea-output .widget-vbox:has(.widget-slider)")
        names = EXPLORERS[notebook]
        assert boxes.count() == len(names), f"{boxes.count()} of {len(names)} explorers rendered"
        results, failures = {}, []
        for i, name in enumerate(names):
            results[name] = measure_explorer(Explorer(page, boxes.nth(i), f"{notebook}_{name}",
                                                      OUTPUT))
            failures += explorer_failures(name, results[name])
        report["notebooks"][notebook] = results
        assert not failures, failures
    except Exception as error:
        page.screenshot(path=str(OUTPUT / f"{notebook}_failure.png"), full_page=True)
        dialogs = page.locator(".jp-Dialog").all_inner_texts()
        if dialogs:  # a dialog in the way says more than the timeout it caused
            raise AssertionError(f"{notebook}: a dialog is open: {dialogs}") from error
        raise
    finally:
        page.close()
        shut_down_kernels(base)


# Records the time of every new picture in a live image widget of the notebook
# (LiveCurves' figure) while the cells run.
WATCH_LIVE_IMAGES_JS = """() => {
  window.__liveFrames = [];
  const seen = new Set();
  const record = () => {
    for (const img of document.querySelectorAll('.jp-OutputArea-output img.widget-image')) {
      if (img.src && !seen.has(img.src)) { seen.add(img.src); window.__liveFrames.push(performance.now()); }
    }
  };
  new MutationObserver(record).observe(document.body, {subtree: true, childList: true,
                                                       attributes: true, attributeFilter: ['src']});
}"""


@pytest.mark.parametrize("notebook", list(TRAINING_CURVES))
def test_training_curves_redraw_while_training(lab, browser, report, notebook):
    """The training loops' curves appeared only after the loop had finished:
    they are redrawn after every epoch, then hidden for the final figure."""
    base, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        open_and_run_all(page, base, notebook, before_run=WATCH_LIVE_IMAGES_JS)
        frames = page.evaluate("window.__liveFrames")
        still_shown = page.locator(".jp-OutputArea-output img.widget-image:visible").count()
        report["training_curves"] = {**report.get("training_curves", {}),
                                     notebook: {"frames": len(frames), "still_shown": still_shown}}
        assert len(frames) >= TRAINING_CURVES[notebook], f"{len(frames)} live pictures of the curves"
        assert still_shown == 0, "the live curves stay under the final figure"
    finally:
        page.close()
        shut_down_kernels(base)


def measure_explorer(explorer: Explorer) -> dict:
    explorer.wait_first_drawing()
    times = measure_controls(explorer)
    play = measure_play(explorer)
    shown = explorer.box.inner_text()
    return {"controls": times, **({"play": play} if play else {}),
            "shows_an_error": "Traceback" in shown or "error:" in shown}


def explorer_failures(name: str, result: dict) -> list[str]:
    failures = [f"{name}: {label} did not redraw" for label, t in result["controls"].items()
                if t["redraw_s"] is None or not t["screenshot_changed"]]
    if "play" in result and result["play"]["frames"] < 2:
        failures.append(f"{name}: the play button drew {result['play']['frames']} frames")
    if result["shows_an_error"]:
        failures.append(f"{name}: shows an error")
    return failures


# A student's notebook in the full profile (the default): the first cell, then
# an explorer that needs no exercise (notebook 05's), so it runs in seconds.
FULL_PROFILE_CELLS = [
    "from course_utils import setup_notebook\nsetup_notebook()",
    "from course_utils.widgets.bn_explorer import bn_explorer\nbn_explorer()",
]


@pytest.fixture(scope="module")
def lab_full(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab_full")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in FULL_PROFILE_CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, root / "full_profile.ipynb")
    with serve_lab(root, "full") as base:
        yield base, root


def test_explorers_are_live_in_the_full_profile_too(lab_full, browser):
    """Widgets follow the front end, not the profile: live in JupyterLab in the
    full profile (here) and the grading profile (test_widgets_render_and_redraw),
    and the first cell says nothing of widgets being off."""
    base, root = lab_full
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        open_and_run_all(page, base, "full_profile")
        assert saved_error_outputs(page, root, "full_profile") == []
        first_line = page.locator(".jp-CodeCell .jp-OutputArea-output").first.inner_text()
        assert first_line.startswith("profile: full") and "widgets off" not in first_line, first_line
        boxes = page.locator(".jp-OutputArea-output .widget-vbox:has(.widget-slider)")
        assert boxes.count() >= 1, "the explorer is not live (a static figure instead?)"
        explorer = Explorer(page, boxes.first, "full_profile_bn_explorer", OUTPUT)
        explorer.wait_first_drawing()
        kind, label, control = next(c for c in explorer.controls() if c[0] == "dropdown")
        _, _, action = change_dropdown(control)
        assert explorer.redraw_after(action) is not None, f"{label} did not redraw"
    finally:
        page.close()
        shut_down_kernels(base)
