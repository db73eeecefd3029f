"""The instructor's side of a notebook: what grading restores and checks against.

Built in the trusted parent from solutions/ with nbgrader's own preprocessors
(ClearSolutions + ComputeChecksums), so the solution cells hold the same stubs
and checksums as the released notebook ("unchanged answer" detection), while
locked and test cells keep their hidden tests.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions, ComputeChecksums
from traitlets.config.loader import PyFileConfigLoader

from ..course import SOLUTIONS
from .verdicts import SEAL_PATH, CellChecks, bound_names, check_no_shadowing, inputs_files, read_checks, seal_settings

HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)
REDACT_MIN_CHARS = 20   # hidden-test lines at least this long are redacted from feedback


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_solution(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_test(cell) -> bool:
    """An autograded test cell: graded, not an answer."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def is_manual(cell) -> bool:
    """A written (or code) answer that the instructor grades by hand."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and bool(meta.get("solution"))


def points(cell) -> float:
    return float(nbgrader_meta(cell).get("points", 0) or 0)


@dataclass
class Template:
    assignment: str
    name: str                    # notebook stem
    notebook: nbformat.NotebookNode
    hidden_lines: set[str] = field(default_factory=set)    # redacted from feedback
    released: list[str] = field(default_factory=list)   # each cell's source as students got it
    hidden: dict[str, CellChecks] = field(default_factory=dict)   # by grade_id: trusted checks
    exchange: dict[str, bytes] = field(default_factory=dict)      # the checks' inputs files

    @property
    def cells(self):
        return self.notebook.cells

    def by_grade_id(self) -> dict[str, int]:
        return {nbgrader_meta(c)["grade_id"]: i for i, c in enumerate(self.cells)
                if nbgrader_meta(c).get("grade_id")}

    def answer_sources(self) -> dict[str, str]:
        """Code answer cells as released (stubs): grade_id -> source."""
        return {nbgrader_meta(c)["grade_id"]: c.source for c in self.cells
                if is_solution(c) and c.cell_type == "code"}

    def exercise_of(self) -> dict[str, str]:
        """Test cell grade_id -> the code answer cell it follows (its exercise)."""
        owner, owners = None, {}
        for cell in self.cells:
            if is_solution(cell) and cell.cell_type == "code":
                owner = nbgrader_meta(cell)["grade_id"]
            elif is_test(cell) and owner is not None:
                owners[nbgrader_meta(cell)["grade_id"]] = owner
        return owners

    def test_cells(self):
        return [c for c in self.cells if is_test(c)]

    def max_score(self) -> float:
        return sum(points(c) for c in self.test_cells())


def load_stubs(course_root: Path) -> dict:
    """ClearSolutions settings from the course's nbgrader_config.py."""
    config_file = course_root / "nbgrader_config.py"
    if not config_file.exists():
        return {}
    config = PyFileConfigLoader(config_file.name, path=str(course_root)).load_config()
    return dict(config.get("ClearSolutions", {}))


def load_templates(course_root: Path, assignment: str, inputs_secret: str = "") -> list[Template]:
    """The assignment's templates, with the checks' inputs drawn once, with
    ``inputs_secret`` (a grading run's; none for a notebook's own run)."""
    folder = course_root / SOLUTIONS / assignment
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no notebooks in {folder}")
    stubs = load_stubs(course_root)
    templates = []
    for path in paths:
        source = nbformat.read(path, as_version=4)
        hidden_cells = {nbgrader_meta(c)["grade_id"]: c.source for c in source.cells
                        if is_test(c) and HIDDEN_BLOCK.search(c.source)}
        hidden = {line.strip() for text in hidden_cells.values()
                  for block in HIDDEN_BLOCK.findall(text)
                  for line in block.splitlines() if len(line.strip()) >= REDACT_MIN_CHARS}
        answers = [c.source for c in source.cells if is_solution(c) and c.cell_type == "code"]
        check_no_shadowing(hidden_cells, answers)
        student_names = {name for answer in answers for name in bound_names(answer, defs_only=True)}
        resources: dict = {}
        notebook, resources = ClearSolutions(**stubs).preprocess(source, resources)
        notebook, resources = ComputeChecksums().preprocess(notebook, resources)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        released, _ = ClearHiddenTests().preprocess(copy.deepcopy(notebook), {})
        shared: dict = {"__name__": f"hidden_tests_of_{path.stem}"}   # hidden cells run in order
        checks = {grade_id: read_checks(text, grade_id, shared, student_names)
                  for grade_id, text in hidden_cells.items()}
        exchange = {k: v for cell in checks.values() for k, v in inputs_files(cell.checks, inputs_secret).items()}
        exchange[SEAL_PATH] = seal_settings(list(hidden_cells.values()))   # the sealed runner's key
        templates.append(Template(assignment, path.stem, notebook, hidden,
                                  [cell.source for cell in released.cells], checks, exchange))
    return templates


def redact(text: str, hidden_lines: set[str]) -> str:
    """Replace every line that contains a line of hidden-test source."""
    if not hidden_lines:
        return text
    return "\n".join("[redacted: this line contained hidden test code]"
                     if any(h in line for h in hidden_lines) else line
                     for line in text.split("\n"))
