"""Execution time of every notebook as a student runs it, in one or both
profiles (targets on a 2-core machine: grading under 2 minutes, full under
10): the solution notebook with its hidden tests removed (nbgrader's
ClearHiddenTests), i.e. a finished student notebook: every answer and visible
check, none of the grader's work. Prints a table with the load average around
each run (another process on the cores slows a notebook down: say which it
was); not a timed test. A cell that fails is named in the table and the run
goes on.

    .venv/bin/python benchmarks/notebook_times.py [--profile grading|full|both] [--load] [--save PATH] [assignment ...]

--load runs one busy-looping process per CPU beside the notebooks (the
"loaded" figures: a student's laptop doing something else too). --save
writes the table to PATH as well, keeping the rows of notebooks not run this
time (re-measure one notebook alone): benchmarks/results/notebook_times_idle.txt
and _loaded.txt are what the notebooks' first cells state
(tests/test_stated_times.py checks that they agree).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from course_grader.course import REPO, SOLUTIONS, assignments, notebooks_of
from course_grader.execute import execute_notebook
from cpu_load import cpu_load  # benchmarks/cpu_load.py, beside this script

TARGET_SECONDS = {"grading": 120, "full": 600}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=["grading", "full", "both"], default="grading")
    parser.add_argument("--load", action="store_true", help="one busy process per CPU while the notebooks run")
    parser.add_argument("--save", type=Path, help="write the table to this file too")
    parser.add_argument("assignments", nargs="*")
    args = parser.parse_args(argv)
    with cpu_load(os.cpu_count() if args.load else 0):
        return time_notebooks(args)


def time_notebooks(args) -> int:
    profiles = ["grading", "full"] if args.profile == "both" else [args.profile]
    table = []
    kept = earlier_rows(args.save) if args.save else {}

    def say(line: str) -> None:
        print(line, flush=True)
        table.append(line)
        if args.save:
            measured = {tuple(row.split()[:2]) for row in table[3:]}
            others = [row for key, row in kept.items() if key not in measured]
            note = [f"rows kept from earlier runs (their notebooks were not run this time): {len(others)}"] if others else []
            args.save.write_text("\n".join(table[:3] + sorted(table[3:] + others) + note) + "\n")

    beside = ", one busy process per CPU beside" if args.load else ""
    say(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs{beside}; targets: " + ", ".join(f"{p} < {TARGET_SECONDS[p]} s" for p in profiles))
    say("solution notebooks without their hidden tests (what a finished student notebook runs)")
    say(f"{'notebook':<36} {'profile':<8} {'seconds':>8}  {'load before/after':>17}  verdict")
    slow = 0
    for assignment in args.assignments or assignments():
        for notebook in notebooks_of(REPO, SOLUTIONS, assignment):
            for profile in profiles:
                load_before = os.getloadavg()[0]
                start = time.perf_counter()
                executed, errors = execute_notebook(notebook, profile=profile, timeout=3600, allow_errors=True,
                                                    notebook=student_notebook(notebook))
                seconds = time.perf_counter() - start
                ok = seconds < TARGET_SECONDS[profile]
                slow += not ok
                failed = f"; failed cells: {', '.join(e.cell_id for e in errors)}" if errors else ""
                slowest = ", ".join(f"{cell} {s:.0f} s" for cell, s in slowest_cells(executed))
                say(f"{notebook.name:<36} {profile:<8} {seconds:>8.1f}  "
                    f"{load_before:>8.1f} / {os.getloadavg()[0]:<6.1f}  {'ok' if ok else 'TOO SLOW'}{failed}"
                    f"; slowest cells: {slowest}")
    return 1 if slow else 0


def slowest_cells(executed, n: int = 3) -> list[tuple[str, float]]:
    """The ``n`` cells that took longest, from the timestamps nbclient records in each
    cell's metadata (where a notebook's time goes, for whoever has to cut it)."""
    from datetime import datetime

    seconds = {}
    for cell in executed.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if start and end:
            seconds[cell.get("id", "?")] = (datetime.fromisoformat(end.replace("Z", "+00:00"))
                                            - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
    return sorted(seconds.items(), key=lambda item: -item[1])[:n]


def earlier_rows(path: Path) -> dict[tuple[str, str], str]:
    """(notebook, profile) -> its row in the table at ``path``: --save replaces the rows
    of the notebooks it runs and keeps the others (one notebook re-measured alone)."""
    if not path.exists():
        return {}
    rows = [line for line in path.read_text().splitlines() if line.split()[:1] and line.split()[0].endswith(".ipynb")]
    return {tuple(row.split()[:2]): row for row in rows}


def student_notebook(path: Path):
    """The solution notebook at ``path`` as a student who solved every
    exercise has it: the hidden tests removed, as nbgrader releases it."""
    import nbformat
    from nbgrader.preprocessors import ClearHiddenTests

    notebook, _ = ClearHiddenTests().preprocess(nbformat.read(path, as_version=4), {})
    return notebook


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
