"""Execution time of every solution notebook, in one or both profiles
(targets on a 2-core machine: grading under 2 minutes, full under 10).
Prints a table with the load average around each run (another process on
the cores slows a notebook down: say which it was); not a timed test.

    .venv/bin/python benchmarks/notebook_times.py [--profile grading|full|both] [assignment ...]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from course_utils.instructor.course import REPO, SOLUTIONS, assignments, notebooks_of
from course_utils.instructor.execute import execute_notebook

TARGET_SECONDS = {"grading": 120, "full": 600}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=["grading", "full", "both"], default="grading")
    parser.add_argument("assignments", nargs="*")
    args = parser.parse_args(argv)
    profiles = ["grading", "full"] if args.profile == "both" else [args.profile]
    print(f"{os.cpu_count()} CPUs; targets: " + ", ".join(f"{p} < {TARGET_SECONDS[p]} s" for p in profiles))
    print(f"{'notebook':<36} {'profile':<8} {'seconds':>8}  {'load before/after':>17}  verdict")
    slow = 0
    for assignment in args.assignments or assignments():
        for notebook in notebooks_of(REPO, SOLUTIONS, assignment):
            for profile in profiles:
                load_before = os.getloadavg()[0]
                start = time.perf_counter()
                execute_notebook(notebook, profile=profile, timeout=3600)
                seconds = time.perf_counter() - start
                ok = seconds < TARGET_SECONDS[profile]
                slow += not ok
                print(f"{notebook.name:<36} {profile:<8} {seconds:>8.1f}  "
                      f"{load_before:>8.1f} / {os.getloadavg()[0]:<6.1f}  {'ok' if ok else 'TOO SLOW'}", flush=True)
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
