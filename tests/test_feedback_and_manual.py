"""What students and instructors read after grading (issue 10, items 8-10):

- the feedback page: titled by the notebook's headings, one line for an
  exercise not attempted, written answers "pending / N" until graded, long
  messages wrapped, self-contained (no script, no external resource);
- `course summary`: points-carrying cells only, in the notebook's order, a plot
  of a readable size;
- `course grade-written`: the instructor's scores of written answers go into
  nbgrader's gradebook (refused outside [0, max] or for an unknown
  student/cell), and reach the export's totals and the feedback page; the
  gradebook holds what nbgrader's formgrader needs.
"""
import csv
import html
import json
import re
import shlex
from pathlib import Path

import nbformat
import pytest

from course_grader.cli import main as course
from course_grader.course import REPO, SOLUTIONS, ScratchCourse, notebooks_of
from course_grader.grading import gradebook
from course_grader.grading.feedback import STYLE, exercises, render
from course_grader.grading.gradebook import WrittenGrade
from course_grader.grading.score import CellScore
from course_grader.grading.template import is_manual, load_templates, nbgrader_meta, points

A = "01_backprop"
LONG = ("check linear_backward_N5_in4_out3_float64: dW is wrong in 12 of 12 entries: found "
        + ", ".join(f"{0.1 * i:.4f}" for i in range(40)) + "; expected "
        + ", ".join(f"{0.05 * i:.4f}" for i in range(40)) + ": right answer times B")
NIE = "your code raised NotImplementedError"


@pytest.fixture(scope="module")
def template():
    return load_templates(REPO, A)[0]


def graded(template) -> list[tuple[str, float, bool]]:
    """(grade_id, points, written) of the template's graded cells, in order."""
    return [(nbgrader_meta(c)["grade_id"], points(c), is_manual(c))
            for c in template.cells if nbgrader_meta(c).get("grade")]


def heading_of(template, cell_id: str) -> str:
    source = next(c.source for c in template.cells if c.get("id") == cell_id)
    return re.findall(r"^#+\s+(.*)$", source, re.M)[-1]


def record_of(template, errors: dict[str, list], unanswered=()) -> dict:
    """A grading record: every cell passes except those in ``errors``."""
    scores = [{"grade_id": g, "score": 0.0 if g in errors or written else top, "max_score": top,
               "manual": written, "answered": g not in unanswered, "ran": True,
               "checks": 10 if top else 0, "errors": errors.get(g, [])}
              for g, top, written in graded(template)]
    return {"student": "alice", "notebooks": [{"notebook": template.name, "scores": scores,
                                               "failure": None, "events": [
                                                   "cell 32 (fused_demo) raised KeyboardInterrupt: "]}]}


def test_feedback_page_is_readable(template):
    record = record_of(template, {
        # (b) not attempted: every check raised the stub's NotImplementedError
        "relu_backward_visible": [["NotImplementedError", ""]],
        "relu_backward_hidden": [["AssertionError", f"check relu_backward_{i}: {NIE}"] for i in range(8)],
        # (c) wrong, with a long "found ... expected ..." message
        "linear_backward_visible": [["AssertionError", "found -2.0, expected -1.0"]],
        "linear_backward_hidden": [["AssertionError", LONG]],
        # a visible check that raised without a message, the hidden tests failing otherwise
        "mse_grad_visible": [["NotImplementedError", ""]],
        "mse_grad_hidden": [["AssertionError", "check mse_grad_N1: found 2.0, expected 1.0"]],
    }, unanswered={"activations_question"})
    page = render("alice", record, template)

    # (a) a correct exercise, titled by the notebook's heading above it
    assert f"<h2>{heading_of(template, 'softmax_md').replace('`', '')}</h2>" in \
        page.replace("<code>", "").replace("</code>", "")
    assert "Exercise: <code>linear_backward(dout, x, W)</code>" in page
    # (b) one line, no repeated messages
    assert page.lower().count("not attempted") == 1
    assert page.count("NotImplementedError") == 2      # the not-attempted line and mse_grad's check
    assert "<pre class='msg'>NotImplementedError</pre>" in page     # no dangling colon
    # (c) the long message in full, inside an element that wraps
    assert f"<pre class='msg'>{html.escape(LONG)}</pre>" in page
    assert re.search(r"\.msg \{ white-space: pre-wrap; overflow-wrap: anywhere;", STYLE)
    # (d) written answers: pending until graded, 0 when untouched; a total at the top
    assert "graded by your instructor: pending / 3 points" in page     # derivation_layers
    assert "No answer given: 0 points" in page
    written_max = sum(top for _, top, written in graded(template) if written)
    assert "0 / 0" not in page and f"pending / {written_max:g}" not in page   # one answer is 0
    top = sum(top for _, top, _ in graded(template))
    assert page.index(f"/ {top:g}</span><span class='sub'>so far") < page.index("<section")
    # what happened, without a trailing colon; self-contained, nothing to run
    assert "<li>cell 32 (fused_demo) raised KeyboardInterrupt</li>" in page
    assert "<script" not in page.lower()
    assert not re.search(r"https?:|//[a-z]|url\(|@import|<link|src=", page, re.I)


def test_feedback_shows_the_instructors_grade_and_comment(template):
    record = record_of(template, {})
    written = {"derivation_layers": WrittenGrade(2.5, "Right Jacobian; <b>no</b> transpose.")}
    page = render("alice", record, template, written)
    assert "graded by your instructor: 2.5 / 3 points" in page
    assert "Right Jacobian; &lt;b&gt;no&lt;/b&gt; transpose." in page


def test_exercises_cover_every_graded_cell_in_order(template):
    groups = exercises(template)
    cells = [g for e in groups for g in e.cells]
    assert cells == [g for g, _, _ in graded(template)]
    assert all(e.title and not e.title.startswith("#") for e in groups)
    assert [e.name for e in groups if e.written] == [g for g, _, w in graded(template) if w]


@pytest.fixture()
def scratch(tmp_path, template):
    """A course whose gradebook has two graded submissions of notebook 01 (no
    sandbox run): alice perfect, bob with every second hidden test failed."""
    root = tmp_path / "course"
    ScratchCourse.create(root)
    gradebook.register_assignment(root, [template])
    for student, keep in (("alice", lambda i: True), ("bob", lambda i: i % 2 == 0)):
        scores = [CellScore(g, top if keep(i) and not written else 0.0, top, manual=written)
                  for i, (g, top, written) in enumerate(graded(template))]
        gradebook.record_scores(root, A, student, {template.name: scores})
    return root


def test_summary_is_in_notebook_order_without_visible_checks(scratch, template, tmp_path, capsys):
    png = tmp_path / "summary.png"
    assert course(["summary", A, "--course", str(scratch), "--png", str(png)]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]
            if line and not line.startswith("plot:")]
    assert rows == [g for g, top, _ in graded(template) if top > 0]
    assert not [r for r in rows if r.endswith("_visible")]
    from PIL import Image
    width, height = Image.open(png).size
    assert 700 <= width <= 1300 and 400 <= height <= 1600, (width, height)
    assert height > width / 2     # one row per graded cell, not one wide strip


def test_grade_written_refuses_what_the_gradebook_cannot_take(scratch, tmp_path, capsys):
    def grade(*args):
        return course(["grade-written", A, "--course", str(scratch), *args])

    assert grade("--student", "mallory", "--cell", "derivation_fused", "--points", "1") == 1
    assert "no submission of 01_backprop by 'mallory'" in capsys.readouterr().out
    assert grade("--student", "alice", "--cell", "softmax_hidden", "--points", "1") == 1
    assert "'softmax_hidden' is not a written answer" in capsys.readouterr().out
    for bad in ("3", "-1", "nan"):
        assert grade("--student", "alice", "--cell", "derivation_fused", "--points", bad) == 1
        assert "outside [0, 2]" in capsys.readouterr().out
    assert grade("--student", "alice", "--points", "1") == 2
    scores = tmp_path / "scores.csv"
    scores.write_text("student,grade_id,points,comment\nalice,derivation_fused,2,ok\n"
                      "bob,derivation_fused,two,\nbob,derivation_batched,5,\n")
    assert grade("--csv", str(scores)) == 1
    out = capsys.readouterr().out
    assert "scores.csv line 3: points 'two' is not a number" in out and "nothing was written" in out
    scores.write_text("student,grade_id,points,comment\nalice,derivation_fused,2,ok\n"
                      "bob,derivation_batched,5,\n")
    assert grade("--csv", str(scores)) == 1
    assert "scores.csv line 3: derivation_batched: 5 points is outside [0, 2]" in capsys.readouterr().out
    grades = gradebook.written_grades(scratch, A)
    assert all(g.score is None and g.comment is None for s in grades.values()
               for nb in s.values() for g in nb.values()), "a refused batch wrote something"


def export(root, tmp_path) -> dict[str, dict]:
    target = tmp_path / "grades.csv"
    assert course(["export", A, "--course", str(root), "--csv", str(target)]) == 0
    return {row["student"]: row for row in csv.DictReader(target.open())}


def test_round_trip_autograde_grade_written_export_feedback(tmp_path, template, capsys):
    """Notebook 01's solution graded in the sandbox, its written answers graded
    by the new command: the export's total is auto + manual and the feedback
    page shows the instructor's scores and comment."""
    pytest.importorskip("nbclient")
    root = tmp_path / "course"
    ScratchCourse.create(root)
    inbox = tmp_path / "inbox" / "sol" / A
    inbox.mkdir(parents=True)
    for notebook in notebooks_of(REPO, SOLUTIONS, A):
        (inbox / notebook.name).write_bytes(notebook.read_bytes())
    assert course(["collect", A, str(tmp_path / "inbox"), "--course", str(root)]) == 0
    assert course(["autograde", A, "--course", str(root), "--jobs", "1"]) == 0
    before = export(root, tmp_path)["sol"]
    assert before["auto_score"] == before["auto_max"] and before["manual_score"] == ""

    written = [(g, top) for g, top, w in graded(template) if w]
    first, *rest = written
    given = {first[0]: first[1], **{g: top / 2 for g, top in rest}}
    assert course(["grade-written", A, "--course", str(root), "--student", "sol", "--cell", first[0],
                   "--points", str(first[1]), "--comment", "Complete & clear."]) == 0
    scores = tmp_path / "scores.csv"
    with scores.open("w", newline="") as f:
        csv.writer(f).writerows([("student", "grade_id", "points", "comment"),
                                 *[("sol", g, given[g], "") for g, _ in rest]])
    assert course(["grade-written", A, "--course", str(root), "--csv", str(scores)]) == 0
    assert "every written answer of 01_backprop is graded" in capsys.readouterr().out

    row = export(root, tmp_path)["sol"]
    manual = sum(given.values())
    assert float(row["manual_score"]) == manual and float(row["manual_max"]) == sum(t for _, t in written)
    assert float(row["total_score"]) == float(row["auto_score"]) + manual
    assert float(row["total_max"]) == float(row["auto_max"]) + float(row["manual_max"])

    assert course(["feedback", A, "--course", str(root)]) == 0
    page = (root / "feedback" / "sol" / A / f"{A}.html").read_text()
    assert f"graded by your instructor: {first[1]:g} / {first[1]:g} points" in page
    assert "Complete &amp; clear." in page and "pending /" not in page
    assert f"{float(row['total_score']):g} / {float(row['total_max']):g}</span>" in page
    assert_formgrader_can_grade(root, "sol", [g for g, _ in written])


def assert_formgrader_can_grade(root, student, answers):
    """What nbgrader's formgrader reads, without a browser: the submission's
    grades and comments in the gradebook, and the autograded notebook that its
    'formgrade' template turns into a page with a score box and a comment box
    per written answer."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.api import Gradebook
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    with Gradebook(gradebook.db_url(root)) as book:
        notebook = book.find_submission_notebook(A, A, student)
        assert {g.name for g in notebook.grades} >= set(answers)
        assert {c.name for c in notebook.comments} >= set(answers)
        assert not notebook.needs_manual_grade
        notebook_id = notebook.id
    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    path = root / "autograded" / student / A / f"{A}.ipynb"
    resources = {"assignment_id": A, "notebook_id": A, "submission_id": notebook_id, "index": 0,
                 "total": 1, "base_url": "/", "student": student, "last_name": None,
                 "first_name": None, "notebook_path": str(path)}     # as its SubmissionHandler
    page, _ = HTMLExporter(config=config).from_notebook_node(nbformat.read(path, as_version=4),
                                                             resources=resources)
    for grade_id in answers:
        assert f'class="score tabbable" id="{grade_id}"' in page, grade_id
        assert f'id="{grade_id}-comment"' in page, grade_id


# ---- issue 22, item 6: the instructor's tables --------------------------------------------

def test_export_columns_are_the_graded_cells_in_notebook_order(scratch, template, tmp_path):
    """They were alphabetical, with the 0-point visible checks among them."""
    target = tmp_path / "grades.csv"
    assert course(["export", A, "--course", str(scratch), "--csv", str(target)]) == 0
    header = next(csv.reader(target.open()))
    assert header[:2] == ["student", "assignment"]
    assert header[8:] == [g for g, top, _ in graded(template) if top > 0]


def test_summary_plot_labels_bars_with_the_exercise_titles(scratch, template, tmp_path, monkeypatch):
    from course_grader.grading import report

    drawn = {}
    monkeypatch.setattr(report, "_plot", lambda assignment, cells, png, n: drawn.update(cells=cells))
    report.summary(scratch, A, tmp_path / "summary.png")
    labels = {c.grade_id: c.label for c in drawn["cells"]}
    titles = {e.name: e.title for e in exercises(template)}
    assert labels["softmax_hidden"] == titles["softmax"].replace("`", "") == "Exercise: softmax(z)"
    assert labels["derivation_fused"].startswith("Derivation 2: why softmax")   # "(2 points)" left out
    assert not [label for label in labels.values() if label.endswith(("_hidden", "_answer"))]


def fake_records(students) -> list[dict]:
    return [{"student": s, "score": 1.0, "max_score": 2.0,
             "notebooks": [{"notebook": A, "scores": [], "events": [], "defences": {}}]}
            for s in students]


def test_autograde_table_shows_written_points_given_or_pending(scratch, template, monkeypatch,
                                                              capsys, tmp_path):
    """The "manual" column said "3 pt" (points available) after the answers
    were graded: it says "2.25 / 3" then, and "pending / 3" before."""
    from course_grader.grading import commands

    written = [(g, top) for g, top, w in graded(template) if w]
    gradebook.enter_written_scores(scratch, A, [gradebook.WrittenScore("alice", g, 0.75 * top)
                                                for g, top in written])
    monkeypatch.setattr(commands, "run_autograde",
                        lambda *a, **k: (fake_records(["alice", "bob"]), tmp_path / "run.log"))
    assert course(["autograde", A, "--course", str(scratch)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    top = sum(t for _, t in written)
    assert f"{0.75 * top:g} / {top:g}" in rows["alice"]
    assert f"pending / {top:g}" in rows["bob"]


def test_an_interrupted_force_run_says_the_command_that_grades_exactly_the_rest(
        scratch, monkeypatch, capsys):
    """After Ctrl-C it said "run the same command again to grade the others":
    with --force that regrades everyone. The command it prints now (--resume
    LOG) grades those the run did not record, and regrades them (--force)."""
    from course_grader.grading import autograde, commands

    students = ["alice", "bob", "carol", "dave"]
    released = REPO / "notebooks" / A / f"{A}.ipynb"
    for student in students:
        folder = scratch / "submitted" / student / A
        folder.mkdir(parents=True, exist_ok=True)
        (folder / released.name).write_bytes(released.read_bytes())

    class CtrlC(autograde.LocalExecutor):     # Ctrl-C while the sandboxes run
        def run(self, task):
            raise KeyboardInterrupt

    monkeypatch.setattr(autograde, "LocalExecutor", CtrlC)
    assert course(["autograde", A, "--course", str(scratch), "--force", "--jobs", "1"]) == 130
    said = capsys.readouterr().out
    command = next(line for line in said.splitlines() if line.startswith("to grade exactly the others: "))
    argv = shlex.split(command.removeprefix("to grade exactly the others: "))
    assert argv[:3] == ["course", "autograde", A] and "--force" in argv and "--jobs" in argv
    log = Path(argv[argv.index("--resume") + 1])
    assert log.is_file()
    with log.open("a") as f:       # as if alice and bob had been recorded before the Ctrl-C
        f.writelines(json.dumps(r) + "\n" for r in fake_records(["alice", "bob"]))

    asked = {}
    monkeypatch.setattr(commands, "run_autograde",
                        lambda *a, **k: (asked.update(k), ([], log))[1])
    assert course(argv[1:]) == 0
    assert asked["students"] == ["carol", "dave"] and asked["skip_graded"] is False
