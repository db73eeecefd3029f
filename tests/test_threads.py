import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info

from course_utils import threads
from course_utils.threads import (available_cpus, cgroup_cpu_quota, configure_threads,
                                  default_threads, parse_cfs, parse_cpu_max)


def blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


@pytest.fixture
def clean_env(monkeypatch):
    """No thread settings inherited from the shell; restore the limits after."""
    for name in (threads.ENV_VAR, *threads.LIBRARY_VARS, "JUPYTERHUB_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(threads, "_written", {})
    before, torch_before = blas_threads(), torch.get_num_threads()
    yield monkeypatch
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=max(before), user_api="blas")
    torch.set_num_threads(torch_before)


def fake_cgroup(tmp_path, files: dict[str, str], own: str = "0::/"):
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    proc = tmp_path / "proc_self_cgroup"
    proc.write_text(own + "\n")
    return root, proc


def test_parse_quota_files():
    assert parse_cpu_max("max 100000\n") is None
    assert parse_cpu_max("150000 100000\n") == 1.5
    assert parse_cfs("-1\n", "100000\n") is None
    assert parse_cfs("300000", "100000") == 3.0


def test_cgroup_v2_quota_of_the_container_and_of_the_own_cgroup(tmp_path):
    root, proc = fake_cgroup(tmp_path, {"cpu.max": "max 100000",
                                        "kubepods/pod1/cpu.max": "250000 100000"},
                             own="0::/kubepods/pod1")
    assert cgroup_cpu_quota(root, proc) == 2.5
    root, proc = fake_cgroup(tmp_path, {"cpu.max": "max 100000"})
    assert cgroup_cpu_quota(root, proc) is None


def test_cgroup_v1_quota(tmp_path):
    root, proc = fake_cgroup(tmp_path, {"cpu,cpuacct/cpu.cfs_quota_us": "100000",
                                        "cpu,cpuacct/cpu.cfs_period_us": "100000"},
                             own="4:cpu,cpuacct:/")
    assert cgroup_cpu_quota(root, proc) == 1.0


def test_available_cpus_is_the_affinity_cut_to_the_quota(tmp_path, monkeypatch):
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: set(range(16)))
    root, proc = fake_cgroup(tmp_path, {"cpu.max": "150000 100000"})
    assert available_cpus(root, proc) == 1  # 1.5 CPUs: one thread runs unthrottled
    root, proc = fake_cgroup(tmp_path, {"cpu.max": "max 100000"})
    assert available_cpus(root, proc) == 16
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {3})
    assert available_cpus(root, proc) == 1


def test_default_rule():
    assert [default_threads(n, shared=False, has_quota=False) for n in (1, 2, 3, 4, 16)] == \
        [1, 1, 1, 2, 2]
    assert default_threads(16, shared=True, has_quota=False) == 1  # a hub: every kernel on these cores
    assert default_threads(4, shared=True, has_quota=True) == 2    # a hub that gives each user a quota


def test_configure_threads_changes_blas_and_torch(clean_env):
    np.ones(1)  # numpy's OpenBLAS is loaded
    choice = configure_threads(2)
    assert (choice.threads, choice.source, choice.blas, choice.torch) == (2, "argument", 2, 2)
    assert blas_threads() == {2} and torch.get_num_threads() == 2
    choice = configure_threads(1)
    assert blas_threads() == {1} and torch.get_num_threads() == 1
    assert threads.os.environ["OPENBLAS_NUM_THREADS"] == "1"  # for libraries loaded later


def test_course_threads_overrides_the_default_and_the_argument_wins(clean_env):
    clean_env.setenv("COURSE_THREADS", "2")
    choice = configure_threads()
    assert (choice.threads, choice.source) == (2, "COURSE_THREADS") and blas_threads() == {2}
    assert "from COURSE_THREADS" in choice.summary()
    assert configure_threads(1).threads == 1


def test_an_inherited_thread_count_is_kept_and_ours_is_not_mistaken_for_one(clean_env):
    clean_env.setenv("OMP_NUM_THREADS", "1")  # as the grader's sandbox sets it
    assert configure_threads().source == "OMP_NUM_THREADS"
    clean_env.delenv("OMP_NUM_THREADS")
    clean_env.delenv("OPENBLAS_NUM_THREADS")
    configure_threads()  # writes the library variables itself
    assert configure_threads().source == "default"


def test_default_choice_and_summary(clean_env):
    clean_env.setattr(threads, "available_cpus", lambda *a: 2)
    clean_env.setattr(threads, "cgroup_cpu_quota", lambda *a: None)
    choice = configure_threads()
    assert (choice.threads, choice.source, choice.available) == (1, "default", 2)
    assert choice.summary() == "threads: 1 BLAS / 1 torch of 2 CPUs (set COURSE_THREADS=N to change)"


@pytest.mark.parametrize("bad", ["0", "two", "-1"])
def test_a_bad_override_says_what_is_expected(clean_env, bad):
    clean_env.setenv("COURSE_THREADS", bad)
    with pytest.raises(ValueError, match=r"COURSE_THREADS=.*whole number of threads"):
        configure_threads()


def test_setup_notebook_prints_one_line(clean_env, capsys):
    from course_utils import setup_notebook

    clean_env.setenv("COURSE_PROFILE", "grading")
    clean_env.setenv("COURSE_THREADS", "1")
    result = setup_notebook(minutes=7.6)
    line = capsys.readouterr().out
    # None: a first cell ending with this call shows no "Out[1]: ThreadChoice(...)" under the line
    assert line.count("\n") == 1 and result is None
    assert line.startswith("profile: grading (set by COURSE_PROFILE) · data: the shipped")
    assert "threads: 1 BLAS / 1 torch" in line and line.endswith("about 8 minutes on a 2-core CPU\n")


def test_setup_notebook_says_how_long_on_a_busy_machine_too(clean_env, capsys):
    from course_utils import setup_notebook

    clean_env.setenv("COURSE_THREADS", "1")
    setup_notebook(minutes=8.6, busy_minutes=13.2)
    assert capsys.readouterr().out.endswith(
        "about 9 minutes on a 2-core CPU (13 minutes when another program keeps it busy)\n")
    setup_notebook(minutes=1.22, busy_minutes=1.24)   # the same when rounded: said once
    assert capsys.readouterr().out.endswith("about 1.2 minutes on a 2-core CPU\n")


@pytest.mark.parametrize("minutes, said", [
    (0.4, "1 minute or less"), (1.0, "1 minute"), (1.45, "1.4 minutes"), (1.5, "1.5 minutes"),
    (1.97, "2 minutes"), (2.5, "3 minutes"), (9.0, "9 minutes")])
def test_stated_minutes_are_honest(minutes, said):
    """Notebook 05 said "about 1 minute" for a run of 1.4-1.5 minutes: one
    decimal under 2 minutes, whole minutes (half up) from there on."""
    from course_utils.environment import _minutes

    assert _minutes(minutes) == said
