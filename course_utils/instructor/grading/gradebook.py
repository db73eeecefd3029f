"""The only writer of the course's gradebook (nbgrader's API, one thread).

Sandboxes never see the gradebook; the parent merges results one at a time,
so parallel grading never has concurrent SQLite writers.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import SaveCells

from ..course import tool_env
from .score import CellScore
from .template import Template


def db_url(course_root: Path) -> str:
    # nbgrader's Gradebook runs the `alembic` program: it must be on PATH.
    os.environ["PATH"] = tool_env()["PATH"]
    return f"sqlite:///{course_root / 'gradebook.db'}"


def register_assignment(course_root: Path, templates: list[Template]) -> None:
    """Create/refresh the assignment's notebooks and cells (as generate_assignment does)."""
    url = db_url(course_root)
    with Gradebook(url) as gradebook:
        gradebook.update_or_create_assignment(templates[0].assignment)
    for template in templates:
        resources = {"nbgrader": {"notebook": template.name, "assignment": template.assignment,
                                  "db_url": url}}
        SaveCells().preprocess(template.notebook, resources)


def record_scores(course_root: Path, assignment: str, student: str,
                  scores: dict[str, list[CellScore]]) -> None:
    """Write one student's scores (per notebook) into the gradebook."""
    with Gradebook(db_url(course_root)) as gradebook:
        gradebook.update_or_create_student(student)
        try:
            gradebook.find_submission(assignment, student)
        except MissingEntry:
            with warnings.catch_warnings():   # nbgrader's own SQLAlchemy autoflush noise
                warnings.simplefilter("ignore")
                gradebook.add_submission(assignment, student)
        for notebook, cells in scores.items():
            for cell in cells:
                grade = gradebook.find_grade(cell.grade_id, notebook, assignment, student)
                if cell.manual:
                    # As nbgrader: an untouched answer is 0, a written one waits for a person.
                    grade.auto_score = None if cell.answered else 0.0
                    grade.needs_manual_grade = cell.answered
                else:
                    grade.auto_score = cell.score
                    grade.needs_manual_grade = False
        gradebook.db.commit()


def gradebook_scores(course_root: Path, assignment: str) -> dict[str, dict[str, tuple[float, float]]]:
    """{student: {grade_id: (score, max)}} for every submission of ``assignment``;
    manual scores count once an instructor has given them."""
    table: dict[str, dict[str, tuple[float, float]]] = {}
    with Gradebook(db_url(course_root)) as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            row = table.setdefault(submission.student.id, {})
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    row[grade.name] = (float(grade.score or 0), float(grade.max_score or 0))
    return table
