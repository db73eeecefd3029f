"""Feedback HTML per student, built from scores and error messages only.

The executed notebook holds hidden tests: it is never rendered. Per exercise
(titled by the notebook's heading above it) the page shows points and each
failing check's error name and message; every line that contains a line of
hidden-test source is redacted. The page is self-contained: inline CSS, no
script, no external resource.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .gradebook import WrittenGrade, written_grades
from .safe_text import printable
from .template import Template, is_manual, is_solution, is_test, load_templates, nbgrader_meta, redact

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)


@dataclass
class Exercise:
    title: str                      # the notebook's heading above the exercise
    section: str                    # the enclosing heading of a higher level ("" if none)
    name: str                       # the answer cell's grade_id
    cells: list[str] = field(default_factory=list)   # its graded cells
    written: bool = False           # a written answer, graded by the instructor


def exercises(template: Template) -> list[Exercise]:
    """Graded cells grouped by exercise, in the notebook's order: each answer
    cell starts one, with the test cells after it; a test cell under a new
    heading (or after a written answer) starts its own."""
    groups: list[Exercise] = []
    stack: list[tuple[int, str]] = []       # the headings that enclose the current cell
    new_heading = True
    for cell in template.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown" and not is_solution(cell):
            for hashes, text in HEADING.findall(cell.source):
                stack = [h for h in stack if h[0] < len(hashes)] + [(len(hashes), text)]
                new_heading = True
        elif is_solution(cell) or is_test(cell):
            if is_solution(cell) or new_heading or not groups or groups[-1].written:
                groups.append(Exercise(*_titles(stack, template.name), meta["grade_id"],
                                       written=is_manual(cell)))
            if meta.get("grade"):
                groups[-1].cells.append(meta["grade_id"])
            new_heading = False
    return [g for g in groups if g.cells]


def _titles(stack: list[tuple[int, str]], fallback: str) -> tuple[str, str]:
    if not stack:
        return fallback, ""
    return stack[-1][1], stack[-2][1] if len(stack) > 1 else ""


SHOWN_ERRORS = 5
SHOWN_EVENTS = 10


def failed(cell: dict) -> str:
    """How a cell failed, e.g. "3 of its 12 checks failed:"."""
    first = f" (the first {SHOWN_ERRORS} messages shown)" if len(cell["errors"]) > SHOWN_ERRORS else ""
    checks = sum(1 for _, message in cell["errors"] if message.startswith("check "))
    if checks:
        return f"{checks} of its {cell['checks']} checks failed{first}:"
    return f"failed{first}:"


def error_text(name: str, message: str) -> str:
    """One error as shown: a judged check's message speaks for itself; an
    exception without a message is its name alone (no dangling colon)."""
    if message.startswith("check "):
        return message
    return f"{name}: {message}" if message.strip() else name


def not_implemented(name: str, message: str) -> bool:
    return name == "NotImplementedError" or "your code raised NotImplementedError" in message


def not_attempted(cells: list[dict]) -> bool:
    """Every check of the exercise failed on the stub's NotImplementedError."""
    errors = [e for c in cells for e in c["errors"]]
    return bool(errors) and all(c["ran"] and c["errors"] for c in cells) \
        and all(not_implemented(*e) for e in errors)


def points(value: float) -> str:
    return f"{value:g}"


class Page:
    """One student's page; ``say`` is the only way student text reaches it."""

    def __init__(self, student: str, record: dict, template: Template,
                 written: dict[str, WrittenGrade] | None = None):
        self.student, self.template = student, template
        self.nb = next(n for n in record["notebooks"] if n["notebook"] == template.name)
        self.cells = {c["grade_id"]: c for c in self.nb["scores"]}
        self.written = written or {}

    def say(self, text) -> str:
        # Every student-controlled string goes through here: HTML-escaped, and no control
        # character (an escape sequence would act on a terminal that shows the file).
        return html.escape(printable(redact(str(text), self.template.hidden_lines), keep="\n\t"))

    def heading(self, text: str) -> str:
        """A notebook heading (the instructor's markdown): escaped, `code` kept as code."""
        return re.sub(r"`([^`]+)`", r"<code>\1</code>", self.say(text))

    # ---- scores ---------------------------------------------------------------------------
    def written_score(self, grade_id: str) -> float | None:
        """The instructor's score, 0 for an untouched answer, None while it waits."""
        cell = self.cells[grade_id]
        given = self.written.get(grade_id)
        if given is not None and given.score is not None:
            return given.score
        return None if cell["answered"] else 0.0

    def totals(self) -> tuple[float, float, float, float, float]:
        """auto score and max, written score given, written points pending, written max."""
        auto = [c for c in self.cells.values() if not c["manual"]]
        manual = [g for g, c in self.cells.items() if c["manual"]]
        given = {g: self.written_score(g) for g in manual}
        return (sum(c["score"] for c in auto), sum(c["max_score"] for c in auto),
                sum(s for s in given.values() if s is not None),
                sum(self.cells[g]["max_score"] for g, s in given.items() if s is None),
                sum(self.cells[g]["max_score"] for g in manual))

    # ---- parts ----------------------------------------------------------------------------
    def header(self) -> str:
        auto, auto_max, written, pending, written_max = self.totals()
        top = points(auto_max + written_max)
        given = "pending" if pending and pending == written_max else points(written)
        written_value = f"{given} / {points(written_max)}"
        waiting = f"{points(pending)} points wait for your instructor" if pending else ""
        boxes = [("Total", f"{points(auto + written)} / {top}", "so far" if pending else "", "total"),
                 ("Autograded", f"{points(auto)} / {points(auto_max)}", "", ""),
                 ("Written answers", written_value, waiting, "")]
        figures = "".join(f"<div class='figure {cls}'><span class='label'>{label}</span>"
                          f"<span class='value'>{value}</span><span class='sub'>{sub}</span></div>"
                          for label, value, sub, cls in boxes)
        note = "<p class='note'>Written answers are graded by your instructor; their points are " \
               "added once graded.</p>" if pending else ""
        failure = f"<p class='failure'>Not graded: {self.say(self.nb['failure'])}</p>" \
            if self.nb.get("failure") else ""
        return (f"<header><p class='kicker'>{self.say(self.template.assignment)} · "
                f"{self.say(self.template.name)}.ipynb</p>"
                f"<h1>Feedback for {self.say(self.student)}</h1>"
                f"<div class='figures'>{figures}</div>{note}{failure}</header>")

    def exercise(self, exercise: Exercise) -> str:
        cells = [self.cells[g] for g in exercise.cells if g in self.cells]
        if not cells:
            return ""
        if exercise.written:
            state, badge, body = self.written_part(cells[0])
        else:
            state, badge, body = self.auto_part(cells)
        section = f"<p class='section'>{self.heading(exercise.section)}</p>" if exercise.section else ""
        return (f"<section class='exercise {state}'><div class='head'><div>{section}"
                f"<h2>{self.heading(exercise.title)}</h2>"
                f"<p class='cell'>{self.say(exercise.name)}</p></div>"
                f"<span class='badge'>{badge}</span></div>{body}</section>")

    def written_part(self, cell: dict) -> tuple[str, str, str]:
        top = points(cell["max_score"])
        got = self.written_score(cell["grade_id"])
        comment = self.written.get(cell["grade_id"], WrittenGrade(None, None)).comment
        said = f"<div class='comment'><span class='label'>Your instructor's comment</span>" \
               f"<p class='msg'>{self.say(comment)}</p></div>" if comment else ""
        if not cell["answered"] and got == 0:
            return "zero", f"0 / {top}", "<p class='line'>No answer given: 0 points.</p>" + said
        if got is None:
            return "pending", f"pending / {top}", \
                f"<p class='line'>graded by your instructor: pending / {top} points</p>" + said
        state = "full" if got >= cell["max_score"] else "partial" if got else "zero"
        return state, f"{points(got)} / {top}", \
            f"<p class='line'>graded by your instructor: {points(got)} / {top} points</p>" + said

    def auto_part(self, cells: list[dict]) -> tuple[str, str, str]:
        graded = [c for c in cells if c["max_score"] > 0]
        got, top = sum(c["score"] for c in graded), sum(c["max_score"] for c in graded)
        badge = f"{points(got)} / {points(top)}"
        if not_attempted(cells):
            return "not-attempted", badge, ("<p class='line'>Not attempted: the answer still "
                                            "raises NotImplementedError (0 points).</p>")
        state = "full" if got >= top else "partial" if got else "zero"
        return state, badge, "<ul class='checks'>" + "".join(map(self.check, cells)) + "</ul>"

    def check(self, cell: dict) -> str:
        errors = cell["errors"]
        if not cell["ran"]:    # stopped before it (kernel death, time limit, nothing graded)
            kind = "Visible check" if cell["max_score"] == 0 else f"Hidden tests: 0 / {points(cell['max_score'])},"
            return f"<li class='fail'>{kind} did not run (see what happened while grading)</li>"
        if cell["max_score"] == 0:     # a visible check: the student's own sanity check
            if not errors:
                return "<li class='pass'>Visible check passed</li>"
            return ("<li class='fail'>Visible check failed (no points; the hidden tests will "
                    f"likely fail too)<pre class='msg'>{self.say(error_text(*errors[0]))}</pre></li>")
        top = points(cell["max_score"])
        if cell["score"] == cell["max_score"]:
            return f"<li class='pass'>Hidden tests passed: {top} / {top}</li>"
        messages = "".join(f"<pre class='msg'>{self.say(error_text(*e))}</pre>"
                           for e in errors[:SHOWN_ERRORS])
        return f"<li class='fail'>Hidden tests: 0 / {top}, {failed(cell)}{messages}</li>"

    def events(self) -> str:
        events = [str(e).rstrip(": ") for e in self.nb.get("events", [])]
        if not events:
            return ""
        more = [f"... and {len(events) - SHOWN_EVENTS} more"] if len(events) > SHOWN_EVENTS else []
        items = "".join(f"<li>{self.say(e)}</li>" for e in events[:SHOWN_EVENTS] + more)
        return f"<section class='events'><h2>What happened while grading</h2><ul>{items}</ul></section>"

    def html(self) -> str:
        body = "\n".join([self.header(), *map(self.exercise, exercises(self.template)), self.events()])
        title = f"Feedback: {self.say(self.template.assignment)}, {self.say(self.student)}"
        return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
                f"<title>{title}</title><style>{STYLE}</style></head>\n<body><main>\n{body}\n"
                f"</main></body></html>\n")


def render(student: str, record: dict, template: Template,
           written: dict[str, WrittenGrade] | None = None) -> str:
    """``written``: the instructor's grades of the written answers, by grade_id."""
    return Page(student, record, template, written).html()


def write_feedback(course_root: Path, assignment: str) -> list[Path]:
    templates = load_templates(course_root, assignment)
    given = written_grades(course_root, assignment)
    written = []
    for record_path in sorted((course_root / "autograded").glob(f"*/{assignment}/grading-record.json")):
        record = json.loads(record_path.read_text())
        student = record["student"]
        folder = course_root / "feedback" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        for template in templates:
            target = folder / f"{template.name}.html"
            grades = given.get(student, {}).get(template.name, {})
            target.write_text(render(student, record, template, grades))
            written.append(target)
    return written


# Long messages ("found ..., expected ...") wrap instead of running off the page.
STYLE = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --paper: #ffffff; --bg: #f6f8fa;
  --green: #1a7f37; --green-bg: #dafbe1; --red: #cf222e; --red-bg: #ffebe9;
  --amber: #9a6700; --amber-bg: #fff8c5; --blue: #0969da; --blue-bg: #ddf4ff; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 52rem; margin: 0 auto; padding: 2rem 1.25rem 3rem; }
header { margin-bottom: 1.5rem; }
.kicker { margin: 0; color: var(--muted); font-size: 0.9rem; }
h1 { margin: 0.2rem 0 1rem; font-size: 1.7rem; overflow-wrap: anywhere; }
h2 { margin: 0; font-size: 1.1rem; }
code, pre, .cell { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
h2 code { font-size: 0.95em; background: var(--bg); padding: 0 0.25em; border-radius: 4px; }
.figures { display: flex; gap: 0.75rem; flex-wrap: wrap; }
.figure { flex: 1 1 10rem; background: var(--paper); border: 1px solid var(--line);
  border-radius: 8px; padding: 0.6rem 0.9rem; }
.figure .label, .comment .label { display: block; color: var(--muted); font-size: 0.8rem;
  text-transform: uppercase; letter-spacing: 0.04em; }
.figure .value { font-size: 1.35rem; font-weight: 600; }
.figure .sub { display: block; color: var(--muted); font-size: 0.8rem; min-height: 1.2em; }
.figure.total { border-color: var(--blue); background: var(--blue-bg); }
.note { color: var(--muted); font-size: 0.9rem; margin: 0.6rem 0 0; }
.failure { background: var(--red-bg); border: 1px solid var(--red); border-radius: 8px;
  padding: 0.6rem 0.9rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.exercise { background: var(--paper); border: 1px solid var(--line); border-left: 5px solid var(--muted);
  border-radius: 8px; padding: 0.8rem 1rem; margin: 0 0 0.8rem; }
.exercise.full { border-left-color: var(--green); }
.exercise.partial, .exercise.pending { border-left-color: var(--amber); }
.exercise.zero { border-left-color: var(--red); }
.exercise.not-attempted { border-left-color: var(--line); }
.head { display: flex; justify-content: space-between; align-items: flex-start; gap: 1rem; }
.section { margin: 0; color: var(--muted); font-size: 0.8rem; }
.cell { color: var(--muted); font-size: 0.78rem; margin: 0.1rem 0 0; overflow-wrap: anywhere; }
.badge { flex: none; font-weight: 600; padding: 0.1rem 0.6rem; border-radius: 999px;
  background: var(--bg); border: 1px solid var(--line); white-space: nowrap; }
.full .badge { background: var(--green-bg); border-color: var(--green); color: var(--green); }
.partial .badge, .pending .badge { background: var(--amber-bg); border-color: var(--amber); color: var(--amber); }
.zero .badge { background: var(--red-bg); border-color: var(--red); color: var(--red); }
.line { margin: 0.5rem 0 0; }
.not-attempted .line { color: var(--muted); }
.checks { list-style: none; margin: 0.5rem 0 0; padding: 0; }
.checks li { padding: 0.15rem 0 0.15rem 1.5rem; position: relative; }
.checks li::before { position: absolute; left: 0.2rem; font-weight: 700; }
.checks li.pass::before { content: "\\2713"; color: var(--green); }
.checks li.fail::before { content: "\\2717"; color: var(--red); }
.msg { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.35rem 0 0.2rem;
  padding: 0.45rem 0.7rem; background: var(--bg); border: 1px solid var(--line); border-radius: 6px;
  font-size: 0.85rem; line-height: 1.45; }
p.msg { font-family: inherit; font-size: 0.95rem; }
.comment { margin-top: 0.6rem; }
.events { margin-top: 1.5rem; }
.events ul { margin: 0.4rem 0 0; padding-left: 1.3rem; color: var(--muted); font-size: 0.9rem; }
.events li { white-space: pre-wrap; overflow-wrap: anywhere; }
"""
