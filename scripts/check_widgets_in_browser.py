"""Check the widgets live and record their redraw times: runs the browser test
(tests/test_widgets_browser.py: the solution notebooks in JupyterLab, driven
by headless Chromium) and writes the times to benchmarks/results/widget_times_idle.json
(with --load: widget_times_loaded.json), the recorded runs benchmarks/README.md sums up.

    .venv/bin/python scripts/check_widgets_in_browser.py [--report PATH] [--load] [pytest args]

--load runs one busy-looping process per CPU beside it (the "loaded" figures).

Screenshots go to tests/output/widgets/. Exit status: pytest's.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, default=None,
                        help="where the times go (default: benchmarks/results/"
                             "widget_times_idle.json, or _loaded.json with --load)")
    parser.add_argument("--load", action="store_true", help="one busy process per CPU beside it")
    args, pytest_args = parser.parse_known_args()
    args.report = args.report or RESULTS / f"widget_times_{'loaded' if args.load else 'idle'}.json"
    env = dict(os.environ, WIDGET_REPORT=str(args.report.resolve()))
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
               str(REPO / "tests" / "test_widgets_browser.py"), *pytest_args]
    sys.path.insert(0, str(REPO / "benchmarks"))
    from cpu_load import cpu_load

    with cpu_load(os.cpu_count() if args.load else 0):
        return subprocess.call(command, cwd=REPO, env=env)


if __name__ == "__main__":
    sys.exit(main())
