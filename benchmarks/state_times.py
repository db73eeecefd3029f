"""Write the measured run times into each solution notebook's first cell: the
``setup_notebook(minutes=choose(grading=G, full=F), busy_minutes=choose(grading=None, full=B))``
call gets G and F from benchmarks/results/notebook_times_idle.txt and B from
notebook_times_loaded.txt (both written by ``notebook_times.py --save``), in minutes
with one decimal. Only those numbers change; then ``course release NAME --overwrite``
regenerates notebooks/ and tests/test_stated_times.py checks that they agree.

    .venv/bin/python benchmarks/state_times.py [assignment ...]     # default: every notebook
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from course_grader.course import REPO, SOLUTIONS, assignments
from course_utils.environment import _minutes

RESULTS = REPO / "benchmarks" / "results"
CALL = re.compile(r"setup_notebook\(minutes=choose\(grading=[0-9.]+, full=[0-9.]+\),(?P<between>\s*#[^\n]*\n\s*)"
                  r"busy_minutes=choose\(grading=None, full=[0-9.]+\)\)")


def recorded_seconds(path: Path) -> dict[tuple[str, str], float]:
    """(notebook, profile) -> seconds, from a table notebook_times.py printed."""
    rows = (line.split() for line in path.read_text().splitlines())
    return {(f[0].removesuffix(".ipynb"), f[1]): float(f[2]) for f in rows if len(f) >= 3 and f[0].endswith(".ipynb")}


def stated(seconds: float) -> float:
    """Minutes with one decimal that the first cell words as it words ``seconds``
    (58 s is "1 minute or less", which 1.0 would not be)."""
    minutes = round(seconds / 60, 1)
    if _minutes(minutes) != _minutes(seconds / 60):
        minutes = 0.9
    assert _minutes(minutes) == _minutes(seconds / 60), seconds
    return minutes


def state(assignment: str, idle: dict, loaded: dict) -> str:
    minutes = {key: stated(seconds) for key, seconds in
               [("grading", idle[assignment, "grading"]), ("full", idle[assignment, "full"]),
                ("busy", loaded[assignment, "full"])]}
    path = REPO / SOLUTIONS / assignment / f"{assignment}.ipynb"
    notebook = json.loads(path.read_text())
    cell = next(c for c in notebook["cells"] if "setup_notebook(" in "".join(c["source"]))
    source = "".join(cell["source"])
    new, count = CALL.subn(lambda m: f"setup_notebook(minutes=choose(grading={minutes['grading']}, "
                                     f"full={minutes['full']}),{m['between']}busy_minutes=choose(grading=None, "
                                     f"full={minutes['busy']}))", source)
    if count != 1:
        raise SystemExit(f"{path}: expected one setup_notebook(minutes=choose(...), busy_minutes=choose(...)) call")
    cell["source"] = new.splitlines(keepends=True)
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return f"{assignment}: grading {minutes['grading']}, full {minutes['full']}, busy {minutes['busy']} minutes"


def main(names: list[str]) -> None:
    idle = recorded_seconds(RESULTS / "notebook_times_idle.txt")
    loaded = recorded_seconds(RESULTS / "notebook_times_loaded.txt")
    for assignment in names or assignments():
        print(state(assignment, idle, loaded))


if __name__ == "__main__":
    main(sys.argv[1:])
