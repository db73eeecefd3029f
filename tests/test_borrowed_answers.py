"""No points for an answer borrowed from the course's own helpers (borrowed.py).

For every graded exercise of every notebook, an answer that only imports
from course_utils earns nothing: either no student-facing module has the
exercise's name (the import fails when the cell runs), or one has it and the
grader refuses the answer before execution, so its test cells score 0.
The sandbox round trip of such a submission is in test_grading_trusted.py.
"""
import copy
import importlib
import pkgutil

import nbformat
import pytest

import course_utils
from course_grader.course import RELEASE, REPO, SOLUTIONS, assignments, notebooks_of
from course_grader.grading.borrowed import borrowable, reached_names, refused_answers
from course_grader.grading.prepare import assemble
from course_grader.grading.score import score
from course_grader.grading.template import load_templates, nbgrader_meta
from course_grader.grading.verdicts import bound_names

TEMPLATES = {a: load_templates(REPO, a) for a in assignments()}
STUDENT_MODULES = [importlib.import_module(m.name)
                   for m in pkgutil.walk_packages(course_utils.__path__, "course_utils.")]


def exercises():
    for assignment, templates in TEMPLATES.items():
        for template in templates:
            for grade_id, source in template.answer_sources().items():
                for name in sorted(bound_names(source, defs_only=True)):
                    yield pytest.param(template, grade_id, name, id=f"{template.name}:{grade_id}:{name}")


@pytest.mark.parametrize("template,grade_id,name", list(exercises()))
def test_an_import_only_answer_earns_nothing(template, grade_id, name):
    holders = [m.__name__ for m in STUDENT_MODULES if hasattr(m, name)]
    shared = borrowable(template.answer_sources()).get(grade_id, {})
    if not holders:
        return                     # `from course_utils... import name` raises ImportError in the cell
    assert name in shared, f"{holders} define {name!r}, the exercise {grade_id!r}, but the grader would not refuse it"
    nb = _solution(template)
    _answer_cell(nb, grade_id).source = f"from {holders[0]} import {name}"
    prepared = assemble(nb, template)
    assert grade_id in prepared.refused and name in prepared.refused[grade_id]
    executed = _as_if_every_cell_passed(template)
    tests = {t for t, e in template.exercise_of().items() if e == grade_id}
    assert tests, f"{grade_id!r} has no test cells after it"
    scored = {c.grade_id: c for c in score(executed, template, None, {}, prepared.refused)}
    for test in tests:
        assert scored[test].score == 0 and scored[test].errors[0][0] == "RefusedAnswer"


@pytest.mark.parametrize("assignment", list(TEMPLATES))
def test_the_solution_and_the_release_are_not_refused(assignment):
    for template in TEMPLATES[assignment]:
        for folder in (SOLUTIONS, RELEASE):
            path = next(p for p in notebooks_of(REPO, folder, assignment) if p.stem == template.name)
            assert assemble(nbformat.read(path, as_version=4), template).refused == {}, path


NAMES = {"numerical_gradient"}


@pytest.mark.parametrize("source", [
    "from course_utils.gradcheck import numerical_gradient",
    "from course_utils.gradcheck import numerical_gradient as ng\ndef numerical_gradient(f, x, h=1e-5):\n    return ng(f, x, h=h)",
    "import course_utils.gradcheck as g\ndef numerical_gradient(f, x, h=1e-5):\n    return g.numerical_gradient(f, x, h=h)",
    "import course_utils\nnumerical_gradient = getattr(course_utils.gradcheck, 'numerical_gradient')",
    "import importlib\nm = importlib.import_module('course_utils.gradcheck')\nnumerical_gradient = vars(m)['numerical_gradient']",
    "from course_utils.gradcheck import *",
    "from course_utils.gradcheck import (\n    numerical_gradient,",        # a syntax error: read as text
])
def test_ways_of_reaching_a_helper(source):
    assert reached_names(source, NAMES) == NAMES


@pytest.mark.parametrize("source", [
    "def numerical_gradient(f, x, h=1e-5):\n    grad = np.zeros_like(x)\n    return grad",
    "from course_utils.gradcheck import check_gradient, relative_error",
    "import numpy as np  # numerical_gradient, but no course helper",
])
def test_own_code_is_not_refused(source):
    assert reached_names(source, NAMES) == set()


def test_a_helper_imported_in_an_added_cell_is_refused_too():
    template = TEMPLATES["01_backprop"][0]
    answers = template.answer_sources()
    added = "from course_utils import gradcheck\nborrowed = gradcheck.numerical_gradient"
    assert "numerical_gradient" in refused_answers([answers["numerical_gradient"], added], answers)


def _solution(template):
    path = next(p for p in notebooks_of(REPO, SOLUTIONS, template.assignment) if p.stem == template.name)
    return nbformat.read(path, as_version=4)


def _answer_cell(nb, grade_id):
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def _as_if_every_cell_passed(template):
    """The template's cells, all run without errors and without hidden checks
    (so that only a refusal can cost points)."""
    executed = copy.deepcopy(template.notebook)
    for cell in executed.cells:
        if cell.cell_type == "code":
            cell.execution_count, cell.outputs = 1, []
    return executed
