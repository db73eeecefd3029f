"""Memory explorer: how far back does a recurrent network's gradient reach?

Controls: the spectral radius of an Elman RNN's recurrent matrix, its
nonlinearity, an LSTM's forget-gate bias, and the sequence length T. The
figure shows, against t, the spectral norm of the Jacobian of the last hidden
state with respect to the state at step t: ``dh_T/dh_t`` for the RNN and
``dh_T/d(h_t, C_t)`` for the LSTM (its state is the pair).

The Jacobians come from torch autograd, not from any exercise of notebook 9
(which multiplies per-step Jacobians): the sequence is copied once per output
unit into the batch, copy ``i`` backpropagates only ``h_T[i]``, so one
backward pass gives row ``i`` of every ``dh_T/dh_t`` at once; the norms are
then one batched ``torch.linalg.matrix_norm(ord=2)``.

:func:`memory_state` is the pure computation; :class:`MemoryFigure` draws a
state and updates its artists; :func:`memory_explorer` shows the live widget
(or, headless, the static figure).
"""
from __future__ import annotations

import numpy as np
import torch

from . import LIVE_DPI, LiveFigure, explorer_box, fast_log_axis, image_widget, show

NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda a: a}
HIDDEN, INPUTS = 32, 8
MAX_LENGTH = 200   # an LSTM of 200 steps takes about 0.1 s to differentiate here
FIGSIZE = (10, 4.2)
FLOOR = 1e-30   # norms below this are drawn at it (a log axis cannot show 0)


def _orthogonal(n: int, generator: torch.Generator) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


def rnn_memory(radius: float, nonlinearity: str, length: int, seed: int = 0) -> np.ndarray:
    """(length,) spectral norms of dh_T/dh_t, t = 1..T (entry T-1 is the identity's, 1), for an
    Elman RNN h_t = f(x_t W^T + h_{t-1} U^T) with U orthogonal times ``radius``, on one random
    input sequence of unit variance."""
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"unknown nonlinearity {nonlinearity!r}; choose one of {list(NONLINEARITIES)}")
    generator = torch.Generator().manual_seed(seed)
    U = radius * _orthogonal(HIDDEN, generator)
    W = torch.randn(HIDDEN, INPUTS, generator=generator, dtype=torch.float64) / INPUTS ** 0.5
    x = torch.randn(length, INPUTS, generator=generator, dtype=torch.float64)
    f = NONLINEARITIES[nonlinearity]
    h = torch.zeros(HIDDEN, HIDDEN, dtype=torch.float64, requires_grad=True)   # one copy per output unit
    states = []
    for t in range(length):
        h = f(x[t] @ W.T + h @ U.T)
        h.retain_grad()
        states.append(h)
    torch.diagonal(states[-1]).sum().backward()                  # copy i: d h_T[i] / d everything
    jacobians = torch.stack([s.grad for s in states])            # (T, H, H): row i of each dh_T/dh_t
    return torch.linalg.matrix_norm(jacobians, ord=2).numpy()


def lstm_memory(forget_bias: float, length: int, seed: int = 0) -> np.ndarray:
    """(length,) spectral norms of dh_T/d(h_t, C_t) for torch's LSTM cell (weights as torch draws
    them, biases zero except the forget gate's), on one random input sequence."""
    torch.manual_seed(seed)
    cell = torch.nn.LSTMCell(INPUTS, HIDDEN).double()
    with torch.no_grad():
        cell.bias_ih.zero_()
        cell.bias_hh.zero_()
        cell.bias_ih[HIDDEN:2 * HIDDEN] = forget_bias
    x = torch.randn(length, INPUTS, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    h = c = torch.zeros(HIDDEN, HIDDEN, dtype=torch.float64)
    states = []
    for t in range(length):
        h, c = cell(x[t].expand(HIDDEN, -1), (h, c))
        h.retain_grad()
        c.retain_grad()
        states.append((h, c))
    torch.diagonal(states[-1][0]).sum().backward()
    jacobians = torch.stack([torch.cat([h.grad, c.grad], dim=1) for h, c in states])   # (T, H, 2H)
    return torch.linalg.matrix_norm(jacobians, ord=2).numpy()


def memory_state(*, radius: float = 1.0, nonlinearity: str = "tanh", forget_bias: float = 1.0,
                 length: int = 100, seed: int = 0, cache: dict | None = None) -> dict:
    """What the explorer shows: the controls, ``steps_back`` = T - t (0..T-1) and the two norm
    curves over it (RNN, LSTM), float arrays of the same length. ``cache``: a dict the caller
    keeps between calls, so that a change of an RNN control does not differentiate the LSTM
    again (and the reverse); the result is the same with or without it."""
    if not 2 <= length <= MAX_LENGTH:
        raise ValueError(f"length must be between 2 and {MAX_LENGTH}, got {length}")
    cache = {} if cache is None else cache
    rnn_key, lstm_key = ("rnn", radius, nonlinearity, length, seed), ("lstm", forget_bias, length, seed)
    if rnn_key not in cache:
        cache[rnn_key] = rnn_memory(radius, nonlinearity, length, seed)[::-1].copy()
    if lstm_key not in cache:
        cache[lstm_key] = lstm_memory(forget_bias, length, seed)[::-1].copy()
    rnn, lstm = cache[rnn_key], cache[lstm_key]
    for key in [k for k in cache if k not in (rnn_key, lstm_key)]:
        del cache[key]                           # keep only what the current figure shows
    return {"radius": float(radius), "nonlinearity": nonlinearity, "forget_bias": float(forget_bias),
            "length": int(length), "steps_back": np.arange(length), "rnn": rnn, "lstm": lstm}


class MemoryFigure:
    """One log-scale panel, two lines (RNN, LSTM) against T - t; :meth:`show` updates them."""

    def __init__(self, fig):
        self.fig = fig
        self.ax = fig.subplots(gridspec_kw=dict(left=0.08, right=0.98, bottom=0.14, top=0.88))
        self.rnn, = self.ax.semilogy([], [], "-", color="tab:red", label="Elman RNN: |dh_T/dh_t|")
        self.lstm, = self.ax.semilogy([], [], "-", color="tab:blue", label="LSTM: |dh_T/d(h_t, C_t)|")
        self.ax.axhline(1.0, color="gray", lw=0.8, ls=":")
        fast_log_axis(self.ax.yaxis)
        self.ax.set_xlabel("T - t (steps back)")
        self.ax.set_ylabel("spectral norm (log scale)")
        self.ax.set_ylim(FLOOR, 1e6)
        self.ax.legend(loc="lower left", fontsize=8)
        self.lines = [self.rnn, self.lstm, self.ax.title]
        self.layout = None

    def show(self, state: dict):
        steps = state["steps_back"]
        self.rnn.set_data(steps, np.clip(np.nan_to_num(state["rnn"], nan=FLOOR), FLOOR, None))
        self.lstm.set_data(steps, np.clip(np.nan_to_num(state["lstm"], nan=FLOOR), FLOOR, None))
        self.ax.set_xlim(0, state["length"] - 1)
        self.layout = state["length"]        # the x axis is what the background depends on
        self.ax.set_title(f"T = {state['length']}: RNN spectral radius {state['radius']:.2f}, "
                          f"{state['nonlinearity']}; LSTM forget-gate bias {state['forget_bias']:.1f}")


def draw_memory(state: dict, fig=None):
    """Draw ``state`` in a new pyplot figure (or ``fig``); returns the Figure."""
    if fig is None:
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=FIGSIZE)
    MemoryFigure(fig).show(state)
    return fig


def memory_explorer(*, radius: float = 1.0, nonlinearity: str = "tanh", forget_bias: float = 1.0,
                    length: int = 100, seed: int = 0):
    """Show the live explorer, or, headless, the static figure for these controls."""
    controls = dict(radius=radius, nonlinearity=nonlinearity, forget_bias=forget_bias, length=length)
    return show(lambda: build_widget(seed=seed, **controls),
                lambda: draw_memory(memory_state(seed=seed, **controls)))


def build_widget(*, radius: float, nonlinearity: str, forget_bias: float, length: int, seed: int = 0):
    """Controls on top (each redraws when released), a message line, the figure below."""
    import ipywidgets as w
    from matplotlib.figure import Figure

    style = {"description_width": "initial"}
    controls = {
        "radius": w.FloatSlider(value=radius, min=0.5, max=2.0, step=0.05, description="RNN spectral radius",
                                continuous_update=False, style=style),
        "nonlinearity": w.Dropdown(options=list(NONLINEARITIES), value=nonlinearity, description="RNN nonlinearity",
                                   style=style),
        "forget_bias": w.FloatSlider(value=forget_bias, min=-3.0, max=5.0, step=0.5, description="LSTM forget bias",
                                     continuous_update=False, style=style),
        "length": w.IntSlider(value=length, min=10, max=MAX_LENGTH, step=10, description="length T",
                              continuous_update=False),
    }
    figure = MemoryFigure(Figure(figsize=FIGSIZE, dpi=LIVE_DPI))
    live = LiveFigure(figure.fig, image_widget(figure.fig))
    live.animate(figure.lines)

    def draw(state):
        figure.show(state)
        live.refresh(figure.layout)

    cache: dict = {}
    return explorer_box(controls, [["radius", "nonlinearity"], ["forget_bias", "length"]], [live.image],
                        lambda values: memory_state(seed=seed, cache=cache, **values), draw)
