"""Turn an untrusted submitted notebook into the notebook the sandbox runs.

Runs in the trusted parent. The result has the instructor's cells in the
instructor's order: every locked, read-only and test cell comes from the
source whatever the student did to it (a hidden test cell as its probes
only, see verdicts.py); of the copies
of an answer cell, the last one changed from the stub is graded; cells the student
added stay after the cell they followed. Everything changed is recorded.
"""
from __future__ import annotations

import copy
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .borrowed import refused_answers
from .template import Template, is_solution, nbgrader_meta

MAX_SUBMISSION_BYTES = 50 * 2**20
MAX_CELLS = 5000        # the course's notebooks have < 200; bounds the parent's work
MAX_ID_EVENTS = 10
VALID_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass
class Prepared:
    notebook: nbformat.NotebookNode | None     # None: nothing could be graded
    events: list[str] = field(default_factory=list)
    failure: str | None = None
    refused: dict[str, str] = field(default_factory=dict)   # answer grade_id -> why (borrowed.py)


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
    except json.JSONDecodeError as error:
        return None, f"the notebook file is not valid JSON ({type(error).__name__}: {str(error)[:200]})", []
    cells = raw.get("cells") if isinstance(raw, dict) else None
    if isinstance(cells, list) and len(cells) > MAX_CELLS:   # before nbformat's slower validation
        return None, f"the notebook has {len(cells)} cells, more than {MAX_CELLS}", []
    events = _duplicate_ids(raw)
    try:
        notebook = _read_quietly(text, raw)
    except nbformat.reader.NotJSONError as error:
        return None, f"the notebook file is not valid JSON ({type(error).__name__}: {str(error)[:200]})", []
    except Exception as error:  # any other unreadable format
        return None, f"the notebook file could not be read ({type(error).__name__}: {str(error)[:200]})", []
    if not isinstance(notebook.get("cells"), list):
        return None, "the notebook has no list of cells", []
    return notebook, None, events


def _read_quietly(text: str, raw) -> nbformat.NotebookNode:
    """``nbformat.reads(text, as_version=4)`` without its messages: it warns per
    repeated cell id and logs an invalid notebook's contents, student text on
    the instructor's terminal (and once per cell: 5000 lines). Repeated ids
    are renamed here first; an invalid notebook is graded as far as it goes,
    as nbformat.reads does."""
    if _rename_repeated_ids(raw):
        text = json.dumps(raw)
    notebook = nbformat.convert(nbformat.reader.reads(text), 4)
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError:
        pass
    return notebook


def _rename_repeated_ids(raw) -> bool:
    """Later copies of a repeated cell id get a new one (as nbformat would);
    True if any did."""
    cells = raw.get("cells") if isinstance(raw, dict) else None
    seen: set[str] = set()
    renamed = False
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict) and cell.get("id"):
            if str(cell["id"]) in seen:
                cell["id"], renamed = uuid.uuid4().hex[:8], True
            seen.add(str(cell["id"]))
    return renamed


def _duplicate_ids(raw) -> list[str]:
    """nbformat silently renames repeated cell ids while reading; say so."""
    cells = raw.get("cells") if isinstance(raw, dict) else None
    counts = Counter(str(c.get("id")) for c in cells or [] if isinstance(c, dict) and c.get("id"))
    repeated = sorted((i, n) for i, n in counts.items() if n > 1)
    more = [f"... and {len(repeated) - MAX_ID_EVENTS} more repeated cell ids"] \
        if len(repeated) > MAX_ID_EVENTS else []
    return [f"cell id {i[:40]!r} was used by {n} cells; later copies got new ids"
            for i, n in repeated[:MAX_ID_EVENTS]] + more


def prepare(path: Path | None, template: Template) -> Prepared:
    if path is None:
        return Prepared(None, failure="notebook missing from the submission")
    submitted, failure, events = parse(path)
    if failure:
        return Prepared(None, failure=failure)
    prepared = assemble(submitted, template)
    prepared.events[:0] = events
    return prepared


def _identify(cell, by_id: dict[str, int], by_source: dict[str, int]) -> int | None:
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


def _match(submitted: nbformat.NotebookNode, template: Template, events: list[str]) -> list[list]:
    """[position, cell, template index or None] for each well-formed submitted cell."""
    by_id = template.by_grade_id()
    # A stripped cell is recognised by its source as the instructor wrote it or as
    # released (a hidden test cell was released without its hidden tests).
    by_source = {text: i for i, c in enumerate(template.cells) if not is_solution(c)
                 for text in (template.released[i], c.source) if text.strip()}
    matched = []
    for position, cell in enumerate(submitted.cells):
        if not isinstance(cell, dict) or "cell_type" not in cell:
            events.append(f"cell {position}: malformed cell ignored")
            continue
        matched.append([position, cell, _identify(cell, by_id, by_source)])
    return matched


def _recover_by_position(matched: list[list], template: Template, events: list[str]) -> None:
    """Answer cells an editor stripped of their nbgrader metadata, found where
    the release had them: between the same two recognised cells, the first
    unrecognised cell of the answer's type (code or markdown). Only answer
    cells are recovered so; every other cell still comes from the template."""
    slot_of: dict[int, int] = {}              # template index -> slot of its first copy
    for slot, (_, _, index) in enumerate(matched):
        if index is not None:
            slot_of.setdefault(index, slot)
    missing = [i for i, c in enumerate(template.cells) if is_solution(c) and i not in slot_of]
    for index in missing:       # in the template's order, so each looks after the one before
        low = max((slot_of[j] for j in range(index) if j in slot_of), default=-1)
        high = min((slot_of[j] for j in range(index + 1, len(template.cells)) if j in slot_of),
                   default=len(matched))
        kind = template.cells[index].cell_type
        slot = next((s for s in range(low + 1, high) if matched[s][2] is None
                     and matched[s][1].get("cell_type") == kind), None)
        if slot is not None:
            matched[slot][2], slot_of[index] = index, slot
            events.append(f"answer cell {nbgrader_meta(template.cells[index])['grade_id']!r} "
                          "recovered by position (its nbgrader metadata was missing)")


def assemble(submitted: nbformat.NotebookNode, template: Template) -> Prepared:
    events: list[str] = []
    matched = _match(submitted, template, events)
    _recover_by_position(matched, template, events)
    chosen: dict[int, object] = {}            # template index -> the student's answer cell
    seen: set[int] = set()
    extras: dict[int, list] = {}              # anchor template index (-1: start) -> added cells
    order: list[int] = []
    stripped: list[str] = []                  # read-only cells found by source alone
    copies: dict[int, list] = {}              # answer template index -> [(position, cell)]
    anchor = -1
    for position, cell, index in matched:
        if index is None:
            extras.setdefault(anchor, []).append(_as_added(cell, position, events))
            continue
        grade_id = nbgrader_meta(template.cells[index])["grade_id"]
        if is_solution(template.cells[index]):
            copies.setdefault(index, []).append((position, cell))
        if index in seen:
            if not is_solution(template.cells[index]):
                events.append(f"duplicate copy of graded cell {grade_id!r} (cell {position}) dropped; "
                              "the first copy is graded")
            continue
        seen.add(index)
        order.append(index)
        anchor = index
        if is_solution(template.cells[index]):
            continue                          # graded copy chosen below (_graded_copy)
        if not nbgrader_meta(cell):
            stripped.append(grade_id)
        elif _text(cell.get("source", "")) not in (template.cells[index].source,
                                                   template.released[index]) \
                or _flags(cell) != _flags(template.cells[index]):
            kind = "locked cell" if nbgrader_meta(template.cells[index]).get("locked") else \
                "cell (not an answer cell)"
            events.append(f"{kind} {grade_id!r} had been changed (source or metadata); "
                          "graded with the instructor's version")
    for index, found in copies.items():
        chosen[index] = _graded_copy(found, template.cells[index], events)
    events += _stripped_events(stripped)
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
    refused = refused_answers(_student_code(chosen, extras), template.answer_sources())
    events += [f"answer refused: {why}" for why in refused.values()]
    return Prepared(notebook, events, refused=refused)


def _graded_copy(copies: list, original, events: list[str]):
    """The copy of an answer cell that is graded: the last one the student changed
    from the release's stub (the one their own run of the notebook defines last),
    else the first; the others are dropped, and the record says which was graded."""
    if len(copies) == 1:
        return copies[0][1]
    stub = _text(original.source).strip()
    changed = [(p, c) for p, c in copies if _text(c.get("source", "")).strip() != stub]
    position, cell = changed[-1] if changed else copies[0]
    grade_id = nbgrader_meta(original)["grade_id"]
    where = ", ".join(str(p) for p, _ in copies[:10]) + (", ..." if len(copies) > 10 else "")
    which = "the last copy you changed from the stub" if changed else "the first copy (none was changed)"
    events.append(f"answer cell {grade_id!r} appears {len(copies)} times (cells {where}); {which} "
                  f"(cell {position}) is graded, the other copies were not run")
    return cell


def _student_code(chosen: dict[int, object], extras: dict[int, list]) -> list[str]:
    """The code the student wrote: their answer cells and the cells they added."""
    cells = [*chosen.values(), *(c for added in extras.values() for c in added)]
    return [_text(c.get("source", "")) for c in cells if c.get("cell_type") == "code"]


def _stripped_events(grade_ids: list[str]) -> list[str]:
    """One line, however many cells an editor stripped."""
    if len(grade_ids) == 1:
        return [f"read-only cell {grade_ids[0]!r} had lost its nbgrader metadata; "
                "restored from the instructor's version"]
    if not grade_ids:
        return []
    names = ", ".join(repr(g) for g in grade_ids[:5]) + (", ..." if len(grade_ids) > 5 else "")
    return [f"{len(grade_ids)} read-only cells had lost their nbgrader metadata ({names}); "
            "restored from the instructor's version"]


def _as_added(cell, position: int, events: list[str]):
    """A cell the student added: kept (it may define helpers), never graded."""
    kind = cell.get("cell_type")
    kind = kind if kind in ("code", "markdown") else "raw"
    # Built directly: nbformat's new_*_cell validates each cell (1 ms, 5 s for 5000 cells).
    new = nbformat.from_dict({"cell_type": kind, "id": str(cell.get("id") or f"added-{position}"),
                              "metadata": {}, "source": _text(cell.get("source", ""))})
    if kind == "code":
        new.update(outputs=[], execution_count=None)
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
