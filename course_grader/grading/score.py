"""Score an executed notebook in the trusted parent.

A test cell earns its points iff it ran, has no error output and, for a
hidden test cell, every one of its checks passes its judge (verdicts.py), run
on the results its probes sent back here or, on a cluster run, in judge
processes beside the parent (judges.py). Text on
stderr (warnings, progress bars) does not cost marks: nbgrader 0.9.6 zeroes
such a cell, we judge by errors only. A cell at or after the point where
execution stopped (kernel death, time limit) did not run and scores 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from nbgrader.utils import compute_checksum

from ..execute import output_errors
from .template import Template, is_manual, is_test, nbgrader_meta, points
from .verdicts import judge


@dataclass
class CellScore:
    grade_id: str
    score: float
    max_score: float
    manual: bool = False            # waits for the instructor
    answered: bool = True           # manual cells: changed from the stub
    errors: list[tuple[str, str]] = field(default_factory=list)   # (name, message)
    ran: bool = True
    checks: int = 0                 # hidden checks judged in the grader


def score(executed, template: Template, stopped_at: int | None,
          files: dict[str, bytes] | None = None, refused: dict[str, str] | None = None,
          judges=None) -> list[CellScore]:
    """``files``: what the probes sent back from the sandbox; ``refused``: answer
    grade_id -> why its tests score 0 whatever they find (borrowed.py); ``judges``:
    what runs the hidden checks' judges (``judge_cells`` here, or a ``judges.JudgePool``)."""
    refused = refused or {}
    exercise_of = template.exercise_of() if refused else {}
    graded = {nbgrader_meta(c)["grade_id"]: c for c in template.cells if nbgrader_meta(c).get("grade")}
    found: dict[str, tuple[int, object]] = {}
    for index, cell in enumerate(executed.cells if executed is not None else []):
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in graded and grade_id not in found:
            found[grade_id] = (index, cell)

    def ran(grade_id: str) -> bool:
        index, cell = found.get(grade_id, (None, None))
        return cell is not None and cell.get("execution_count") is not None \
            and (stopped_at is None or index < stopped_at)

    judged = (judges or judge_cells)(template, [g for g in template.hidden if g in graded and ran(g)], files or {})
    scores = []
    for grade_id, original in graded.items():
        index, cell = found.get(grade_id, (None, None))
        if is_manual(original):
            answered = cell is not None and compute_checksum(cell) != nbgrader_meta(original).get("checksum")
            scores.append(CellScore(grade_id, 0.0, points(original), manual=True, answered=answered))
            continue
        if not is_test(original):
            continue
        errors = output_errors(cell) if cell is not None else []
        errors += [("AssertionError", message) for message in judged.get(grade_id, [])]
        if exercise_of.get(grade_id) in refused:
            errors = [("RefusedAnswer", refused[exercise_of[grade_id]])]
        passed = ran(grade_id) and not errors
        checks = len(template.hidden[grade_id].checks) if grade_id in template.hidden else 0
        scores.append(CellScore(grade_id, points(original) if passed else 0.0, points(original),
                                errors=errors, ran=ran(grade_id), checks=checks))
    return scores


def judge_cells(template: Template, grade_ids: list[str], files: dict[str, bytes]) -> dict[str, list[str]]:
    """What is wrong with the results of each hidden test cell in ``grade_ids``, in
    words (an empty list: every check passed), judged in this process."""
    returned = {**files, **template.exchange}   # the grader's own inputs files win over anything named alike
    return {g: [m for c in template.hidden[g].checks if (m := judge(c, returned))] for g in grade_ids}
