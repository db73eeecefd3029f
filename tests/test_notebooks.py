"""Every notebook, executed and graded for real.

- notebooks/ is byte for byte what nbgrader generates from solutions/ now;
- the nbgrader round trip in a scratch course, in the grading profile: the
  solutions get full marks and no cell raises; the untouched release runs
  without crashing the kernel, gets zero on every autograded test, and its
  only errors are the NotImplementedError of unanswered exercises.
(The grading-catalogue tests also execute every solution, cell by cell.)
"""
import ast
import json
import re

import pytest

from course_grader.course import (RELEASE, REPO, SOLUTIONS, ScratchCourse, assignments,
                                            notebooks_of)
from course_grader.grading.template import is_test, nbgrader_meta

ASSIGNMENTS = assignments()
SOLUTION_NOTEBOOKS = [nb for a in ASSIGNMENTS for nb in notebooks_of(REPO, SOLUTIONS, a)]


# The tests of one assignment run on one worker (xdist loadgroup), which releases it once.
BY_ASSIGNMENT = [pytest.param(a, marks=pytest.mark.xdist_group(f"nbgrader-{a}")) for a in ASSIGNMENTS]


@pytest.fixture(scope="session")   # not torn down between xdist's batches (see test_grading_pipeline)
def released(tmp_path_factory):
    """``released(assignment)``: a scratch nbgrader course in which that assignment is released
    (generated on first use)."""
    course = ScratchCourse.create(tmp_path_factory.mktemp("scratch") / "course")
    generated = set()

    def release(assignment):
        if assignment not in generated:
            course.generate(assignment)
            generated.add(assignment)
        return course
    return release


def test_there_are_notebooks():
    assert SOLUTION_NOTEBOOKS, "solutions/ holds no notebooks"


@pytest.mark.parametrize("assignment", BY_ASSIGNMENT)
def test_release_is_what_nbgrader_generates(released, assignment):
    course = released(assignment)
    generated = {p.name: p.read_bytes() for p in notebooks_of(course.root, RELEASE, assignment)}
    committed = {p.name: p.read_bytes() for p in notebooks_of(REPO, RELEASE, assignment)}
    assert generated.keys() == committed.keys()
    stale = [name for name in generated if generated[name] != committed[name]]
    assert not stale, f"notebooks/{assignment}: {stale} are stale; run `course build --overwrite`"


@pytest.mark.parametrize("notebook", SOLUTION_NOTEBOOKS, ids=lambda p: p.stem)
def test_solution_notebook_is_clean_source(notebook):
    nb = json.loads(notebook.read_text())
    cells = nb["cells"]
    assert not [c["id"] for c in cells if c.get("outputs") or c.get("execution_count")], \
        "solutions/ is committed without outputs"
    ids = [c["id"] for c in cells]
    assert len(ids) == len(set(ids)), "cell ids must be unique"
    assert not [c["id"] for c in cells if not nbgrader_meta(c).get("grade_id")], \
        "every cell needs nbgrader metadata (the grader rebuilds submissions from it)"
    grade_ids = [nbgrader_meta(c)["grade_id"] for c in cells if nbgrader_meta(c)]
    assert len(grade_ids) == len(set(grade_ids)), "a duplicate grade_id stops nbgrader"
    assert not [g for g in grade_ids if re.fullmatch(r"cell-[0-9a-f]+", g)], \
        "grade ids must say what they grade"
    tests = [c for c in cells if is_test(c)]
    # Visible checks are 0-point test cells (nbgrader's Validate reports them);
    # the points are in the hidden test cells.
    assert tests and all(nbgrader_meta(c)["points"] > 0 for c in tests if c["id"].endswith("_hidden"))
    assert all(nbgrader_meta(c)["points"] == 0 for c in tests if not c["id"].endswith("_hidden"))
    assert any("### BEGIN HIDDEN TESTS" in "".join(c["source"]) for c in tests), \
        "every notebook has hidden tests"
    for cell in cells:
        if nbgrader_meta(cell).get("solution") and cell["cell_type"] == "code":
            assert "### BEGIN SOLUTION" in "".join(cell["source"]), cell["id"]


def _names(source: str, context) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name) and isinstance(n.ctx, context)}


@pytest.mark.parametrize("notebook", SOLUTION_NOTEBOOKS, ids=lambda p: p.stem)
def test_a_check_runs_again_after_the_cells_below_it(notebook):
    """A check cell's private names (_objective, _params) that a later cell
    rebinds make the check fail when a student runs it again: 07's random-search
    check raised KeyError('x') after the Bergstra cell had rebound _objective."""
    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    sources = ["".join(c["source"]) for c in cells]
    rebound = []
    for i, (cell, source) in enumerate(zip(cells, sources)):
        if not is_test(cell):
            continue
        borrowed = {n for n in _names(source, ast.Load) - _names(source, ast.Store) if n.startswith("_")}
        rebound += [f"{cell['id']} uses {name}, which {later['id']} rebinds"
                    for name in sorted(borrowed)
                    for later, later_source in zip(cells[i + 1:], sources[i + 1:])
                    if name in _names(later_source, ast.Store)]
    assert not rebound, rebound


@pytest.mark.parametrize("assignment", BY_ASSIGNMENT)
def test_release_hides_solutions_and_hidden_tests(released, assignment):
    course = released(assignment)
    for notebook in notebooks_of(course.root, RELEASE, assignment):
        text = notebook.read_text()
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME"):
            assert marker not in text, f"{notebook.name} leaks '{marker}'"


@pytest.mark.parametrize("assignment", BY_ASSIGNMENT)
def test_nbgrader_round_trip(released, assignment):
    course = released(assignment)
    solutions = notebooks_of(REPO, SOLUTIONS, assignment)
    course.submit("alice", assignment, solutions)
    course.submit("bob", assignment, notebooks_of(course.root, RELEASE, assignment))
    course.autograde(assignment, "alice")
    course.autograde(assignment, "bob")
    full, blank = course.scores(assignment, "alice"), course.scores(assignment, "bob")
    assert set(full) == set(blank) == {nb.stem for nb in solutions}
    for name, score in full.items():
        assert score.auto_max > 0
        assert score.auto_score == score.auto_max, f"{name}: solution lost {score.failed_tests}"
        assert blank[name].auto_score == 0, f"{name}: blank release scored {blank[name]}"
        assert blank[name].auto_max == score.auto_max

    for name, errors in course.autograded_errors(assignment, "alice").items():
        assert not errors, f"{name}: the solution raises {errors}"
    for name, errors in course.autograded_errors(assignment, "bob").items():
        assert errors, f"{name}: an untouched release should raise NotImplementedError"
        others = [e for e in errors if e.name != "NotImplementedError"]
        assert not others, f"{name}: errors other than unanswered exercises: {others}"
