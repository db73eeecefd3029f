"""Figures shared by the notebooks: every one has a title and labelled axes."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

CURVES_FIGSIZE = (11, 3.8)


def show_image_grid(images: np.ndarray, labels: np.ndarray, class_names, *,
                    per_class: int = 8, title: str = "Examples per class", seed: int = 0):
    """A grid with one row per class and ``per_class`` random examples in it.

    images: (N, H, W) grayscale or (N, 3, H, W) colour, uint8 or floats in [0, 1].
    labels: (N,) integer class indices into ``class_names``.
    Returns the matplotlib Figure.
    """
    rng = np.random.default_rng(seed)
    n_classes = len(class_names)
    fig, axes = plt.subplots(n_classes, per_class, figsize=(per_class * 0.9, n_classes * 0.95),
                             squeeze=False)
    for c, row in enumerate(axes):
        members = np.flatnonzero(labels == c)
        picks = rng.choice(members, size=min(per_class, members.size), replace=False)
        for ax, index in zip(row, picks):
            image = images[index]
            if image.ndim == 3:  # channels first -> height, width, channels
                image = np.moveaxis(image, 0, -1)
            ax.imshow(image, cmap="gray_r" if image.ndim == 2 else None)
        for ax in row:
            ax.set_xticks([]), ax.set_yticks([])
        row[0].set_ylabel(class_names[c], rotation=0, ha="right", va="center")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(counts: np.ndarray, class_names, *, title: str = "Confusion matrix",
                          ax=None):
    """Heat map of a (C, C) count matrix: rows are true classes, columns predictions.
    Each row is shown as a fraction of that class's samples."""
    counts = np.asarray(counts)
    fractions = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    for (i, j), value in np.ndenumerate(fractions):
        if value >= 0.01:
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if value > 0.5 else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, label="fraction of the true class")
    return ax


def plot_training_curves(history: dict, *, title: str = "Training curves", x_label: str = "epoch",
                         fig=None):
    """Loss and accuracy curves side by side.

    history: dict of equal-length lists, one value per epoch (or per
             evaluation): ``"train_loss"``, ``"val_loss"`` (cross-entropy,
             nats) and ``"train_acc"``, ``"val_acc"`` (fractions in [0, 1]).
             Keys that are missing or empty are skipped, so a history with
             only training values works too.
    title:   the figure's title; x_label: what one point on the x axis is.
    fig:     draw into this (empty) Figure instead of a new pyplot figure.
    Returns the matplotlib Figure (accuracies are shown in percent).
    """
    if fig is None:
        fig = plt.figure(figsize=CURVES_FIGSIZE)
    loss_ax, acc_ax = fig.subplots(1, 2)
    for split, style in (("train", "-o"), ("val", "--s")):
        label = "training" if split == "train" else "validation"
        for key, ax, scale in ((f"{split}_loss", loss_ax, 1.0), (f"{split}_acc", acc_ax, 100.0)):
            values = history.get(key)
            if values is None or len(values) == 0:
                continue
            steps = np.arange(1, len(values) + 1)
            ax.plot(steps, scale * np.asarray(values, dtype=float), style, markersize=3, label=label)
    loss_ax.set(xlabel=x_label, ylabel="loss (cross-entropy, nats)", title="Loss")
    acc_ax.set(xlabel=x_label, ylabel="accuracy (%)", title="Accuracy")
    for ax in (loss_ax, acc_ax):
        integer_ticks(ax.xaxis)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def integer_ticks(axis) -> None:
    """Whole-number ticks only on ``axis`` (epochs, evaluations): matplotlib's
    default put 0.96 ... 1.04 under a single epoch."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))   # one epoch: one tick


class LiveCurves:
    """The figure of :func:`plot_training_curves`, redrawn after every epoch
    while a training loop runs, in a live notebook (an Image widget updated in
    place, like the explorers' figures); headless (grading, CI, nbconvert) it
    draws nothing. The empty axes and the title are drawn at once (an Image
    widget without a picture shows as a broken image until the first epoch
    ends). Leaving the ``with`` block hides it: the caller then shows the
    final figure, the one that stays in the saved notebook.

        with LiveCurves("MLP 784-100-10") as curves:
            for epoch in range(epochs):
                ...                       # train, append to history
                curves.update(history)    # history as plot_training_curves takes it

    ``live``: force the live figure on or off (default: where widgets work,
    :func:`course_utils.widgets.widgets_enabled`).
    """

    def __init__(self, title: str, *, x_label: str = "epoch", live: bool | None = None):
        from .widgets import LIVE_DPI, LiveFigure, image_widget, widgets_enabled

        self.title, self.x_label, self.figure = title, x_label, None
        if widgets_enabled() if live is None else live:
            from IPython.display import display
            from matplotlib.figure import Figure

            fig = Figure(figsize=CURVES_FIGSIZE, dpi=LIVE_DPI)  # not pyplot's: no stale copy
            self.figure = LiveFigure(fig, image_widget(fig))
            self.update({})   # the axes and the title before the first epoch
            display(self.figure.image)

    def update(self, history: dict) -> bytes | None:
        """Redraw with ``history``; returns the PNG shown (None headless)."""
        if self.figure is None:
            return None
        self.figure.fig.clear()
        plot_training_curves(history, title=self.title, x_label=self.x_label, fig=self.figure.fig)
        return self.figure.refresh()

    def close(self) -> None:
        if self.figure is not None:
            self.figure.image.layout.display = "none"

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
