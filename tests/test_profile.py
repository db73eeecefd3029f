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
