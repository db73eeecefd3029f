"""Initialization explorer: init scheme x gain x depth x width x activation ->
per-layer activation histograms and the spread of activations (forward) and
gradients (backward) against depth.

The explorer does not know any initializer or how statistics are computed:
it takes the student's functions as arguments (notebook 4),

- ``initializers``: ``{name: fn}`` with ``fn(shape, rng)`` returning a weight
  matrix of ``shape = (out_features, in_features)`` drawn with the NumPy
  ``Generator`` ``rng``;
- ``layer_statistics_fn(x, weights, activation, dout)`` returning
  ``(act_std, grad_std, activations)``: per-layer standard deviations of the
  activations and of the back-propagated gradients, shapes ``(L,)``, and the
  list of the ``L`` activation arrays.

:func:`explorer_state` is the pure computation behind the figure;
:class:`InitFigure` draws a state and updates its artists for the next one;
:func:`init_explorer` shows the live widget (or, headless, the static figure
for the default controls).

Speed: the batch shrinks as the layers widen (the histograms and standard
deviations need about ``SAMPLES`` values per layer, not more), and the widget
keeps the weights it drew (a :class:`WeightStream` per scheme and width): a
change of gain, activation or depth draws no weights again.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from . import LIVE_DPI, LiveFigure, explorer_box, fast_log_axis, image_widget, show

ACTIVATIONS = ("linear", "relu", "tanh")
MAX_HISTOGRAMS = 5  # histogram panels, evenly spread over the layers
SAMPLES = 16_384    # activation values per layer the automatic batch aims for
MIN_BATCH, MAX_BATCH = 16, 256
FIGSIZE = (12, 6.5)
HEIGHT_RATIOS = (1, 1.4)  # histograms, std panel
# A std computed from squares (np.std) underflows for values below about 1e-154 (their
# squares fall under float64's smallest normal number): a std under TRUSTED_STD is
# measured again, by the explorer, in a way that keeps tiny values (see exact_tiny_stds).
TRUSTED_STD = 1e-150
GRADIENT_BOOST = 2.0 ** 498  # about 1.6e150; a power of two scales floats exactly


def histogram_layers(depth: int, max_panels: int = MAX_HISTOGRAMS) -> list[int]:
    """Indices (0-based) of the layers whose histograms are shown: the first,
    the last, and evenly spaced ones in between, at most ``max_panels``."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    return sorted({int(round(i)) for i in np.linspace(0, depth - 1, min(depth, max_panels))})


def auto_batch(width: int) -> int:
    """Samples per batch: about ``SAMPLES`` values per layer, within
    [MIN_BATCH, MAX_BATCH] (the cost grows as batch x width^2 x depth)."""
    return int(np.clip(SAMPLES // max(width, 1), MIN_BATCH, MAX_BATCH))


class WeightStream:
    """Square weight matrices of one scheme and width, drawn one after another
    from one generator seeded with ``seed``: the first ``d`` matrices of a
    deeper stack are the stack of depth ``d``, so they are drawn once.

    The matrices times the current gain are kept too, in buffers reused from
    one gain to the next (allocating 100 MB afresh per change cost up to 0.7 s):
    a change of depth or activation multiplies nothing again. Both are
    read-only, so a statistics function that writes into its weights raises
    instead of corrupting what is kept."""

    def __init__(self, init: Callable, width: int, seed: int):
        self.init, self.width = init, width
        self.rng = np.random.default_rng([seed, 1])
        self.weights: list[np.ndarray] = []
        self.stds: list[float] = []
        self.buffers: list[np.ndarray] = []
        self.gain, self.scaled_count = 1.0, 0  # buffers[:scaled_count] hold gain * weights

    def first(self, depth: int) -> tuple[list[np.ndarray], np.ndarray]:
        """The first ``depth`` matrices and their standard deviations."""
        while len(self.weights) < depth:
            w = np.asarray(self.init((self.width, self.width), self.rng), dtype=np.float64)
            w.flags.writeable = False
            self.weights.append(w)
            self.stds.append(float(w.std()))
        return self.weights[:depth], np.array(self.stds[:depth])

    def scaled(self, depth: int, gain: float) -> tuple[list[np.ndarray], np.ndarray]:
        """``gain`` times the first ``depth`` matrices (the same values as
        ``gain * w``), and their standard deviations."""
        weights, stds = self.first(depth)
        if gain == 1.0:
            return weights, stds
        if gain != self.gain:
            self.gain, self.scaled_count = gain, 0
        for i in range(self.scaled_count, depth):
            if i == len(self.buffers):
                self.buffers.append(np.empty_like(weights[i]))
            self.buffers[i].flags.writeable = True
            np.multiply(weights[i], gain, out=self.buffers[i])
            self.buffers[i].flags.writeable = False
        self.scaled_count = max(self.scaled_count, depth)
        return self.buffers[:depth], gain * stds


def explorer_state(initializers: Mapping[str, Callable], layer_statistics_fn: Callable, *,
                   scheme: str, log10_gain: float = 0.0, depth: int = 10, width: int = 100,
                   activation: str = "relu", batch: int | None = None, bins: int = 40,
                   seed: int = 0, streams: dict | None = None) -> dict:
    """What the explorer shows for given control values.

    A batch ``x`` of shape (batch, width) with standard normal entries goes
    through ``depth`` layers of ``width`` units whose weights are
    ``10**log10_gain * initializers[scheme]((width, width), rng)``; a standard
    normal ``dout`` of shape (batch, width) is propagated back. ``batch``
    defaults to :func:`auto_batch` of the width. ``streams``: a dict the
    caller keeps between calls, to reuse the weights drawn (a cache: the
    result is the same with or without it).

    Returns a dict with
        "gain": float, the multiplier applied to the scheme's weights;
        "weight_std": (depth,) measured std of each weight matrix;
        "act_std", "grad_std": (depth,) from ``layer_statistics_fn``;
        "layers": indices of the layers with a histogram;
        "histograms": list of (counts, edges) for those layers' activations
            (counts (bins,), edges (bins + 1,)); an activation that is all
            zeros or not finite gives a histogram of its finite values on [-1, 1].
        and the control values themselves.
    The same controls and seed always give the same state.
    """
    if scheme not in initializers:
        raise ValueError(f"unknown init scheme {scheme!r}; choose one of {list(initializers)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {ACTIVATIONS}")
    batch = auto_batch(width) if batch is None else batch
    if depth < 1 or width < 1 or batch < 1:
        raise ValueError(f"depth, width and batch must be positive, got {depth}, {width}, {batch}")
    streams = {} if streams is None else streams
    key = (scheme, width, seed)
    if key not in streams:
        streams.clear()  # one stack kept: 50 layers of 500 x 500 are 100 MB, 200 with a gain
        streams[key] = WeightStream(initializers[scheme], width, seed)
    gain = float(10.0 ** log10_gain)
    weights, weight_std = streams[key].scaled(depth, gain)
    rng = np.random.default_rng([seed, 0])
    x = rng.standard_normal((batch, width))
    dout = rng.standard_normal((batch, width))
    with np.errstate(all="ignore"):  # huge gains overflow on purpose
        act_std, grad_std, activations = layer_statistics_fn(x, weights, activation, dout)
    act_std = np.asarray(act_std, dtype=np.float64).reshape(-1)
    grad_std = np.asarray(grad_std, dtype=np.float64).reshape(-1)
    if act_std.shape != (depth,) or grad_std.shape != (depth,) or len(activations) != depth:
        raise ValueError(
            f"layer_statistics_fn returned {act_std.shape[0]} activation stds, {grad_std.shape[0]} "
            f"gradient stds and {len(activations)} activations for {depth} layers")
    act_std, grad_std = exact_tiny_stds(layer_statistics_fn, x, weights, activation, dout,
                                        act_std, grad_std, activations)
    layers = histogram_layers(depth)
    histograms = [symmetric_histogram(np.asarray(activations[i], dtype=np.float64), bins) for i in layers]
    return {"scheme": scheme, "log10_gain": float(log10_gain), "gain": gain, "depth": depth,
            "width": width, "activation": activation, "batch": batch,
            "weight_std": weight_std,
            "act_std": act_std, "grad_std": grad_std, "layers": layers, "histograms": histograms}


def exact_tiny_stds(layer_statistics_fn: Callable, x, weights, activation, dout,
                    act_std: np.ndarray, grad_std: np.ndarray, activations) -> tuple:
    """The stds of the statistics function, with those under TRUSTED_STD (where
    squaring underflows, down to a false 0) measured again: an activation's
    from its values divided by their largest magnitude; a gradient's from a
    second backward pass of ``GRADIENT_BOOST * dout`` (backpropagation is
    linear in dout), divided by the boost. What is still under TRUSTED_STD
    after the boost (below about 1e-300) has underflowed float64 itself."""
    act_std, grad_std = act_std.copy(), grad_std.copy()
    for i in np.flatnonzero(np.isfinite(act_std) & (act_std < TRUSTED_STD)):
        act_std[i] = scaled_std(np.asarray(activations[i], dtype=np.float64))
    tiny = np.isfinite(grad_std) & (grad_std < TRUSTED_STD)
    if tiny.any():
        with np.errstate(all="ignore"):
            _, boosted, _ = layer_statistics_fn(x, weights, activation, dout * GRADIENT_BOOST)
        boosted = np.asarray(boosted, dtype=np.float64).reshape(-1)
        if boosted.shape == grad_std.shape:
            grad_std[tiny] = boosted[tiny] / GRADIENT_BOOST
    return act_std, grad_std


def scaled_std(values: np.ndarray) -> float:
    """np.std of the finite values, computed on values / max |value| so that
    values far below 1e-154 keep a std above 0."""
    finite = values[np.isfinite(values)]
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    return scale * float(np.std(finite / scale)) if scale > 0 else 0.0


def symmetric_histogram(values: np.ndarray, bins: int):
    """Counts on [-reach, reach], reach = max |value| (1 if all values are 0):
    the panels share one x axis per layer however small the values get."""
    finite = values[np.isfinite(values)]
    reach = float(np.max(np.abs(finite))) if finite.size else 0.0
    if not reach > 0:
        reach = 1.0
    return np.histogram(finite, bins=bins, range=(-reach, reach))


def _positive(values: np.ndarray) -> np.ndarray:
    """Values a log axis can show: zero, negative or non-finite become nan."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


class InitFigure:
    """One row of activation histograms (``hist_fig``), then the std of
    activations and gradients against the layer index on a log axis
    (``std_fig``). Built once; :meth:`show` updates its artists for a new
    state. Statically both parts are subfigures of one figure; live, two
    figures: the histograms' axes are fixed and drawn once (their bars and
    titles over them), the std panel's axes again only when the depth or the
    decades it spans change.

    Each histogram's values are divided by their largest magnitude: the axes
    stay [-1, 1] whatever the scale (no offset text such as "1e-15" next to the
    axis label), and the title gives the std.
    """

    def __init__(self, hist_fig, std_fig):
        self.hist_fig, self.std_fig = hist_fig, std_fig
        self.hist_axes = list(hist_fig.subplots(1, MAX_HISTOGRAMS, gridspec_kw=dict(
            wspace=0.3, left=0.06, right=0.98, bottom=0.22, top=0.72)))
        self.bars = [ax.stairs([0.0], [-1.0, 1.0], fill=True, color="tab:blue", alpha=0.7)
                     for ax in self.hist_axes]
        for ax in self.hist_axes:
            ax.set_xlim(-1.0, 1.0)
            ax.set_xticks([-1.0, 0.0, 1.0])
            ax.set_yticks([])  # counts say little; the shape matters
            ax.tick_params(labelsize=7)
            ax.set_xlabel("value / max |value|", fontsize=8)
            ax.set_title(" ", fontsize=9)
        self.hist_axes[0].set_ylabel("count", fontsize=8)
        hist_fig.suptitle("Initialization explorer: how the signal spreads through depth")
        self.ax = std_fig.subplots(gridspec_kw=dict(left=0.06, right=0.98, bottom=0.12,
                                                    top=0.9))
        self.act, = self.ax.semilogy([], [], "o-", label="activations (forward)")
        self.grad, = self.ax.semilogy([], [], "s-", label="gradient w.r.t. layer input (backward)")
        self.ax.axhline(1.0, color="gray", lw=0.8, ls=":")
        fast_log_axis(self.ax.yaxis)
        self.ax.set_xlabel("layer (1 = closest to the input)")
        self.ax.set_ylabel("standard deviation (log scale)")
        self.ax.legend(loc="best", fontsize=8)
        self.lines = self.bars + [ax.title for ax in self.hist_axes]  # drawn over the axes
        self.std_lines = [self.act, self.grad, self.ax.title]
        self.panels, self.std_layout = 0, None

    @classmethod
    def single(cls, fig=None) -> "InitFigure":
        """Both parts in one figure (a new pyplot figure unless ``fig``)."""
        if fig is None:
            import matplotlib.pyplot as plt
            fig = plt.figure(figsize=FIGSIZE)
        top, bottom = fig.subfigures(2, 1, height_ratios=HEIGHT_RATIOS)
        figure = cls(top, bottom)
        figure.fig = fig
        return figure

    def show(self, state: dict):
        self.panels = len(state["layers"])
        for k, ax in enumerate(self.hist_axes):
            ax.set_visible(k < self.panels)
        for ax, bars, layer, (counts, edges) in zip(self.hist_axes, self.bars, state["layers"],
                                                     state["histograms"]):
            bars.set_data(counts, edges / max(float(np.max(np.abs(edges))), 1e-300))
            ax.set_ylim(0, max(1, counts.max()) * 1.05)
            ax.set_title(f"layer {layer + 1}: std {state['act_std'][layer]:.2g}", fontsize=9)
        self._show_stds(state)

    def _show_stds(self, state: dict):
        layer_numbers = np.arange(1, state["depth"] + 1)
        act, grad = _positive(state["act_std"]), _positive(state["grad_std"])
        self.act.set_data(layer_numbers, act)
        self.grad.set_data(layer_numbers, grad)
        limits = _log_limits(np.concatenate([act, grad, [1.0]]))
        self.ax.set_xlim(0.5, state["depth"] + 0.5)
        self.ax.set_ylim(*limits)
        self.std_layout = (state["depth"], limits)  # whole decades: often the same
        self.ax.set_title(f"{state['scheme']} x gain {state['gain']:.3g}, {state['activation']}, "
                          f"{state['depth']} layers of {state['width']} units")


def _log_limits(values: np.ndarray) -> tuple[float, float]:
    """Decades around the finite values (nan: not drawn on a log axis)."""
    finite = values[np.isfinite(values)]
    low, high = np.log10(finite.min()), np.log10(finite.max())
    return 10.0 ** (np.floor(low) - 0.2), 10.0 ** (np.ceil(high) + 0.2)


def draw_explorer(state: dict, fig=None):
    """Draw ``state`` (from :func:`explorer_state`) in a new pyplot figure, or in
    ``fig``. Returns the Figure."""
    figure = InitFigure.single(fig)
    figure.show(state)
    return figure.fig


def init_explorer(initializers: Mapping[str, Callable], layer_statistics_fn: Callable, *,
                  scheme: str | None = None, log10_gain: float = 0.0, depth: int = 10,
                  width: int = 100, activation: str = "relu", batch: int | None = None,
                  seed: int = 0):
    """Show the live explorer (controls update the figure on release), or,
    headless, the static figure for these control values. Returns what was
    shown: the widget, or the Figure."""
    scheme = scheme if scheme is not None else next(iter(initializers))
    controls = dict(scheme=scheme, log10_gain=log10_gain, depth=depth, width=width,
                    activation=activation)

    def static():
        return draw_explorer(explorer_state(initializers, layer_statistics_fn, batch=batch,
                                            seed=seed, **controls))

    return show(lambda: build_widget(initializers, layer_statistics_fn, batch=batch, seed=seed,
                                     **controls), static)


def build_widget(initializers: Mapping[str, Callable], layer_statistics_fn: Callable, *,
                 scheme: str, log10_gain: float, depth: int, width: int, activation: str,
                 batch: int | None = None, seed: int = 0):
    """The ipywidgets box: controls on top, a message line, the figure below.
    Each control redraws the figure when released (``continuous_update=False``);
    the message says "computing…" meanwhile, or shows the student's error."""
    import ipywidgets as w
    from matplotlib.figure import Figure

    style = {"description_width": "initial"}
    controls = {
        "scheme": w.Dropdown(options=list(initializers), value=scheme, description="init scheme"),
        "log10_gain": w.FloatSlider(value=log10_gain, min=-4.0, max=1.0, step=0.05,
                                    description="log10 gain", continuous_update=False,
                                    readout_format=".2f", style=style),
        "depth": w.IntSlider(value=depth, min=1, max=50, description="depth",
                             continuous_update=False),
        "width": w.IntSlider(value=width, min=2, max=500, description="width",
                             continuous_update=False),
        "activation": w.Dropdown(options=list(ACTIVATIONS), value=activation,
                                 description="activation"),
    }
    width, height = FIGSIZE
    top, bottom = (height * r / sum(HEIGHT_RATIOS) for r in HEIGHT_RATIOS)
    figure = InitFigure(Figure(figsize=(width, top), dpi=LIVE_DPI),
                        Figure(figsize=(width, bottom), dpi=LIVE_DPI))
    hists = LiveFigure(figure.hist_fig, image_widget(figure.hist_fig))
    hists.animate(figure.lines)
    stds = LiveFigure(figure.std_fig, image_widget(figure.std_fig))
    stds.animate(figure.std_lines)
    streams: dict = {}  # weights drawn so far, per scheme and width

    def compute(values):
        return explorer_state(initializers, layer_statistics_fn, batch=batch, seed=seed,
                              streams=streams, **values)

    def draw(state):
        figure.show(state)
        hists.refresh(figure.panels)  # the axes shown fix the background
        stds.refresh(figure.std_layout)

    return explorer_box(controls, [["scheme", "activation"], ["log10_gain", "depth", "width"]],
                        [w.VBox([hists.image, stds.image])], compute, draw)
