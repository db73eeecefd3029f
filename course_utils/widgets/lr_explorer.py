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

import threading
import time
from typing import Callable, Mapping

import numpy as np

from ..problems import PROBLEMS, Problem, get_problem
from . import LIVE_DPI, LiveFigure, fast_log_axis, image_widget, show

Factory = Callable[..., object]
DIVERGED = 1e6  # |x| beyond this counts as diverged; the rest of the trajectory is nan
# What the momentum control means for each optimizer of notebook 3's FACTORIES
# (Adam gets it as beta1); the others ignore it, so it is not in their title.
MOMENTUM_NAMES = {"Momentum": "momentum", "Nesterov": "momentum", "Adam": "beta1"}
GAP_FLOOR = 1e-12   # f - f_min is floored here so that a log axis can show it
FIGSIZE = (11, 4)


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
    values (steps + 1,), diverged (bool), diverged_at (the first step whose
    point is missing, or None).
    """
    prob = get_problem(problem) if isinstance(problem, str) else problem
    lr = float(10.0 ** log10_lr)
    points, values = run_optimizer(factories[optimizer](lr=lr, momentum=momentum), prob,
                                   steps=steps)
    return {"problem": prob, "lr": lr, "points": points, "values": values,
            "diverged": bool(np.isnan(values).any()), "diverged_at": diverged_at(values)}


def diverged_at(values: np.ndarray) -> int | None:
    """The first step with no value (the run diverged before it), or None."""
    missing = np.flatnonzero(np.isnan(values))
    return int(missing[0]) if missing.size else None


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
#
# One figure per explorer, built once: its artists are updated in place. Axis
# limits are fixed per problem and step count, so that changing the learning
# rate, the momentum, the optimizer or the race's step only redraws lines
# (the widgets draw those over a cached background, see LiveFigure).

def _gap(values, prob: Problem):
    """f - f_min, floored so that a log axis can show it."""
    return np.maximum(values - prob.f_min, GAP_FLOOR)


def _gap_limits(prob: Problem, values=()) -> tuple[float, float]:
    """Fixed y range of the loss panel: from the floor to three decades above
    the start, or just above the highest of ``values`` (the race's runs), at
    most six decades above the start. A run that leaves the top diverged; the
    explorer's title says so."""
    start = float(_gap(prob.value(prob.start), prob))
    highest = [float(np.nanmax(_gap(v, prob))) for v in values if np.isfinite(v).any()]
    top = min(max([start] + highest), start * 1e6) if highest else start * 1e3
    return GAP_FLOOR, 10.0 ** np.ceil(np.log10(top) + 0.2)


def _contours(ax, prob: Problem):
    """Contour lines, the minima, limits and labels; returns the artists to
    remove when the problem changes."""
    X1, X2, F = prob.grid(160)
    if prob.log_levels:
        levels = np.logspace(-1, np.log10(F.max()), 18)
    else:
        levels = np.linspace(F.min(), np.percentile(F, 90), 18)
    contours = ax.contour(X1, X2, F, levels=levels, cmap="Greys", linewidths=0.7)
    minima, = ax.plot(*prob.minima.T, "k*", markersize=10, label="minimum")
    ax.set_xlim(prob.xlim), ax.set_ylim(prob.ylim)
    ax.set_xlabel("$x_1$"), ax.set_ylabel("$x_2$")
    return [contours, minima]


def _loss_axes(ax, prob: Problem, steps: int, limits):
    ax.set_yscale("log")
    fast_log_axis(ax.yaxis)
    ax.set_xlim(0, steps), ax.set_ylim(*limits)
    ax.set_xlabel("step")
    ax.set_ylabel("$f(x) - f_{min}$ (log scale)")
    ax.set_title(prob.title)


def _new_figure(fig):
    """``fig``, or a new pyplot figure (shown inline by ``plt.show()`` headless)."""
    if fig is None:
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=FIGSIZE)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.9, wspace=0.25)
    return fig


def explorer_title(optimizer: str, lr: float, momentum: float, diverged: int | None,
                   momentum_names: Mapping[str, str] = MOMENTUM_NAMES) -> str:
    """A title such as "Momentum, lr = 0.02, momentum = 0.9": no momentum for
    an optimizer that ignores it, "diverged at step k" rather than overflowing
    numbers."""
    title = f"{optimizer}, lr = {lr:.3g}"
    if optimizer in momentum_names:
        title += f", {momentum_names[optimizer]} = {momentum:g}"
    return title + (f": diverged at step {diverged}" if diverged is not None else "")


class ExplorerFigure:
    """The learning-rate explorer's figure: trajectory on the contours (left),
    f - f_min per step (right). :meth:`show` updates it in place; only the
    lines and the title change unless ``layout`` (the problem and the step
    count: contours, limits, ticks) does."""

    def __init__(self, fig=None, momentum_names: Mapping[str, str] = MOMENTUM_NAMES):
        self.fig = _new_figure(fig)
        self.momentum_names = momentum_names
        self.ax_path, self.ax_loss = self.fig.subplots(1, 2)
        self.path, = self.ax_path.plot([], [], ".-", color="C0", markersize=3, linewidth=1)
        self.start, = self.ax_path.plot([], [], "o", color="C2", label="start")
        self.loss, = self.ax_loss.plot([], [], color="C0")
        self.lines = [self.path, self.start, self.loss, self.ax_path.title]
        self._static, self.layout = [], None

    def show(self, data: dict, optimizer: str, momentum: float) -> None:
        prob, points, values = data["problem"], data["points"], data["values"]
        steps = len(values) - 1
        if self.layout != (prob.name, steps):
            self._set_problem(prob, steps)
        self.path.set_data(points[:, 0], points[:, 1])
        self.start.set_data(points[:1, 0], points[:1, 1])
        self.loss.set_data(np.arange(steps + 1), _gap(values, prob))
        self.ax_path.set_title(explorer_title(optimizer, data["lr"], momentum,
                                              data.get("diverged_at"), self.momentum_names))

    def _set_problem(self, prob: Problem, steps: int):
        for artist in self._static:
            artist.remove()
        self._static = _contours(self.ax_path, prob)
        self.ax_path.legend(loc="lower right", fontsize=8)
        _loss_axes(self.ax_loss, prob, steps, _gap_limits(prob))
        self.layout = (prob.name, steps)


class RaceFigure:
    """The optimizer race's figure: every trajectory on the contours (left)
    and every loss curve (right), up to a step. :meth:`set_runs` is called once
    per problem, :meth:`show_step` once per frame (lines only)."""

    def __init__(self, fig=None):
        self.fig = _new_figure(fig)
        self.ax_path, self.ax_loss = self.fig.subplots(1, 2)
        self.runs, self.curves, self._static = {}, {}, []
        self.lines = [self.ax_path.title]

    def set_runs(self, runs: dict, prob: Problem):
        for artist in self._static + [a for curve in self.curves.values() for a in curve]:
            artist.remove()
        self.runs, self.problem = runs, prob
        self._static = _contours(self.ax_path, prob)
        self.curves = {}
        for i, name in enumerate(runs):
            color = f"C{i}"
            self.curves[name] = (
                self.ax_path.plot([], [], "-", color=color, linewidth=1.2, label=name)[0],
                self.ax_path.plot([], [], "o", color=color, markersize=5)[0],
                self.ax_loss.plot([], [], color=color, label=name)[0])
        self.ax_path.legend(loc="lower right", fontsize=7)
        self.steps = len(next(iter(runs.values()))[1]) - 1
        _loss_axes(self.ax_loss, prob, self.steps,
                   _gap_limits(prob, [values for _, values in runs.values()]))
        self.lines = [self.ax_path.title] + [a for curve in self.curves.values() for a in curve]

    def show_step(self, upto: int | None = None):
        upto = self.steps if upto is None else int(upto)
        n = upto + 1
        for name, (points, values) in self.runs.items():
            path, marker, loss = self.curves[name]
            path.set_data(points[:n, 0], points[:n, 1])
            reached = points[:n][~np.isnan(points[:n, 0])]
            marker.set_data(reached[-1:, 0], reached[-1:, 1])
            loss.set_data(np.arange(n), _gap(values[:n], self.problem))
        self.ax_path.set_title(f"Optimizer race, step {upto}")


def draw_explorer(data: dict, optimizer: str, momentum: float, fig=None,
                  momentum_names: Mapping[str, str] = MOMENTUM_NAMES):
    """Trajectory on the contours and loss curve for ``explorer_data``'s result
    (a new pyplot figure unless ``fig`` is given). Returns the Figure."""
    figure = ExplorerFigure(fig, momentum_names)
    figure.show(data, optimizer, momentum)
    return figure.fig


def draw_race(runs: dict, problem: Problem, upto: int | None = None, fig=None):
    """Trajectories and loss curves of ``race_data``'s result up to step ``upto``
    (default: the last). Returns the Figure."""
    figure = RaceFigure(fig)
    figure.set_runs(runs, problem)
    figure.show_step(upto)
    return figure.fig


# ---------------------------------------------------------------- widgets

def lr_explorer(factories: Mapping[str, Factory], *, optimizer: str | None = None,
                problem: str = "quadratic", log10_lr: float = -1.0, momentum: float = 0.9,
                steps: int = 50, momentum_names: Mapping[str, str] = MOMENTUM_NAMES):
    """Learning-rate explorer: log-scale lr slider, momentum slider (for the
    optimizers in ``momentum_names``), optimizer and problem choice; shows the
    trajectory on the contours and the loss curve, redrawn when a slider is
    released. Headless: the static figure for the given values."""
    optimizer = optimizer or next(iter(factories))

    def draw_static():
        return draw_explorer(explorer_data(factories, optimizer, problem, log10_lr, momentum,
                                           steps), optimizer, momentum,
                             momentum_names=momentum_names)

    return show(lambda: build_lr_explorer(factories, optimizer, problem, log10_lr, momentum,
                                          steps, momentum_names), draw_static)


def build_lr_explorer(factories, optimizer, problem, log10_lr, momentum, steps,
                      momentum_names: Mapping[str, str] = MOMENTUM_NAMES):
    """The ipywidgets box of :func:`lr_explorer` (not displayed). The box has
    ``controls`` (name -> widget) and ``redraw()`` (returns the data drawn)."""
    import ipywidgets as w
    from matplotlib.figure import Figure

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
    figure = ExplorerFigure(Figure(figsize=FIGSIZE, dpi=LIVE_DPI), momentum_names)
    live = LiveFigure(figure.fig, image_widget(figure.fig))
    live.animate(figure.lines)

    def redraw(_change=None):
        values = {name: control.value for name, control in controls.items()}
        controls["momentum"].disabled = values["optimizer"] not in momentum_names
        data = explorer_data(factories, **values)
        figure.show(data, values["optimizer"], values["momentum"])
        live.refresh(figure.layout)
        return data

    # Draw every problem's background now (about a second), so that a problem
    # change only redraws lines; a step change draws one again.
    for name in PROBLEMS:
        figure.show(explorer_data(factories, optimizer, name, log10_lr, momentum, steps),
                    optimizer, momentum)
        live.refresh(figure.layout)
    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    box = w.VBox([w.HBox([controls["optimizer"], controls["problem"]]),
                  w.HBox([controls["log10_lr"], controls["momentum"], controls["steps"]]),
                  live.image])
    box.controls, box.redraw = controls, redraw
    return box


def optimizer_race(factories: Mapping[str, Factory], lrs: Mapping[str, float], *,
                   problem: str = "rosenbrock", momentum: float = 0.9, steps: int = 200):
    """Optimizer race: every optimizer from one start, stepped with a play button
    (10 frames per second) and a step slider; trajectories and loss-vs-step.
    Opens on the finished race (play restarts it from step 0). Headless: the
    final step."""
    def draw_static():
        prob = get_problem(problem)
        return draw_race(race_data(factories, prob, lrs, momentum, steps), prob)

    return show(lambda: build_optimizer_race(factories, lrs, problem, momentum, steps),
                draw_static)


def build_optimizer_race(factories, lrs, problem, momentum, steps, fps: float = 10.0):
    """The ipywidgets box of :func:`optimizer_race` (not displayed). Every
    problem's race and background are computed once, when the box is built
    (a few seconds); a problem or step change then only draws lines. The play
    button steps the slider from a thread of the kernel (:class:`Player`)."""
    import ipywidgets as w
    from matplotlib.figure import Figure

    races = {name: race_data(factories, get_problem(name), lrs, momentum, steps)
             for name in PROBLEMS}
    problem_box = w.Dropdown(options=list(PROBLEMS), value=problem, description="problem")
    step = w.IntSlider(value=steps, min=0, max=steps, description="step")
    play = w.ToggleButton(value=False, description="play", icon="play",
                          tooltip="play the race from step 0 (click again to pause)")
    figure = RaceFigure(Figure(figsize=FIGSIZE, dpi=LIVE_DPI))
    live = LiveFigure(figure.fig, image_widget(figure.fig))
    drawing = threading.Lock()  # the player's thread and the controls draw on one canvas

    def new_problem(_change=None):
        with drawing:
            name = problem_box.value
            figure.set_runs(races[name], get_problem(name))
            live.animate(figure.lines)  # the new lines (set_runs replaced them)
        redraw()

    def redraw(_change=None):
        with drawing:
            figure.show_step(step.value)
            live.refresh(problem_box.value)

    for name in PROBLEMS:  # every background now, so that a problem change only draws lines
        figure.set_runs(races[name], get_problem(name))
        live.animate(figure.lines)
        live.refresh(name)

    problem_box.observe(new_problem, names="value")
    step.observe(redraw, names="value")
    Player(play, step, stride=max(1, steps // 100), fps=fps)
    new_problem()
    box = w.VBox([w.HBox([problem_box, play, step]), live.image])
    box.controls, box.redraw = {"problem": problem_box, "step": step, "play": play}, redraw
    return box


class Player:
    """A play button that moves a step slider ``fps`` times per second from a
    thread of the kernel, until the end or until it is clicked again.

    ipywidgets' own Play widget steps in the browser and sends each step to
    the kernel only after the kernel answered the previous one: the round trip,
    not the drawing, set its pace (about 5 frames per second on a loaded 2-core
    machine). From the kernel, a frame costs only its drawing.
    """

    def __init__(self, button, slider, stride: int, fps: float):
        self.button, self.slider, self.stride, self.period = button, slider, stride, 1.0 / fps
        self.thread = None
        button.observe(self._toggled, names="value")

    def _toggled(self, change):
        if change["new"] and (self.thread is None or not self.thread.is_alive()):
            if self.slider.value >= self.slider.max:
                self.slider.value = self.slider.min  # play the race again from the start
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        self.button.icon = "pause" if change["new"] else "play"

    def _run(self):
        # Frames on a fixed clock (frame k at start + k * period): a late frame
        # is followed by an early one, so the rate does not drift below fps.
        next_frame = time.perf_counter()
        while self.button.value and self.slider.value < self.slider.max:
            self.slider.value = min(self.slider.max, self.slider.value + self.stride)  # draws
            next_frame = max(next_frame + self.period, time.perf_counter() - self.period)
            time.sleep(max(0.0, next_frame - time.perf_counter()))
        self.button.value = False
