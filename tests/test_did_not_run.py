"""A check that never ran is "did not run" on every view: the feedback page,
`course grade`'s terminal text and its JSON (issue 22, item 2). It once said
"Visible check passed" (JSON: ``"ran": false, "passed": true``) for every
visible check after a kernel death, and for an empty file.

One submission of notebook 00 per way a check can miss its run, each graded
once (sandbox and judges as `course grade`): the kernel dies in a cell, the
notebook runs out of time, the file is empty, and the executed notebook
lacks the check cells (deleted).
"""
from __future__ import annotations

import copy
import json
import secrets

import nbformat
import pytest

from course_grader.course import REPO
from course_grader.grading.autograde import NotebookResult, StudentResult, grade_file
from course_grader.grading.feedback import render
from course_grader.grading.sandbox import Limits
from course_grader.grading.score import score
from course_grader.grading.single import render_text, report
from course_grader.grading.template import load_templates, nbgrader_meta

from .adversarial import A, NB, with_cell

VISIBLE, HIDDEN = "confusion_matrix_visible", "confusion_matrix_hidden"
CHECKS = (VISIBLE, HIDDEN, "confusion_matrix_edge_cases_hidden")
NOTEBOOK_LIMIT_S = 45     # the infinite loop runs into it; every cell before it takes seconds


@pytest.fixture(scope="module")
def template():
    return load_templates(REPO, A, secrets.token_hex(16))[0]


def views(result: NotebookResult, template) -> tuple[dict, str, str]:
    """The JSON report (as `course grade --json` prints it), its terminal text
    and the feedback page, all of one grading result."""
    data = json.loads(json.dumps(report(result, template)))
    record = StudentResult("alice", [result]).record()
    return data, render_text(data), render("alice", record, template)


def assert_did_not_run(result: NotebookResult, template) -> None:
    data, text, page = views(result, template)
    (exercise,) = [e for e in data["exercises"] if e["answer"] == "confusion_matrix"]
    checks = {c["cell"]: c for c in exercise["checks"]}
    for cell in (VISIBLE, HIDDEN):
        assert checks[cell]["ran"] is False, checks[cell]
        assert checks[cell]["passed"] is False and checks[cell]["summary"] == "did not run"
    assert exercise["status"] == "did not run" and exercise["score"] == 0
    assert "visible check: did not run" in text and "visible check: passed" not in text
    assert "Visible check did not run" in page and "Visible check passed" not in page
    assert "Hidden tests: 0 / 1, did not run" in page


def grade(tmp_path, template, notebook, limits=Limits()) -> NotebookResult:
    path = tmp_path / NB
    if isinstance(notebook, bytes):
        path.write_bytes(notebook)
    else:
        nbformat.write(notebook, path)
    return grade_file(path, template, limits, label=f"test/{A}")


def test_kernel_death_before_the_checks(tmp_path, template):
    result = grade(tmp_path, template, with_cell("import os\nos._exit(1)"))
    assert any("kernel died" in e for e in result.events), result.events
    assert_did_not_run(result, template)


def test_time_out_before_the_checks(tmp_path, template):
    result = grade(tmp_path, template, with_cell("while True:\n    pass\n"),
                   Limits(cell_timeout=600, notebook_limit=NOTEBOOK_LIMIT_S))
    assert any("time limit for the whole notebook" in e or "whole-notebook limit" in e
               for e in result.events), result.events
    assert_did_not_run(result, template)


def test_empty_file(tmp_path, template):
    result = grade(tmp_path, template, b"")
    assert result.failure and "empty" in result.failure
    assert_did_not_run(result, template)


def test_check_cells_deleted_from_the_executed_notebook(template):
    """The executed notebook lacks the exercise's test cells (judged without a
    sandbox run: the grader restores deleted cells before running)."""
    executed = copy.deepcopy(template.notebook)
    for cell in executed.cells:
        cell.execution_count = 1
    executed.cells = [c for c in executed.cells
                      if nbgrader_meta(c).get("grade_id") not in CHECKS]
    result = NotebookResult(template.name, score(executed, template, None))
    assert_did_not_run(result, template)
