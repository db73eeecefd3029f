"""Judging in processes beside the parent (grading/judges.py), as cluster runs do:
the same verdicts as judging here, none of it in the parent, and a judge process
that would judge with other inputs than the parent's is the grader's failure.
(tests/test_grading_dask.py: a whole cluster run gives the local run's records.)"""
from __future__ import annotations

import pytest

from course_grader.course import ScratchCourse
from course_grader.grading import verdicts
from course_grader.grading.judges import JudgePool
from course_grader.grading.prepare import prepare
from course_grader.grading.sandbox import GraderFailure, Limits, run_sandboxed
from course_grader.grading.score import judge_cells, score
from course_grader.grading.template import load_templates

from .adversarial import A, CASES, NB, submission_bytes

SECRET = "ab" * 16


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(course root, template, {case: (executed notebook, result files)}) for notebook 00."""
    root = tmp_path_factory.mktemp("judges") / "course"
    ScratchCourse.create(root)
    (template,) = load_templates(root, A, SECRET)
    checks = [c for cell in template.hidden.values() for c in cell.checks]
    runs = {}
    for case in ("correct", "partial"):
        path = root / "submitted" / case / A / NB
        path.parent.mkdir(parents=True)
        path.write_bytes(submission_bytes(CASES[case][0], root))
        result = run_sandboxed(prepare(path, template).notebook, Limits(120, 600), template.exchange,
                               verdicts.result_files(checks))
        runs[case] = (result.notebook, result.files)
    return root, template, runs


def test_the_pool_judges_as_the_parent_does_and_the_parent_judges_nothing(graded, monkeypatch):
    root, template, runs = graded
    here = {case: score(notebook, template, None, files) for case, (notebook, files) in runs.items()}
    assert [sum(c.score for c in here[case]) for case in ("correct", "partial")] == \
        [CASES["correct"][1], CASES["partial"][1]]
    assert any(c.errors for c in here["partial"])                    # a verdict in words to compare

    def no_judging_here(*_):
        raise AssertionError("the parent judged")
    monkeypatch.setattr("course_grader.grading.score.judge", no_judging_here)
    pool = JudgePool(root, A, SECRET, [template], 2)
    try:
        for case, (notebook, files) in runs.items():
            assert score(notebook, template, None, files, judges=pool) == here[case], case
    finally:
        pool.close()


def test_a_judge_process_with_other_inputs_than_the_parent_fails_the_grader(graded):
    root, template, runs = graded
    notebook, files = runs["correct"]
    pool = JudgePool(root, A, "another secret", [template], 1)    # it draws other inputs
    try:
        with pytest.raises(GraderFailure, match="solutions changed while grading"):
            score(notebook, template, None, files, judges=pool)
    finally:
        pool.close()


def test_judge_cells_reports_each_cells_checks_in_words(graded):
    _, template, runs = graded
    notebook, files = runs["partial"]
    judged = judge_cells(template, list(template.hidden), files)
    assert set(judged) == set(template.hidden)
    assert any(judged.values()) and not all(judged.values())        # partial: some cells pass
    assert all(isinstance(m, str) and m.startswith("check ") for ms in judged.values() for m in ms)
