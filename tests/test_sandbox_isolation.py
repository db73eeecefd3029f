"""The sandbox's wall (issue 16): what crosses it, what survives it, and that
results taken out of one grading run are worth nothing in another."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest

from course_grader.cli import main as course
from course_grader.course import ScratchCourse
from course_grader.grading import frames, sandbox, sandbox_exec
from course_grader.grading.template import load_templates
from course_grader.grading.verdicts import inputs_files

from .adversarial import A, NB, REPLAYER, STASHER, answered, submission_bytes

pytestmark = pytest.mark.xdist_group("sandbox_isolation")
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0,
                               reason="the full sandbox needs root (and bubblewrap: installed by setup.sh)")


def test_frames_round_trip_and_refuse_lies():
    items = {"executed.ipynb": b"{}", "verdict/a.out.npz": b"\x00" * 10}
    assert frames.unpack(frames.pack(items)) == items
    for bad in [b"", b"not json\n", b'[["a", 5]]\nabc', b'[["../../etc", 0]]\n',
                b'[["a", -1]]\n', b'[["a", 1.5]]\nx', b'{"a": 1}\n']:
        with pytest.raises(frames.FrameError):
            frames.unpack(bad)


def test_results_read_back_refuse_links_and_directories(tmp_path):
    (tmp_path / "real").write_bytes(b"ok")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    assert sandbox_exec.read_back(str(tmp_path / "real")) == b"ok"
    for name in ("link", "folder", "fifo", "missing"):
        assert sandbox_exec.read_back(str(tmp_path / name)) is None


def test_parent_refuses_garbage_from_the_sandbox():
    for data in [b"", b"x" * 100, frames.pack({"status.json": b"{}"}),
                 frames.pack({"executed.ipynb": b"not a notebook"})]:
        notebook, status, files = sandbox._results(data)
        assert notebook is None and status["reason"] and files == {}


def test_inputs_depend_on_the_run_secret():
    root = Path(__file__).resolve().parents[1]
    checks = [c for cell in load_templates(root, A)[0].hidden.values() for c in cell.checks]
    assert inputs_files(checks, "run-1") == inputs_files(checks, "run-1")   # a regrade is identical
    assert inputs_files(checks, "run-1") != inputs_files(checks, "run-2")
    assert inputs_files(checks) != inputs_files(checks, "run-1")           # not the notebook's own


@ROOT_ONLY
def test_sandbox_runs_as_a_fresh_user_with_nothing_of_the_host():
    Path("/tmp/course-test-host-marker").write_text("host")
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, json\n"
        "print(json.dumps({'uid': os.getuid(), 'root': sorted(os.listdir('/')), 'tmp': os.listdir('/tmp'),\n"
        "                  'pids': sorted(p for p in os.listdir('/proc') if p.isdigit()),\n"
        "                  'repo': os.listdir(%r) if os.path.isdir(%r) else []}))"
        % ((str(Path(__file__).resolve().parents[1]),) * 2))])
    result = sandbox.run_sandboxed(probe, sandbox.Limits(cell_timeout=60, notebook_limit=120))
    seen = json.loads(result.notebook.cells[0].outputs[0]["text"])
    assert sandbox.UID_BASE <= seen["uid"] < sandbox.UID_BASE + sandbox.UID_SLOTS
    allowed = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "dev", "tmp",
               "var", "grading", "opt"}                     # Python at /opt (test_grader_round_two)
    assert set(seen["root"]) <= allowed
    assert seen["repo"] == []                                  # the checkout is not there at all
    assert "course-test-host-marker" not in seen["tmp"]      # the host's /tmp is not this one
    assert len(seen["pids"]) <= 6          # bwrap, its child, sandbox_exec, the kernel
    assert result.defences.unique_user and result.defences.cgroup


@ROOT_ONLY
def test_nothing_survives_a_sandbox_and_a_replay_scores_nothing(tmp_path):
    """Run 1 stashes its results in /tmp, /var/tmp, /dev/shm and a SysV segment;
    run 2 (no answer) looks for them. Private tmpfs and IPC namespace leave
    nothing behind; the per-run secret would make the stash worthless anyway."""
    root = tmp_path / "course"
    ScratchCourse.create(root)
    for student, case in [("stasher", STASHER), ("replayer", REPLAYER)]:
        folder = tmp_path / "inbox" / student / A
        folder.mkdir(parents=True)
        (folder / NB).write_bytes(submission_bytes(case, root))
    assert course(["collect", A, str(tmp_path / "inbox"), "--course", str(root)]) == 0
    secrets = []
    for student in ("stasher", "replayer"):
        assert course(["autograde", A, "--course", str(root), "--student", student,
                       "--cell-timeout", "30", "--notebook-limit", "90"]) == 0
        record = json.loads((root / "autograded" / student / A / "grading-record.json").read_text())
        secrets.append(record["inputs_secret"])
        if student == "stasher":
            assert record["score"] == 3
            for folder in ("/tmp", "/var/tmp", "/dev/shm"):
                assert not Path(folder, "stash-course-test").exists()
            ipcs = subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout
            assert "0x00005eed" not in ipcs
    assert record["score"] == 0
    executed = nbformat.read(root / "autograded" / "replayer" / A / NB, as_version=4)
    assert "stash files: 0 shm id -1" in json.dumps([c.get("outputs") for c in executed.cells])
    assert secrets[0] != secrets[1]


@ROOT_ONLY
def test_regrade_with_the_recorded_secret_is_identical(tmp_path):
    root = tmp_path / "course"
    ScratchCourse.create(root)
    (tmp_path / "inbox" / "alice" / A).mkdir(parents=True)
    nbformat.write(answered(), tmp_path / "inbox" / "alice" / A / NB)
    assert course(["collect", A, str(tmp_path / "inbox"), "--course", str(root)]) == 0
    path = root / "autograded" / "alice" / A / "grading-record.json"
    assert course(["autograde", A, "--course", str(root)]) == 0
    first = json.loads(path.read_text())
    assert course(["autograde", A, "--course", str(root), "--inputs-secret", first["inputs_secret"]]) == 0
    second = json.loads(path.read_text())
    assert second["inputs_secret"] == first["inputs_secret"] and second["score"] == first["score"] == 3


STALL_EXPERIMENT = """
import threading, time, numpy as np
from course_grader.grading.sandbox import spawn
done, stop = [0], threading.Event()
def judge():
    a = np.random.default_rng(0).normal(size=(400, 400))
    while not stop.is_set():
        a @ a
        done[0] += 1
thread = threading.Thread(target=judge)
thread.start()
started, end = 0, time.monotonic() + 5
while time.monotonic() < end:
    spawn(["true"], "/", {}).communicate()
    started += 1
stop.set()
thread.join()
print(started, done[0])
"""


def test_starting_sandboxes_does_not_stall_a_judge_in_another_thread():
    """A judge's matmuls (OpenBLAS, several threads) go on while another thread
    starts sandboxes. With ``preexec_fn`` (fork + OpenBLAS's fork handler) this
    experiment hangs for good, as ``--jobs 2`` did on notebook 02."""
    import sys
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}
    run = subprocess.run([sys.executable, "-c", STALL_EXPERIMENT], capture_output=True, text=True,
                         timeout=120, env=env)
    started, matmuls = map(int, run.stdout.split())
    assert started > 10 and matmuls > 10, run.stdout


def test_a_flooding_cell_is_cut_while_it_runs(tmp_path):
    """200 MiB printed by one cell (and fd 2, the stderr_flood case, the same
    way through ipykernel): outputs are bounded as they arrive, not when the cell
    ends, so a flood never fills the sandbox's memory (it did under load)."""
    from course_grader.grading.limits import MAX_OUTPUT_CHARS, MAX_OUTPUTS_PER_CELL
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, sys\nfor i in range(200):\n    print('p' * 2**20, flush=True)\n"
        "    os.write(2, b'e' * 2**20) if i % 2 else None\n"
        "print('last line')")])
    (tmp_path / "home").mkdir()
    kernel = sandbox_exec.Kernel(str(tmp_path), dict(os.environ), str(tmp_path / "home"))
    status = sandbox_exec.run(nb, kernel, cell_timeout=120, notebook_limit=150, cwd=str(tmp_path))
    outputs = nb.cells[0].outputs
    assert status["truncated_outputs"] > 0 and status["stopped_at"] is None
    assert len(outputs) <= MAX_OUTPUTS_PER_CELL + 1
    assert sum(len(o.get("text", "")) for o in outputs) <= (MAX_OUTPUTS_PER_CELL + 1) * (MAX_OUTPUT_CHARS + 100)


@ROOT_ONLY
def test_a_cgroup_left_by_an_earlier_sandbox_of_the_slot_is_reclaimed():
    """A sandbox whose cgroup outlived it (its removal timed out under load)
    left a folder of the same name; the next sandbox of that uid slot then
    ran without any cgroup, silently (CI, stop 19)."""
    from course_grader.grading.cgroup import Cgroup

    first = Cgroup.create("sandbox-test-leftover", 2**30, 64)
    if first is None:
        pytest.skip("no cgroup controllers writable here")
    stale = list(first.folders)               # left behind, as a timed-out removal leaves it
    second = Cgroup.create("sandbox-test-leftover", 2**30, 64)
    try:
        assert second is not None and second.version == first.version
        assert [f.name for f in second.folders] == [f.name for f in stale]   # reclaimed, same names
        assert all((f / "cgroup.procs").exists() for f in second.folders)
    finally:
        if second is not None:
            second.remove()
    assert not any(f.exists() for f in stale)
