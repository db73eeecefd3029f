"""Grading-profile execution time of every solution notebook (target: under
two minutes each on a 2-core machine). Prints a table; not a timed test.

    .venv/bin/python benchmarks/notebook_times.py [assignment ...]
"""
from __future__ import annotations

import os
import sys
import time

from course_utils.instructor.course import REPO, SOLUTIONS, assignments, notebooks_of
from course_utils.instructor.execute import execute_notebook

TARGET_SECONDS = 120


def main(names: list[str]) -> int:
    print(f"{os.cpu_count()} CPUs; COURSE_PROFILE=grading; target < {TARGET_SECONDS} s each")
    print(f"{'notebook':<36} {'seconds':>8}  verdict")
    slow = 0
    for assignment in names or assignments():
        for notebook in notebooks_of(REPO, SOLUTIONS, assignment):
            start = time.perf_counter()
            execute_notebook(notebook, profile="grading")
            seconds = time.perf_counter() - start
            slow += seconds >= TARGET_SECONDS
            print(f"{notebook.name:<36} {seconds:>8.1f}  "
                  f"{'ok' if seconds < TARGET_SECONDS else 'TOO SLOW'}", flush=True)
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
