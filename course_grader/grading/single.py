"""`course grade <assignment> <notebook.ipynb> [--json]`: one notebook, no course folder.

The same preparation, sandbox and judges as `course autograde`, against the
templates built from ``solutions/`` (the repository's, or ``--course``'s),
with a fresh inputs secret; nothing is written. The result is per exercise
(as on the feedback page): points, and each failing check's error name and
message. Every string that reaches the output went through the template's
``redact`` (no line of hidden-test source) and, on the terminal, through
``printable`` (no control character from a submission acts on it).
The building block for instant feedback on submit.
"""
from __future__ import annotations

import secrets
from dataclasses import asdict
from pathlib import Path

from .autograde import NotebookResult, grade_file, run_here
from .feedback import SHOWN_ERRORS, error_text, exercises, failed, not_attempted
from .safe_text import printable
from .sandbox import Limits
from .template import Template, load_templates, redact


def pick_template(templates: list[Template], path: Path) -> tuple[Template, list[str]]:
    """The template named like the file, else the assignment's only one."""
    named = [t for t in templates if t.name == path.stem]
    if named:
        return named[0], []
    if len(templates) == 1:
        return templates[0], [f"notebook file {path.name!r} graded as {templates[0].name}.ipynb "
                              "(the assignment has one notebook)"]
    raise FileNotFoundError(f"{path.name}: the assignment's notebooks are "
                            f"{', '.join(t.name + '.ipynb' for t in templates)}; name the file like one")


def grade_one(course_root: Path, assignment: str, path: Path, *, limits: Limits | None = None,
              execute=None) -> dict:
    """Grade the notebook at ``path`` as ``assignment``'s; the report (plain data)."""
    templates = load_templates(course_root, assignment, secrets.token_hex(16))
    template, events = pick_template(templates, path)
    result = grade_file(path, template, limits or Limits(), events, execute or run_here,
                        f"single/{template.name}")
    return report(result, template)


def report(result: NotebookResult, template: Template) -> dict:
    """Scores per exercise and the messages, every string redacted."""
    def clean(text) -> str:
        return redact(str(text), template.hidden_lines)

    cells = {c.grade_id: asdict(c) for c in result.scores}
    parts = []
    for exercise in exercises(template):
        graded = [cells[g] for g in exercise.cells if g in cells]
        if not graded:
            continue
        top = sum(c["max_score"] for c in graded)
        if exercise.written:
            cell = graded[0]
            status = "pending: graded by your instructor" if cell["answered"] else "not answered"
            got = None if cell["answered"] else 0.0
        else:
            got = sum(c["score"] for c in graded)
            status = ("did not run" if not any(c["ran"] for c in graded)
                      else "not attempted" if not_attempted(graded) else "passed" if got >= top
                      else "partly passed" if got else "failed")
        parts.append({
            "title": clean(exercise.title), "section": clean(exercise.section), "answer": exercise.name,
            "written": exercise.written, "score": got, "max_score": top, "status": status,
            "checks": [] if exercise.written else [_check(c, clean) for c in graded]})
    written = sum(p["max_score"] for p in parts if p["written"])
    return {"assignment": template.assignment, "notebook": template.name,
            "score": result.score, "max_score": result.max_score, "written_max_score": written,
            "failure": None if result.failure is None else clean(result.failure),
            "exercises": parts, "events": [clean(e) for e in result.events],
            "defences": result.defences, "seconds": result.seconds}


def _check(cell: dict, clean) -> dict:
    visible = cell["max_score"] == 0
    # A check that never ran did not pass (a visible one has no errors then).
    passed = cell["ran"] and (not cell["errors"] if visible else cell["score"] == cell["max_score"])
    messages = [clean(error_text(*e)) for e in cell["errors"][:SHOWN_ERRORS]]
    summary = ("did not run" if not cell["ran"] else "passed" if passed
               else failed(cell).rstrip(":"))
    return {"cell": cell["grade_id"], "visible": visible, "score": cell["score"],
            "max_score": cell["max_score"], "passed": passed, "ran": cell["ran"],
            "summary": summary, "messages": messages}


def _number(value) -> str:
    return "-" if value is None else f"{value:g}"


def render_text(report: dict) -> str:
    """The report for a terminal: every line through ``printable``."""
    def line(indent: int, text) -> str:
        return " " * indent + printable(text)

    written = f" (+ {_number(report['written_max_score'])} points of written answers, graded by " \
              "your instructor)" if report["written_max_score"] else ""
    out = [line(0, f"{report['assignment']} / {report['notebook']}.ipynb: "
                   f"{_number(report['score'])} / {_number(report['max_score'])} autograded points"
                   f"{written}")]
    if report["failure"]:
        out.append(line(0, f"NOT graded: {report['failure']}"))
    for part in report["exercises"]:
        score = "written" if part["written"] and part["score"] is None else \
            f"{_number(part['score'])} / {_number(part['max_score'])}"
        out.append(line(0, f"[{score}] {part['title']} ({part['answer']}): {part['status']}"))
        for check in part["checks"]:
            kind = "visible check" if check["visible"] else \
                f"hidden tests {check['cell']} {_number(check['score'])} / {_number(check['max_score'])}"
            out.append(line(4, f"{kind}: {check['summary']}"))
            for message in check["messages"]:
                out += [line(8, text) for text in message.split("\n")]
    if report["events"]:
        out.append(line(0, "what happened while grading:"))
        out += [line(2, f"- {event}") for event in report["events"][:10]]
    defences = report["defences"] or {}
    if defences:
        out.append(line(0, f"sandbox: {defences.get('isolation', 'none')}; "
                           f"{report['seconds']:g} s"))
    return "\n".join(out)
