"""Grade every submission of an assignment: isolated, in parallel, recorded.

Per student (in threads of this process): prepare -> sandbox (probes only,
run by an executor: here, or on a Dask cluster; executors.py) -> limit
outputs -> judge and score. The main thread alone writes the gradebook, the
executed notebooks and the records, one student at a time and whole (Ctrl-C
waits for the record being written), so an interrupted run leaves every
record complete and a re-run grades only what is missing. A submission the
grader failed (its executor, its sandbox or its own code, not the student's)
gets no record and no gradebook row, only a note (``NOT_GRADED``): a plain
re-run grades it again and says so.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import secrets
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nbformat

from ..execute import output_errors
from . import gradebook
from .executors import ExecutorError, LocalExecutor, SandboxTask, SubmissionLost
from .executors import run_local as run_here
from .judges import JudgePool
from .limits import limit_outputs
from .prepare import find_submitted_file, prepare
from .sandbox import GraderFailure, Limits, preflight
from .score import CellScore, score
from .template import Template, is_test, load_templates
from .verdicts import result_files

RECORD = "grading-record.json"
NOT_GRADED = "not-graded.json"      # why the grader failed this submission (no record written)


@dataclass
class NotebookResult:
    notebook: str
    scores: list[CellScore]
    events: list[str] = field(default_factory=list)
    failure: str | None = None
    defences: dict = field(default_factory=dict)
    seconds: float = 0.0
    executed: object = None                     # the executed notebook (not in the record)
    worker: str = ""                            # where the sandbox ran ("local", or a Dask worker)

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
    submission: str = ""            # digest of the submitted files graded (submission_digest)

    @property
    def score(self) -> float:
        return sum(n.score for n in self.notebooks)

    @property
    def max_score(self) -> float:
        return sum(n.max_score for n in self.notebooks)

    def record(self) -> dict:
        return {"student": self.student, "score": self.score, "max_score": self.max_score,
                "inputs_secret": self.inputs_secret, "submission": self.submission,
                "notebooks": [{k: v for k, v in asdict(replace(n, executed=None)).items() if k != "executed"}
                              for n in self.notebooks]}     # (asdict would deep-copy the notebook)


class GradingIncomplete(RuntimeError):
    """Some submissions were not graded because the grader failed (the
    executor, see executors.ExecutorError; the sandbox, see
    sandbox.GraderFailure; a bug); those recorded are in ``records``."""

    def __init__(self, records: list[dict], log_path: Path, missing: list[str]):
        super().__init__(f"{len(missing)} submissions not graded: {', '.join(missing[:10])}")
        self.records, self.log_path, self.missing = records, log_path, missing


def grade_notebook(folder: Path, template: Template, n_templates: int, limits: Limits,
                   execute=run_here, label: str = "", judges=None) -> NotebookResult:
    path, events = find_submitted_file(folder, template, n_templates)
    return grade_file(path, template, limits, events, execute, label, judges)


def grade_file(path: Path | None, template: Template, limits: Limits, events: list[str] | None = None,
               execute=run_here, label: str = "", judges=None) -> NotebookResult:
    """Prepare, execute (``execute``: an executor's ``run``), judge (``judges``:
    here, or a ``JudgePool``) and score one notebook file against ``template``."""
    start = time.perf_counter()
    events = list(events or [])
    prepared = prepare(path, template)
    events += prepared.events
    if prepared.notebook is None:
        events.append(f"not graded: {prepared.failure}; score 0")
        return NotebookResult(template.name, score(None, template, 0), events, prepared.failure)
    checks = [c for cell in template.hidden.values() for c in cell.checks]
    try:
        result, worker = execute(SandboxTask(prepared.notebook, limits, template.exchange,
                                             result_files(checks), label or template.name))
    except SubmissionLost as lost:
        events.append(f"not graded: {lost}; score 0")
        return NotebookResult(template.name, score(None, template, 0), events, str(lost),
                              seconds=round(time.perf_counter() - start, 1))
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
    return NotebookResult(template.name, score(result.notebook, template, stopped_at, result.files, prepared.refused, judges),
                          events,
                          None if result.notebook is not None else "no executed notebook",
                          asdict(result.defences), round(time.perf_counter() - start, 1),
                          result.notebook, worker)


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
                  limits: Limits, execute=run_here, judges=None) -> StudentResult:
    folder = course_root / "submitted" / student / assignment
    return StudentResult(student, [grade_notebook(folder, t, len(templates), limits, execute,
                                                  f"{student}/{t.name}", judges)
                                   for t in templates])


def students_of(course_root: Path, assignment: str) -> list[str]:
    submitted = course_root / "submitted"
    return sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir()) \
        if submitted.is_dir() else []


def submission_digest(folder: Path) -> str:
    """What was submitted: the notebooks in the student's folder, names and bytes."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
        if path.is_file() and not path.is_symlink():
            digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def already_graded(course_root: Path, assignment: str, student: str, digest: str,
                   templates: list[Template]) -> bool:
    """A whole record of this very submission exists (written last, atomically)
    and no later run failed to grade it."""
    path = course_root / "autograded" / student / assignment / RECORD
    if (path.parent / NOT_GRADED).exists():
        return False
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return (isinstance(record, dict) and record.get("student") == student
            and record.get("submission") == digest
            and sorted(n.get("notebook") for n in record.get("notebooks", [])) == sorted(t.name for t in templates))


@contextlib.contextmanager
def uninterrupted():
    """Ctrl-C waits until the block is done (main thread only): a student's
    gradebook rows, notebooks, record and log line are written whole."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *_: caught.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt


class Pool:
    """Worker threads that die with the process (daemons): after Ctrl-C nothing
    waits for a sandbox still running, and each sandbox dies with its thread
    (bwrap --die-with-parent)."""

    def __init__(self, size: int):
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.threads = [threading.Thread(target=self._work, daemon=True, name=f"grader-{i}")
                        for i in range(size)]
        for thread in self.threads:
            thread.start()

    def submit(self, function, *args) -> Future:
        future: Future = Future()
        self.tasks.put((future, function, args))
        return future

    def _work(self) -> None:
        while (item := self.tasks.get()) is not None:
            future, function, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(*args))
            except BaseException as error:     # noqa: BLE001 (the main thread decides)
                future.set_exception(error)

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:
            with contextlib.suppress(queue.Empty):
                while True:
                    item = self.tasks.get_nowait()
                    if item is not None:
                        item[0].cancel()
        for _ in self.threads:
            self.tasks.put(None)


def autograde(course_root: Path, assignment: str, *, jobs: int | None = None,
              students: list[str] | None = None, limits: Limits | None = None,
              inputs_secret: str | None = None, log=print, executor=None,
              skip_graded: bool = False, progress: bool | None = False) -> tuple[list[dict], Path]:
    """Grade ``students`` (default: all submitted) of ``assignment``; returns the
    records of this run sorted by student and the path of the run's log.

    ``executor``: where the sandboxes run (executors.py; default
    ``LocalExecutor(jobs)``). ``skip_graded``: leave out every student whose
    record of this same submission exists (a re-run after an interruption).
    ``progress``: a progress bar on stderr (None: if stderr is a terminal).
    Raises ``GradingIncomplete`` if the executor lost submissions (nothing is
    recorded for them) and ``KeyboardInterrupt`` after Ctrl-C (every record
    written is whole).

    The checks' inputs are drawn with a secret made for this run (recorded in
    every record as ``inputs_secret``; pass it again to regrade identically):
    results copied out of one run are worth nothing in another."""
    course_root = course_root.resolve()
    limits = limits or Limits()
    inputs_secret = inputs_secret or secrets.token_hex(16)
    templates = load_templates(course_root, assignment, inputs_secret)
    gradebook.register_assignment(course_root, templates)
    names = students or students_of(course_root, assignment)
    digests = {s: submission_digest(course_root / "submitted" / s / assignment) for s in names}
    done_before = [s for s in names if skip_graded
                   and already_graded(course_root, assignment, s, digests[s], templates)]
    todo = [s for s in names if s not in done_before]
    if done_before:
        log(f"skipped {len(done_before)} students already graded on these submissions "
            "(--force regrades them)")
    for student, note in failed_before(course_root, assignment, todo):
        log(f"grading {student} again: the grader failed it on {note.get('when', '?')} "
            f"({str(note.get('reason', '?'))[:200]})")
    if executor is None or not executor.cluster:
        preflight()            # a sandbox that cannot start here fails the run now, not each student
    own = executor is None
    executor = executor or LocalExecutor(jobs)
    log_dir = course_root / "grading_logs" / assignment
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"autograde-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    bar = _progress_bar(len(todo), assignment, progress)

    def say(line: str) -> None:
        with bar.external_write_mode():
            log(line)

    pool = Pool(min(executor.slots, max(1, len(todo))))
    # On a cluster the parent's judging would bound the run: judge in processes beside it
    # (four judge some 20 notebook-02 submissions a second at 0.2 s each: 600 workers' worth at 30 s)
    judges = JudgePool(course_root, assignment, inputs_secret, templates, min(os.cpu_count() or 1, len(todo), 4)) \
        if executor.cluster and todo else None
    lost: list[str] = []
    failed, shown, shown_at = 0, "", 0.0
    book = gradebook.opened(course_root)       # one for the run: the main thread alone writes it
    try:
        with open(log_path, "w") as log_file:
            futures = {pool.submit(grade_student, course_root, assignment, s, templates, limits,
                                   executor.run, judges): s for s in todo}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, timeout=1, return_when=FIRST_COMPLETED)
                for future in finished:
                    student = futures[future]
                    try:
                        result = future.result()
                    except Exception as error:   # the grader's failure, not the submission's: no grade
                        reason = str(error) if isinstance(error, (ExecutorError, GraderFailure)) \
                            else f"grader error: {type(error).__name__}: {error}"
                        lost.append(student)
                        note_not_graded(course_root, assignment, student, reason)
                        say(f"NOT graded {student} (the grader failed, nothing recorded): {reason}")
                        continue
                    result.inputs_secret, result.submission = inputs_secret, digests[student]
                    with uninterrupted():
                        save(course_root, assignment, result, book)
                        log_file.write(json.dumps(result.record()) + "\n")
                        log_file.flush()
                    failed += any(n.failure for n in result.notebooks)
                    bar.update(1)
                    say(f"graded {student}: {result.score:g} / {result.max_score:g}")
                now = f"running {executor.running}, failed {failed}"
                if now != shown or time.monotonic() - shown_at > 5:   # the elapsed time moves on
                    bar.set_postfix_str(now)    # done: the bar's count; rate and ETA: its own
                    shown, shown_at = now, time.monotonic()
    except KeyboardInterrupt as interrupted:
        pool.shutdown(cancel=True)
        executor.cancel()
        recorded = len(results_from(log_path)) if log_path.exists() else 0
        say(f"interrupted: {recorded} of {len(todo)} submissions recorded (each whole) in {log_path}")
        interrupted.log_path = log_path     # `--resume` it grades exactly the others (commands.py)
        raise
    finally:
        bar.close()
        pool.shutdown()
        if judges is not None:
            judges.close()
        book.close()
        if own:
            executor.close()
    records = sorted(results_from(log_path), key=lambda r: r["student"])
    if lost:
        raise GradingIncomplete(records, log_path, lost)
    return records, log_path


def _progress_bar(total: int, assignment: str, progress: bool | None):
    from tqdm import tqdm

    return tqdm(total=total, desc=f"grading {assignment}", unit="student", file=sys.stderr,
                disable=None if progress is None else not progress, dynamic_ncols=True,
                postfix="running 0, failed 0")


def note_not_graded(course_root: Path, assignment: str, student: str, reason: str) -> None:
    """Why the grader failed ``student``'s submission: the next run grades it again."""
    folder = course_root / "autograded" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    (folder / NOT_GRADED).write_text(json.dumps({"student": student, "reason": reason,
                                                 "when": time.strftime("%Y-%m-%d %H:%M:%S")}))


def failed_before(course_root: Path, assignment: str, students: list[str]) -> list[tuple[str, dict]]:
    """(student, note) for each of ``students`` an earlier run failed to grade."""
    found = []
    for student in students:
        try:
            note = json.loads((course_root / "autograded" / student / assignment / NOT_GRADED).read_text())
        except (OSError, ValueError):
            continue
        found.append((student, note if isinstance(note, dict) else {}))
    return found


def results_from(log_path: Path) -> list[dict]:
    return [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]


def save(course_root: Path, assignment: str, result: StudentResult, book=None) -> None:
    """Gradebook (``book``: the run's open one), executed notebooks and the record:
    written by the parent only. The record comes last and atomically: it exists only
    once all is written."""
    gradebook.record_scores(course_root, assignment, result.student,
                            {n.notebook: n.scores for n in result.notebooks}, book)
    folder = course_root / "autograded" / result.student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for notebook in result.notebooks:
        target = folder / f"{notebook.notebook}.ipynb"
        if notebook.executed is not None:
            # v4's writer, not nbformat.write, which validates again (run_sandboxed's
            # nbformat.reads did) and logs what is invalid on the instructor's terminal
            target.write_text(nbformat.v4.writes(notebook.executed))
        elif target.exists():
            target.unlink()     # an older run's notebook must not outlive a failed regrade
    partial = folder / f".{RECORD}.tmp"
    partial.write_text(json.dumps(result.record(), indent=1))
    os.replace(partial, folder / RECORD)
    (folder / NOT_GRADED).unlink(missing_ok=True)     # graded now
