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
:func:`draw_explorer` draws a state; :func:`init_explorer` shows the live
widget (or, headless, the static figure for the default controls).
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from . import show

ACTIVATIONS = ("linear", "relu", "tanh")
MAX_HISTOGRAMS = 5  # histogram panels, evenly spread over the layers


def histogram_layers(depth: int, max_panels: int = MAX_HISTOGRAMS) -> list[int]:
    """Indices (0-based) of the layers whose histograms are shown: the first,
    the last, and evenly spaced ones in between, at most ``max_panels``."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    return sorted({int(round(i)) for i in np.linspace(0, depth - 1, min(depth, max_panels))})


def explorer_state(initializers: Mapping[str, Callable], layer_statistics_fn: Callable, *,
                   scheme: str, log10_gain: float = 0.0, depth: int = 10, width: int = 100,
                   activation: str = "relu", batch: int = 256, bins: int = 40,
                   seed: int = 0) -> dict:
    """What the explorer shows for given control values.

    A batch ``x`` of shape (batch, width) with standard normal entries goes
    through ``depth`` layers of ``width`` units whose weights are
    ``10**log10_gain * initializers[scheme]((width, width), rng)``; a standard
    normal ``dout`` of shape (batch, width) is propagated back.

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
    if depth < 1 or width < 1 or batch < 1:
        raise ValueError(f"depth, width and batch must be positive, got {depth}, {width}, {batch}")
    rng = np.random.default_rng(seed)
    gain = float(10.0 ** log10_gain)
    init = initializers[scheme]
    weights = [gain * np.asarray(init((width, width), rng), dtype=np.float64) for _ in range(depth)]
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
    layers = histogram_layers(depth)
    histograms = [_histogram(np.asarray(activations[i], dtype=np.float64), bins) for i in layers]
    return {"scheme": scheme, "log10_gain": float(log10_gain), "gain": gain, "depth": depth,
            "width": width, "activation": activation, "batch": batch,
            "weight_std": np.array([w.std() for w in weights]),
            "act_std": act_std, "grad_std": grad_std, "layers": layers, "histograms": histograms}


def _histogram(values: np.ndarray, bins: int):
    finite = values[np.isfinite(values)]
    reach = float(np.max(np.abs(finite))) if finite.size else 0.0
    if not reach > 0:
        reach = 1.0
    return np.histogram(finite, bins=bins, range=(-reach, reach))


def _positive(values: np.ndarray) -> np.ndarray:
    """Values a log axis can show: zero, negative or non-finite become nan."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def draw_explorer(state: dict, fig=None):
    """Draw ``state`` (from :func:`explorer_state`): one row of activation
    histograms, then std of activations and gradients against the layer index
    on a log axis. Returns the Figure."""
    import matplotlib.pyplot as plt

    n_hist = len(state["layers"])
    if fig is None:
        fig = plt.figure(figsize=(12, 6.5))
    fig.clear()
    grid = fig.add_gridspec(2, max(n_hist, 2), height_ratios=[1, 1.4], hspace=0.55, wspace=0.35)
    for k, (layer, (counts, edges)) in enumerate(zip(state["layers"], state["histograms"])):
        ax = fig.add_subplot(grid[0, k])
        ax.stairs(counts, edges, fill=True, color="tab:blue", alpha=0.7)
        ax.set_title(f"layer {layer + 1}: std {state['act_std'][layer]:.2g}", fontsize=9)
        ax.set_xlabel("activation value", fontsize=8)
        ax.tick_params(labelsize=7)
        if k == 0:
            ax.set_ylabel("count", fontsize=8)
    ax = fig.add_subplot(grid[1, :])
    layer_numbers = np.arange(1, state["depth"] + 1)
    ax.semilogy(layer_numbers, _positive(state["act_std"]), "o-", label="activations (forward)")
    ax.semilogy(layer_numbers, _positive(state["grad_std"]), "s-",
                label="gradient w.r.t. layer input (backward)")
    ax.axhline(1.0, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("layer (1 = closest to the input)")
    ax.set_ylabel("standard deviation (log scale)")
    ax.set_title(f"{state['scheme']} x gain {state['gain']:.3g}, {state['activation']}, "
                 f"{state['depth']} layers of {state['width']} units")
    ax.legend(loc="best", fontsize=8)
    fig.suptitle("Initialization explorer: how the signal spreads through depth")
    return fig


def init_explorer(initializers: Mapping[str, Callable], layer_statistics_fn: Callable, *,
                  scheme: str | None = None, log10_gain: float = 0.0, depth: int = 10,
                  width: int = 100, activation: str = "relu", batch: int = 256, seed: int = 0):
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
                 batch: int = 256, seed: int = 0):
    """The ipywidgets box: controls on top, the figure below. Each control
    redraws the figure when released (``continuous_update=False``)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

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
    output = w.Output()
    message = w.HTML()
    with plt.ioff():
        fig = plt.figure(figsize=(12, 6.5))

    def redraw(_change=None):
        values = {name: control.value for name, control in controls.items()}
        try:
            state = explorer_state(initializers, layer_statistics_fn, batch=batch, seed=seed,
                                   **values)
        except Exception as error:  # noqa: BLE001 (show the student's error, keep the widget)
            message.value = f"<b>error:</b> {type(error).__name__}: {error}"
            return None
        message.value = ""
        draw_explorer(state, fig)
        output.clear_output(wait=True)
        with output:
            from IPython.display import display
            display(fig)
        return state

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    box = w.VBox([w.HBox([controls["scheme"], controls["activation"]]),
                  w.HBox([controls["log10_gain"], controls["depth"], controls["width"]]),
                  message, output])
    box.controls, box.redraw = controls, redraw  # for tests and notebooks
    return box
