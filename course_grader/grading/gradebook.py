"""The only writer of the course's gradebook (nbgrader's API, one thread).

Sandboxes never see the gradebook; the parent merges results one at a time,
so parallel grading never has concurrent SQLite writers.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import (Assignment, Grade, GradeCell, Gradebook, MissingEntry, Notebook, SubmittedAssignment,
                          SubmittedNotebook)
from nbgrader.preprocessors import SaveCells

from ..execute import tool_env
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


def opened(course_root: Path) -> Gradebook:
    """The gradebook, open (close it): a grading run keeps one for all its students,
    as opening one costs 20 ms of the parent's serial work per student."""
    return Gradebook(db_url(course_root))


def record_scores(course_root: Path, assignment: str, student: str,
                  scores: dict[str, list[CellScore]], book: Gradebook | None = None) -> None:
    """Write one student's scores (per notebook) into the gradebook (``book``: one
    already open, else it is opened for this student)."""
    if book is None:
        with opened(course_root) as book:
            return record_scores(course_root, assignment, student, scores, book)
    book.update_or_create_student(student)
    try:
        book.find_submission(assignment, student)
    except MissingEntry:
        with warnings.catch_warnings():   # nbgrader's own SQLAlchemy autoflush noise
            warnings.simplefilter("ignore")
            book.add_submission(assignment, student)
    grades = _grades(book, assignment, student)
    for notebook, cells in scores.items():
        for cell in cells:
            grade = grades.get((notebook, cell.grade_id)) or book.find_grade(cell.grade_id, notebook,
                                                                              assignment, student)
            if cell.manual:
                # As nbgrader: an untouched answer is 0, a written one waits for a person.
                # A regrade keeps the instructor's score (and so needs no new grade).
                grade.auto_score = None if cell.answered else 0.0
                grade.needs_manual_grade = cell.answered and grade.manual_score is None
            else:
                grade.auto_score = cell.score
                grade.needs_manual_grade = False
    book.db.commit()


def _grades(book: Gradebook, assignment: str, student: str) -> dict[tuple[str, str], Grade]:
    """{(notebook, grade_id): Grade} of the student's submission, in one query
    (nbgrader's find_grade makes one per cell, with a flush before each: 0.07 s
    of the parent's serial work per student of notebook 02)."""
    rows = (book.db.query(Grade, Notebook.name, GradeCell.name)
            .join(GradeCell, GradeCell.id == Grade.cell_id)
            .join(SubmittedNotebook, SubmittedNotebook.id == Grade.notebook_id)
            .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
            .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)
            .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
            .filter(Assignment.name == assignment, SubmittedAssignment.student_id == student))
    return {(notebook, cell): grade for grade, notebook, cell in rows}


@dataclass(frozen=True)
class GradeRow:
    score: float | None     # None: a written answer waiting for the instructor's grade
    max_score: float
    manual: bool            # a written answer (graded by hand), not an autograded test


def gradebook_grades(course_root: Path, assignment: str) -> dict[str, dict[str, GradeRow]]:
    """{student: {grade_id: GradeRow}} for every submission of ``assignment``.
    A grade's score is nbgrader's: the instructor's where given, else the
    autograder's (0 for an untouched written answer)."""
    table: dict[str, dict[str, GradeRow]] = {}
    with Gradebook(db_url(course_root)) as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            row = table.setdefault(submission.student.id, {})
            for notebook in submission.notebooks:
                answers = {cell.name for cell in notebook.notebook.solution_cells}
                for grade in notebook.grades:
                    manual = grade.name in answers
                    waiting = manual and grade.manual_score is None and grade.auto_score is None
                    row[grade.name] = GradeRow(None if waiting else float(grade.score or 0),
                                               float(grade.max_score or 0), manual)
    return table


# ---- the manual-grading step: written answers ---------------------------------------------

class GradingError(ValueError):
    """A manual grade the gradebook cannot take; the message says why, in words."""


@dataclass(frozen=True)
class WrittenScore:
    """One manual grade to enter: ``points`` for ``student``'s answer ``grade_id``."""
    student: str
    grade_id: str
    points: float
    comment: str | None = None      # None: leave any earlier comment as it is
    where: str = ""                 # where it was read, for messages ("scores.csv line 3: ")


@dataclass(frozen=True)
class WrittenGrade:
    score: float | None             # the instructor's score; None: not graded yet
    comment: str | None


def enter_written_scores(course_root: Path, assignment: str,
                         entries: list[WrittenScore]) -> list[str]:
    """Write each entry's score (Grade.manual_score) and comment
    (Comment.manual_comment), as formgrader does. All or nothing: if any entry
    names an unknown student or cell, or points outside [0, max], nothing is
    written and GradingError lists every problem. Returns one line per entry."""
    if not (course_root / "gradebook.db").is_file():
        raise GradingError(f"no gradebook in {course_root}: run `course autograde {assignment}` first")
    with Gradebook(db_url(course_root)) as gradebook:
        answers = _written_answers(gradebook, assignment)
        problems = []
        for entry in entries:
            problem = _problem(gradebook, assignment, answers, entry)
            if problem:
                problems.append(entry.where + problem)
        if problems:
            raise GradingError("\n".join(problems) + "\nnothing was written")
        done = []
        for entry in entries:
            notebook, top = answers[entry.grade_id]
            grade = gradebook.find_grade(entry.grade_id, notebook, assignment, entry.student)
            grade.manual_score = float(entry.points)
            grade.needs_manual_grade = False
            if entry.comment is not None:
                gradebook.find_comment(entry.grade_id, notebook, assignment,
                                       entry.student).manual_comment = entry.comment
            done.append(f"{entry.student} {entry.grade_id}: {entry.points:g} / {top:g}")
        gradebook.db.commit()
    return done


def _written_answers(gradebook: Gradebook, assignment: str) -> dict[str, tuple[str, float]]:
    """{grade_id: (notebook, max points)} of the assignment's written answers."""
    try:
        notebooks = gradebook.find_assignment(assignment).notebooks
    except MissingEntry:
        raise GradingError(f"assignment {assignment} is not in the gradebook: "
                           f"run `course autograde {assignment}` first") from None
    return {cell.name: (nb.name, float(cell.max_score)) for nb in notebooks
            for cell in nb.grade_cells if cell.name in {s.name for s in nb.solution_cells}}


def _problem(gradebook: Gradebook, assignment: str, answers: dict[str, tuple[str, float]],
             entry: WrittenScore) -> str | None:
    """Why ``entry`` cannot be entered, or None."""
    try:
        gradebook.find_submission(assignment, entry.student)
    except MissingEntry:
        known = sorted(s.student.id for s in gradebook.assignment_submissions(assignment))
        return f"no submission of {assignment} by {entry.student!r} (graded: {_few(known)})"
    if entry.grade_id not in answers:
        return (f"{entry.grade_id!r} is not a written answer of {assignment} "
                f"(they are: {_few(sorted(answers))})")
    top = answers[entry.grade_id][1]
    if not 0 <= entry.points <= top:    # also refuses nan
        return f"{entry.grade_id}: {entry.points:g} points is outside [0, {top:g}]"
    return None


def _few(names: list[str], shown: int = 8) -> str:
    more = f", ... ({len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more if names else "none"


def written_grades(course_root: Path, assignment: str) -> dict[str, dict[str, dict[str, WrittenGrade]]]:
    """{student: {notebook: {grade_id: WrittenGrade}}}: what the instructor has
    entered for each written answer (empty if there is no gradebook yet)."""
    if not (course_root / "gradebook.db").is_file():
        return {}
    table: dict[str, dict[str, dict[str, WrittenGrade]]] = {}
    with Gradebook(db_url(course_root)) as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            for notebook in submission.notebooks:
                comments = {c.name: c.manual_comment for c in notebook.comments}
                answers = {cell.name for cell in notebook.notebook.solution_cells}
                table.setdefault(submission.student.id, {})[notebook.name] = {
                    g.name: WrittenGrade(g.manual_score, comments.get(g.name))
                    for g in notebook.grades if g.name in answers}
    return table
