"""Feedback HTML per student, built from scores and error messages only.

The executed notebook holds hidden tests: it is never rendered. Per exercise
the page shows points and each failing check's error name and message;
every line that contains a line of hidden-test source is redacted.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

from .template import Template, is_solution, is_test, load_templates, nbgrader_meta, redact


def exercises(template: Template) -> list[tuple[str, list[str]]]:
    """(exercise, its graded cells): test cells grouped under the answer cell before them."""
    groups: list[tuple[str, list[str]]] = []
    for cell in template.cells:
        meta = nbgrader_meta(cell)
        if is_solution(cell):
            groups.append((meta["grade_id"], [meta["grade_id"]] if meta.get("grade") else []))
        elif is_test(cell):
            if not groups:
                groups.append((meta["grade_id"], []))
            groups[-1][1].append(meta["grade_id"])
    return [g for g in groups if g[1]]


SHOWN_ERRORS = 5


def failed(cell: dict) -> str:
    """How a cell failed, e.g. "3 of its 12 checks failed:"."""
    first = f" (the first {SHOWN_ERRORS} messages shown)" if len(cell["errors"]) > SHOWN_ERRORS else ""
    checks = sum(1 for _, message in cell["errors"] if message.startswith("check "))
    if checks:
        return f"{checks} of its {cell['checks']} checks failed{first}:"
    return f"failed{first}:"


def render(student: str, record: dict, template: Template) -> str:
    nb = next(n for n in record["notebooks"] if n["notebook"] == template.name)
    cells = {c["grade_id"]: c for c in nb["scores"]}
    say = lambda text: html.escape(redact(str(text), template.hidden_lines))  # noqa: E731
    parts = [f"<h1>{say(template.assignment)}: feedback for {say(student)}</h1>",
             f"<p>Autograded score: <b>{sum(c['score'] for c in cells.values() if not c['manual']):g}"
             f" / {sum(c['max_score'] for c in cells.values() if not c['manual']):g}</b></p>"]
    if nb.get("failure"):
        parts.append(f"<p class='failure'>Not graded: {say(nb['failure'])}</p>")
    for exercise, grade_ids in exercises(template):
        got = sum(cells[g]["score"] for g in grade_ids if g in cells and not cells[g]["manual"])
        top = sum(cells[g]["max_score"] for g in grade_ids if g in cells and not cells[g]["manual"])
        parts.append(f"<h2>{say(exercise)}: {got:g} / {top:g}</h2><ul>")
        for grade_id in grade_ids:
            cell = cells.get(grade_id)
            if cell is None:
                continue
            if cell["manual"]:
                state = "graded by your instructor" if cell["answered"] else "no answer given: 0"
                parts.append(f"<li>{say(grade_id)} ({cell['max_score']:g} pt): {state}</li>")
            elif cell["max_score"] == 0:     # a visible check: the student's own sanity check
                state = "passed" if not cell["errors"] else \
                    f"failed (no points; the hidden tests will likely fail too): {say(cell['errors'][0][1])}"
                parts.append(f"<li>{say(grade_id)} (visible check): {state}</li>")
            elif cell["score"] == cell["max_score"]:
                parts.append(f"<li>{say(grade_id)}: passed ({cell['score']:g} pt)</li>")
            elif not cell["ran"]:
                parts.append(f"<li>{say(grade_id)}: 0 / {cell['max_score']:g}, this check did not "
                             "run (see what happened below)</li>")
            else:
                parts.append(f"<li>{say(grade_id)}: 0 / {cell['max_score']:g}, "
                             f"{failed(cell)}<ul>")
                parts += [f"<li><pre>{say(name + ': ' + message)}</pre></li>"
                          for name, message in cell["errors"][:SHOWN_ERRORS]]
                parts.append("</ul></li>")
        parts.append("</ul>")
    if nb["events"]:
        parts.append("<h2>What happened while grading</h2><ul>")
        parts += [f"<li>{say(event)}</li>" for event in nb["events"]]
        parts.append("</ul>")
    body = "\n".join(parts)
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback</title></head><body>\n{body}\n</body></html>\n"


def write_feedback(course_root: Path, assignment: str) -> list[Path]:
    templates = load_templates(course_root, assignment)
    written = []
    for record_path in sorted((course_root / "autograded").glob(f"*/{assignment}/grading-record.json")):
        record = json.loads(record_path.read_text())
        student = record["student"]
        folder = course_root / "feedback" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        for template in templates:
            target = folder / f"{template.name}.html"
            target.write_text(render(student, record, template))
            written.append(target)
    return written
