"""Learning-rate explorer and optimizer race on the 2-D test problems.

The optimizers are NOT defined here: every function takes the student's
optimizers as a dict ``name -> factory``, where ``factory(lr=..., momentum=...)``
returns an object with

- a settable attribute ``lr``;
- ``step(params, grads)`` updating the dict of arrays ``params`` in place;
- optionally ``lookahead(params)`` returning the point (a dict like
  ``params``) at which the next gradient is to be evaluated (Nesterov's
  interim point). Without it the gradient is taken at ``params``.

The pure functions (:func:`run_optimizer`, :func:`explorer_data`,
:func:`race_data`) compute what the figures show and are unit-tested; the
widgets only call them. Headless, :func:`lr_explorer` and :func:`optimizer_race`
draw a static figure for their default control values (see
:func:`course_utils.widgets.show`).
"""
from __future__ import annotations

from typing import Callable, Mapping

import matplotlib.pyplot as plt
import numpy as np

from ..problems import PROBLEMS, Problem, get_problem
from . import show

Factory = Callable[..., object]
DIVERGED = 1e6  # |x| beyond this counts as diverged; the rest of the trajectory is nan


def run_optimizer(optimizer, problem: Problem, start=None, steps: int = 50, *,
                  schedule: Callable[[int], float] | None = None,
                  clip: Callable[[dict, float], dict] | None = None, max_norm: float = 1.0):
    """Run ``optimizer`` for ``steps`` steps on ``problem`` from ``start``.

    optimizer: object with ``lr``, ``step(params, grads)`` (and maybe ``lookahead``).
    start:     (2,) starting point (default ``problem.start``).
    schedule:  optional ``schedule(t) -> lr``, applied before step t (t = 0, 1, ...).
    clip:      optional ``clip(grads, max_norm) -> grads`` applied to every gradient.

    Returns (points, values): points (steps + 1, 2), values (steps + 1,); after a
    divergence (non-finite or |x| > 1e6) the remaining entries are nan.
    """
    x = np.array(problem.start if start is None else start, dtype=float).reshape(2)
    params = {"x": x}
    points = np.full((steps + 1, 2), np.nan)
    values = np.full(steps + 1, np.nan)
    points[0], values[0] = x, problem.value(x)
    lookahead = getattr(optimizer, "lookahead", None)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for t in range(steps):
            if schedule is not None:
                optimizer.lr = schedule(t)
            at = lookahead(params) if lookahead is not None else params
            grads = {"x": problem.grad(np.asarray(at["x"], dtype=float))}
            if clip is not None:
                grads = clip(grads, max_norm)
            optimizer.step(params, grads)
            current = params["x"]
            if not np.all(np.isfinite(current)) or np.max(np.abs(current)) > DIVERGED:
                break
            points[t + 1], values[t + 1] = current, problem.value(current)
    return points, values


def explorer_data(factories: Mapping[str, Factory], optimizer: str, problem: str | Problem,
                  log10_lr: float, momentum: float = 0.9, steps: int = 50):
    """What the explorer draws for one set of control values.

    Returns a dict: problem (Problem), lr (float), points (steps + 1, 2),
    values (steps + 1,), diverged (bool).
    """
    prob = get_problem(problem) if isinstance(problem, str) else problem
    lr = float(10.0 ** log10_lr)
    points, values = run_optimizer(factories[optimizer](lr=lr, momentum=momentum), prob,
                                   steps=steps)
    return {"problem": prob, "lr": lr, "points": points, "values": values,
            "diverged": bool(np.isnan(values).any())}


def race_data(factories: Mapping[str, Factory], problem: str | Problem,
              lrs: Mapping[str, float], momentum: float = 0.9, steps: int = 100, start=None):
    """All optimizers from one start on one problem.

    lrs: learning rate per optimizer name (every name in ``factories``).
    Returns {name: (points (steps + 1, 2), values (steps + 1,))}.
    """
    prob = get_problem(problem) if isinstance(problem, str) else problem
    return {name: run_optimizer(make(lr=lrs[name], momentum=momentum), prob, start=start,
                                steps=steps)
            for name, make in factories.items()}


# ---------------------------------------------------------------- drawing

def _contours(ax, prob: Problem):
    X1, X2, F = prob.grid(160)
    if prob.log_levels:
        levels = np.logspace(-1, np.log10(F.max()), 18)
    else:
        levels = np.linspace(F.min(), np.percentile(F, 90), 18)
    ax.contour(X1, X2, F, levels=levels, cmap="Greys", linewidths=0.7)
    ax.plot(*prob.minima.T, "k*", markersize=10, label="minimum")
    ax.set_xlim(prob.xlim), ax.set_ylim(prob.ylim)
    ax.set_xlabel("$x_1$"), ax.set_ylabel("$x_2$")


def _gap(values, prob: Problem):
    """f - f_min, floored so that a log axis can show it."""
    return np.maximum(values - prob.f_min, 1e-12)


def draw_explorer(data: dict, optimizer: str, momentum: float, fig=None):
    """Trajectory on the contours and loss curve for ``explorer_data``'s result."""
    fig = fig or plt.figure(figsize=(11, 4))
    fig.clf()
    ax_path, ax_loss = fig.subplots(1, 2)
    prob, points = data["problem"], data["points"]
    _contours(ax_path, prob)
    ax_path.plot(points[:, 0], points[:, 1], ".-", color="C0", markersize=3, linewidth=1)
    ax_path.plot(*points[0], "o", color="C2", label="start")
    status = " (diverged)" if data["diverged"] else ""
    ax_path.set_title(f"{optimizer}, lr = {data['lr']:.3g}, momentum = {momentum:g}{status}")
    ax_path.legend(loc="lower right", fontsize=8)
    ax_loss.semilogy(_gap(data["values"], prob))
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("$f(x) - f_{min}$ (log scale)")
    ax_loss.set_title(prob.title)
    fig.tight_layout()
    return fig


def draw_race(runs: dict, problem: Problem, upto: int | None = None, fig=None):
    """Trajectories and loss curves of ``race_data``'s result up to step ``upto``."""
    fig = fig or plt.figure(figsize=(11, 4))
    fig.clf()
    ax_path, ax_loss = fig.subplots(1, 2)
    _contours(ax_path, problem)
    for i, (name, (points, values)) in enumerate(runs.items()):
        n = len(values) if upto is None else upto + 1
        color = f"C{i}"
        ax_path.plot(points[:n, 0], points[:n, 1], "-", color=color, linewidth=1.2, label=name)
        last = points[:n][~np.isnan(points[:n, 0])]
        if len(last):
            ax_path.plot(*last[-1], "o", color=color, markersize=5)
        ax_loss.semilogy(np.arange(n), _gap(values[:n], problem), color=color, label=name)
    steps = len(next(iter(runs.values()))[1]) - 1
    ax_path.set_title(f"Optimizer race, step {steps if upto is None else upto}")
    ax_path.legend(loc="lower right", fontsize=7)
    ax_loss.set_xlim(0, steps)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("$f(x) - f_{min}$ (log scale)")
    ax_loss.set_title(problem.title)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- widgets

def lr_explorer(factories: Mapping[str, Factory], *, optimizer: str | None = None,
                problem: str = "quadratic", log10_lr: float = -1.0, momentum: float = 0.9,
                steps: int = 50):
    """Learning-rate explorer: log-scale lr slider, momentum slider, optimizer and
    problem choice; shows the trajectory on the contours and the loss curve,
    redrawn when a slider is released. Headless: the static figure for the
    given values."""
    optimizer = optimizer or next(iter(factories))

    def draw_static():
        return draw_explorer(explorer_data(factories, optimizer, problem, log10_lr, momentum,
                                           steps), optimizer, momentum)

    return show(lambda: build_lr_explorer(factories, optimizer, problem, log10_lr, momentum,
                                          steps), draw_static)


def build_lr_explorer(factories, optimizer, problem, log10_lr, momentum, steps):
    """The ipywidgets box of :func:`lr_explorer` (not displayed)."""
    import ipywidgets as w

    controls = dict(
        optimizer=w.Dropdown(options=list(factories), value=optimizer, description="optimizer"),
        problem=w.Dropdown(options=list(PROBLEMS), value=problem, description="problem"),
        log10_lr=w.FloatSlider(value=log10_lr, min=-4, max=0.5, step=0.05,
                               description="log10(lr)", continuous_update=False),
        momentum=w.FloatSlider(value=momentum, min=0.0, max=0.99, step=0.01,
                               description="momentum", continuous_update=False),
        steps=w.IntSlider(value=steps, min=5, max=500, step=5, description="steps",
                          continuous_update=False),
    )
    out = w.Output()

    def redraw(optimizer, problem, log10_lr, momentum, steps):
        from IPython.display import display
        with out:
            out.clear_output(wait=True)
            fig = draw_explorer(explorer_data(factories, optimizer, problem, log10_lr, momentum,
                                              steps), optimizer, momentum)
            display(fig)
            plt.close(fig)

    w.interactive_output(redraw, controls)
    return w.VBox([w.HBox([controls["optimizer"], controls["problem"]]),
                   w.HBox([controls["log10_lr"], controls["momentum"], controls["steps"]]), out])


def optimizer_race(factories: Mapping[str, Factory], lrs: Mapping[str, float], *,
                   problem: str = "rosenbrock", momentum: float = 0.9, steps: int = 200):
    """Optimizer race: every optimizer from one start, stepped with a play button
    and a step slider; trajectories and loss-vs-step. Headless: the final step."""
    def draw_static():
        prob = get_problem(problem)
        return draw_race(race_data(factories, prob, lrs, momentum, steps), prob)

    return show(lambda: build_optimizer_race(factories, lrs, problem, momentum, steps),
                draw_static)


def build_optimizer_race(factories, lrs, problem, momentum, steps):
    """The ipywidgets box of :func:`optimizer_race` (not displayed)."""
    import ipywidgets as w

    state = {}
    problem_box = w.Dropdown(options=list(PROBLEMS), value=problem, description="problem")
    step = w.IntSlider(value=0, min=0, max=steps, description="step")
    play = w.Play(value=0, min=0, max=steps, step=max(1, steps // 100), interval=100)
    w.jslink((play, "value"), (step, "value"))
    out = w.Output()

    def recompute(change=None):
        prob = get_problem(problem_box.value)
        state.update(problem=prob, runs=race_data(factories, prob, lrs, momentum, steps))
        redraw()

    def redraw(change=None):
        from IPython.display import display
        with out:
            out.clear_output(wait=True)
            fig = draw_race(state["runs"], state["problem"], upto=step.value)
            display(fig)
            plt.close(fig)

    problem_box.observe(recompute, names="value")
    step.observe(redraw, names="value")
    recompute()
    return w.VBox([w.HBox([problem_box, play, step]), out])
