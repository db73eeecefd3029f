"""Turn an untrusted submitted notebook into the notebook the sandbox runs.

Runs in the trusted parent. The result has the instructor's cells in the
instructor's order: every locked, read-only and test cell comes from the
source whatever the student did to it (a hidden test cell as its probes
only, see verdicts.py); only the
first copy of each answer cell keeps the student's text; cells the student
added stay after the cell they followed. Everything changed is recorded.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .template import Template, is_solution, nbgrader_meta

MAX_SUBMISSION_BYTES = 50 * 2**20
VALID_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass
class Prepared:
    notebook: nbformat.NotebookNode | None     # None: nothing could be graded
    events: list[str] = field(default_factory=list)
    failure: str | None = None


def find_submitted_file(folder: Path, template: Template, n_templates: int) -> tuple[Path | None, list[str]]:
    """The student's file for ``template``; a renamed file is accepted when the
    assignment has a single notebook and the folder a single .ipynb."""
    expected = folder / f"{template.name}.ipynb"
    if expected.is_file():
        return expected, []
    candidates = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    if n_templates == 1 and len(candidates) == 1:
        return candidates[0], [f"notebook file {candidates[0].name!r} accepted as "
                               f"{expected.name!r} (renamed; the assignment has one notebook)"]
    return None, [f"no file {expected.name!r} in the submission "
                  f"(found: {', '.join(p.name for p in candidates) or 'nothing'})"]


def parse(path: Path) -> tuple[nbformat.NotebookNode | None, str | None, list[str]]:
    """Read a submission: (notebook, failure, events). A broken file is a
    recorded failure, never an exception."""
    size = path.stat().st_size
    if size == 0:
        return None, "the notebook file is empty (0 bytes)", []
    if size > MAX_SUBMISSION_BYTES:
        return None, f"the notebook file is too large ({size} bytes)", []
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        raw = json.loads(text)
        notebook = nbformat.reads(text, as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as error:
        return None, f"the notebook file is not valid JSON ({type(error).__name__}: {str(error)[:200]})", []
    except Exception as error:  # any other unreadable format
        return None, f"the notebook file could not be read ({type(error).__name__}: {str(error)[:200]})", []
    if not isinstance(notebook.get("cells"), list):
        return None, "the notebook has no list of cells", []
    return notebook, None, _duplicate_ids(raw)


def _duplicate_ids(raw) -> list[str]:
    """nbformat silently renames repeated cell ids while reading; say so."""
    cells = raw.get("cells") if isinstance(raw, dict) else None
    ids = [str(c.get("id")) for c in cells or [] if isinstance(c, dict) and c.get("id")]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    return [f"cell id {i[:40]!r} was used by {ids.count(i)} cells; later copies got new ids"
            for i in repeated]


def prepare(path: Path | None, template: Template) -> Prepared:
    if path is None:
        return Prepared(None, failure="notebook missing from the submission")
    submitted, failure, events = parse(path)
    if failure:
        return Prepared(None, failure=failure)
    prepared = assemble(submitted, template)
    prepared.events[:0] = events
    return prepared


def _identify(cell, template: Template, by_id: dict[str, int], by_source: dict[str, int]) -> int | None:
    """Which template cell a submitted cell is, or None for a cell the student added.

    A grade_id names a cell; a cell whose nbgrader metadata was stripped is
    recognised by its unchanged source (read-only cells must not change)."""
    grade_id = nbgrader_meta(cell).get("grade_id")
    if isinstance(grade_id, str) and grade_id in by_id:
        return by_id[grade_id]
    source = _text(cell.get("source", ""))
    return by_source.get(source) if source.strip() else None


def _flags(cell) -> dict:
    """The nbgrader metadata that decides how a cell is graded (not the checksum:
    the release's lacks the hidden tests)."""
    meta = nbgrader_meta(cell)
    return {k: meta.get(k) for k in ("grade", "grade_id", "locked", "points", "solution", "task")}


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def assemble(submitted: nbformat.NotebookNode, template: Template) -> Prepared:
    events: list[str] = []
    by_id = template.by_grade_id()
    by_source = {c.source: i for i, c in enumerate(template.cells) if not is_solution(c)}
    chosen: dict[int, object] = {}            # template index -> the student's answer cell
    seen: set[int] = set()
    extras: dict[int, list] = {}              # anchor template index (-1: start) -> added cells
    order: list[int] = []
    anchor = -1
    for position, cell in enumerate(submitted.cells):
        if not isinstance(cell, dict) or "cell_type" not in cell:
            events.append(f"cell {position}: malformed cell ignored")
            continue
        index = _identify(cell, template, by_id, by_source)
        if index is None:
            extras.setdefault(anchor, []).append(_as_added(cell, position, events))
            continue
        grade_id = nbgrader_meta(template.cells[index])["grade_id"]
        if index in seen:
            events.append(f"duplicate copy of graded cell {grade_id!r} (cell {position}) dropped; "
                          "the first copy is graded")
            continue
        seen.add(index)
        order.append(index)
        anchor = index
        if is_solution(template.cells[index]):
            chosen[index] = cell
            if not nbgrader_meta(cell).get("grade_id"):
                events.append(f"answer cell {grade_id!r} had lost its nbgrader metadata; restored")
        elif not nbgrader_meta(cell):
            events.append(f"read-only cell {grade_id!r} had lost its nbgrader metadata; "
                          "restored from the instructor's version")
        elif _text(cell.get("source", "")) not in (template.cells[index].source,
                                                   template.released[index]) \
                or _flags(cell) != _flags(template.cells[index]):
            kind = "locked cell" if nbgrader_meta(template.cells[index]).get("locked") else \
                "cell (not an answer cell)"
            events.append(f"{kind} {grade_id!r} had been changed (source or metadata); "
                          "graded with the instructor's version")
    if order != sorted(order):
        events.append("cells had been moved; the instructor's order is restored")
    cells = [*extras.get(-1, [])]
    for index, original in enumerate(template.cells):
        grade_id = nbgrader_meta(original)["grade_id"]
        cell = copy.deepcopy(original)
        if index in chosen:
            cell.source = _text(chosen[index].get("source", ""))
        elif index not in seen:
            what = "answer cell (graded as unanswered)" if is_solution(original) else "cell"
            events.append(f"{what} {grade_id!r} was missing; re-inserted from the instructor's version")
        if grade_id in template.hidden:    # probes only: judged outside the kernel
            cell.source = template.hidden[grade_id].kernel_source
        cells.append(cell)
        cells.extend(extras.get(index, []))
    notebook = nbformat.v4.new_notebook(metadata=copy.deepcopy(template.notebook.metadata))
    notebook.cells = cells
    _unique_ids(notebook, events, {str(c.get('id')) for c in template.cells})
    return Prepared(notebook, events)


def _as_added(cell, position: int, events: list[str]):
    """A cell the student added: kept (it may define helpers), never graded."""
    kind = cell.get("cell_type")
    source = _text(cell.get("source", ""))
    if kind == "code":
        new = nbformat.v4.new_code_cell(source)
    elif kind == "markdown":
        new = nbformat.v4.new_markdown_cell(source)
    else:
        new = nbformat.v4.new_raw_cell(source)
    new["id"] = str(cell.get("id") or f"added-{position}")
    if nbgrader_meta(cell):
        events.append(f"cell {position} claimed to be graded cell "
                      f"{nbgrader_meta(cell).get('grade_id')!r}, which the assignment does not have; "
                      "kept as an ungraded cell")
    return new


def _unique_ids(notebook, events: list[str], reserved: set[str]) -> None:
    """nbformat requires unique, well-formed cell ids; the instructor's cells
    (``reserved``) keep theirs, a clashing student cell gets a new one."""
    used: set[str] = set()
    for number, cell in enumerate(notebook.cells):
        cell_id = str(cell.get("id") or "")
        mine = cell.get("metadata", {}).get("nbgrader") is not None and cell_id in reserved
        if mine and cell_id not in used:
            used.add(cell_id)
            continue
        if not VALID_ID.match(cell_id) or cell_id in used or cell_id in reserved:
            new_id = f"added-cell-{number}"
            while new_id in used or new_id in reserved:
                new_id += "x"
            if cell_id:
                events.append(f"duplicate or invalid cell id {cell_id[:40]!r} re-assigned as {new_id!r}")
            cell["id"] = cell_id = new_id
        used.add(cell_id)
