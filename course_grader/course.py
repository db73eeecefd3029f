"""Where things are in the course repository, and a throw-away nbgrader course
directory to run nbgrader in without touching the repository."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .execute import cell_errors, tool_env

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = "solutions"   # nbgrader's source directory (nbgrader_config.py)
RELEASE = "notebooks"     # nbgrader's release directory


def assignments(root: Path = REPO) -> list[str]:
    """Names of the assignments: the folders of solutions/, in course order."""
    return sorted(p.name for p in (root / SOLUTIONS).iterdir()
                  if p.is_dir() and not p.name.startswith("."))


def notebooks_of(root: Path, folder: str, assignment: str) -> list[Path]:
    return sorted((root / folder / assignment).glob("*.ipynb"))


@dataclass
class ScratchCourse:
    """An nbgrader course directory holding a copy of the course's config and
    solutions, so generating and grading never write into the repository."""

    root: Path

    @classmethod
    def create(cls, root: Path, source: Path = REPO) -> "ScratchCourse":
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / "nbgrader_config.py", root / "nbgrader_config.py")
        shutil.copytree(source / SOLUTIONS, root / SOLUTIONS,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        return cls(root)

    def nbgrader(self, *args: str) -> str:
        """Run an nbgrader command here; raise with its output if it fails."""
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=self.root,
                              env=tool_env(), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit {done.returncode}):\n"
                               f"{done.stdout}\n{done.stderr}")
        return done.stdout + done.stderr

    def generate(self, assignment: str) -> list[Path]:
        """Release ``assignment``: solutions/ -> notebooks/ with nbgrader."""
        self.nbgrader("generate_assignment", assignment, "--force")
        return notebooks_of(self.root, RELEASE, assignment)

    def submit(self, student: str, assignment: str, notebooks: list[Path]) -> None:
        """Place copies of ``notebooks`` as ``student``'s submission."""
        folder = self.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        for notebook in notebooks:
            shutil.copy2(notebook, folder / notebook.name)

    def autograde(self, assignment: str, student: str) -> str:
        return self.nbgrader("autograde", assignment, "--student", student, "--force")

    def autograded_errors(self, assignment: str, student: str) -> dict[str, list]:
        """Errors raised while autograding, per notebook (cell id, exception, message)."""
        import nbformat


        return {path.stem: cell_errors(nbformat.read(path, as_version=4))
                for path in notebooks_of(self.root / "autograded" / student, "", assignment)}

    def scores(self, assignment: str, student: str) -> dict[str, "NotebookScore"]:
        """Scores per notebook of one graded submission, read from the gradebook."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gradebook:
            submission = gradebook.find_submission(assignment, student)
            return {nb.name: NotebookScore.from_gradebook(nb) for nb in submission.notebooks}


@dataclass(frozen=True)
class NotebookScore:
    """Autograded and manually graded points of one submitted notebook."""

    auto_score: float
    auto_max: float
    manual_max: float      # points waiting for the instructor's review
    failed_tests: tuple[str, ...]

    @classmethod
    def from_gradebook(cls, notebook) -> "NotebookScore":
        # Graded cells that are also solution cells are written answers: the
        # instructor scores them (nbgrader only gives 0 to unchanged ones).
        answers = {cell.name for cell in notebook.notebook.solution_cells}
        auto = [g for g in notebook.grades if g.name not in answers]
        manual = [g for g in notebook.grades if g.name in answers]
        return cls(auto_score=sum(g.auto_score or 0 for g in auto),
                   auto_max=sum(g.max_score for g in auto),
                   manual_max=sum(g.max_score for g in manual),
                   failed_tests=tuple(sorted(g.name for g in auto
                                             if (g.auto_score or 0) < g.max_score)))
