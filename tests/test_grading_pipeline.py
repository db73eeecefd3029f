"""The isolated, parallel grading pipeline (course_utils.instructor.grading) on
notebook 00: one parallel autograde run over honest, accidental and hostile
submissions, then per-student checks of score, record and feedback."""
from __future__ import annotations

import copy
import csv
import json
import os
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_utils.instructor.cli import main as course
from course_utils.instructor.course import REPO, ScratchCourse
from course_utils.instructor.grading.template import load_templates

# One worker grades the whole set once (the module fixture), not one per worker.
pytestmark = pytest.mark.xdist_group("grading_pipeline")

A = "00_setup_and_tour"
NB = f"{A}.ipynb"
RELEASED = nbformat.read(REPO / "notebooks" / A / NB, as_version=4)
SOLUTION = nbformat.read(REPO / "solutions" / A / NB, as_version=4)
ANSWER = next(c.source for c in SOLUTION.cells if c.metadata.get("nbgrader", {}).get("grade_id")
              == "confusion_matrix")
# Right when every class occurs (1 point), wrong when a class is absent (edge cases, 2).
PARTIAL = ANSWER.split("### BEGIN SOLUTION")[0].rstrip(" ") + (
    "    c = int(max(y_true.max(), y_pred.max())) + 1\n"
    "    counts = np.zeros((c, c), dtype=np.int64)\n"
    "    np.add.at(counts, (y_true, y_pred), 1)\n"
    "    return counts\n")


def index_of(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def answered(source=ANSWER):
    nb = copy.deepcopy(RELEASED)
    nb.cells[index_of(nb, "confusion_matrix")].source = source
    return nb


def with_cell(code, after="confusion_matrix", source=ANSWER):
    nb = answered(source)
    nb.cells.insert(index_of(nb, after) + 1, nbformat.v4.new_code_cell(code))
    return nb


def duplicate_exercise():
    nb = answered()
    nb.cells.insert(index_of(nb, "confusion_matrix") + 1,
                    copy.deepcopy(nb.cells[index_of(nb, "confusion_matrix")]))
    nb.cells[index_of(nb, "confusion_matrix") + 1].source = "def confusion_matrix(*a):\n    return 0\n"
    return nb


def deleted_hidden():
    nb = answered()
    del nb.cells[index_of(nb, "confusion_matrix_hidden")]
    return nb


def edited_visible_test():
    nb = answered("def confusion_matrix(*args):\n    return None\n")
    nb.cells[index_of(nb, "confusion_matrix_visible")].source = "pass"
    nb.cells[index_of(nb, "confusion_matrix_hidden")].source = "pass"
    nb.cells[index_of(nb, "confusion_matrix_hidden")].metadata.nbgrader["points"] = 99
    return nb


def stripped_readonly():
    nb = answered()
    nb.cells[index_of(nb, "profile_demo")].metadata = {}
    return nb


STDERR = ("import sys, warnings\nfrom tqdm import tqdm\n_inner = confusion_matrix\n"
          "def confusion_matrix(*a):\n    warnings.warn('deprecated thing')\n"
          "    for _ in tqdm(range(3)): pass\n    print('noise', file=sys.stderr)\n"
          "    return _inner(*a)\n")
SNOOP = ("import os\ntry:\n    print(open('../../gradebook.db','rb').read(100))\nexcept Exception as e:\n"
         "    print('no gradebook', e)\nfor p in ['solutions', '../solutions', %r]:\n"
         "    print(p, os.path.exists(p) and os.listdir(p))\n"
         "import json\nsrc = json.load(open('%s/solutions/%s/%s'))\n"
         "exec(next(''.join(c['source']) for c in src['cells'] if 'def confusion_matrix' in ''.join(c['source'])))\n")

# student -> (notebook, or raw bytes/filename, expected autograded score out of 3)
CASES = {
    "correct": (answered(), 3),
    "blank": (copy.deepcopy(RELEASED), 0),
    "partial": (answered(PARTIAL), 1),
    "duplicate_grade_id": (duplicate_exercise(), 3),
    "deleted_hidden": (deleted_hidden(), 3),
    "edited_locked": (edited_visible_test(), 0),
    "stripped_metadata": (stripped_readonly(), 3),
    "os_exit_late": (with_cell("import os\nos._exit(1)", after="confusion_matrix_hidden"), 1),
    "sys_exit": (with_cell("import sys\nsys.exit()\n"), 3),
    "system_exit_kbd": (with_cell("raise SystemExit(3)") , 3),
    "keyboard_interrupt": (with_cell("raise KeyboardInterrupt"), 3),
    "infinite_loop": (with_cell("while True:\n    pass\n"), None),   # notebook limit: see test
    "memory_bomb": (with_cell("x = bytearray(8 * 2**30)"), 3),
    "big_output": (with_cell("print('x' * (10 * 2**20))"), 3),
    "stderr_in_tests": (with_cell(STDERR), 3),
    # No answer of its own: it scores only if it can copy the solution from the course.
    "snoop": (with_cell(SNOOP % ("__ROOT__/solutions", "__ROOT__", A, NB),
                        source=RELEASED.cells[index_of(RELEASED, "confusion_matrix")].source), 0),
}
RAW = {"invalid_json": (b'{"cells": [', NB), "empty_file": (b"", NB)}
RENAMED = "renamed"   # correct answer in a file with another name: 3


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading") / "course"
    ScratchCourse.create(root)
    inbox = root.parent / "inbox"
    for student, (nb, _) in CASES.items():
        folder = inbox / student / A
        folder.mkdir(parents=True)
        text = nbformat.writes(nb).replace("__ROOT__", str(root))
        (folder / NB).write_text(text)
    for student, (data, name) in RAW.items():
        (inbox / student / A).mkdir(parents=True)
        (inbox / student / A / name).write_bytes(data)
    (inbox / RENAMED / A).mkdir(parents=True)
    nbformat.write(answered(), inbox / RENAMED / A / "my_work (1).ipynb")
    assert course(["collect", A, str(inbox), "--course", str(root)]) == 0
    assert course(["autograde", A, "--course", str(root), "--jobs", "2",
                   "--cell-timeout", "15", "--notebook-limit", "45"]) == 0
    assert course(["feedback", A, "--course", str(root)]) == 0
    return root


def record(root, student):
    return json.loads((root / "autograded" / student / A / "grading-record.json").read_text())


def events(root, student):
    return " | ".join(record(root, student)["notebooks"][0]["events"])


EXPECTED = {s: e for s, (_, e) in CASES.items() if e is not None} | {
    "invalid_json": 0, "empty_file": 0, RENAMED: 3}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_expected_score(graded, student):
    rec = record(graded, student)
    assert rec["score"] == EXPECTED[student], events(graded, student)
    assert rec["max_score"] == 3


def test_gradebook_matches_records(graded):
    course_ = ScratchCourse(graded)
    for student, expected in EXPECTED.items():
        assert course_.scores(A, student)[A].auto_score == expected


@pytest.mark.parametrize("student, said", [
    ("invalid_json", "not valid JSON"), ("empty_file", "empty"), (RENAMED, "renamed"),
    ("duplicate_grade_id", "duplicate copy"), ("deleted_hidden", "'confusion_matrix_hidden' was missing"),
    ("edited_locked", "restored from the instructor"), ("stripped_metadata", "lost its nbgrader metadata"),
    ("os_exit_late", "kernel died"), ("infinite_loop", "time limit"),
    ("big_output", "truncated"),
])
def test_record_says_what_happened(graded, student, said):
    assert said in events(graded, student)


def test_infinite_loop_is_stopped_and_others_unaffected(graded):
    rec = record(graded, "infinite_loop")
    # Interrupted after the per-cell limit; the tests after it still run.
    assert rec["score"] == 3 or "whole notebook" in events(graded, "infinite_loop")
    assert record(graded, "correct")["score"] == 3


def test_os_exit_keeps_earlier_points(graded):
    scores = {c["grade_id"]: c for c in record(graded, "os_exit_late")["notebooks"][0]["scores"]}
    assert scores["confusion_matrix_hidden"]["score"] == 1
    assert not scores["confusion_matrix_edge_cases_hidden"]["ran"]


def test_sandbox_defences_recorded(graded):
    defences = record(graded, "correct")["notebooks"][0]["defences"]
    assert defences["fresh_directory"] and defences["notebook_time_limit"]
    if os.geteuid() == 0:
        assert defences["unprivileged_user"]


def test_snoop_found_nothing(graded):
    executed = nbformat.read(graded / "autograded" / "snoop" / A / NB, as_version=4)
    text = json.dumps([c.get("outputs", []) for c in executed.cells])
    assert "no gradebook" in text
    assert "BEGIN HIDDEN" not in text


def test_no_hidden_test_text_in_feedback(graded):
    template = load_templates(graded, A)[0]
    pages = sorted((graded / "feedback").glob(f"*/{A}/*.html"))
    assert len(pages) == len(EXPECTED) + 1
    for page in pages:
        text = page.read_text()
        assert "BEGIN HIDDEN TESTS" not in text
        assert not [line for line in template.hidden_lines if line in text], page
    assert "0 / 2" in (graded / "feedback" / "partial" / A / f"{A}.html").read_text()


def test_regrade_serial_is_identical(graded):
    """Same submissions, serial this time: the same scores."""
    before = {s: record(graded, s)["score"] for s in ("correct", "partial", "stderr_in_tests")}
    assert course(["autograde", A, "--course", str(graded), "--jobs", "1",
                   *[x for s in before for x in ("--student", s)]]) == 0
    assert {s: record(graded, s)["score"] for s in before} == before


def test_collect_refuses_to_overwrite_and_reads_zip(graded, tmp_path, capsys):
    archive = tmp_path / "subs.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("correct_final.ipynb", nbformat.writes(answered()))
        z.writestr("newcomer.ipynb", nbformat.writes(answered()))
    assert course(["collect", A, str(archive), "--course", str(graded)]) == 1
    out = capsys.readouterr().out
    assert "correct: REFUSED" in out and "newcomer: collected" in out
    assert (graded / "submitted" / "newcomer" / A / NB).exists()


def test_export_and_summary(graded, tmp_path):
    target = tmp_path / "grades.csv"
    assert course(["export", A, "--course", str(graded), "--csv", str(target)]) == 0
    rows = {r["student"]: r for r in csv.DictReader(target.open())}
    assert float(rows["correct"]["score"]) == 3 and float(rows["blank"]["score"]) == 0
    png = tmp_path / "summary.png"
    assert course(["summary", A, "--course", str(graded), "--png", str(png)]) == 0
    assert png.stat().st_size > 1000
