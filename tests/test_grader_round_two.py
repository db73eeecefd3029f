"""The grader under attack, round two (issue 26, items 4, 5, 8, 9, 10): the
grader's own state a local user could plant, grader failures never recorded
as grades, the kernel keyring as a channel between sandboxes, instructor
paths inside the sandbox, and a CPU hog beside an honest classmate."""
from __future__ import annotations

import ctypes
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from course_grader.cli import main as course
from course_grader.course import REPO, ScratchCourse
from course_grader.grading import autograde, sandbox
from course_grader.grading.gradebook import gradebook_grades

from .adversarial import (A, KEYRING_READ, KEYRING_STASH, KILL_RUNNER, NB, PLANTED_FILES, PLANTED_UID,
                          WHERE_AM_I, answered, cpu_window, with_cell)

pytestmark = pytest.mark.xdist_group("sandbox_isolation")
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0 or sandbox.isolation() != "root",
                               reason="the full sandbox needs root and bubblewrap (setup.sh)")
LIMITS = sandbox.Limits(cell_timeout=60, notebook_limit=150)


def code_notebook(*sources: str):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def printed(result) -> str:
    return "".join(o.get("text", "") for cell in result.notebook.cells for o in cell.get("outputs", []))


def plant_directory(path: Path) -> None:
    """What the local user of item 4 did: the state directory first, theirs, full of files."""
    path.mkdir(mode=0o777)
    for slot in range(PLANTED_FILES):
        (path / f"uid-{slot}").touch()
        os.chown(path / f"uid-{slot}", PLANTED_UID, PLANTED_UID)
    os.chown(path, PLANTED_UID, PLANTED_UID)
    path.chmod(0o777)


REAL_STATE_DIR = sandbox.STATE_DIR


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    """A state directory of the test's own to plant. (Sandboxes that run use
    the real one: leases are shared with every grader process running here.)"""
    path = tmp_path / "course-grader"
    monkeypatch.setattr(sandbox, "STATE_DIR", path)
    return path


# Items 4 and 5: the grader's state -------------------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason="planting as another uid needs root")
def test_the_state_directory_is_the_graders_or_refused(state_dir, tmp_path):
    os.close(sandbox.open_state_dir())                  # missing: made, root's, 0700
    info = state_dir.stat()
    assert (info.st_uid, info.st_mode & 0o777) == (os.geteuid(), 0o700)
    state_dir.rmdir()
    plants = {"owned by uid 12345": lambda: plant_directory(state_dir),
              "not a directory": lambda: state_dir.write_text("stray"),
              "a link": lambda: state_dir.symlink_to(tmp_path),
              "mode 0777": lambda: (state_dir.mkdir(), state_dir.chmod(0o777))}
    for said, plant in plants.items():
        plant()
        with pytest.raises(sandbox.GraderFailure, match=said) as refused:
            with sandbox.UidLease():
                pass
        assert f"rm -r {state_dir}" in str(refused.value)        # says what to do
        if state_dir.is_dir() and not state_dir.is_symlink():
            for file in state_dir.iterdir():
                file.unlink()
            state_dir.rmdir()
        else:
            state_dir.unlink()


def test_the_state_directory_can_be_named_where_run_is_not_writable(tmp_path):
    import subprocess
    where = subprocess.run(
        [sys.executable, "-c", "from course_grader.grading import sandbox; print(sandbox.STATE_DIR)"],
        env={**os.environ, "COURSE_GRADER_STATE": str(tmp_path / "state")}, capture_output=True, text=True)
    assert where.stdout.strip() == str(tmp_path / "state"), where.stderr
    assert REAL_STATE_DIR == Path("/run/course-grader") or "COURSE_GRADER_STATE" in os.environ


def two_honest_students(tmp_path) -> Path:
    root = tmp_path / "course"
    ScratchCourse.create(root)
    for student in ("alice", "bob"):
        (tmp_path / "inbox" / student / A).mkdir(parents=True)
        nbformat.write(answered(), tmp_path / "inbox" / student / A / NB)
    assert course(["collect", A, str(tmp_path / "inbox"), "--course", str(root)]) == 0
    return root


def recorded(root: Path) -> dict:
    return {s: json.loads((root / "autograded" / s / A / autograde.RECORD).read_text())["score"]
            for s in ("alice", "bob") if (root / "autograded" / s / A / autograde.RECORD).exists()}


GRADE = ["--cell-timeout", "60", "--notebook-limit", "150", "--jobs", "2"]


@ROOT_ONLY
def test_a_planted_state_directory_stops_the_run_loudly_and_records_no_zeros(state_dir, tmp_path, capsys,
                                                                             monkeypatch):
    """Item 4: a local user's lease folder (their uid, 4096 files) zeroed three
    of four honest students. Now the run refuses before any sandbox, says
    why and what to do, and records nothing; once it is removed, full marks."""
    root = two_honest_students(tmp_path)
    plant_directory(state_dir)
    assert course(["autograde", A, "--course", str(root), *GRADE]) == 2
    out = capsys.readouterr().out
    assert "REFUSED" in out and f"is owned by uid {PLANTED_UID}" in out
    assert recorded(root) == {} and gradebook_grades(root, A) == {}
    shutil.rmtree(state_dir)
    monkeypatch.setattr(sandbox, "STATE_DIR", REAL_STATE_DIR)     # the instructor removed it
    assert course(["autograde", A, "--course", str(root), *GRADE]) == 0
    assert recorded(root) == {"alice": 3, "bob": 3}


@ROOT_ONLY
def test_a_sandbox_the_grader_could_not_start_is_not_a_grade_and_a_rerun_grades_it(
        tmp_path, capsys, monkeypatch):
    """Item 5: every sandbox failed (there: a file at the lease path), the
    honest students were recorded 0/3, and the re-run skipped them as graded.
    Here bubblewrap cannot start (a bind source gone): nothing recorded, no
    gradebook row, exit 1; the plain re-run grades both and says so."""
    root = two_honest_students(tmp_path)
    working = sandbox.bwrap_args
    monkeypatch.setattr(sandbox, "bwrap_args", lambda *a: working(*a) + ["--ro-bind", "/nonexistent-h26s", "/x"])
    assert course(["autograde", A, "--course", str(root), *GRADE]) == 1
    out = capsys.readouterr().out
    assert "NOT graded alice (the grader failed, nothing recorded): the sandbox did not start" in out
    assert "/nonexistent-h26s" in out                     # bwrap's own words
    assert recorded(root) == {} and gradebook_grades(root, A) == {}
    monkeypatch.setattr(sandbox, "bwrap_args", working)
    assert course(["autograde", A, "--course", str(root), *GRADE]) == 0
    out = capsys.readouterr().out
    assert "grading alice again: the grader failed it on" in out and "skipped" not in out
    assert recorded(root) == {"alice": 3, "bob": 3}
    assert not list((root / "autograded").glob(f"*/{A}/{autograde.NOT_GRADED}"))


@ROOT_ONLY
def test_a_kernel_that_kills_its_runner_is_the_students_doing():
    """The other side of item 5: once the submission runs, a lost notebook is
    its own doing (a dead runner, a crash, a time limit): recorded, not retried."""
    result = sandbox.run_sandboxed(with_cell(KILL_RUNNER), LIMITS)
    assert result.notebook is None and "no executed notebook" in result.status["reason"]


# Item 8: the kernel keyring --------------------------------------------------------------------

@ROOT_ONLY
def test_nothing_written_to_a_keyring_is_readable_by_the_next_sandbox():
    """A key added in one sandbox (to the session keyring every sandbox
    inherited from the grader, or to its uid's) was read by a later sandbox.
    The seccomp filter fails every keyring call: nothing is added, nothing found.
    (Without the filter: "keys found: 2 b'stashed results'".)"""
    # The grader gets a session keyring as a login (pam_keyinit) gives one; every sandbox inherits it.
    assert ctypes.CDLL(None).syscall(250, 1, None) > 0          # KEYCTL_JOIN_SESSION_KEYRING
    first = printed(sandbox.run_sandboxed(code_notebook(KEYRING_STASH), LIMITS))
    second = printed(sandbox.run_sandboxed(code_notebook(KEYRING_READ), LIMITS))
    assert first.count("Operation not permitted") == 2, first
    assert "keys found: 0 b''" in second, second
    assert "course-test-stash" not in Path("/proc/keys").read_text()


# Item 9: no instructor path --------------------------------------------------------------------

@ROOT_ONLY
def test_no_instructor_path_shows_inside_the_sandbox():
    """sys.executable, sys.path, the package and the environment's paths were
    /root/.pyenv/... and the checkout's; now /opt/python, /opt/venv, /opt/course."""
    text = printed(sandbox.run_sandboxed(code_notebook(WHERE_AM_I), LIMITS))
    seen = json.loads(text.split("WHERE ", 1)[1])
    host = [str(REPO), str(Path(sys.base_prefix).resolve()), sys.prefix, str(Path.home())]
    assert not [h for h in host if h in json.dumps(seen)], seen
    assert seen["executable"] == "/opt/venv/bin/python" or seen["executable"].startswith("/opt/python/")
    assert seen["course_utils"] == "/opt/course/course_utils/__init__.py"
    assert all(p == "" or p.startswith(("/opt/", "/usr/")) for p in seen["path"]), seen["path"]


# Item 10: CPU ----------------------------------------------------------------------------------

HOG_PROCESSES, WINDOW = 50, 8.0


@ROOT_ONLY
def test_a_cpu_hog_beside_leaves_an_honest_classmate_its_share():
    """50 busy processes in one sandbox, one busy honest process in another,
    both in the same time window: each sandbox is one equal share, so the hog
    gets no more than a few times the classmate's CPU (without the cgroup's
    CPU share: about 50 times, and the classmate's cells ran past their limits)."""
    start = time.time() + 40            # both kernels are up by then, even on a loaded machine
    results = {}

    def run(name, processes):
        results[name] = sandbox.run_sandboxed(code_notebook(cpu_window(start, WINDOW, processes)), LIMITS)

    threads = [threading.Thread(target=run, args=a) for a in (("hog", HOG_PROCESSES), ("honest", 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seen = {name: printed(result).split() for name, result in results.items()}
    assert all(words[-1] == "ready" for words in seen.values()), f"a kernel started late: {seen}"
    hog, honest = (float(seen[name][1]) for name in ("hog", "honest"))
    print(f"CPU seconds in the {WINDOW:g} s window: hog {hog:.2f} ({HOG_PROCESSES} processes), honest {honest:.2f}")
    assert honest > 0 and hog < 4 * honest, f"the hog got {hog:.2f} CPU seconds, its classmate {honest:.2f}"
    assert any(line.startswith("CPU: an equal share") for line in results["hog"].defences.limits)
