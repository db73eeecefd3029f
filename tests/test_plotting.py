"""Unit tests for course_utils.plotting: training curves, static and live."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import pytest  # noqa: E402

from course_utils.plotting import LiveCurves, plot_training_curves  # noqa: E402


def test_training_curves_has_two_labelled_panels():
    history = {"train_loss": [2.0, 1.0, 0.5], "val_loss": [2.1, 1.2, 0.9],
               "train_acc": [0.3, 0.6, 0.8], "val_acc": [0.25, 0.55, 0.7]}
    fig = plot_training_curves(history, title="my run")
    loss_ax, acc_ax = fig.axes
    assert fig._suptitle.get_text() == "my run"
    for ax in (loss_ax, acc_ax):
        assert ax.get_xlabel() == "epoch" and ax.get_ylabel() and ax.get_title()
        assert [line.get_label() for line in ax.get_lines()] == ["training", "validation"]
    np.testing.assert_allclose(acc_ax.get_lines()[1].get_ydata(), [25, 55, 70])  # percent
    np.testing.assert_allclose(loss_ax.get_lines()[0].get_xdata(), [1, 2, 3])
    plt.close(fig)


def test_training_curves_skips_missing_keys():
    fig = plot_training_curves({"train_loss": [1.0, 0.8], "val_acc": []}, x_label="step")
    loss_ax, acc_ax = fig.axes
    assert len(loss_ax.get_lines()) == 1 and len(acc_ax.get_lines()) == 0
    assert loss_ax.get_xlabel() == "step"
    plt.close(fig)


def test_live_curves_redraw_after_every_epoch_and_hide_at_the_end():
    """Long training loops drew their curves only when they had finished."""
    pytest.importorskip("ipywidgets")
    fignums = plt.get_fignums()
    history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
    frames = []
    with LiveCurves("live run", live=True) as curves:
        image = curves.figure.image
        for epoch in range(3):
            for key, value in (("train_loss", 2.0 - epoch), ("val_loss", 2.1 - epoch),
                               ("train_acc", 0.3 + 0.2 * epoch), ("val_acc", 0.25 + 0.2 * epoch)):
                history[key].append(value)
            frames.append(curves.update(history))
            assert bytes(image.value) == frames[-1] and frames[-1].startswith(b"\x89PNG")
            loss_ax = curves.figure.fig.axes[0]
            assert len(loss_ax.get_lines()[0].get_xdata()) == epoch + 1  # the epochs so far
        assert image.layout.display != "none"
    assert len(set(frames)) == 3 and image.layout.display == "none"
    assert plt.get_fignums() == fignums  # no pyplot figure: plt.show() shows no stale copy


def test_live_curves_draw_nothing_headless():
    curves = LiveCurves("headless", live=False)
    assert curves.update({"train_loss": [1.0]}) is None and curves.figure is None
    curves.close()


def visible_ticks(ax) -> np.ndarray:
    ax.figure.canvas.draw()
    low, high = ax.get_xlim()
    ticks = np.asarray(ax.get_xticks())
    return ticks[(ticks >= low) & (ticks <= high)]


@pytest.mark.parametrize("epochs", [1, 2, 3, 8])
def test_epoch_ticks_are_whole_numbers(epochs):
    """After one epoch the axis read 0.96, 0.98, 1.00, 1.02, 1.04."""
    fig = plot_training_curves({"train_loss": list(np.linspace(2, 1, epochs)),
                                "val_acc": list(np.linspace(0.3, 0.6, epochs))})
    for ax in fig.axes:
        ticks = visible_ticks(ax)
        assert len(ticks) and np.all(ticks == np.round(ticks)), ticks
    plt.close(fig)


def test_live_curves_show_empty_axes_and_the_title_at_once():
    """The Image widget stayed empty (a broken-image icon in Chromium) until the
    first epoch ended."""
    pytest.importorskip("ipywidgets")
    with LiveCurves("first run", live=True) as curves:
        assert bytes(curves.figure.image.value).startswith(b"\x89PNG")
        fig = curves.figure.fig
        assert fig._suptitle.get_text() == "first run"
        assert [ax.get_title() for ax in fig.axes] == ["Loss", "Accuracy"]
        assert all(not ax.get_lines() for ax in fig.axes)
