"""The isolated, parallel grading pipeline (course_grader.grading) on
notebook 00: one parallel autograde run over the honest, accidental and
hostile submissions of tests/adversarial.py, then per-student checks of
score, record, gradebook and feedback."""
from __future__ import annotations

import contextlib
import csv
import json
import os
import socket
import threading
import zipfile

import nbformat
import pytest

from course_grader.cli import main as course
from course_grader.course import ScratchCourse
from course_grader.grading.template import load_templates

from .adversarial import A, CASES, NB, RENAMED, answered, submission_bytes

# One worker grades the whole set once (the module fixture), not one per worker.
pytestmark = pytest.mark.xdist_group("grading_pipeline")

ATTACKS = ["wrong", "patched_numpy", "patched_torch", "patched_course_utils", "patched_builtins",
           "always_equal", "swallowed_errors", "forged_results", "partial_patched_numpy"]

SANDBOX_MEMORY_GIB = 1.5       # small, so memory_spread's 3 x 700 MB exceed it
CANARY = "instructor-secret-4b1d"   # in the grader's environment: no sandbox may read it
SOCKETS = ["host.sock", "/tmp/course-test-host.sock", "/run/course-test-host.sock"]


class HostSockets:
    """Pathname Unix sockets of the grading host; counts who got through."""

    def __init__(self, paths):
        self.accepted, self.servers = [], []
        for path in paths:
            server = socket.socket(socket.AF_UNIX)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            server.bind(str(path))
            server.listen()
            server.settimeout(0.2)
            self.servers.append((server, path))
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.running = True
        self.thread.start()

    def _accept(self):
        while self.running:
            for server, path in self.servers:
                with contextlib.suppress(OSError):
                    server.accept()
                    self.accepted.append(str(path))

    def close(self):
        self.running = False
        self.thread.join()
        for server, path in self.servers:
            server.close()
            with contextlib.suppress(OSError):
                os.unlink(path)


def resident_mib() -> float:
    with open("/proc/self/status") as status:
        line = next(l for l in status if l.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


class PeakRss:
    """This process's resident-memory peak while a block runs, sampled every 20 ms.
    (ru_maxrss is the worker's lifetime peak: other tests in the worker set it.)"""

    def __enter__(self):
        self.start = self.peak = resident_mib()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, resident_mib())
            threading.Event().wait(0.02)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()

    @property
    def growth_mib(self) -> float:
        return self.peak - self.start


# Session scope: a module fixture is torn down whenever xdist hands the worker another module's
# test in between, and CI's log showed this 10-minute grading run built twice.
@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading") / "course"
    ScratchCourse.create(root)
    # What a course folder holds mid-term: an export, a collected zip (snoop_course).
    (root / "grades.csv").write_text("student,score\nclassmate,3\n")
    (root / "submissions.zip").write_bytes(b"PK")
    inbox = root.parent / "inbox"
    for student, (case, _) in CASES.items():
        folder = inbox / student / A
        folder.mkdir(parents=True)
        (folder / NB).write_bytes(submission_bytes(case, root))
    (inbox / RENAMED / A).mkdir(parents=True)
    nbformat.write(answered(), inbox / RENAMED / A / "my_work (1).ipynb")
    assert course(["collect", A, str(inbox), "--course", str(root)]) == 0
    sockets = HostSockets([root.parent / SOCKETS[0], *SOCKETS[1:]])
    os.environ["COURSE_TEST_CANARY"] = CANARY
    try:
        with PeakRss() as parent:
            assert course(["autograde", A, "--course", str(root), "--jobs", "2", "--cell-timeout", "30",
                           "--notebook-limit", "120", "--memory", str(SANDBOX_MEMORY_GIB)]) == 0
    finally:
        del os.environ["COURSE_TEST_CANARY"]
        sockets.close()
    (root / "sockets_accepted.json").write_text(json.dumps(sockets.accepted))
    (root / "parent_rss_growth_mib").write_text(f"{parent.growth_mib:.0f}")
    assert course(["feedback", A, "--course", str(root)]) == 0
    return root


def outputs(root, student) -> str:
    executed = nbformat.read(root / "autograded" / student / A / NB, as_version=4)
    return json.dumps([c.get("outputs", []) for c in executed.cells])


def record(root, student):
    return json.loads((root / "autograded" / student / A / "grading-record.json").read_text())


def events(root, student):
    return " | ".join(record(root, student)["notebooks"][0]["events"])


EXPECTED = {s: e for s, (_, e) in CASES.items() if e is not None} | {RENAMED: 3}


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
    ("duplicate_grade_id", "the last copy you changed from the stub (cell 12) is graded"),
    ("duplicate_answer_in_second_copy", "the last copy you changed from the stub (cell 12) is graded"),
    ("deleted_hidden", "'confusion_matrix_hidden' was missing"),
    ("edited_locked", "graded with the instructor's version"), ("stripped_metadata", "lost its nbgrader metadata"),
    ("os_exit_late", "kernel died"), ("infinite_loop", "time limit"),
    ("big_output", "truncated"), ("duplicate_cell_ids", "later copies got new ids"),
    ("moved_test_cell", "instructor's order is restored"), ("sys_exit", "raised SystemExit"),
    ("system_exit", "raised SystemExit"), ("keyboard_interrupt", "raised KeyboardInterrupt"),
    ("memory_bomb", "raised MemoryError"), ("snoop", "raised"),
    ("all_metadata_stripped", "answer cell 'confusion_matrix' recovered by position"),
    ("too_many_cells", "cells, more than 5000"), ("ansi_forger", "raised Exception"),
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
    assert defences["notebook_time_limit"] and defences["limits"]
    if os.geteuid() == 0:
        assert defences["isolation"] == "bubblewrap as root" and defences["unique_user"]
        assert defences["cgroup"] and defences["private_tmp"] and defences["course_invisible"]


@pytest.mark.parametrize("student", ATTACKS)
def test_forged_verdicts_fail_with_reasons_in_words(graded, student):
    """Whatever the kernel patched, the judge ran in the grader on plain data:
    the feedback says which case is wrong and how."""
    scores = {c["grade_id"]: c for c in record(graded, student)["notebooks"][0]["scores"]}
    edge = scores["confusion_matrix_edge_cases_hidden"]
    assert edge["score"] == 0
    messages = " ".join(m for _, m in edge["errors"])
    assert "check confusion_matrix_edge_" in messages
    assert any(words in messages for words in ("is wrong in", "no result reached the grader",
                                               "your code raised"))
    page = (graded / "feedback" / student / A / f"{A}.html").read_text()
    assert "check confusion_matrix_edge_" in page


def test_gradebook_cannot_be_written_from_a_submission(graded):
    executed = nbformat.read(graded / "autograded" / "gradebook_write" / A / NB, as_version=4)
    text = json.dumps([c.get("outputs", []) for c in executed.cells])
    assert "could not write" in text and "wrote" not in text.replace("could not write", "")


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
    assert float(rows["correct"]["auto_score"]) == 3 and float(rows["blank"]["auto_score"]) == 0
    # notebook 00's written answer (2 points) is left blank: 0, so the totals are known
    assert (rows["correct"]["total_score"], rows["correct"]["total_max"]) == ("3", "5")
    png = tmp_path / "summary.png"
    assert course(["summary", A, "--course", str(graded), "--png", str(png)]) == 0
    assert png.stat().st_size > 1000


@pytest.mark.parametrize("student", ["patched_numpy", "patched_course_utils", "swallowed_errors"])
def test_the_same_attacks_forge_a_pass_when_judged_in_the_kernel(student, monkeypatch):
    """Control: run as plain nbgrader does (the whole hidden cells in the
    student's kernel), these attacks pass the hidden tests with a wrong answer.
    Only judging outside the kernel stops them."""
    from nbclient import NotebookClient

    from course_grader.execute import output_errors

    from .adversarial import SOLUTION
    monkeypatch.setenv("COURSE_PROFILE", "grading")
    hidden = {c.id: c.source for c in SOLUTION.cells if "BEGIN HIDDEN TESTS" in c.source}
    nb = nbformat.reads(submission_bytes(CASES[student][0], "/nonexistent").decode(), as_version=4)
    for cell in nb.cells:
        cell.source = hidden.get(cell.id, cell.source)
    NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3").execute()
    assert not [c.id for c in nb.cells if c.id in hidden and output_errors(c)]


# The sandbox (issue 16): each attack fails, and the classmates graded beside it
# (test_expected_score) are unaffected.
def test_symlinks_made_in_the_sandbox_reach_nothing_of_the_host(graded):
    config = graded / "nbgrader_config.py"
    assert config.stat().st_uid == os.geteuid()
    assert "import" not in config.read_text().split("get_config()")[-1].split("\n", 1)[0]
    assert record(graded, "symlink_swap")["score"] == 0
    assert "no result reached the grader" in json.dumps(record(graded, "result_is_directory"))


def test_no_classmate_is_visible(graded):
    assert "classmates found: 0" in outputs(graded, "classmate_tamper")


def test_course_folder_is_invisible(graded):
    assert "visible course files: 0 []" in outputs(graded, "snoop_course")


def test_no_grader_environment_is_readable(graded):
    text = outputs(graded, "proc_environ")
    assert "/proc/" in text and CANARY not in text


def test_host_unix_sockets_are_unreachable(graded):
    assert json.loads((graded / "sockets_accepted.json").read_text()) == []
    assert "connected" not in outputs(graded, "unix_sockets")


def test_processes_are_limited_per_sandbox(graded):
    text = outputs(graded, "thread_hog")
    assert "stopped at" in text     # its own limit stopped it; classmates scored (above)


@pytest.mark.skipif(os.geteuid() != 0, reason="cgroups need root")
def test_memory_is_limited_for_the_whole_sandbox(graded):
    notebook = record(graded, "memory_spread")["notebooks"][0]
    assert notebook["defences"]["cgroup"], "no cgroup: memory is limited per process only"
    assert notebook["defences"]["peak_memory_mib"] <= SANDBOX_MEMORY_GIB * 1024 + 1
    assert "memory limit" in " ".join(notebook["events"])


def test_disk_is_limited_for_the_whole_sandbox(graded):
    from course_grader.grading.sandbox import Limits
    written = int(outputs(graded, "disk_fill").split("wrote ")[1].split(" bytes")[0])
    assert 0 < written <= Limits().disk + Limits().shm


def test_the_parent_stays_small(graded):
    """stderr_flood wrote 768 MiB to the kernel's stderr; the parent read it
    through a bounded tail (it grew by 2.4 GiB when it buffered everything)."""
    assert float((graded / "parent_rss_growth_mib").read_text()) < 384
