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
