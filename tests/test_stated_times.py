"""The run time each notebook states in its first cell (``setup_notebook``)
is the one `benchmarks/notebook_times.py` measured, as recorded in
benchmarks/results/ (notebook 02 once said 3 minutes where a run took 58),
and what it measures is a student's run: the solutions without the hidden
tests (06 once said 9 minutes where a finished student notebook took 4.9)."""
from __future__ import annotations

import ast
import re
import sys
import json
from pathlib import Path

import pytest

from course_utils.environment import _minutes
from course_grader.course import REPO, SOLUTIONS, assignments

RESULTS = REPO / "benchmarks" / "results"
sys.path.insert(0, str(REPO / "benchmarks"))
from state_times import recorded_seconds  # noqa: E402  (the one reader of the tables)
MEASURED = {  # what the notebook states -> the recorded run of notebook_times.py
    ("grading", "minutes"): RESULTS / "notebook_times_idle.txt",
    ("full", "minutes"): RESULTS / "notebook_times_idle.txt",
    ("full", "busy_minutes"): RESULTS / "notebook_times_loaded.txt",
}


def stated_minutes(assignment: str) -> dict[tuple[str, str], float]:
    """(profile, keyword) -> minutes, from the setup_notebook(...) call of the
    solution notebook (``choose(grading=..., full=...)`` or one number)."""
    notebook = json.loads((REPO / SOLUTIONS / assignment / f"{assignment}.ipynb").read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code" or "setup_notebook(" not in "".join(cell["source"]):
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setup_notebook":
                stated = {}
                for keyword in node.keywords:
                    value = keyword.value
                    per_profile = ({k.arg: ast.literal_eval(k.value) for k in value.keywords}
                                   if isinstance(value, ast.Call) else
                                   dict.fromkeys(("grading", "full"), ast.literal_eval(value)))
                    stated.update({(p, keyword.arg): m for p, m in per_profile.items()})
                return stated
    raise AssertionError(f"{assignment}: no setup_notebook(...) call")


@pytest.mark.parametrize("assignment", assignments())
def test_the_stated_run_time_is_the_measured_one(assignment):
    stated = stated_minutes(assignment)
    for (profile, keyword), path in MEASURED.items():
        if keyword == "busy_minutes" and profile == "grading":
            continue
        seconds = recorded_seconds(path).get((assignment, profile))
        assert seconds is not None, f"{path.name} has no {profile} run of {assignment}"
        assert (profile, keyword) in stated, f"{assignment} states no {keyword} for {profile}"
        assert _minutes(stated[profile, keyword]) == _minutes(seconds / 60), (
            f"{assignment} says {keyword}={stated[profile, keyword]} in the {profile} profile; "
            f"{path.name} measured {seconds:.0f} s")


def test_recorded_tables_are_read():
    assert recorded_seconds(RESULTS / "notebook_times_idle.txt")["00_setup_and_tour", "full"] > 0


def test_measured_runs_are_a_students_notebook():
    """notebook_times.py runs each solution notebook with its hidden tests
    removed, the answers and visible checks kept."""
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    from notebook_times import student_notebook

    for assignment in assignments():
        path = REPO / SOLUTIONS / assignment / f"{assignment}.ipynb"
        source = json.loads(path.read_text())
        run = student_notebook(path)
        assert not [c for c in run.cells if "BEGIN HIDDEN TESTS" in c.source], assignment
        solutions = sum("### BEGIN SOLUTION" in "".join(c["source"]) for c in source["cells"])
        assert sum("### BEGIN SOLUTION" in c.source for c in run.cells) == solutions, assignment
        assert len(run.cells) == len(source["cells"]), assignment     # visible checks kept


def readme_minutes(text: str) -> float:
    """"14 s" or "2.3 min" -> minutes."""
    number, unit = re.fullmatch(r"([0-9.]+) (s|min)", text.strip()).groups()
    return float(number) / 60 if unit == "s" else float(number)


def test_readme_notebook_table_gives_the_recorded_full_runs():
    """README's notebooks table, last column "idle / both cores busy", once said 9.0 / 8.7 minutes
    for 06 and 13.9 / 16 for 09 after the runs had been measured again."""
    idle = recorded_seconds(RESULTS / "notebook_times_idle.txt")
    busy = recorded_seconds(RESULTS / "notebook_times_loaded.txt")
    rows = re.findall(r"^\| `(\d\d_\w+)` \|.*\| ([0-9.]+ (?:s|min)) / ([0-9.]+ (?:s|min)) \|$",
                      (REPO / "README.md").read_text(), flags=re.MULTILINE)
    assert {name for name, _, _ in rows} == set(assignments())
    for name, stated_idle, stated_busy in rows:
        for stated, table in ((stated_idle, idle), (stated_busy, busy)):
            assert abs(readme_minutes(stated) - table[name, "full"] / 60) <= 0.05 + 0.5 / 60, (name, stated)
