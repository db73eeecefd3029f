"""The main job: build the course from solutions/ and prove it grades.

1. Generate the student notebooks with nbgrader (in a scratch course) and
   bring notebooks/ up to date.
2. Autograde two demo submissions per assignment, in the grading profile:
   the solutions (full marks, and no cell may raise) and the untouched
   release (zero, and only the NotImplementedError of unanswered exercises).
3. Print a score table and where to go next.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .course import RELEASE, REPO, SOLUTIONS, NotebookScore, ScratchCourse, assignments, notebooks_of
from .execute import CellError

DEMO_SOLUTION, DEMO_BLANK = "demo-solution", "demo-blank"


@dataclass
class Row:
    assignment: str
    notebook: str
    seconds: float
    solution: NotebookScore
    blank: NotebookScore
    solution_errors: list[CellError]
    blank_errors: list[CellError]

    @property
    def problems(self) -> list[str]:
        found = [f"solution fails {t}" for t in self.solution.failed_tests]
        found += [f"solution raises {e.name} in {e.cell_id}" for e in self.solution_errors]
        if self.blank.auto_score:
            found.append(f"blank release scores {self.blank.auto_score:g}")
        found += [f"blank release raises {e.name} in {e.cell_id}" for e in self.blank_errors
                  if e.name != "NotImplementedError"]
        if self.solution.auto_max == 0:
            found.append("no autograded tests")
        return found


def sync_release(generated: list[Path], target_dir: Path, *, overwrite: bool) -> list[str]:
    """Copy freshly generated notebooks into notebooks/<assignment>/.

    A file there that differs from the generated one may hold someone's work:
    it is replaced only with ``overwrite``, and kept as a ``.bak`` copy unless
    git already has exactly that file committed.
    Returns one line per file that was not already up to date.
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    notes = []
    for source in generated:
        target = target_dir / source.name
        shown = f"notebooks/{target_dir.name}/{target.name}"
        if target.exists() and target.read_bytes() == source.read_bytes():
            continue
        if target.exists() and not overwrite:
            notes.append(f"KEPT {shown}: it differs from what solutions/ "
                         "generates (edited, or the solution changed); rerun with --overwrite "
                         "to replace it (a .bak copy is kept).")
            continue
        if target.exists() and target.read_bytes() == _committed(target):
            notes.append(f"replaced {shown} (the old version is committed)")
        elif target.exists():
            backup = target.with_name(target.name + f".{time.strftime('%Y%m%d-%H%M%S')}.bak")
            shutil.copy2(target, backup)
            notes.append(f"replaced {shown} (old copy: {backup.name})")
        else:
            notes.append(f"created {shown}")
        shutil.copy2(source, target)
    return notes


def _committed(path: Path) -> bytes | None:
    """The file's bytes as committed at git HEAD, or None."""
    done = subprocess.run(["git", "show", f"HEAD:./{path.name}"], cwd=path.parent,
                          capture_output=True)
    return done.stdout if done.returncode == 0 else None


STEPS = {"generate": "generating the student version with nbgrader",
         "solution": "autograding the solutions (grading profile)",
         "blank": "autograding the untouched release"}


class Progress:
    """One line per step, and on a terminal a bar over notebooks x steps
    (stderr; the build takes minutes)."""

    def __init__(self, assignments: list[str], enabled: bool | None = None):
        from tqdm import tqdm

        self.bar = tqdm(total=len(assignments) * len(STEPS), desc="course build", unit="step",
                        file=sys.stderr, disable=None if enabled is None else not enabled,
                        dynamic_ncols=True)

    def step(self, assignment: str, step: str) -> None:
        """Say that ``step`` of ``assignment`` starts (the bar counts those done)."""
        self.bar.set_postfix_str(f"{assignment}: {step}")
        with self.bar.external_write_mode():
            print(f"[{assignment}] {STEPS[step]}", flush=True)

    def done(self) -> None:
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def build(*, overwrite: bool = False, only: list[str] | None = None,
          progress: bool | None = None) -> bool:
    """Run the main job; returns True when every notebook passed.
    ``progress``: the bar on stderr (None: if stderr is a terminal)."""
    names = only or assignments()
    rows, notes = [], []
    steps = Progress(names, progress)
    try:
        with tempfile.TemporaryDirectory(prefix="course-build-") as tmp:
            course = ScratchCourse.create(Path(tmp) / "course")
            for assignment in names:
                steps.step(assignment, "generate")
                released = course.generate(assignment)
                notes += sync_release(released, REPO / RELEASE / assignment, overwrite=overwrite)
                solutions = notebooks_of(REPO, SOLUTIONS, assignment)
                course.submit(DEMO_SOLUTION, assignment, solutions)
                course.submit(DEMO_BLANK, assignment, released)
                steps.done()
                steps.step(assignment, "solution")
                start = time.perf_counter()
                course.autograde(assignment, DEMO_SOLUTION)
                seconds = time.perf_counter() - start
                steps.done()
                steps.step(assignment, "blank")
                course.autograde(assignment, DEMO_BLANK)
                steps.done()
                full = course.scores(assignment, DEMO_SOLUTION)
                blank = course.scores(assignment, DEMO_BLANK)
                full_errors = course.autograded_errors(assignment, DEMO_SOLUTION)
                blank_errors = course.autograded_errors(assignment, DEMO_BLANK)
                for notebook in solutions:
                    name = notebook.stem
                    rows.append(Row(assignment, notebook.name, seconds / len(solutions),
                                    full[name], blank[name], full_errors[name], blank_errors[name]))
    finally:
        steps.close()
    print_report(rows, notes)
    return not any(row.problems for row in rows)


def print_report(rows: list[Row], notes: list[str]) -> None:
    print()
    for note in notes:
        print(note)
    header = (f"{'notebook':<32} {'solution':>10} {'blank':>8} {'manual':>8} "
              f"{'autograde':>9}  result")
    print(header)
    print("-" * len(header))
    for r in rows:
        verdict = "FAILED: " + "; ".join(r.problems) if r.problems else "ok"
        print(f"{r.notebook:<32} {r.solution.auto_score:>4g} / {r.solution.auto_max:<3g} "
              f"{r.blank.auto_score:>3g} / {r.blank.auto_max:<3g} {r.solution.manual_max:>5g} pt "
              f"{r.seconds:>7.1f} s  {verdict}")
    print("""
solution: autograded points of the solutions (must be full marks);
blank: the untouched student version (must be zero); manual: points an
instructor grades by hand (written answers).

Next steps
  Student:    source .venv/bin/activate && jupyter lab notebooks/
              (COURSE_PROFILE=grading jupyter lab for the fast, small profile)
  Instructor: edit solutions/, then `course build --overwrite` to release;
              `course collect` / `course autograde` / `course feedback` grade
              submissions in isolated sandboxes (see docs/grading.md).""")
