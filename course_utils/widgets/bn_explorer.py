"""BN explorer: depth x init scale x batch size x normalization -> per-layer
activation histograms and the spread of the activations against depth.

A batch of standard normal inputs of shape (batch, width) goes through
``depth`` layers ``h <- act(norm(h @ W.T))`` with square weight matrices of
standard deviation ``10**log10_std``, where ``norm`` is nothing, batch norm
(statistics over the batch, training mode) or layer norm (statistics over the
features of each sample). The normalizations are torch's own
(``torch.nn.functional.batch_norm`` / ``layer_norm``, no affine parameters):
this module contains nothing of notebook 5's exercises.

:func:`explorer_state` is the pure computation behind the figure;
:class:`BNFigure` draws a state and updates its artists for the next one;
:func:`bn_explorer` shows the live widget (or, headless, the static figure for
the default controls).

Speed: the weights are drawn once per (width, seed) as standard normal
matrices and only scaled by the std control (a :class:`WeightStream` keeps
the first ``depth`` of them); the inputs are the first ``batch`` rows of one
fixed draw, so changing any control computes one forward pass only.
"""
from __future__ import annotations

import numpy as np

from . import LiveFigure, explorer_box, fast_log_axis, image_widget, show
from .init_explorer import symmetric_histogram

NORMS = ("none", "batch norm", "layer norm")
ACTIVATIONS = ("relu", "tanh")
BATCH_SIZES = (2, 4, 8, 16, 32, 64, 128, 256, 512)
MAX_DEPTH = 50
MAX_HISTOGRAMS = 5
FIGSIZE = (11, 6)


def histogram_layers(depth: int, max_panels: int = MAX_HISTOGRAMS) -> list[int]:
    """Indices (0-based) of the layers whose histograms are shown: the first,
    the last, and evenly spaced ones in between, at most ``max_panels``."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    return sorted({int(round(i)) for i in np.linspace(0, depth - 1, min(depth, max_panels))})


class WeightStream:
    """Standard normal (width, width) matrices drawn one after another from a
    generator seeded with ``seed``: the first ``d`` of a deeper stack are the
    stack of depth ``d``, so each is drawn once."""

    def __init__(self, width: int, seed: int):
        self.width = width
        self.rng = np.random.default_rng([seed, 1])
        self.weights: list[np.ndarray] = []

    def first(self, depth: int) -> list[np.ndarray]:
        while len(self.weights) < depth:
            self.weights.append(self.rng.standard_normal((self.width, self.width)))
        return self.weights[:depth]


def _normalize(z, norm: str, eps: float):
    import torch.nn.functional as F

    if norm == "batch norm":
        return F.batch_norm(z, None, None, training=True, eps=eps)
    if norm == "layer norm":
        return F.layer_norm(z, (z.shape[1],), eps=eps)
    return z


def explorer_state(*, depth: int = 20, log10_std: float = -2.0, batch: int = 64,
                   norm: str = "batch norm", activation: str = "relu", width: int = 100,
                   eps: float = 1e-5, bins: int = 40, seed: int = 0,
                   streams: dict | None = None) -> dict:
    """What the explorer shows for given control values.

    Returns a dict with the control values and
        "std": float, 10**log10_std, the std of every weight;
        "pre_std": (depth,) std of each layer's normalized pre-activations
            (before the nonlinearity; without normalization, of h @ W.T);
        "act_std": (depth,) std of each layer's activations;
        "dead": (depth,) fraction of exactly zero activations;
        "layers": indices of the layers with a histogram;
        "histograms": list of (counts (bins,), edges (bins + 1,)) of those
            layers' activations on [-max |value|, max |value|] (finite values;
            all zero: the range [-1, 1]).
    ``streams`` is a cache the caller keeps between calls (the result is the
    same without it). The same controls and seed always give the same state.
    """
    import torch

    if norm not in NORMS:
        raise ValueError(f"unknown normalization {norm!r}; choose one of {NORMS}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {ACTIVATIONS}")
    if not 1 <= depth <= 10 * MAX_DEPTH or width < 2:
        raise ValueError(f"depth must be in [1, {10 * MAX_DEPTH}] and width at least 2, got {depth}, {width}")
    if batch < (2 if norm == "batch norm" else 1):
        raise ValueError(f"batch norm needs a batch of at least 2 samples, got {batch}")
    streams = {} if streams is None else streams
    key = (width, seed)
    if key not in streams:
        streams.clear()
        streams[key] = {"weights": WeightStream(width, seed),
                        "x": np.random.default_rng([seed, 0]).standard_normal((max(BATCH_SIZES), width))}
    cache = streams[key]
    if batch > len(cache["x"]):
        cache["x"] = np.random.default_rng([seed, 0]).standard_normal((batch, width))
    std = float(10.0 ** log10_std)
    act = torch.relu if activation == "relu" else torch.tanh
    h = torch.from_numpy(cache["x"][:batch])
    pre_std, act_std, dead, activations = [], [], [], []
    with torch.no_grad():
        for w in cache["weights"].first(depth):
            z = _normalize(h @ torch.from_numpy(w).T * std, norm, eps)
            h = act(z)
            pre_std.append(float(z.std(unbiased=False)))
            act_std.append(float(h.std(unbiased=False)))
            dead.append(float((h == 0).double().mean()))
            activations.append(h)
    layers = histogram_layers(depth)
    histograms = [symmetric_histogram(activations[i].numpy(), bins) for i in layers]
    return {"depth": depth, "log10_std": float(log10_std), "std": std, "batch": batch, "norm": norm,
            "activation": activation, "width": width, "eps": eps,
            "pre_std": np.array(pre_std), "act_std": np.array(act_std), "dead": np.array(dead),
            "layers": layers, "histograms": histograms}



def _positive(values) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def _log_limits(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 1e-3, 10.0
    low, high = np.log10(finite.min()), np.log10(finite.max())
    return 10.0 ** (np.floor(low) - 0.2), 10.0 ** (np.ceil(high) + 0.2)


class BNFigure:
    """A row of activation histograms, then the std of the normalized
    pre-activations and of the activations against depth (log axis). Built
    once; :meth:`show` updates its artists for a new state.

    Speed: the histograms are drawn on fixed axes (values divided by the
    layer's largest |value|, counts by the largest count; the scale is in the
    panel's title), and the std plot's limits move only with the depth and by
    whole decades, so most control changes redraw only the artists listed in
    :attr:`animated` over a cached background (see ``LiveFigure``)."""

    def __init__(self, fig=None):
        if fig is None:
            import matplotlib.pyplot as plt
            fig = plt.figure(figsize=FIGSIZE)
        from matplotlib.ticker import MaxNLocator

        self.fig = fig
        grid = fig.add_gridspec(2, MAX_HISTOGRAMS, height_ratios=[1, 1.4], hspace=0.65,
                                wspace=0.3, left=0.07, right=0.98, bottom=0.08, top=0.87)
        self.hist_axes = [fig.add_subplot(grid[0, k]) for k in range(MAX_HISTOGRAMS)]
        self.bars = []
        for ax in self.hist_axes:
            self.bars.append(ax.stairs([0.0], [0.0, 1.0], fill=True, color="tab:blue", alpha=0.7))
            ax.set_xlim(-1.05, 1.05)
            ax.set_ylim(0, 1.05)
            ax.set_xticks([-1, 0, 1])
            ax.tick_params(labelsize=7)
            ax.set_yticks([])
            ax.set_xlabel("activation / max |activation|", fontsize=7)
        self.hist_axes[0].set_ylabel("count (scaled)", fontsize=8)
        self.ax = fig.add_subplot(grid[1, :])
        self.pre, = self.ax.semilogy([], [], "s-", label="pre-activation (after the normalization)")
        self.act, = self.ax.semilogy([], [], "o-", label="activation (after the nonlinearity)")
        self.ax.axhline(1.0, color="gray", lw=0.8, ls=":")
        fast_log_axis(self.ax.yaxis)
        self.ax.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
        self.ax.set_xlabel("layer (1 = closest to the input)")
        self.ax.set_ylabel("standard deviation (log scale)")
        self.ax.legend(loc="lower left", fontsize=8)
        fig.suptitle("BN explorer: the spread of the signal through depth, one forward pass")
        self.animated = [*self.bars, self.pre, self.act, self.ax.title, *(ax.title for ax in self.hist_axes)]
        self._layout = None

    def show(self, state: dict) -> bool:
        """Update the artists for ``state``; True if the layout (limits, panels)
        changed, so that a cached background must be drawn again."""
        panels = len(state["layers"])
        for k, ax in enumerate(self.hist_axes):
            ax.set_visible(k < panels)
        for ax, bars, layer, (counts, edges) in zip(self.hist_axes, self.bars, state["layers"],
                                                     state["histograms"]):
            reach = float(np.max(np.abs(edges)))
            bars.set_data(counts / max(1, counts.max()), edges / reach)
            ax.set_title(f"layer {layer + 1}: std {state['act_std'][layer]:.2g}, max {reach:.2g}", fontsize=8)
        layer_numbers = np.arange(1, state["depth"] + 1)
        pre, act = _positive(state["pre_std"]), _positive(state["act_std"])
        self.pre.set_data(layer_numbers, pre)
        self.act.set_data(layer_numbers, act)
        ylim = _log_limits(np.concatenate([pre, act, [1.0]]))
        self.ax.set_xlim(0.5, state["depth"] + 0.5)
        self.ax.set_ylim(*ylim)
        self.ax.set_title(f"{state['norm']}, weights std {state['std']:.3g}, batch {state['batch']}, "
                          f"{state['activation']}, {state['depth']} layers of {state['width']} units")
        layout, self._layout = self._layout, (panels, state["depth"], ylim)
        return layout != self._layout


def draw_explorer(state: dict, fig=None):
    """Draw ``state`` in a new pyplot figure, or in ``fig``. Returns the Figure."""
    figure = BNFigure(fig)
    figure.show(state)
    return figure.fig


def bn_explorer(*, depth: int = 20, log10_std: float = -2.0, batch: int = 64,
                norm: str = "batch norm", activation: str = "relu", width: int = 100, seed: int = 0):
    """Show the live explorer (controls update the figure on release), or,
    headless, the static figure for these control values. Returns what was
    shown: the widget, or the Figure."""
    controls = dict(depth=depth, log10_std=log10_std, batch=batch, norm=norm, activation=activation)
    return show(lambda: build_widget(width=width, seed=seed, **controls),
                lambda: draw_explorer(explorer_state(width=width, seed=seed, **controls)))


def build_widget(*, depth: int, log10_std: float, batch: int, norm: str, activation: str,
                 width: int = 100, seed: int = 0):
    """The ipywidgets box: controls on top, a message line, the figure below."""
    import ipywidgets as w
    from matplotlib.figure import Figure

    style = {"description_width": "initial"}
    controls = {
        "depth": w.IntSlider(value=depth, min=1, max=MAX_DEPTH, description="depth",
                             continuous_update=False),
        "log10_std": w.FloatSlider(value=log10_std, min=-5.0, max=1.0, step=0.1,
                                   description="log10 weight std", continuous_update=False,
                                   readout_format=".1f", style=style),
        "batch": w.Dropdown(options=list(BATCH_SIZES), value=batch, description="batch size", style=style),
        "norm": w.Dropdown(options=list(NORMS), value=norm, description="normalization", style=style),
        "activation": w.Dropdown(options=list(ACTIVATIONS), value=activation, description="activation"),
    }
    figure = BNFigure(Figure(figsize=FIGSIZE))
    live = LiveFigure(figure.fig, image_widget(figure.fig))
    live.animate(figure.animated)
    streams: dict = {}

    def draw(state):
        if figure.show(state):   # new limits or panels: the background must be drawn again
            live.invalidate()
        live.refresh()

    return explorer_box(controls, [["norm", "activation", "batch"], ["log10_std", "depth"]], [live.image],
                        lambda values: explorer_state(width=width, seed=seed, streams=streams, **values),
                        draw)
