"""Class-level views of the gradebook: CSV export and per-exercise summary."""
from __future__ import annotations

import csv
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..course import SOLUTIONS, notebooks_of
from .feedback import Exercise, exercises
from .gradebook import GradeRow, gradebook_grades
from .safe_text import printable
from .template import Template, is_manual, nbgrader_meta, points

TOTALS = ["auto_score", "auto_max", "manual_score", "manual_max", "total_score", "total_max"]


def export_csv(course_root: Path, assignment: str, target: Path) -> int:
    """One row per student: ``student, assignment``, the totals below, then one
    column per cell that carries points, in the notebooks' order (its score;
    empty while it waits for a grade; 0-point visible checks are left out).

    - ``auto_score`` / ``auto_max``: the autograded test cells (an instructor's
      override in formgrader counts, as in nbgrader);
    - ``manual_score`` / ``manual_max``: the written answers the instructor
      grades; an untouched answer counts 0 (as in nbgrader);
    - ``total_score`` / ``total_max``: both together.

    ``manual_score`` and ``total_score`` are **empty** (not 0) while any of the
    student's written answers still waits for a grade: a total is never
    reported short of points that were not given yet. Returns the number of rows.
    """
    table = gradebook_grades(course_root, assignment)
    cells = [g for g, _, _ in graded_cells(course_root, assignment)]   # notebook order
    with open(target, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", *TOTALS, *cells])
        for student, row in sorted(table.items()):
            writer.writerow([student, assignment, *totals(list(row.values())),
                             *[_number(row[c].score) if c in row else "" for c in cells]])
    return len(table)


def totals(grades: list[GradeRow]) -> list[str]:
    """The TOTALS columns of one student's grades."""
    auto = [g for g in grades if not g.manual]
    manual = [g for g in grades if g.manual]
    auto_score = sum(g.score for g in auto)
    manual_score = None if any(g.score is None for g in manual) else sum(g.score for g in manual)
    auto_max, manual_max = sum(g.max_score for g in auto), sum(g.max_score for g in manual)
    total = None if manual_score is None else auto_score + manual_score
    return [_number(x) for x in (auto_score, auto_max, manual_score, manual_max,
                                 total, auto_max + manual_max)]


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def graded_cells(course_root: Path, assignment: str) -> list[tuple[str, float, bool]]:
    """(grade_id, points, written) of each cell that carries points, in the
    notebooks' order (visible checks carry none and are left out)."""
    return [(meta["grade_id"], points(cell), is_manual(cell))
            for path in notebooks_of(course_root, SOLUTIONS, assignment)
            for cell in nbformat.read(path, as_version=4).cells
            if (meta := nbgrader_meta(cell)).get("grade") and points(cell) > 0]


def exercise_labels(course_root: Path, assignment: str) -> dict[str, str]:
    """grade_id -> the title of its exercise (the notebook's heading above it,
    as on the feedback page), "test i of n" added where an exercise has
    several cells that carry points."""
    labels = {}
    carrying = {g for g, _, _ in graded_cells(course_root, assignment)}
    for path in notebooks_of(course_root, SOLUTIONS, assignment):
        template = Template(assignment, path.stem, nbformat.read(path, as_version=4))
        for exercise in exercises(template):
            cells = [g for g in exercise.cells if g in carrying]
            title = _plain_title(exercise)
            for i, grade_id in enumerate(cells, 1):
                labels[grade_id] = title + (f", test {i} of {len(cells)}" if len(cells) > 1 else "")
    return labels


POINTS_NOTE = re.compile(r"\s*\([^()]*\bpoints?\)")


def _plain_title(exercise: Exercise) -> str:
    """The title without backticks or "(N points)" (the plot says the points);
    a bare "Written answer" names its section too."""
    title = POINTS_NOTE.sub("", exercise.title.replace("`", "")).strip()
    if title.lower() == "written answer" and exercise.section:
        title = f"{exercise.section.replace('`', '')}: written answer"
    return title


@dataclass
class CellSummary:
    grade_id: str
    max_score: float
    written: bool
    scores: list[float]         # of the students graded so far (a written answer waiting: left out)
    label: str = ""             # the exercise's title, for the plot

    @property
    def fractions(self) -> list[float]:
        return [s / self.max_score for s in self.scores]


def summary(course_root: Path, assignment: str, png: Path) -> str:
    """A table of per-exercise score distributions, and the same as a plot."""
    table = gradebook_grades(course_root, assignment)
    labels = exercise_labels(course_root, assignment)
    cells = [CellSummary(g, top, written, [row[g].score for row in table.values()
                                           if g in row and row[g].score is not None],
                         labels.get(g, g))
             for g, top, written in graded_cells(course_root, assignment)]
    lines = [f"{'graded cell':<36} {'kind':<8} {'n':>3} {'max':>4} {'mean':>6} {'median':>6} {'full':>6}"]
    lines += [_summary_row(cell) for cell in cells]
    _plot(assignment, cells, png, len(table))
    return "\n".join(lines)


def _summary_row(cell: CellSummary) -> str:
    head = f"{printable(cell.grade_id, 36):<36} {'written' if cell.written else 'auto':<8} " \
           f"{len(cell.scores):>3} {cell.max_score:>4g}"
    if not cell.scores:         # written answers no one has graded yet
        return f"{head} {'-':>6} {'-':>6} {'-':>6}"
    full = sum(s >= cell.max_score for s in cell.scores) / len(cell.scores)
    return f"{head} {statistics.mean(cell.scores):>6.2f} {statistics.median(cell.scores):>6.2f} {full:>6.0%}"


PLOT_WIDTH_IN, PLOT_DPI = 8.0, 120
ROW_IN, MARGINS_IN = 0.34, 1.5     # one row per graded cell, plus title and axis


LABEL_CHARS = 48


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"


def _plot(assignment: str, cells: list[CellSummary], png: Path, n: int) -> None:
    """Horizontal bars (mean, % of the cell's points), one row per graded cell,
    top to bottom in the notebook's order, each labelled with its share of full
    marks (scores are mostly all-or-nothing: a box plot would collapse)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    colours = {False: "#6baed6", True: "#fdae6b"}          # autograded, written
    rows = range(len(cells))
    fig, ax = plt.subplots(figsize=(PLOT_WIDTH_IN, MARGINS_IN + ROW_IN * max(len(cells), 3)))
    means = [100 * statistics.mean(c.fractions) if c.scores else 0.0 for c in cells]
    ax.barh(rows, means, height=0.62, color=[colours[c.written] for c in cells])
    for row, mean, cell in zip(rows, means, cells):
        full = sum(f >= 1 for f in cell.fractions)
        text = f"{mean:.0f} %  ({full}/{len(cell.scores)} full)" if cell.scores else "not graded yet"
        ax.text(min(mean, 100) + 1.5, row, text, va="center", fontsize=8, color="#333333")
    ax.set_yticks(rows, [f"{_short(c.label)} ({c.max_score:g} pt)" for c in cells], fontsize=8)
    ax.invert_yaxis()                # the notebook's first exercise on top
    ax.set_xlim(0, 130)
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("mean score (% of the cell's points)")
    ax.set_ylabel("exercise, in notebook order")
    ax.set_title(f"{assignment}: mean score per graded cell ({n} students)", fontsize=11, pad=22)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(handles=[Patch(color=colours[False], label="autograded"),
                       Patch(color=colours[True], label="written (graded by hand)")],
              loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8,
              frameon=False)      # above the bars: bars and their labels may reach 100 %
    fig.tight_layout()
    fig.savefig(png, dpi=PLOT_DPI)
    plt.close(fig)
