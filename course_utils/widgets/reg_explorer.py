"""Regularization explorer: training-set size x L2 strength x dropout rate x
augmentation -> training and validation curves of an MLP on Fashion-MNIST.

Training on the fly is far too slow for a control change (0.3 s), so the
explorer browses a grid of runs computed once (:func:`precompute_grid`, in
the notebook, at the sizes of the run profile) and every control change is a
lookup and a redraw of a few lines.

The training is torch's own: ``torch.nn`` layers and dropout,
``torch.optim.Adam(weight_decay=...)`` (L2 added to the gradient, weights
only, not biases) and, for augmentation, a function the caller passes
(notebook 7 passes the student's own ``augment_batch``) or, by default,
:func:`shift_flip`: random translations by up to two pixels with wrap-around
(``torch.roll``) and horizontal flips. That is not notebook 7's augmentation
exercise (a crop of the zero-padded image with a fixed order of draws); this
module contains nothing of the notebook's exercises.

:func:`train_curves` trains one MLP and returns its per-epoch curves (the
notebook's experiments use it too); :func:`precompute_grid` runs the grid;
:func:`grid_state` is the pure lookup behind the figure; :class:`RegFigure`
draws a state and updates its artists for the next one; :func:`reg_explorer`
shows the live widget (or, headless, the static figure for its defaults).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import LiveFigure, explorer_box, image_widget, show

CURVES = ("train_loss", "train_acc", "val_loss", "val_acc")
FIGSIZE = (11, 4.2)
MAX_SHIFT = 2


# ----------------------------------------------------------------------------------- training

def make_mlp(width: int, *, dropout: float = 0.0, depth: int = 2, in_features: int = 784,
             classes: int = 10, seed: int = 0):
    """``depth`` hidden ReLU layers of ``width`` units, each followed by
    ``torch.nn.Dropout(dropout)`` when dropout > 0; torch's default init from
    ``torch.manual_seed(seed)``."""
    import torch

    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"the dropout rate must be in [0, 1), got {dropout}")
    torch.manual_seed(seed)
    layers, fan_in = [], in_features
    for _ in range(depth):
        layers += [torch.nn.Linear(fan_in, width), torch.nn.ReLU()]
        if dropout > 0:
            layers.append(torch.nn.Dropout(dropout))
        fan_in = width
    layers.append(torch.nn.Linear(fan_in, classes))
    return torch.nn.Sequential(*layers)


def shift_flip(images, generator, max_shift: int = MAX_SHIFT):
    """Random translations of each image by -max_shift..max_shift pixels in
    each direction, with wrap-around (``torch.roll``), then a horizontal flip
    of each image with probability 1/2. images: (B, C, H, W) tensor; returns a
    new tensor, draws from the torch ``generator``."""
    import torch

    batch = images.shape[0]
    shifts = torch.randint(-max_shift, max_shift + 1, (batch, 2), generator=generator)
    flips = torch.rand(batch, generator=generator) < 0.5
    out = torch.empty_like(images)
    codes = (shifts[:, 0] + max_shift) * (2 * max_shift + 1) + shifts[:, 1] + max_shift
    for code in torch.unique(codes).tolist():
        rows = codes == code
        dy, dx = code // (2 * max_shift + 1) - max_shift, code % (2 * max_shift + 1) - max_shift
        out[rows] = torch.roll(images[rows], shifts=(dy, dx), dims=(2, 3))
    out[flips] = out[flips].flip(3)
    return out


def _evaluate(model, x, y, batch: int = 2000):
    import torch
    import torch.nn.functional as F

    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(x), batch):
            logits = model(x[start:start + batch])
            loss += float(F.cross_entropy(logits, y[start:start + batch], reduction="sum"))
            correct += int((logits.argmax(1) == y[start:start + batch]).sum())
    return loss / len(x), correct / len(x)


def train_curves(x_train, y_train, x_val, y_val, *, width: int = 256, depth: int = 2,
                 dropout: float = 0.0, weight_decay: float = 0.0, decoupled: bool = False,
                 augment=False, epochs: int = 20, steps: int | None = None,
                 batch_size: int = 100, lr: float = 1e-3, seed: int = 0,
                 image_shape=(1, 28, 28), extra=None, max_eval: int = 5000, bar=None,
                 on_epoch=None) -> dict:
    """Train ``make_mlp(width, dropout=..., depth=...)`` with Adam on
    (x_train, y_train) and measure it after every epoch.

    Arguments:
        x_train: (N, D) float32 tensor (flattened images); y_train: (N,) int64 tensor.
        x_val, y_val: the validation set, the same way.
        weight_decay: L2 coefficient lambda (the loss gets lambda/2 * sum of squared
            weights: ``torch.optim.Adam(weight_decay=lambda)``), or, with decoupled=True,
            AdamW's decoupled decay; biases are never decayed.
        augment: False; True: train on :func:`shift_flip` versions of the images; or a function
            ``augment(images) -> images`` of a (B, *image_shape) float32 tensor, returning the
            augmented batch of the same shape (new draws every batch, from its own generator).
        epochs: passes over the training set; or ``steps``: the total number of minibatch
            steps, measured in ``epochs`` equal chunks (a learning curve over training-set
            sizes keeps the steps fixed).
        extra: optional dict name -> (x, y) of further sets measured after every epoch.
        max_eval: the training-set curves are measured on its first max_eval images.
        bar: optional tqdm bar, advanced by one per epoch.
        on_epoch: optional ``on_epoch(epoch, values)`` called after every epoch (0-based)
            with that epoch's measurements ({"val_loss": ..., "val_acc": ..., ...}); if it
            returns True, training stops there (the curves are as long as the epochs run).

    Returns a dict of (epochs,) float arrays "train_loss", "train_acc", "val_loss",
    "val_acc" (mean cross-entropy and accuracy in evaluation mode: no dropout, no
    augmentation), "<name>_loss", "<name>_acc" for each extra set, and "model": the
    trained model.
    """
    import torch
    import torch.nn.functional as F

    n = len(x_train)
    model = make_mlp(width, dropout=dropout, depth=depth, in_features=x_train.shape[1], seed=seed)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if not name.endswith("weight")]
    groups = [{"params": weights, "weight_decay": weight_decay}, {"params": biases, "weight_decay": 0.0}]
    make = torch.optim.AdamW if decoupled else torch.optim.Adam
    optimizer = make(groups, lr=lr, foreach=False)
    generator = torch.Generator().manual_seed(10_000 + seed)
    per_epoch = max(1, math.ceil(n / batch_size)) if steps is None else max(1, steps // epochs)
    sets = {"train": (x_train[:max_eval], y_train[:max_eval]), "val": (x_val, y_val), **(extra or {})}
    curves = {f"{name}_{kind}": [] for name in sets for kind in ("loss", "acc")}
    order, position = torch.randperm(n, generator=generator), 0
    for _ in range(epochs):
        model.train()
        for _ in range(per_epoch):
            if position >= n:
                order, position = torch.randperm(n, generator=generator), 0
            index = order[position:position + batch_size]
            position += batch_size
            xb = x_train[index]
            if augment:
                xb = _augmented(xb, augment, generator, image_shape)
            loss = F.cross_entropy(model(xb), y_train[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        for name, (x, y) in sets.items():
            loss_value, accuracy = _evaluate(model, x, y)
            curves[f"{name}_loss"].append(loss_value)
            curves[f"{name}_acc"].append(accuracy)
        if bar is not None:
            bar.update(1)
        if on_epoch is not None and on_epoch(len(curves["val_acc"]) - 1, {k: v[-1] for k, v in curves.items()}):
            break
    result = {k: np.array(v) for k, v in curves.items()}
    result["model"] = model
    return result


def _augmented(xb, augment, generator, image_shape):
    """The flattened batch xb, augmented as images by ``augment`` (a function) or shift_flip (True)."""
    import torch

    images = xb.reshape(-1, *image_shape)
    out = augment(images) if callable(augment) else shift_flip(images, generator)
    if not isinstance(out, torch.Tensor) or out.shape != images.shape:
        raise ValueError(f"the augmentation returned {type(out).__name__} of shape "
                         f"{tuple(getattr(out, 'shape', ()))}, expected a tensor of shape {tuple(images.shape)}")
    return out.to(xb.dtype).reshape(len(xb), -1)


# ------------------------------------------------------------------------------- the grid

@dataclass
class RegGrid:
    """Curves of every run of the grid: curves[name] has shape
    (len(sizes), len(l2s), len(dropouts), len(augments), epochs)."""

    sizes: tuple
    l2s: tuple
    dropouts: tuple
    augments: tuple
    epochs: int
    curves: dict
    settings: dict = field(default_factory=dict)

    @property
    def runs(self) -> int:
        return len(self.sizes) * len(self.l2s) * len(self.dropouts) * len(self.augments)


def precompute_grid(x_train, y_train, x_val, y_val, *, sizes, l2s, dropouts, augments=(False, True),
                    epochs: int = 20, width: int = 256, lr: float = 1e-3, batch_size: int = 100,
                    seed: int = 0, bar=None, augment_with=True) -> RegGrid:
    """Train one MLP per (size, l2, dropout, augment) on the first ``size``
    training images (the same images for every run of one size) and keep its
    curves. Sizes must not exceed len(x_train); l2s and dropouts are sorted.
    ``bar``: optional tqdm bar advanced by one per epoch of every run.
    ``augment_with``: the augmentation of the augmented runs, as train_curves'
    ``augment`` (True: shift_flip; or a function)."""
    sizes, l2s, dropouts = (tuple(sorted(float(v) if k else int(v) for v in values))
                            for k, values in ((0, sizes), (1, l2s), (1, dropouts)))
    augments = tuple(bool(a) for a in augments)
    if max(sizes) > len(x_train) or min(sizes) < 1:
        raise ValueError(f"training-set sizes must be in [1, {len(x_train)}], got {sizes}")
    if min(l2s) <= 0:
        raise ValueError(f"L2 strengths are browsed on a log scale: they must be > 0, got {l2s}")
    shape = (len(sizes), len(l2s), len(dropouts), len(augments), epochs)
    curves = {name: np.full(shape, np.nan) for name in CURVES}
    for i, size in enumerate(sizes):
        for j, l2 in enumerate(l2s):
            for k, dropout in enumerate(dropouts):
                for a, augment in enumerate(augments):
                    run = train_curves(x_train[:size], y_train[:size], x_val, y_val, width=width,
                                       dropout=dropout, weight_decay=l2, augment=augment_with if augment else False,
                                       epochs=epochs,
                                       batch_size=batch_size, lr=lr, seed=seed, bar=bar)
                    for name in CURVES:
                        curves[name][i, j, k, a] = run[name]
    settings = {"width": width, "lr": lr, "batch_size": batch_size, "seed": seed, "val_size": len(x_val)}
    return RegGrid(sizes, l2s, dropouts, augments, epochs, curves, settings)


def _nearest(values, value) -> int:
    values = np.asarray(values, dtype=np.float64)
    return int(np.argmin(np.abs(values - float(value))))


def grid_state(grid: RegGrid, *, size, l2, dropout, augment) -> dict:
    """The run of the grid closest to these control values (L2 compared on a
    log scale) and what the figure prints about it.

    Returns a dict with the run's "size", "l2", "dropout", "augment"; its curves
    (CURVES, (epochs,) arrays, accuracies in [0, 1]); "reference": the curves of the
    unregularized run of the same size (smallest L2, no dropout, no augmentation);
    "best_epoch" (1-based) and "best_val_acc" (the highest validation accuracy),
    "final_val_acc", "final_gap" (training minus validation accuracy at the last
    epoch)."""
    i = _nearest(grid.sizes, size)
    j = _nearest(np.log10(grid.l2s), math.log10(max(float(l2), 1e-300)))
    k = _nearest(grid.dropouts, dropout)
    a = grid.augments.index(bool(augment)) if bool(augment) in grid.augments else 0
    run = {name: grid.curves[name][i, j, k, a] for name in CURVES}
    ref_a = grid.augments.index(False) if False in grid.augments else 0
    reference = {name: grid.curves[name][i, 0, 0, ref_a] for name in CURVES}
    best = int(np.nanargmax(run["val_acc"]))
    return {"size": grid.sizes[i], "l2": grid.l2s[j], "dropout": grid.dropouts[k],
            "augment": grid.augments[a], **run, "reference": reference, "best_epoch": best + 1,
            "best_val_acc": float(run["val_acc"][best]), "final_val_acc": float(run["val_acc"][-1]),
            "final_gap": float(run["train_acc"][-1] - run["val_acc"][-1]), "epochs": grid.epochs}


# ------------------------------------------------------------------------------- the figure

def _loss_limits(grid: RegGrid) -> tuple[float, float]:
    values = np.concatenate([grid.curves["train_loss"].ravel(), grid.curves["val_loss"].ravel()])
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:
        return 1e-3, 10.0
    return 10.0 ** (math.floor(math.log10(values.min()) * 2) / 2), 10.0 ** (math.ceil(math.log10(values.max()) * 2) / 2)


class RegFigure:
    """Accuracy (left) and cross-entropy (right, log scale) against the epoch,
    training (solid) and validation (dashed), the unregularized run of the same
    size in grey. Limits are fixed by the grid, so a control change only
    updates the lines and the titles (the artists in :attr:`animated`)."""

    def __init__(self, grid: RegGrid, fig=None):
        from ..plotting import integer_ticks

        if fig is None:
            import matplotlib.pyplot as plt
            fig = plt.figure(figsize=FIGSIZE)
        self.fig, self.grid = fig, grid
        self.acc_ax, self.loss_ax = fig.subplots(1, 2)
        epochs = np.arange(1, grid.epochs + 1)
        self.lines = {}
        for ax, kind in ((self.acc_ax, "acc"), (self.loss_ax, "loss")):
            for split, style in (("train", "-"), ("val", "--")):
                self.lines["ref", split, kind], = ax.plot(epochs, np.full(grid.epochs, np.nan), style,
                                                          color="0.6", lw=1.2,
                                                          label=f"{'training' if split == 'train' else 'validation'}, no regularization")
                self.lines["run", split, kind], = ax.plot(epochs, np.full(grid.epochs, np.nan), style,
                                                          color="tab:blue" if split == "train" else "tab:orange",
                                                          lw=2, label="training" if split == "train" else "validation")
            ax.set_xlim(0.5, grid.epochs + 0.5)
            ax.set_xlabel("epoch")
            integer_ticks(ax.xaxis)
        self.best = self.acc_ax.axvline(np.nan, color="tab:orange", lw=0.8, ls=":")
        self.acc_ax.set_ylim(0, 100)
        self.acc_ax.set_ylabel("accuracy (%)")
        self.loss_ax.set_yscale("log")
        self.loss_ax.set_ylim(*_loss_limits(grid))
        self.loss_ax.set_ylabel("cross-entropy (log scale)")
        handles = [self.lines["run", "train", "acc"], self.lines["run", "val", "acc"],
                   self.lines["ref", "train", "acc"], self.lines["ref", "val", "acc"]]
        self.acc_ax.legend(handles=handles, loc="lower right", fontsize=7)
        fig.suptitle(f"Regularization explorer: MLP with 2 hidden layers of {grid.settings.get('width', '?')} units, "
                     f"Adam, {grid.epochs} epochs, validation on {grid.settings.get('val_size', '?')} images",
                     fontsize=10)
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.8, wspace=0.25)
        self.animated = [*self.lines.values(), self.best, self.acc_ax.title, self.loss_ax.title]

    def show(self, state: dict) -> None:
        for source, curves in (("run", state), ("ref", state["reference"])):
            for split in ("train", "val"):
                self.lines[source, split, "acc"].set_ydata(100 * curves[f"{split}_acc"])
                self.lines[source, split, "loss"].set_ydata(curves[f"{split}_loss"])
        self.best.set_xdata([state["best_epoch"]] * 2)
        self.acc_ax.set_title(f"{state['size']} training images, L2 {state['l2']:.0e}, dropout {state['dropout']:g}, "
                              f"augmentation {'on' if state['augment'] else 'off'}", fontsize=9)
        self.loss_ax.set_title(f"best validation {100 * state['best_val_acc']:.1f}% (epoch {state['best_epoch']}), "
                               f"final {100 * state['final_val_acc']:.1f}%, train - val gap "
                               f"{100 * state['final_gap']:+.1f} pt", fontsize=9)


def draw_explorer(grid: RegGrid, state: dict, fig=None):
    """Draw ``state`` in a new pyplot figure, or in ``fig``. Returns the Figure."""
    figure = RegFigure(grid, fig)
    figure.show(state)
    return figure.fig


def default_controls(grid: RegGrid) -> dict:
    """The explorer's start: the smallest size without regularization, where
    overfitting shows best."""
    return {"size": grid.sizes[0], "l2": grid.l2s[0], "dropout": grid.dropouts[0], "augment": False}


def reg_explorer(grid: RegGrid, *, size=None, l2=None, dropout=None, augment=None):
    """Show the live explorer over ``grid`` (controls update the figure at
    once: a lookup, no training), or, headless, the static figure for these
    control values (default: the smallest size, no regularization). Returns
    what was shown: the widget, or the Figure."""
    controls = default_controls(grid)
    controls.update({k: v for k, v in dict(size=size, l2=l2, dropout=dropout, augment=augment).items()
                     if v is not None})
    return show(lambda: build_widget(grid, **controls),
                lambda: draw_explorer(grid, grid_state(grid, **controls)))


def _slider_step(values) -> float:
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return 1.0
    return float(np.round(np.min(np.diff(values)), 6)) or 1.0


def build_widget(grid: RegGrid, *, size, l2, dropout, augment):
    """The ipywidgets box: controls on top, a message line, the figure below."""
    import ipywidgets as w
    from matplotlib.figure import Figure

    style = {"description_width": "initial"}
    log_l2 = np.round(np.log10(grid.l2s), 6)
    controls = {
        "size": w.Dropdown(options=list(grid.sizes), value=grid.sizes[_nearest(grid.sizes, size)],
                           description="training images", style=style),
        "log10_l2": w.FloatSlider(value=float(log_l2[_nearest(log_l2, math.log10(l2))]), min=float(log_l2.min()),
                                  max=float(max(log_l2.max(), log_l2.min() + 1e-6)), step=_slider_step(log_l2),
                                  description="log10 L2 strength", continuous_update=False,
                                  readout_format=".1f", style=style),
        "dropout": w.FloatSlider(value=float(grid.dropouts[_nearest(grid.dropouts, dropout)]),
                                 min=float(min(grid.dropouts)), max=float(max(max(grid.dropouts), min(grid.dropouts) + 1e-6)),
                                 step=_slider_step(grid.dropouts), description="dropout rate",
                                 continuous_update=False, readout_format=".2f", style=style),
        "augment": w.Dropdown(options=[("off", False), ("on", True)] if len(grid.augments) > 1
                              else [("on" if grid.augments[0] else "off", grid.augments[0])],
                              value=bool(augment) if bool(augment) in grid.augments else grid.augments[0],
                              description="augmentation", style=style),
    }
    figure = RegFigure(grid, Figure(figsize=FIGSIZE))
    live = LiveFigure(figure.fig, image_widget(figure.fig))
    live.animate(figure.animated)

    def compute(values):
        return grid_state(grid, size=values["size"], l2=10.0 ** values["log10_l2"],
                          dropout=values["dropout"], augment=values["augment"])

    def draw(state):
        figure.show(state)
        live.refresh()

    return explorer_box(controls, [["size", "augment"], ["log10_l2", "dropout"]], [live.image],
                        compute, draw)
