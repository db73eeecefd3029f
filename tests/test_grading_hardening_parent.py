"""The trusted parent under attack (issue 16, items 6, 8, 9, 11, 14, 17): unit
tests that call the grader's functions directly, no sandbox.

- collect never follows a link (folder or zip) and refuses non-regular files;
- verdict.decode refuses compressed, oversized or lying .npz results before
  np.load can inflate or allocate them;
- prepare is linear and caps the number of cells;
- answer cells stripped of their nbgrader metadata are recovered by position,
  and locked cells still come from the template;
- student strings: "your code raised" shows a short cleaned first line, and
  nothing a submission wrote can put a control character on the terminal or
  in a feedback page;
- the CSV export's columns say what they count.
"""
from __future__ import annotations

import csv
import io
import json
import os
import stat
import time
import tracemalloc
import warnings
import types
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_grader.course import REPO, ScratchCourse
from course_grader.grading import commands
from course_grader.grading.collect import collect
from course_grader.grading.prepare import MAX_CELLS, _duplicate_ids, assemble, prepare
from course_grader.grading.safe_text import printable
from course_grader.grading.template import is_solution, load_templates, nbgrader_meta
from course_utils.verdict import MAX_BYTES, decode, encode, exchange_path

from .adversarial import A, ANSI_FORGER, ANSWER, NB, all_metadata_stripped, answered, too_many_cells

FORGED_ROW = "\r\x1b[2K\x1b]0;title\x07z-ansi-forger 3 / 3 ok"
RAW_CONTROLS = ("\x1b", "\r", "\x07", "\x9b", "\u202e")


@pytest.fixture(scope="module")
def template():
    return load_templates(REPO, A)[0]


# ---- 6. collect never follows links ----------------------------------------------------------

def _notebook_bytes() -> bytes:
    return nbformat.writes(answered()).encode()


def test_collect_refuses_symlinks_in_a_folder(tmp_path):
    secret = tmp_path / "instructor" / NB            # e.g. the solutions notebook
    secret.parent.mkdir()
    secret.write_text("the instructor's solutions")
    inbox = tmp_path / "inbox"
    for student in ("alice", "bob"):
        (inbox / student / A).mkdir(parents=True)
    (inbox / "alice" / A / NB).symlink_to(secret)                   # a linked file
    (inbox / "bob" / A / NB).write_bytes(_notebook_bytes())           # honest
    (tmp_path / "elsewhere" / A).mkdir(parents=True)
    os.symlink(secret, tmp_path / "elsewhere" / A / NB)
    (inbox / "carol").symlink_to(tmp_path / "elsewhere")             # a linked folder
    root = tmp_path / "course"
    lines = collect(root, A, inbox, notebook_name=NB)
    text = "\n".join(lines)
    assert f"REFUSED alice/{A}/{NB}: it is a symbolic link" in text
    assert f"REFUSED carol/{A}/{NB}: it is inside carol, a symbolic link" in text
    assert "bob: collected" in text
    assert not (root / "submitted" / "alice").exists() and not (root / "submitted" / "carol").exists()
    assert (root / "submitted" / "bob" / A / NB).read_bytes() == _notebook_bytes()


def test_collect_refuses_links_and_special_files_named_by_student(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "dave.ipynb").symlink_to(REPO / "solutions" / A / NB)
    (inbox / "erin.ipynb").mkdir()                                   # not a regular file
    (inbox / "frank.ipynb").write_bytes(_notebook_bytes())
    (inbox / "...ipynb").write_bytes(_notebook_bytes())              # student "..": the course root
    root = tmp_path / "course"
    text = "\n".join(collect(root, A, inbox, notebook_name=NB))
    assert "REFUSED dave.ipynb: it is a symbolic link" in text
    assert "REFUSED erin.ipynb: it is not a regular file" in text
    assert "'..': REFUSED, not a plain student name" in text
    assert "frank: collected" in text
    assert sorted(p.name for p in (root / "submitted").iterdir()) == ["frank"]
    assert not (root / A).exists()


def test_collect_skips_symlink_members_of_a_zip(tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as z:
        link = zipfile.ZipInfo("mallory/mallory.ipynb")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, str(REPO / "solutions" / A / NB))
        regular = zipfile.ZipInfo("grace.ipynb")
        regular.create_system = 3
        regular.external_attr = (stat.S_IFREG | 0o644) << 16
        z.writestr(regular, _notebook_bytes())
        z.writestr("heidi.ipynb", _notebook_bytes())                 # no Unix mode at all
    root = tmp_path / "course"
    text = "\n".join(collect(root, A, archive, notebook_name=NB))
    assert "REFUSED mallory/mallory.ipynb in submissions.zip: it is a symbolic link" in text
    assert "grace: collected" in text and "heidi: collected" in text
    assert not (root / "submitted" / "mallory").exists()


def test_collect_lines_are_printable(tmp_path):
    inbox = tmp_path / "inbox"
    name = "x" + FORGED_ROW.replace("/", "of")                 # a folder name cannot hold "/"
    (inbox / name / A).mkdir(parents=True)
    (inbox / name / A / NB).write_bytes(_notebook_bytes())
    lines = collect(tmp_path / "course", A, inbox, notebook_name=NB)
    assert len(lines) == 1 and "REFUSED, not a plain student name" in lines[0]
    assert not any(c in lines[0] for c in RAW_CONTROLS)


# ---- 8. decode refuses what would inflate or over-allocate ----------------------------------

def _npy_header(shape, descr="<f8") -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False,
                                                  "shape": shape})
    return header.getvalue()


def _types(**kinds) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array(json.dumps(kinds)))
    return buffer.getvalue()


def compressed_bomb(declared: int) -> bytes:
    """A result .npz whose one array inflates to ``declared`` bytes of zeros,
    written in chunks so the test itself never holds it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("__types__.npy", _types(counts="array"), compress_type=zipfile.ZIP_STORED)
        with z.open("counts.npy", "w", force_zip64=True) as f:
            f.write(_npy_header((declared // 8,)))
            chunk = bytes(2**20)
            for _ in range(declared // len(chunk)):
                f.write(chunk)
    return buffer.getvalue()


def _measure(call):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError) as raised:
            call()
        return raised.value, time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_decode_refuses_a_compressed_bomb_fast_and_without_allocating():
    bomb = compressed_bomb(200 * 2**20)
    assert len(bomb) < 2 * 2**20 < MAX_BYTES           # small enough to reach decode
    error, seconds, peak = _measure(lambda: decode(bomb))
    print(f"refused in {seconds:.3f} s, peak {peak / 2**20:.1f} MiB: {error}")
    assert "'counts.npy' is compressed" in str(error)
    assert seconds < 2 and peak < 20 * 2**20


def test_decode_refuses_a_header_that_declares_more_than_the_member_holds():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        z.writestr("__types__.npy", _types(counts="array"))
        z.writestr("counts.npy", _npy_header((10**8,)) + bytes(8))   # 800 MB declared, 8 held
    error, _, peak = _measure(lambda: decode(buffer.getvalue()))
    assert "declares 800000000 bytes" in str(error) and "holds 8" in str(error)
    assert peak < 20 * 2**20


@pytest.mark.parametrize("members, said", [
    ({f"m{i}.npy": _npy_header((0,)) for i in range(1001)}, "more than 1000"),
    ({"counts": b"raw bytes, not an array"}, "is not an .npy array"),
    ({"counts.npy": _npy_header((2,), descr="|V8") + bytes(16)}, "expected numbers"),
])
def test_decode_refuses_archives_encode_cannot_make(members, said):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        z.writestr("__types__.npy", _types(counts="array"))
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(ValueError, match=said):
        decode(buffer.getvalue())


def test_judge_refuses_the_bomb_as_a_result(template):
    from course_grader.grading.verdicts import judge
    check = template.hidden["confusion_matrix_hidden"].checks[0]
    files = {**template.exchange, exchange_path(check.name, "out"): compressed_bomb(64 * 2**20)}
    start = time.perf_counter()
    assert "not plain numbers (ValueError)" in judge(check, files)
    assert time.perf_counter() - start < 2
    assert decode(encode({"counts": np.eye(3, dtype=np.int64), "n": 3}))["n"] == 3   # still reads encode's


def _graded_as(prepared, grade_id):
    return next(c for c in prepared.notebook.cells if nbgrader_meta(c).get("grade_id") == grade_id)


# ---- 9. prepare is linear and bounded --------------------------------------------------------

def test_duplicate_ids_is_linear():
    cells = [{"id": f"c{i}"} for i in range(40_000)] + [{"id": "c7"}, {"id": "c7"}, {"id": "c9"}]
    start = time.perf_counter()
    events = _duplicate_ids({"cells": cells})
    seconds = time.perf_counter() - start
    print(f"_duplicate_ids of 40 003 cells: {seconds:.3f} s")
    assert events == ["cell id 'c7' was used by 3 cells; later copies got new ids",
                      "cell id 'c9' was used by 2 cells; later copies got new ids"]
    assert seconds < 10


def test_parse_prints_nothing_of_the_students_text(tmp_path, caplog):
    """nbformat.reads warns once per repeated id (5000 lines for 5000 cells) and
    logs an invalid notebook's contents, on the instructor's terminal."""
    from course_grader.grading.prepare import parse
    nb = json.loads(nbformat.writes(answered()))
    for cell in nb["cells"][:4]:
        cell["id"] = "\x1b]0;pwned\x07"
    nb["cells"][5]["source"] = 42                                   # invalid for nbformat's schema
    (tmp_path / NB).write_text(json.dumps(nb))
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        notebook, failure, events = parse(tmp_path / NB)
    assert failure is None and not shown and not caplog.records
    assert events == ["cell id '\\x1b]0;pwned\\x07' was used by 4 cells; later copies got new ids"]
    assert len({c.id for c in notebook.cells}) == len(notebook.cells)


def test_prepare_refuses_a_notebook_of_40000_cells_quickly(tmp_path, template):
    path = tmp_path / NB
    path.write_bytes(too_many_cells(40_000))
    start = time.perf_counter()
    prepared = prepare(path, template)
    seconds = time.perf_counter() - start
    print(f"prepare of 40 000 tiny cells: {seconds:.2f} s")
    assert prepared.notebook is None
    assert prepared.failure == f"the notebook has {40_000 + len(answered().cells)} cells, more than {MAX_CELLS}"
    assert seconds < 10


def test_prepare_at_the_cell_cap_is_linear(tmp_path, template):
    path = tmp_path / NB
    path.write_bytes(too_many_cells(MAX_CELLS - len(answered().cells)))
    start = time.perf_counter()
    prepared = prepare(path, template)
    seconds = time.perf_counter() - start
    print(f"prepare of {MAX_CELLS} cells: {seconds:.2f} s")
    assert prepared.failure is None and len(prepared.notebook.cells) == MAX_CELLS
    assert _graded_as(prepared, "confusion_matrix").source == ANSWER
    nbformat.validate(prepared.notebook)
    assert seconds < 10


# ---- 14. answer cells recovered by position; locked cells from the template -----------------

def test_all_metadata_stripped_keeps_the_answer(template):
    prepared = assemble(all_metadata_stripped(), template)
    assert _graded_as(prepared, "confusion_matrix").source == ANSWER
    assert "answer cell 'confusion_matrix' recovered by position (its nbgrader metadata was missing)" \
        in prepared.events
    graded_ids = [nbgrader_meta(c).get("grade_id") for c in prepared.notebook.cells]
    assert graded_ids == [nbgrader_meta(c)["grade_id"] for c in template.cells]   # nothing added


def test_recovery_never_puts_student_text_in_a_locked_cell(template):
    """Stripped metadata everywhere, and the student's own text where the hidden
    tests and the visible check were: those still come from the template, and
    the student's text stays in ungraded cells."""
    nb = all_metadata_stripped()
    for cell in nb.cells:
        if cell.get("id") in ("confusion_matrix_visible", "confusion_matrix_hidden", "baseline"):
            cell.source = "FORGED = True  # in place of a locked cell"
    prepared = assemble(nb, template)
    for original in template.cells:
        grade_id = nbgrader_meta(original)["grade_id"]
        cell = _graded_as(prepared, grade_id)
        if not is_solution(original):
            expected = template.hidden[grade_id].kernel_source if grade_id in template.hidden \
                else original.source
            assert cell.source == expected, grade_id
            assert nbgrader_meta(cell) == nbgrader_meta(original)
    assert _graded_as(prepared, "confusion_matrix").source.startswith("def confusion_matrix")
    forged = [c for c in prepared.notebook.cells if "FORGED" in c.source]
    assert len(forged) == 3 and not any(nbgrader_meta(c) for c in forged)


def test_recovery_does_not_take_an_added_cell_when_the_answer_is_found(template):
    nb = answered()
    index = next(i for i, c in enumerate(nb.cells) if c.get("id") == "confusion_matrix")
    nb.cells.insert(index, nbformat.v4.new_code_cell("helper = 1"))
    prepared = assemble(nb, template)
    assert not [e for e in prepared.events if "recovered by position" in e]
    assert _graded_as(prepared, "confusion_matrix").source == nb.cells[index + 1].source


# ---- 11. student strings: short in feedback, printable on the terminal ---------------------

def test_raised_shows_type_and_a_short_clean_first_line(template):
    from course_grader.grading.verdicts import MAX_RAISED, judge
    check = template.hidden["confusion_matrix_hidden"].checks[0]
    leak = "ValueError: see\x1b[31m this\r\n" + "alice,01_backprop,48\n" * 30
    message = judge(check, {**template.exchange, exchange_path(check.name, "err"): leak.encode()})
    assert message == f"check {check.name}: your code raised ValueError: see[31m this"
    long = "KeyError: " + "x" * 1000
    message = judge(check, {**template.exchange, exchange_path(check.name, "err"): long.encode()})
    assert message.endswith("...") and len(message.split("raised ")[1]) <= len("KeyError: ") + MAX_RAISED
    odd = judge(check, {**template.exchange, exchange_path(check.name, "err"): b"\x1b]0;x\x07 oops"})
    assert "raised an error" in odd and "\x1b" not in odd and "\x07" not in odd


def test_the_judges_own_messages_are_kept_whole():
    from course_grader.grading.verdicts import inputs_files, judge, read_checks
    text = "line one of the judge's message\n" + "it explains in words. " * 15
    source = ("import numpy as np\nfrom course_utils.verdict import hidden_check\n"
              "def probe():\n    return {'y': np.zeros(2)}\n"
              f"def judge(given, found):\n    raise AssertionError({text!r})\n"
              "hidden_check('words', probe=probe, judge=judge)\n")
    (check,) = read_checks(source, "cell", {}).checks
    files = {**inputs_files([check]), exchange_path("words", "out"): encode({"y": np.zeros(2)})}
    assert judge(check, files) == f"check words: {text}"


def test_printable_escapes_every_control_character():
    shown = printable(FORGED_ROW + "\x9b2K\u202egnp.exe\u2066\x7f\n\t")
    assert not any(c in shown for c in (*RAW_CONTROLS, "\u2066", "\x7f", "\n", "\t"))
    assert shown.startswith("\\r\\x1b[2K\\x1b]0;title\\x07z-ansi-forger")
    assert "\\u202e" in shown and "\\x9b" in shown
    assert printable("x" * 50, 10) == "x" * 7 + "..."
    assert printable("a\nb", keep="\n") == "a\nb"


def test_autograde_table_prints_no_control_characters(monkeypatch, capsys, tmp_path):
    record = {"student": f"eve{FORGED_ROW}", "score": 0, "max_score": 3,
              "notebooks": [{"events": [f"cell 21 raised Exception: {FORGED_ROW}"], "scores": [],
                             "defences": {"isolation": "none", "limits": ["as"]}}]}

    def fake_autograde(*args, log=print, **kwargs):
        log(f"graded {record['student']}: 0 / 3")
        return [record], tmp_path / "autograde.log"
    monkeypatch.setattr(commands, "run_autograde", fake_autograde)
    monkeypatch.setattr(commands, "Limits", lambda *a, **k: None)
    class Args(types.SimpleNamespace):
        def __getattr__(self, name):      # any other option of `course autograde`
            return None
    args = Args(course=tmp_path, assignment=A, jobs=1, student=None, cell_timeout=1,
                notebook_limit=1, memory=1)
    assert commands.autograde(args) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in RAW_CONTROLS), repr(out)
    assert not [line for line in out.splitlines() if line.startswith("z-ansi-forger")]
    assert "\\x1b[2K" in out


def test_the_ansi_forger_case_raises_the_forged_row():
    assert FORGED_ROW in ANSI_FORGER.encode().decode("unicode_escape")


def test_feedback_escapes_html_and_control_characters(template):
    from course_grader.grading.feedback import render
    scores = [{"grade_id": "confusion_matrix_hidden", "score": 0, "max_score": 1, "manual": False,
               "answered": True, "ran": True, "checks": 1,
               "errors": [["AssertionError", "check x: your code raised <img src=x onerror=alert(1)>"]]}]
    record = {"notebooks": [{"notebook": template.name, "scores": scores, "failure": None,
                             "events": [f"<script>alert(1)</script>{FORGED_ROW}"]}]}
    page = render("<b>eve</b>", record, template)
    assert "<script>alert" not in page and "<img" not in page and "<b>eve" not in page
    assert "&lt;script&gt;" in page and "&lt;img" in page
    assert not any(c in page for c in RAW_CONTROLS)


# ---- 17. the CSV export says what it counts --------------------------------------------------

def test_export_csv_columns_are_explicit_and_consistent(tmp_path, template):
    from nbgrader.api import Gradebook

    from course_grader.grading import gradebook
    from course_grader.grading.report import TOTALS, export_csv
    from course_grader.grading.score import CellScore
    root = tmp_path / "course"
    ScratchCourse.create(root)
    gradebook.register_assignment(root, [template])

    def scores(hidden, edge, answered_text):
        return {template.name: [CellScore("confusion_matrix_visible", 0, 0),
                                CellScore("confusion_matrix_hidden", hidden, 1),
                                CellScore("confusion_matrix_edge_cases_hidden", edge, 2),
                                CellScore("baseline_answer", 0, 2, manual=True, answered=answered_text)]}
    gradebook.record_scores(root, A, "alice", scores(1, 2, True))     # written answer waiting
    gradebook.record_scores(root, A, "bob", scores(1, 0, False))      # untouched answer: 0

    def export():
        target = tmp_path / "grades.csv"
        assert export_csv(root, A, target) == 2
        with target.open() as f:
            reader = csv.DictReader(f)
            assert reader.fieldnames[:8] == ["student", "assignment", *TOTALS]
            return {row["student"]: row for row in reader}

    rows = export()
    assert {k: rows["alice"][k] for k in TOTALS} == {
        "auto_score": "3", "auto_max": "3", "manual_score": "", "manual_max": "2",
        "total_score": "", "total_max": "5"}
    assert rows["alice"]["baseline_answer"] == ""
    assert {k: rows["bob"][k] for k in TOTALS} == {
        "auto_score": "1", "auto_max": "3", "manual_score": "0", "manual_max": "2",
        "total_score": "1", "total_max": "5"}
    with Gradebook(gradebook.db_url(root)) as book:            # the instructor grades alice's answer
        grade = book.find_grade("baseline_answer", template.name, A, "alice")
        grade.manual_score = 2.0
        grade.needs_manual_grade = False
        book.db.commit()
    alice = export()["alice"]
    assert (alice["manual_score"], alice["total_score"], alice["total_max"]) == ("2", "5", "5")
    assert alice["baseline_answer"] == "2"


# Threads parsing at once, with the garbage collector letting another thread in mid-parse
# (as a run's judge threads do): CPython 3.11's ast.parse raises
# "SystemError: AST constructor recursion depth mismatch" (gh-106905), which stopped a
# student's grading in CI ("the grader failed, nothing recorded").
PARSE_IN_THREADS = """
import ast, gc, sys, threading, time
from course_grader.grading import verdicts
source = "\\n".join(f"def f{i}(x):\\n    return [[(a, b) for a in range({i})] for b in x if (b and (a or c))]"
                   for i in range(100))
gc.set_threshold(50)
gc.callbacks.append(lambda phase, info: time.sleep(0))
errors = []
def parse_many(parse):
    for _ in range(20):
        try:
            parse(source)
        except SystemError as error:
            errors.append(error)
threads = [threading.Thread(target=parse_many, args=(eval(sys.argv[1]),)) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
print(len(errors))
"""


def test_the_grader_parses_student_code_one_thread_at_a_time():
    import subprocess
    import sys

    def errors(parse: str) -> int:
        run = subprocess.run([sys.executable, "-c", PARSE_IN_THREADS, parse], capture_output=True, text=True,
                             timeout=300, cwd=REPO)
        assert run.returncode == 0, run.stderr
        return int(run.stdout)

    assert errors("verdicts.parse") == 0
    if errors("ast.parse") == 0:
        pytest.skip("this Python's ast.parse did not fail in threads here: the lock is not shown to matter")
