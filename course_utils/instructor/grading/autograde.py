"""Grade every submission of an assignment: isolated, in parallel, recorded.

Per student (in worker threads, each driving one sandbox subprocess):
prepare -> sandbox (probes only) -> limit outputs -> judge and score. The main thread alone writes
the gradebook, the executed notebooks and the records.
"""
from __future__ import annotations

import json
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from ..execute import output_errors
from . import gradebook
from .limits import limit_outputs
from .prepare import find_submitted_file, prepare
from .sandbox import Limits, run_sandboxed
from .score import CellScore, score
from .template import Template, is_test, load_templates
from .verdicts import inputs_files, result_files


@dataclass
class NotebookResult:
    notebook: str
    scores: list[CellScore]
    events: list[str] = field(default_factory=list)
    failure: str | None = None
    defences: dict = field(default_factory=dict)
    seconds: float = 0.0
    executed: object = None                     # the executed notebook (not in the record)

    @property
    def score(self) -> float:
        return sum(c.score for c in self.scores if not c.manual)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.scores if not c.manual)

    @property
    def manual_pending(self) -> float:
        return sum(c.max_score for c in self.scores if c.manual and c.answered)


@dataclass
class StudentResult:
    student: str
    notebooks: list[NotebookResult]
    inputs_secret: str = ""

    @property
    def score(self) -> float:
        return sum(n.score for n in self.notebooks)

    @property
    def max_score(self) -> float:
        return sum(n.max_score for n in self.notebooks)

    def record(self) -> dict:
        return {"student": self.student, "score": self.score, "max_score": self.max_score,
                "inputs_secret": self.inputs_secret,
                "notebooks": [{k: v for k, v in asdict(n).items() if k != "executed"}
                              for n in self.notebooks]}


def grade_notebook(folder: Path, template: Template, n_templates: int,
                   limits: Limits) -> NotebookResult:
    start = time.perf_counter()
    path, events = find_submitted_file(folder, template, n_templates)
    prepared = prepare(path, template)
    events += prepared.events
    if prepared.notebook is None:
        events.append(f"not graded: {prepared.failure}; score 0")
        return NotebookResult(template.name, score(None, template, 0), events, prepared.failure)
    checks = [c for cell in template.hidden.values() for c in cell.checks]
    result = run_sandboxed(prepared.notebook, limits,
                           files_in=template.exchange, files_out=result_files(checks))
    status = result.status
    events += [str(e) for e in status.get("events", [])][:50]
    if status.get("reason"):
        events.append(str(status["reason"]))
    if result.notebook is not None and limit_outputs(result.notebook) or status.get("truncated_outputs"):
        events.append("very long outputs were truncated")
    stopped_at = status.get("stopped_at") if not result.killed else 0
    stopped_at = stopped_at if isinstance(stopped_at, int) else None
    if result.notebook is not None:
        events += ungraded_errors(result.notebook)
    if result.notebook is None and result.stderr_tail:
        events.append("sandbox stderr (end): " + result.stderr_tail[-300:])
    return NotebookResult(template.name, score(result.notebook, template, stopped_at, result.files), events,
                          None if result.notebook is not None else "no executed notebook",
                          asdict(result.defences), round(time.perf_counter() - start, 1),
                          result.notebook)


MAX_ERROR_EVENTS = 10


def ungraded_errors(executed) -> list[str]:
    """What went wrong outside the test cells (those are in the scores):
    exits, interrupts, memory errors in the student's own cells."""
    found = [f"cell {index} ({str(cell.get('id', '?'))[:40]}) raised {name}: {message[:200]}"
             for index, cell in enumerate(executed.cells)
             if cell.get("cell_type") == "code" and not is_test(cell)
             for name, message in output_errors(cell)]
    more = [f"... and {len(found) - MAX_ERROR_EVENTS} more errors"] if len(found) > MAX_ERROR_EVENTS else []
    return found[:MAX_ERROR_EVENTS] + more


def grade_student(course_root: Path, assignment: str, student: str, templates: list[Template],
                  limits: Limits) -> StudentResult:
    folder = course_root / "submitted" / student / assignment
    return StudentResult(student, [grade_notebook(folder, t, len(templates), limits)
                                   for t in templates])


def students_of(course_root: Path, assignment: str) -> list[str]:
    submitted = course_root / "submitted"
    return sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir()) \
        if submitted.is_dir() else []


def autograde(course_root: Path, assignment: str, *, jobs: int | None = None,
              students: list[str] | None = None, limits: Limits | None = None,
              inputs_secret: str | None = None, log=print) -> tuple[list[dict], Path]:
    """Grade ``students`` (default: all submitted) of ``assignment``; returns the
    records sorted by student and the path of the run's log.

    The checks' inputs are drawn with a secret made for this run (recorded in
    every record as ``inputs_secret``; pass it again to regrade identically):
    results copied out of one run are worth nothing in another."""
    course_root = course_root.resolve()
    limits = limits or Limits()
    inputs_secret = inputs_secret or secrets.token_hex(16)
    templates = load_templates(course_root, assignment)
    for template in templates:
        template.exchange = inputs_files([c for cell in template.hidden.values() for c in cell.checks],
                                         inputs_secret)
    gradebook.register_assignment(course_root, templates)
    names = students or students_of(course_root, assignment)
    jobs = max(1, jobs or os.cpu_count() or 1)
    log_dir = course_root / "grading_logs" / assignment
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"autograde-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    results = []
    with ThreadPoolExecutor(max_workers=jobs) as pool, open(log_path, "w") as log_file:
        futures = {pool.submit(grade_student, course_root, assignment, s, templates, limits): s
                   for s in names}
        for future in as_completed(futures):
            student = futures[future]
            try:
                result = future.result()
            except Exception as error:   # a grader bug must not stop the others
                result = StudentResult(student, [NotebookResult(
                    t.name, score(None, t, 0), [f"grader error: {type(error).__name__}: {error}"],
                    "grader error") for t in templates])
            result.inputs_secret = inputs_secret
            save(course_root, assignment, result)
            log_file.write(json.dumps(result.record()) + "\n")
            log_file.flush()
            log(f"graded {student}: {result.score:g} / {result.max_score:g}")
    return sorted(results_from(log_path), key=lambda r: r["student"]), log_path


def results_from(log_path: Path) -> list[dict]:
    return [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]


def save(course_root: Path, assignment: str, result: StudentResult) -> None:
    """Gradebook, executed notebooks and the record: written by the parent only."""
    gradebook.record_scores(course_root, assignment, result.student,
                            {n.notebook: n.scores for n in result.notebooks})
    folder = course_root / "autograded" / result.student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for notebook in result.notebooks:
        target = folder / f"{notebook.notebook}.ipynb"
        if notebook.executed is not None:
            nbformat.write(notebook.executed, target)
        elif target.exists():
            target.unlink()     # an older run's notebook must not outlive a failed regrade
    (folder / "grading-record.json").write_text(json.dumps(result.record(), indent=1))
