"""Grading on a Dask cluster (grading/executors.py) and `course grade`.

A real `dask scheduler` and two `dask worker --nthreads 1` processes, started
here on 127.0.0.1 (free ports) with TLS as docs/grading.md says (certificates
of `course cluster-certs`) and shut down at the end, grade a mix of
notebook-00 submissions from tests/adversarial.py: the same scores and
records as the local executor (both runs use one inputs secret); the same
with a worker SIGKILLed while it holds a task; a submission whose workers
keep dying is recorded as failed and the run goes on; a `course autograde`
interrupted by SIGINT and run again grades every submission exactly once.
Then `course grade` on a correct, a partial and an attacking notebook.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from course_grader.cli import main as course
from course_grader.course import REPO, ScratchCourse
from course_grader.grading.autograde import autograde
from course_grader.grading.sandbox import Limits
from course_grader.grading.single import render_text
from course_grader.grading.template import load_templates

from .adversarial import A, CASES, NB, submission_bytes

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.xdist_group("grading_dask")

MIX = ["correct", "partial", "blank", "invalid_json", "os_exit_late", "forged_results"]
SECRET = "5eed" * 8                    # one inputs secret for every run: comparable results
LIMITS = Limits(60, 300)
ALLOWED_FAILURES = 1                   # the test scheduler's: a task may lose 1 worker, not 2
# On the shared 2-core machine the cluster's event loops stalled for up to 46 s
# (its log); a TLS handshake needs the peer's loop, so Dask's 30 s connect
# timeout is raised for every process of these tests (one run lost 4 tasks at 30 s).
CONNECT_TIMEOUT = {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "120s"}
DASK = str(Path(sys.executable).parent / "dask")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tls_options(certs: Path, role: str) -> list[str]:
    return ["--tls-ca-file", str(certs / "ca.pem"), "--tls-cert", str(certs / f"{role}.pem"),
            "--tls-key", str(certs / f"{role}-key.pem")]


class Cluster:
    """`dask scheduler` + two `dask worker --nthreads 1` (each with its nanny,
    which restarts a killed worker), all on 127.0.0.1, TLS with the
    certificates of `course cluster-certs` (``self.certs``)."""

    def __init__(self, folder: Path):
        from course_grader.grading.cluster_tls import client_security

        self.certs = folder / "certs"
        assert course(["cluster-certs", str(self.certs)]) == 0
        self.security = client_security(self.certs)
        port, self.dashboard = free_port(), free_port()
        self.address = f"tls://127.0.0.1:{port}"
        env = {**os.environ, **CONNECT_TIMEOUT,
               "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(ALLOWED_FAILURES)}
        self.log = open(folder / "cluster.log", "wb")
        self.processes = [subprocess.Popen(
            [DASK, "scheduler", "--protocol", "tls", "--host", "127.0.0.1", "--port", str(port),
             "--dashboard-address", f"127.0.0.1:{self.dashboard}", *tls_options(self.certs, "scheduler")],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)]
        self.processes += [subprocess.Popen(
            [DASK, "worker", self.address, "--nthreads", "1", "--name", f"w{i}", "--no-dashboard",
             "--host", "127.0.0.1", "--local-directory", str(folder / f"w{i}"),
             *tls_options(self.certs, "worker")],
            stdout=self.log, stderr=subprocess.STDOUT, env=env) for i in (1, 2)]
        self.client = distributed.Client(self.address, timeout=90, security=self.security)
        self.client.wait_for_workers(2, timeout=180)

    def holder(self, student: str) -> str | None:
        """The worker that holds (runs or is about to run) ``student``'s task."""
        for address, keys in self.client.processing().items():
            if any(f"-{student}/" in str(k) for k in keys):
                return address
        return None

    def kill(self, address: str) -> int:
        pid = self.client.run(os.getpid, workers=[address])[address]
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_for_workers(self, n: int = 2) -> None:
        self.client.wait_for_workers(n, timeout=180)

    def close(self) -> None:
        self.client.close()
        for process in reversed(self.processes):      # workers first, then the scheduler
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": CONNECT_TIMEOUT[
            "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"]}):      # this process's clients
        running = Cluster(tmp_path_factory.mktemp("cluster"))
        yield running
        running.close()


def make_course(root: Path, students: dict[str, str]) -> Path:
    """``students``: name -> the adversarial case its submission is."""
    ScratchCourse.create(root)
    for student, case in students.items():
        folder = root / "submitted" / student / A
        folder.mkdir(parents=True)
        (folder / NB).write_bytes(submission_bytes(CASES[case][0], root))
    return root


def comparable(record: dict):
    """What must not depend on where a submission ran: scores, errors, events."""
    return (record["score"], [(n["notebook"], n["failure"], n["events"],
                               [(c["grade_id"], c["score"], c["ran"], c["errors"]) for c in n["scores"]])
                              for n in record["notebooks"]])


def records(root: Path) -> dict[str, dict]:
    return {p.parts[-3]: json.loads(p.read_text())
            for p in (root / "autograded").glob(f"*/{A}/grading-record.json")}


def logged(root: Path) -> list[str]:
    """Every student recorded by every run, from the runs' logs (one line each)."""
    return [json.loads(line)["student"] for log in sorted((root / "grading_logs" / A).glob("*.log"))
            for line in log.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The mix graded by the local executor (--jobs 2): what the cluster must match."""
    root = make_course(tmp_path_factory.mktemp("local") / "course", {s: s for s in MIX})
    graded, _ = autograde(root, A, jobs=2, limits=LIMITS, inputs_secret=SECRET, log=lambda _: None)
    assert {r["student"]: r["score"] for r in graded} == {s: CASES[s][1] for s in MIX}
    return {r["student"]: comparable(r) for r in graded}


def grade_in_thread(root: Path, cluster: Cluster) -> tuple[threading.Thread, dict]:
    from course_grader.grading.executors import DaskExecutor

    out: dict = {}

    def run():
        executor = DaskExecutor(cluster.address, security=cluster.security)
        try:
            out["records"], _ = autograde(root, A, executor=executor, limits=LIMITS,
                                          inputs_secret=SECRET, log=print)   # shown if it fails
        except BaseException as error:     # noqa: BLE001 (reported by the test)
            out["error"] = error
        finally:
            executor.close()
    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def wait_until(condition, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_cluster_gives_the_local_scores_and_records(cluster, local, tmp_path, capsys):
    from course_grader.grading.executors import DaskExecutor

    root = make_course(tmp_path / "course", {s: s for s in MIX})
    executor = DaskExecutor(cluster.address, security=cluster.security)
    try:
        assert executor.slots == 4 and executor.dashboard_link.endswith(f":{cluster.dashboard}/status")
        graded, _ = autograde(root, A, executor=executor, limits=LIMITS, inputs_secret=SECRET,
                              log=print, progress=True)   # each NOT graded line shown if it fails
    finally:
        executor.close()
    assert {r["student"]: comparable(r) for r in graded} == local
    workers = {r["student"]: r["notebooks"][0]["worker"] for r in graded}
    assert workers.pop("invalid_json") == ""           # refused before any sandbox
    assert all(w and w != "local" for w in workers.values()), workers
    assert {r["notebooks"][0]["defences"].get("isolation") for r in graded if r["student"] != "invalid_json"} \
        == {"bubblewrap as root" if os.geteuid() == 0 else "bubblewrap in a user namespace"}
    course_ = ScratchCourse(root)
    assert {s: course_.scores(A, s)[A].auto_score for s in MIX} == {s: CASES[s][1] for s in MIX}
    bar = capsys.readouterr().err
    assert f"{len(MIX)}/{len(MIX)}" in bar and "running" in bar and "failed 1" in bar


def test_a_worker_killed_while_it_holds_a_task_loses_nothing(cluster, local, tmp_path):
    root = make_course(tmp_path / "course", {s: s for s in MIX})
    cluster.wait_for_workers()
    thread, out = grade_in_thread(root, cluster)
    # a sandboxed submission that has been running for a moment
    victim = wait_until(lambda: next((s for s in MIX if s != "invalid_json" and cluster.holder(s)), None),
                        240, "a task on a worker")
    time.sleep(2)
    address = cluster.holder(victim)
    assert address, f"{victim} finished before its worker could be killed"
    pid = cluster.kill(address)
    thread.join(timeout=600)
    assert not thread.is_alive() and "error" not in out, out.get("error")
    assert sorted(logged(root)) == sorted(MIX)           # each recorded once
    assert {r["student"]: comparable(r) for r in out["records"]} == local
    again = records(root)[victim]["notebooks"][0]["worker"]
    assert again and not again.endswith(f":{pid}")       # graded by another worker


def test_a_submission_that_keeps_killing_workers_is_recorded_as_failed(cluster, tmp_path):
    root = make_course(tmp_path / "course", {"killer": "correct", "bystander": "correct"})
    cluster.wait_for_workers()
    thread, out = grade_in_thread(root, cluster)
    killed = []
    while thread.is_alive() and len(killed) < ALLOWED_FAILURES + 1:
        address = cluster.holder("killer")
        if address:
            killed.append(cluster.kill(address))
            wait_until(lambda a=address: cluster.holder("killer") != a or not thread.is_alive(), 120,
                       "the task to leave its dead worker")
        time.sleep(0.2)
    thread.join(timeout=600)
    assert not thread.is_alive() and "error" not in out, out.get("error")
    assert len(killed) == ALLOWED_FAILURES + 1
    got = records(root)
    assert got["bystander"]["score"] == 3
    notebook = got["killer"]["notebooks"][0]
    assert got["killer"]["score"] == 0 and notebook["failure"].startswith(f"killed {ALLOWED_FAILURES + 1} workers")
    assert sorted(logged(root)) == ["bystander", "killer"]


def test_interrupted_then_run_again_grades_each_submission_once(cluster, tmp_path, capsys):
    # Eight, so that the run cannot end between the first record and the Ctrl-C.
    students = {"c1": "correct", "c2": "correct", "c3": "correct", "c4": "correct",
                "p1": "partial", "p2": "partial", "b1": "blank", "b2": "blank"}
    root = make_course(tmp_path / "course", students)
    cluster.wait_for_workers()
    command = ["autograde", A, "--course", str(root), "--scheduler", cluster.address,
               "--tls-dir", str(cluster.certs), "--cell-timeout", "60", "--notebook-limit", "300"]
    with open(tmp_path / "first.out", "wb") as output:
        # SIGINT at its default, as in a terminal: a suite started in the background
        # (`./test.sh &`) inherits it ignored, and then only a Ctrl-C that happened
        # to land while a record was being written stopped the run (CI, stops 18, 19).
        parent = subprocess.Popen([sys.executable, "-m", "course_grader.cli", *command],
                                  stdout=output, stderr=subprocess.STDOUT, cwd=REPO,
                                  env={**os.environ, **CONNECT_TIMEOUT, "PYTHONUNBUFFERED": "1"},
                                  preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        wait_until(lambda: records(root), 300, "the first record")
        os.kill(parent.pid, signal.SIGINT)                 # Ctrl-C
        assert parent.wait(timeout=180) == 130
    first = (tmp_path / "first.out").read_text()
    assert "interrupted" in first and f"Dask dashboard: http://127.0.0.1:{cluster.dashboard}/status" in first
    done = records(root)
    assert 1 <= len(done) < len(students), first
    course_ = ScratchCourse(root)
    for student, record in done.items():                     # each record whole, in the gradebook
        assert course_.scores(A, student)[A].auto_score == record["score"] == CASES[students[student]][1]
    assert course(command) == 0
    assert f"skipped {len(done)} students already graded" in capsys.readouterr().out
    assert sorted(logged(root)) == sorted(students)          # nothing twice, nothing missing
    assert {s: r["score"] for s, r in records(root).items()} == {s: CASES[c][1] for s, c in students.items()}
    assert {s: course_.scores(A, s)[A].auto_score for s in students} == \
        {s: CASES[c][1] for s, c in students.items()}
    # A new submission is graded again; the others stay as they are.
    (root / "submitted" / "b1" / A / NB).write_bytes(submission_bytes(CASES["correct"][0], root))
    assert course(command) == 0
    assert f"skipped {len(students) - 1} students" in capsys.readouterr().out
    assert records(root)["b1"]["score"] == 3 and logged(root).count("b1") == 2



def test_ctrl_c_waits_until_a_record_is_written_whole():
    """What the parent writes per student is not cut by Ctrl-C: SIGINT is held
    until the block ends, then raised."""
    from course_grader.grading.autograde import uninterrupted

    written, before = [], signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        with uninterrupted():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
            written.append("the whole record")
    assert written == ["the whole record"]
    assert signal.getsignal(signal.SIGINT) is before

# ---- course grade: one notebook, no course folder ------------------------------------------
HIDDEN = load_templates(REPO, A)[0].hidden_lines


def assert_no_hidden_text(text: str) -> None:
    assert "BEGIN HIDDEN TESTS" not in text
    assert not [line for line in HIDDEN if line in text]


@pytest.mark.parametrize("case, expected", [("correct", 3), ("partial", 1), ("forged_results", 0)])
def test_course_grade_one_notebook(case, expected, tmp_path, capsys):
    path = tmp_path / f"{case}.ipynb"
    path.write_bytes(submission_bytes(CASES[case][0], tmp_path))
    assert course(["grade", A, str(path), "--json", "--cell-timeout", "60", "--notebook-limit", "300"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)
    assert (report["score"], report["max_score"]) == (expected, 3)
    auto = [e for e in report["exercises"] if not e["written"]]
    assert sum(e["score"] for e in auto) == expected
    assert [e["status"] for e in report["exercises"] if e["written"]] == ["not answered"]
    text = render_text(report)
    assert f"{expected:g} / 3 autograded points" in text
    if expected < 3:      # the failing checks are named and say what is wrong, in words
        messages = " ".join(m for e in auto for c in e["checks"] for m in c["messages"])
        assert "check confusion_matrix_edge_" in messages and "confusion_matrix_edge_" in text
    assert_no_hidden_text(out)
    assert_no_hidden_text(text)


def test_course_grade_refuses_what_it_cannot_grade(tmp_path, capsys):
    assert course(["grade", A, str(tmp_path / "missing.ipynb")]) == 2
    empty = tmp_path / "empty.ipynb"
    empty.write_bytes(b"")
    assert course(["grade", A, str(empty)]) == 1       # no sandbox: refused by the parent
    assert "NOT graded: the notebook file is empty" in capsys.readouterr().out
