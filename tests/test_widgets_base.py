import pytest

from course_utils import widgets


def test_env_var_overrides(monkeypatch):
    monkeypatch.setenv("COURSE_WIDGETS", "off")
    assert widgets.widgets_enabled() is False
    monkeypatch.setenv("COURSE_WIDGETS", "on")
    assert widgets.widgets_enabled() is True
    monkeypatch.setenv("COURSE_WIDGETS", "maybe")
    with pytest.raises(ValueError, match="expected 'on', 'off'"):
        widgets.widgets_enabled()


def test_outside_a_kernel_show_draws_the_static_figure(monkeypatch):
    monkeypatch.delenv("COURSE_WIDGETS", raising=False)
    assert widgets.widgets_enabled() is False  # pytest is not an IPython kernel
    shown = widgets.show(lambda: pytest.fail("no widget headless"), lambda: "static figure")
    assert shown == "static figure"
