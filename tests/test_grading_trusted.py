"""Verdicts computed outside the student's kernel (course_utils.verdict and
grading/verdicts.py), for every notebook:

- every test cell that carries points is a hidden test cell made of hidden
  checks, so all points come from judges that run in the grader (visible
  checks are 0-point test cells, which nbgrader's Validate reports);
- what the sandbox runs in place of a hidden cell holds the probes only: no
  judge, no inputs generator, no reference code;
- graded through `course autograde` (sandbox, probes only), each solution gets
  full marks and each untouched release zero.
"""
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_grader.cli import main as course
from course_grader.course import RELEASE, REPO, ScratchCourse, assignments, notebooks_of
from course_grader.grading.borrowed import borrowable
from course_grader.grading.template import is_test, load_templates, nbgrader_meta, points
from course_utils.verdict import decode, encode

ASSIGNMENTS = assignments()


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def templates(request):
    return request.param, load_templates(REPO, request.param)


def test_every_point_is_judged_by_the_grader(templates):
    assignment, loaded = templates
    for template in loaded:
        graded = [nbgrader_meta(c)["grade_id"] for c in template.cells if is_test(c) and points(c) > 0]
        unjudged = [g for g in graded if not (g in template.hidden and template.hidden[g].checks)]
        assert not unjudged, (f"{assignment}: test cells {unjudged} carry points but declare no "
                              "hidden_check; their verdict could be forged in the kernel")


def test_the_sandbox_gets_probes_only(templates):
    assignment, loaded = templates
    for template in loaded:
        for grade_id, cell in template.hidden.items():
            source = cell.kernel_source
            assert "BEGIN HIDDEN TESTS" not in source
            for check in cell.checks:
                for part in (check.judge, check.inputs):
                    name = getattr(getattr(part, "func", part), "__name__", None)
                    assert part is None or name not in source, \
                        f"{assignment}/{grade_id}: {name} would run in the student's kernel"
            compile(source, grade_id, "exec")


def test_exchange_is_plain_data():
    values = {"a": np.arange(6, dtype=np.int32).reshape(2, 3), "x": 1.5, "n": 3, "flag": True,
              "s": np.float32(2.0)}
    back = decode(encode(values))
    assert back["a"].dtype == np.int32 and back["a"].shape == (2, 3)
    assert type(back["x"]) is float and type(back["n"]) is int and type(back["flag"]) is bool
    assert isinstance(back["s"], np.float32)

    class AlwaysEqual:
        def __eq__(self, other):
            return True
    for bad in ([1, 2], AlwaysEqual(), np.array([AlwaysEqual()], dtype=object), None):
        with pytest.raises(TypeError, match="expected"):
            encode({"out": bad})


def borrowing_copy(notebook: Path, target: Path, templates) -> set[str]:
    """The solution, except that each exercise a course helper implements is
    answered by importing that helper; returns the test cells that must then
    score 0 (borrowed.py)."""
    template = next(t for t in templates if t.name == notebook.stem)
    nb = nbformat.read(notebook, as_version=4)
    borrowed = borrowable(template.answer_sources())
    for cell in nb.cells:
        shared = borrowed.get(nbgrader_meta(cell).get("grade_id"))
        if shared:
            cell.source = "\n".join(f"from {module} import {name}" for name, module in shared.items())
    nbformat.write(nb, target)
    return {test for test, exercise in template.exercise_of().items() if exercise in borrowed}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_full_marks_and_blank_zero_in_the_sandbox(tmp_path, assignment):
    """Three realistic submissions per notebook, two sandboxes at a time: the
    trusted parent judges one (notebook 02's accuracy judge: large matmuls)
    while it starts the next, which deadlocked with fork-based spawning. The
    classmate copied the solution but answers each exercise that a course
    helper implements (01's numerical_gradient) by importing it: those earn 0."""
    pytest.importorskip("nbclient")
    root = tmp_path / "course"
    ScratchCourse.create(root)
    inbox = tmp_path / "inbox"
    templates = load_templates(REPO, assignment)
    borrowed_tests = set()
    for student, folder in (("solution", REPO / "solutions"), ("classmate", REPO / "solutions"),
                            ("blank", REPO / RELEASE)):
        (inbox / student / assignment).mkdir(parents=True)
        for notebook in notebooks_of(REPO, folder.name, assignment):
            target = inbox / student / assignment / notebook.name
            if student == "classmate":
                borrowed_tests |= borrowing_copy(notebook, target, templates)
            else:
                target.write_bytes(notebook.read_bytes())
    assert course(["collect", assignment, str(inbox), "--course", str(root)]) == 0
    assert course(["autograde", assignment, "--course", str(root), "--jobs", "2"]) == 0
    scores = {s: ScratchCourse(root).scores(assignment, s) for s in ("solution", "classmate", "blank")}
    for name, score in scores["solution"].items():
        assert score.auto_max > 0 and score.auto_score == score.auto_max, \
            f"{name}: the solution lost {score.failed_tests} in the sandbox"
        borrowed_here = {t for t in borrowed_tests if points_of(templates, name, t)}
        assert set(scores["classmate"][name].failed_tests) == borrowed_here, \
            f"{name}: an answer that imports a course helper must lose exactly its exercise's tests"
        assert scores["blank"][name].auto_score == 0


def points_of(templates, notebook: str, grade_id: str) -> float:
    template = next(t for t in templates if t.name == notebook)
    return points(template.cells[template.by_grade_id()[grade_id]])


HEADER = "import numpy as np\nfrom course_utils.verdict import hidden_check\n"


def test_hidden_cell_that_needs_the_notebook_is_refused():
    from course_grader.grading.verdicts import HiddenCheckError, read_checks
    with pytest.raises(HiddenCheckError, match="import what it uses"):
        read_checks("assert confusion_matrix([0], [0], 1)[0, 0] == 1\n", "cell", {})
    lambda_probe = HEADER + "hidden_check('c', probe=lambda: {}, judge=lambda i, o: None)\n"
    with pytest.raises(HiddenCheckError, match="defined with def"):
        read_checks(lambda_probe, "cell", {})
    twice = HEADER + ("def probe():\n    return {}\ndef judge(i, o):\n    pass\n"
                      "hidden_check('c', probe=probe, judge=judge)\n" * 2)
    with pytest.raises(HiddenCheckError, match="repeats a check name"):
        read_checks(twice, "cell", {})


def test_kernel_mode_and_grader_mode_judge_the_same_data():
    """hidden_check in a notebook and the grader's judge see identical values."""
    from course_grader.grading.verdicts import inputs_files, judge, read_checks
    from course_utils.verdict import call_probe, exchange_path, make_inputs
    source = HEADER + (
        "def inputs(rng):\n    return {'x': rng.normal(size=(3, 2)).astype(np.float32), 'k': 2}\n"
        "def probe(x, k):\n    return {'y': double(x) , 'k': k}\n"
        "def judge(given, found):\n"
        "    assert found['y'].dtype == np.float32, f\"y has dtype {found['y'].dtype}, expected float32\"\n"
        "    assert np.array_equal(found['y'], 2 * given['x']) and type(found['k']) is int, 'y differs'\n"
        "hidden_check('double', inputs=inputs, probe=probe, judge=judge)\n")
    namespace = {"double": lambda x: 2 * x}
    exec(source, dict(namespace))                              # kernel mode: passes
    (check,) = read_checks(source, "cell", {}).checks            # grader mode:
    given = inputs_files([check])
    out = encode(call_probe(lambda **kw: {"y": 2 * kw["x"], "k": kw["k"]}, make_inputs(check)))
    assert judge(check, {**given, exchange_path("double", "out"): out}) is None
    wrong = encode({"y": make_inputs(check)["x"].astype(np.float64) * 2, "k": 2})
    assert "expected float32" in judge(check, {**given, exchange_path("double", "out"): wrong})
    assert "no result reached the grader" in judge(check, given)
    raised = {**given, exchange_path("double", "err"): b"ValueError: shapes do not match"}
    assert "your code raised ValueError" in judge(check, raised)


def test_hidden_cell_must_not_shadow_the_students_functions():
    from course_grader.grading.verdicts import HiddenCheckError, check_no_shadowing
    answer = "def numerical_gradient(f, x):\n    ...\nclass SGD:\n    pass\n"
    check_no_shadowing({"ok": "from course_utils.gradcheck import numerical_gradient as ng\n"}, [answer])
    with pytest.raises(HiddenCheckError, match="numerical_gradient"):
        check_no_shadowing({"bad": "from course_utils.gradcheck import numerical_gradient\n"}, [answer])
    with pytest.raises(HiddenCheckError, match="SGD"):
        check_no_shadowing({"bad": "import torch\nSGD = torch.optim.SGD\n"}, [answer])
