import pytest

from course_utils import choose, current_profile


def test_default_is_full(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    assert current_profile().name == "full" and current_profile().dataset == "full"
    assert choose(grading=1, full=2) == 2


def test_grading_profile_is_read_at_call_time(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "Grading ")
    assert current_profile().dataset == "subset"
    assert choose(grading=1, full=2) == 1


def test_unknown_profile_says_what_is_accepted(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    with pytest.raises(ValueError, match=r"'fast'.*\['full', 'grading'\]"):
        current_profile()


# ------------------------------------------------ who gets which profile

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from course_grader.course import REPO, ScratchCourse
from course_grader.execute import tool_env

PROBE = "profile_probe"


def test_loading_nbgrader_config_leaves_the_environment_alone():
    """JupyterLab's nbgrader extension loads ./nbgrader_config.py into the
    server; a COURSE_PROFILE set there reached every student kernel."""
    code = ("import json, os; from traitlets.config.loader import PyFileConfigLoader; "
            f"PyFileConfigLoader('nbgrader_config.py', path={str(REPO)!r}).load_config(); "
            "print(json.dumps(os.environ.get('COURSE_PROFILE')))")
    env = {k: v for k, v in os.environ.items() if k != "COURSE_PROFILE"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout) is None


def _probe_course(root: Path) -> ScratchCourse:
    """A course with one notebook whose graded cell asserts the grading profile."""
    source = root / "source"
    (source / "solutions" / PROBE).mkdir(parents=True)
    (source / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text())
    meta = {"grade": True, "grade_id": "profile_is_grading", "locked": True, "points": 1,
            "schema_version": 3, "solution": False, "task": False}
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os\nprint('profile:', os.environ.get('COURSE_PROFILE'))\n"
                                  "assert os.environ.get('COURSE_PROFILE') == 'grading'",
                                  metadata={"nbgrader": meta})])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, source / "solutions" / PROBE / f"{PROBE}.ipynb")
    return ScratchCourse.create(root / "course", source=source)


def test_nbgrader_kernels_get_grading_whatever_the_caller_says(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "full")  # a student's (or instructor's) shell
    assert tool_env()["COURSE_PROFILE"] == "grading"
    course = _probe_course(tmp_path)
    released = course.generate(PROBE)
    course.submit("via_course", PROBE, released)
    course.submit("by_hand", PROBE, released)

    course.autograde(PROBE, "via_course")  # what `course build` does
    # Plain `nbgrader autograde` with COURSE_PROFILE=full: nbgrader_config.py decides.
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", PROBE, "--student", "by_hand",
                    "--force"], cwd=course.root, check=True, capture_output=True,
                   env=dict(tool_env(), COURSE_PROFILE="full"))
    for student in ("via_course", "by_hand"):
        score = course.scores(PROBE, student)[PROBE]
        assert (score.auto_score, score.auto_max) == (1, 1), (student, score)
