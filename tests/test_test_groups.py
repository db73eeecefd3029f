"""The suite's expensive fixtures (a whole grading run, a notebook's catalogue execution) are
built once because their tests share an xdist group. pytest 9.2 with pytest-xdist 3.8 ignores
the groups silently (pytest-xdist#1386): CI built test_grading_pipeline's 10-minute grading run
twice. This runs two workers on a grouped module and counts the fixture's builds."""
import subprocess
import sys

GROUPED = '''
import os, pytest
pytestmark = pytest.mark.xdist_group("one")

@pytest.fixture(scope="module")
def built():
    with open("builds.txt", "a") as f:
        f.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")

@pytest.mark.parametrize("k", range(20))
def test_grouped(built, k):
    pass
'''
UNGROUPED = '''
import time, pytest

@pytest.mark.parametrize("k", range(20))
def test_other(k):
    time.sleep(0.02)
'''


def test_an_xdist_group_runs_on_one_worker(tmp_path):
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "test_other.py").write_text(UNGROUPED)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup",
                           "-p", "no:cacheprovider", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    builds = (tmp_path / "builds.txt").read_text().split()
    assert len(builds) == 1, f"the grouped module fixture was built on {builds}: xdist_group is ignored"
