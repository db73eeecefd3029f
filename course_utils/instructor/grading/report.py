"""Class-level views of the gradebook: CSV export and per-exercise summary."""
from __future__ import annotations

import csv
import statistics
from pathlib import Path

from .gradebook import gradebook_scores


def export_csv(course_root: Path, assignment: str, target: Path) -> int:
    table = gradebook_scores(course_root, assignment)
    cells = sorted({g for row in table.values() for g in row})
    with open(target, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "score", "max_score", *cells])
        for student, row in sorted(table.items()):
            writer.writerow([student, assignment, f"{sum(s for s, _ in row.values()):g}",
                             f"{sum(m for _, m in row.values()):g}",
                             *[f"{row[c][0]:g}" if c in row else "" for c in cells]])
    return len(table)


def summary(course_root: Path, assignment: str, png: Path) -> str:
    """A table of per-exercise score distributions, and the same as a plot."""
    table = gradebook_scores(course_root, assignment)
    cells = sorted({g for row in table.values() for g in row})
    lines = [f"{'graded cell':<32} {'n':>3} {'max':>4} {'mean':>6} {'median':>6} {'full':>6}"]
    fractions = {}
    for cell in cells:
        scores = [row[cell][0] for row in table.values() if cell in row]
        top = max(row[cell][1] for row in table.values() if cell in row) or 1
        fractions[cell] = [s / top for s in scores]
        full = sum(s >= top for s in scores) / len(scores)
        lines.append(f"{cell:<32} {len(scores):>3} {top:>4g} {statistics.mean(scores):>6.2f} "
                     f"{statistics.median(scores):>6.2f} {full:>6.0%}")
    _plot(assignment, fractions, png, len(table))
    return "\n".join(lines)


def _plot(assignment: str, fractions: dict[str, list[float]], png: Path, n: int) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(fractions)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(names)), 4.5))
    ax.bar(range(len(names)), [100 * statistics.mean(v) for v in fractions.values()],
           color="#9ecae1", label="mean")
    ax.boxplot([[100 * x for x in v] for v in fractions.values()], positions=range(len(names)),
               widths=0.4)
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylim(0, 105)
    ax.set_ylabel("score (% of the cell's points)")
    ax.set_xlabel("graded cell")
    ax.set_title(f"{assignment}: score per graded cell ({n} students; bar = mean, box = spread)")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
