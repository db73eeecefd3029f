"""The hidden checks' judges in processes of their own, beside the parent.

Judging one submission (decoding what its probes returned, checking the seal,
computing the references: 0.2 s for notebook 02) is pure Python in the parent's
one interpreter, where the threads that feed a cluster take turns. With
dozens of Dask workers that serial work bounds the run, so a cluster run
(``autograde``) judges in a ``JudgePool``: processes on the parent's machine, as
trusted as the parent (nothing of them reaches a worker or a sandbox), each
holding the templates, loaded once with the run's inputs secret. The parent's
part of a submission is then prepare, scoring and save.

A judge process must judge exactly what the parent would: its templates'
inputs files must equal the parent's (the same solutions, the same secret), and
it judges against the parent's exchange files, seal key included; a process
that finds otherwise, or dies, fails the submission as the grader's fault
(``GraderFailure``: nothing recorded, a re-run grades it).
"""
from __future__ import annotations

import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from .sandbox import GraderFailure
from .score import judge_cells
from .template import Template, load_templates
from .verdicts import SEAL_PATH

_templates: dict[str, Template] = {}     # in a judge process: by notebook name
_problems: list[str] = []                # in a judge process: why it must not judge


class JudgePool:
    """``processes`` judge processes for ``templates`` (the parent's, loaded with
    ``inputs_secret`` from ``course_root``). Called as ``score``'s ``judges``."""

    def __init__(self, course_root: Path, assignment: str, inputs_secret: str,
                 templates: list[Template], processes: int) -> None:
        exchanges = {t.name: t.exchange for t in templates}
        # spawn: the parent runs threads (a Dask client's among them) that a fork would copy mid-step
        self._pool = ProcessPoolExecutor(max(1, processes), mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_load, initargs=(str(course_root), assignment,
                                                                      inputs_secret, exchanges))

    def __call__(self, template: Template, grade_ids: list[str], files: dict[str, bytes]) -> dict[str, list[str]]:
        if not grade_ids:
            return {}
        try:
            return self._pool.submit(_judge, template.name, grade_ids, files).result()
        except BrokenProcessPool as error:
            raise GraderFailure(f"a judge process failed: {error}") from None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _load(course_root: str, assignment: str, inputs_secret: str, exchanges: dict[str, dict[str, bytes]]) -> None:
    """A judge process's start: the templates, checked against the parent's."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is the parent's to handle
    for template in load_templates(Path(course_root), assignment, inputs_secret):
        theirs = exchanges.get(template.name, {})
        ours = {k: v for k, v in template.exchange.items() if k != SEAL_PATH}
        if ours != {k: v for k, v in theirs.items() if k != SEAL_PATH}:
            _problems.append(f"{template.name}: the solutions changed while grading (a judge "
                             "process drew other inputs than the parent)")   # raised where the parent sees it
        template.exchange = theirs                   # the parent's seal key is the sandbox's
        _templates[template.name] = template


def _judge(name: str, grade_ids: list[str], files: dict[str, bytes]) -> dict[str, list[str]]:
    if _problems:
        raise GraderFailure(f"a judge process refused to judge: {'; '.join(_problems)}")
    return judge_cells(_templates[name], grade_ids, files)
