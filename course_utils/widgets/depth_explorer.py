"""Depth explorer: depth x shortcut x initialization -> per-layer gradient
norms and activation spread of a ResNet or its plain twin at initialization.

The explorer does not build networks itself: it takes the student's builder
(notebook 8), ``make_net(blocks_per_stage, widths, shortcut=..., zero_init=...)``
returning an ``nn.Module`` from images to logits, as ``make_resnet`` does.

:func:`depth_state` is the pure computation behind the figure: one forward and
backward pass of a small batch through a fresh network, with forward hooks on
every 3x3 convolution recording the standard deviation of its output and,
after the backward pass, the norm of its weight's gradient.
:class:`DepthFigure` draws a state and updates its artists for the next one;
:func:`depth_explorer` shows the live widget (or, headless, the static figure
for the default controls).

Speed: the networks are narrow (``WIDTHS``) and the batch small, and each
state is kept once computed (the controls take few values), so a change seen
before redraws without computing.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from . import LIVE_DPI, LiveFigure, explorer_box, fast_log_axis, image_widget, show

DEPTHS = (8, 14, 20, 26, 32, 38, 44, 50, 56)   # layers with weights, 6n + 2: the slider's values
INITS = {"PyTorch default": "default", "zero-init last BN (gamma = 0)": "zero_init",
         "small weights N(0, 0.01)": "small"}
WIDTHS = (4, 8, 16)
FIGSIZE = (11, 4)


def blocks_per_stage(depth: int) -> int:
    """n of a 6n + 2-layer network."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth must be 6n + 2 with n >= 1 (8, 14, 20, ...), got {depth}")
    return (depth - 2) // 6


def depth_state(make_net: Callable, images, labels, *, depth: int = 20, shortcut: bool = True,
                init: str = "default", seed: int = 0, widths=WIDTHS) -> dict:
    """What the explorer shows for given control values.

    A fresh ``make_net([n] * 3, widths, shortcut=shortcut, zero_init=init == "zero_init")``
    (``n`` from ``depth``; torch seed ``seed``; for ``init == "small"`` every
    convolution's weight redrawn from N(0, 0.01²)) takes one training-mode
    forward and backward pass of the cross-entropy on ``images`` (B, C, H, W)
    and ``labels`` (B,).

    Returns a dict with "grad_norm" and "act_std": (L,) arrays over the
    network's 3x3 convolutions in the order they run (L = depth - 1: the stem
    and two per block), the norm of each weight's gradient and the standard
    deviation of each convolution's output; "loss": the batch loss; and the
    control values. The same controls and seed always give the same state.
    """
    import torch
    import torch.nn.functional as F

    if init not in INITS.values():
        raise ValueError(f"unknown init {init!r}; choose one of {list(INITS.values())}")
    n = blocks_per_stage(depth)
    torch.manual_seed(seed)
    net = make_net([n] * 3, list(widths), shortcut=shortcut, zero_init=init == "zero_init")
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    if init == "small":
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for conv in convs:
                conv.weight.copy_(0.01 * torch.randn(conv.weight.shape, generator=generator))
    order, stds = [], []

    def record(module, _inputs, output):
        order.append(module)
        stds.append(float(output.detach().std()))

    hooks = [conv.register_forward_hook(record) for conv in convs]
    try:
        net.train()
        loss = F.cross_entropy(net(images), labels)
        loss.backward()
    finally:
        for hook in hooks:
            hook.remove()
    grads = np.array([float(m.weight.grad.norm()) if m.weight.grad is not None else 0.0 for m in order])
    return {"depth": depth, "shortcut": shortcut, "init": init, "loss": loss.item(),
            "grad_norm": grads, "act_std": np.array(stds)}


def _positive(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def _decades(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.1, 10.0
    return 10.0 ** (np.floor(np.log10(finite.min())) - 0.1), 10.0 ** (np.ceil(np.log10(finite.max())) + 0.1)


class DepthFigure:
    """Two panels against the layer index: gradient norms (left) and activation
    spread (right), both on log axes. Built once; :meth:`show` updates the two
    lines and the titles; the axes are redrawn only when the depth or the
    decades they span change (``layout``)."""

    def __init__(self, fig):
        self.fig = fig
        self.grad_ax, self.act_ax = fig.subplots(1, 2, gridspec_kw=dict(left=0.07, right=0.98, bottom=0.14,
                                                                         top=0.82, wspace=0.25))
        self.grad, = self.grad_ax.semilogy([], [], "o-", ms=3, color="tab:red")
        self.act, = self.act_ax.semilogy([], [], "o-", ms=3, color="tab:blue")
        for ax, what in ((self.grad_ax, "gradient norm of the weight"), (self.act_ax, "std of the convolution's output")):
            fast_log_axis(ax.yaxis)
            ax.set_xlabel("3x3 convolution (1 = the stem, nearest the input)")
            ax.set_ylabel(f"{what} (log scale)")
        self.title = fig.suptitle(" ")
        self.lines = [self.grad, self.act, self.title]
        self.layout = None

    def show(self, state: dict) -> None:
        layers = np.arange(1, len(state["grad_norm"]) + 1)
        grads, acts = _positive(state["grad_norm"]), _positive(state["act_std"])
        self.grad.set_data(layers, grads)
        self.act.set_data(layers, acts)
        limits = (len(layers), _decades(grads), _decades(acts))
        if limits != self.layout:
            for ax, lim in ((self.grad_ax, limits[1]), (self.act_ax, limits[2])):
                ax.set_xlim(0, len(layers) + 1)
                ax.set_ylim(*lim)
            self.layout = limits
        kind = "ResNet" if state["shortcut"] else "plain"
        name = next(k for k, v in INITS.items() if v == state["init"])
        ratio = grads[0] / grads[-1] if np.isfinite(grads[0]) and np.isfinite(grads[-1]) else float("nan")
        self.title.set_text(f"{kind}-{state['depth']} at initialization ({name}): loss {state['loss']:.3f}, "
                            f"gradient norm first / last layer {ratio:.3g}")


def draw_explorer(state: dict, fig=None):
    """Draw ``state`` (from :func:`depth_state`) in a new pyplot figure, or in ``fig``."""
    if fig is None:
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=FIGSIZE)
    DepthFigure(fig).show(state)
    return fig


def depth_explorer(make_net: Callable, images, labels, *, depth: int = 20, shortcut: bool = True,
                   init: str = "default", seed: int = 0):
    """Show the live explorer, or, headless, the static figure for these
    control values. Returns what was shown: the widget, or the Figure."""
    controls = dict(depth=depth, shortcut=shortcut, init=init)
    return show(lambda: build_widget(make_net, images, labels, seed=seed, **controls),
                lambda: draw_explorer(depth_state(make_net, images, labels, seed=seed, **controls)))


def build_widget(make_net: Callable, images, labels, *, depth: int, shortcut: bool, init: str, seed: int = 0):
    """The ipywidgets box: depth, shortcut and initialization on top, the figure below."""
    import ipywidgets as w
    from matplotlib.figure import Figure

    controls = {
        "depth": w.IntSlider(value=depth, min=DEPTHS[0], max=DEPTHS[-1], step=6, description="layers",
                             continuous_update=False),
        "shortcut": w.Dropdown(options=[("residual (shortcuts)", True), ("plain (no shortcuts)", False)],
                               value=shortcut, description="network"),
        "init": w.Dropdown(options=list(INITS.items()), value=init, description="init"),
    }
    figure = DepthFigure(Figure(figsize=FIGSIZE, dpi=LIVE_DPI))
    live = LiveFigure(figure.fig, image_widget(figure.fig))
    live.animate(figure.lines)
    kept: dict = {}   # states computed so far, by control values

    def compute(values):
        key = (values["depth"], values["shortcut"], values["init"])
        if key not in kept:
            kept[key] = depth_state(make_net, images, labels, seed=seed, **values)
        return kept[key]

    def draw(state):
        figure.show(state)
        live.refresh(figure.layout)

    return explorer_box(controls, [["depth", "shortcut"], ["init"]], [live.image], compute, draw)
