"""Check the widgets live: open notebooks in a real JupyterLab driven by
headless Chromium, run all cells, move a slider of each explorer and check
that its figure is redrawn. Not part of the test suite (it needs a browser);
run it after changing a widget:

    apt-get install chromium && .venv/bin/pip install playwright
    .venv/bin/python scripts/check_widgets_in_browser.py [--out DIR]

Exit status 0 when every widget redrew; screenshots go to --out.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# notebook -> how many live explorers it shows
NOTEBOOKS = {"03_optimizers": 2, "04_initialization": 1}
TOKEN = "widget-check"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(root: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, COURSE_PROFILE="grading", COURSE_WIDGETS="on",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    lab = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={TOKEN}", timeout=2)
            return lab
        except OSError:
            time.sleep(0.5)
    lab.kill()
    raise RuntimeError("JupyterLab did not start within 60 s")


def output_image(widget) -> str:
    """The src of the figure drawn under a widget's controls ('' if none yet)."""
    images = widget.locator("img")
    return images.last.get_attribute("src") if images.count() else ""


def check_notebook(page, base: str, name: str, explorers: int, out: Path) -> list[str]:
    page.goto(f"{base}/lab/tree/{name}.ipynb?token={TOKEN}")
    page.locator(".jp-Notebook").first.wait_for(timeout=60_000)
    page.wait_for_timeout(3000)  # the kernel starts
    if page.get_by_role("button", name="No").count():  # JupyterLab's news prompt
        page.get_by_role("button", name="No").first.click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    widgets = page.locator(".jp-OutputArea-output .widget-vbox:has(.widget-slider)")
    deadline = time.time() + 240
    while widgets.count() < explorers and time.time() < deadline:
        page.wait_for_timeout(1000)
    failures = []
    if widgets.count() < explorers:
        return [f"{name}: {widgets.count()} of {explorers} explorers rendered"]
    for i in range(explorers):
        widget = widgets.nth(i)
        widget.scroll_into_view_if_needed()
        for _ in range(60):  # the first drawing
            if output_image(widget):
                break
            page.wait_for_timeout(1000)
        before = output_image(widget)
        widget.screenshot(path=str(out / f"{name}_explorer{i}_before.png"))
        readout = widget.locator(".widget-slider .widget-readout").first
        old_value = readout.inner_text()
        for delta in (-0.5, 50):  # a slider at its minimum has to move up
            readout.click()
            page.keyboard.press("Control+A")
            page.keyboard.type(str(round(float(old_value.replace("\u2212", "-")) + delta, 2)))
            page.keyboard.press("Enter")
            page.wait_for_timeout(500)
            if readout.inner_text() != old_value:
                break
        for _ in range(60):
            if output_image(widget) not in ("", before):
                break
            page.wait_for_timeout(1000)
        widget.screenshot(path=str(out / f"{name}_explorer{i}_after.png"))
        changed = bool(before) and output_image(widget) not in ("", before)
        print(f"{name} explorer {i + 1}: slider {old_value} -> {readout.inner_text()}, "
              f"figure {'redrawn' if changed else 'NOT redrawn'}")
        if not changed:
            failures.append(f"{name}: explorer {i + 1} did not redraw")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("widget-check"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in NOTEBOOKS:  # the solutions: every cell runs
            shutil.copy(REPO / "solutions" / name / f"{name}.ipynb", tmp)
        port = free_port()
        lab = start_lab(Path(tmp), port)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                failures = []
                for name, explorers in NOTEBOOKS.items():
                    failures += check_notebook(page, f"http://127.0.0.1:{port}", name, explorers,
                                               args.out)
                browser.close()
        finally:
            lab.terminate()
            lab.wait(timeout=30)
    print("\n".join(failures) or f"all widgets redrew; screenshots in {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
