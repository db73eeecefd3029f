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


class FakeKernel:
    def __init__(self, allow_stdin: bool):
        self._allow_stdin = allow_stdin


@pytest.mark.parametrize("profile", ["grading", "full"])
def test_a_front_end_decides_not_the_profile(monkeypatch, profile):
    """The grading profile once turned every explorer static, in JupyterLab too."""
    monkeypatch.delenv("COURSE_WIDGETS", raising=False)
    monkeypatch.setenv("COURSE_PROFILE", profile)
    monkeypatch.setattr(widgets, "_ipython_kernel", lambda: FakeKernel(allow_stdin=True))
    assert widgets.widgets_enabled() is True and widgets.widgets_off_reason() is None
    monkeypatch.setattr(widgets, "_ipython_kernel", lambda: FakeKernel(allow_stdin=False))
    assert widgets.widgets_enabled() is False
    assert "no front end attached" in widgets.widgets_off_reason()


def test_a_real_kernel_sees_whether_a_front_end_sent_the_cell():
    """What JupyterLab sends (input allowed) against what nbclient sends (no
    stdin), to a real ipykernel, in the grading profile."""
    import os

    from jupyter_client.manager import start_new_kernel

    env = {k: v for k, v in os.environ.items() if k != "COURSE_WIDGETS"}
    manager, client = start_new_kernel(kernel_name="python3", env={**env, "COURSE_PROFILE": "grading"})
    try:
        seen = {}
        for allow_stdin in (True, False):
            lines = []
            client.execute_interactive(
                "from course_utils.widgets import widgets_enabled; print(widgets_enabled())",
                allow_stdin=allow_stdin, timeout=60,
                output_hook=lambda msg: lines.append(msg["content"].get("text", "")))
            seen[allow_stdin] = "".join(lines).strip()
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert seen == {True: "True", False: "False"}


def test_setup_line_says_why_widgets_are_off(monkeypatch, capsys):
    from course_utils import setup_notebook

    monkeypatch.setenv("COURSE_THREADS", "1")
    monkeypatch.delenv("COURSE_WIDGETS", raising=False)
    monkeypatch.setattr(widgets, "_ipython_kernel", lambda: FakeKernel(allow_stdin=False))
    setup_notebook()
    assert capsys.readouterr().out.rstrip().endswith(
        "widgets off: no front end attached (a headless run), static figures instead; "
        "COURSE_WIDGETS=on forces them")
    monkeypatch.setenv("COURSE_WIDGETS", "off")
    setup_notebook()
    assert "widgets off: set by COURSE_WIDGETS=off" in capsys.readouterr().out
    monkeypatch.delenv("COURSE_WIDGETS")
    monkeypatch.setattr(widgets, "_ipython_kernel", lambda: FakeKernel(allow_stdin=True))
    setup_notebook()
    assert "widgets" not in capsys.readouterr().out     # live: nothing to explain


def _live_figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    ax.set_xlim(0, 10), ax.set_ylim(0, 10)
    line, = ax.plot([], [], "o-")
    live = widgets.LiveFigure(fig)
    live.animate([line, ax.title])
    return live, line, ax


def _pixels(live):
    return bytes(live.canvas.buffer_rgba())


def test_live_figure_blits_what_a_full_draw_draws():
    live, line, ax = _live_figure()
    first = live.refresh()
    assert first.startswith(b"\x89PNG")
    line.set_data([1, 5, 9], [2, 8, 3])
    ax.set_title("moved")
    blitted = live.refresh()
    assert blitted != first
    blit_pixels = _pixels(live)
    live.invalidate()
    live.refresh()  # everything drawn again
    assert _pixels(live) == blit_pixels


def test_live_figure_redraws_the_background_only_when_told(monkeypatch):
    live, line, _ = _live_figure()
    live.refresh()
    draws = []
    monkeypatch.setattr(live.canvas, "draw", lambda: draws.append(1))
    for x in range(5):
        line.set_data([x], [x])
        live.refresh()
    assert draws == []
    live.invalidate()
    live.refresh()
    assert draws == [1]


def test_live_figure_puts_the_png_into_its_image_widget():
    pytest.importorskip("ipywidgets")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1), dpi=50)
    image = widgets.image_widget(fig)
    assert image.layout.max_width == "100px" and image.layout.height == "auto"
    png = widgets.LiveFigure(fig, image).refresh()
    assert image.value == png


def test_log_axes_of_live_figures_label_decades_in_plain_text():
    """Mathtext tick labels cost up to 60 ms each to parse: a change that moved
    the init explorer's std axis to new decades spent 0.4 s on them."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from course_utils.widgets import decade_label, fast_log_axis

    assert [decade_label(v) for v in (1e-3, 1.0, 1e12, 1e-300)] == ["10⁻³", "10⁰", "10¹²", "10⁻³⁰⁰"]
    fig = Figure()
    ax = fig.subplots()
    ax.set_yscale("log")
    fast_log_axis(ax.yaxis)
    ax.set_ylim(1e-30, 1e10)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(label.startswith("10") and "$" not in label for label in labels)
    assert not [t.get_text() for t in ax.yaxis.get_minorticklabels() if t.get_text()]
