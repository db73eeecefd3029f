"""The explorer's pure computations, with simple optimizers defined here
(the course's graded optimizers are never part of course_utils)."""
import matplotlib
import numpy as np
import pytest

from course_utils.problems import get_problem, quadratic
from course_utils.widgets import lr_explorer as lx

matplotlib.use("Agg")


class PlainGD:
    def __init__(self, lr, momentum=0.0):
        self.lr = lr

    def step(self, params, grads):
        for k in params:
            params[k] -= self.lr * grads[k]


class HeavyBall:
    def __init__(self, lr, momentum):
        self.lr, self.momentum, self.v = lr, momentum, {}

    def step(self, params, grads):
        for k in params:
            v = self.v.setdefault(k, np.zeros_like(params[k]))
            v *= self.momentum
            v -= self.lr * grads[k]
            params[k] += v


class Lookahead(HeavyBall):
    """Records where it asked for gradients."""
    def __init__(self, lr, momentum):
        super().__init__(lr, momentum)
        self.asked = []

    def lookahead(self, params):
        point = {k: params[k] + self.momentum * self.v.get(k, 0.0) for k in params}
        self.asked.append(point["x"].copy())
        return point


FACTORIES = {"gd": lambda lr, momentum: PlainGD(lr), "momentum": HeavyBall}


def test_gd_on_the_quadratic_follows_the_closed_form():
    prob = quadratic(1, 10)
    lr = 0.05
    points, values = lx.run_optimizer(PlainGD(lr), prob, start=[2.0, 1.0], steps=20)
    t = np.arange(21)
    np.testing.assert_allclose(points[:, 0], 2.0 * (1 - lr) ** t)
    np.testing.assert_allclose(points[:, 1], 1.0 * (1 - 10 * lr) ** t)
    np.testing.assert_allclose(values, prob.value(points))


def test_divergence_beyond_two_over_lambda_max_fills_with_nan():
    prob = quadratic(1, 10)
    stable, _ = lx.run_optimizer(PlainGD(0.19), prob, steps=300)
    assert np.all(np.isfinite(stable)) and np.abs(stable[-1]).max() < 1e-3
    points, values = lx.run_optimizer(PlainGD(0.21), prob, steps=300)
    assert np.isnan(values[-1]) and np.isnan(points[-1]).all()
    assert np.all(np.isfinite(values[:100]))  # |1 - 10 lr|^t grows slowly at first
    assert points.shape == (301, 2) and values.shape == (301,)


def test_schedule_sets_lr_before_each_step_and_clip_is_applied():
    opt = PlainGD(1.0)
    seen = []
    lx.run_optimizer(opt, quadratic(), steps=3, schedule=lambda t: seen.append(t) or 0.1 / (t + 1))
    assert seen == [0, 1, 2] and opt.lr == pytest.approx(0.1 / 3)

    calls = []

    def clip(grads, max_norm):
        calls.append(max_norm)
        return {k: g / max(1.0, np.linalg.norm(g) / max_norm) for k, g in grads.items()}

    points, _ = lx.run_optimizer(PlainGD(1.0), get_problem("cliff"), start=[1.0, 0.0], steps=1,
                                 clip=clip, max_norm=2.0)
    assert calls == [2.0]
    assert np.linalg.norm(points[1] - points[0]) == pytest.approx(2.0)


def test_lookahead_is_used_when_present():
    prob = quadratic()
    opt = Lookahead(0.01, 0.9)
    lx.run_optimizer(opt, prob, steps=5)
    assert len(opt.asked) == 5
    np.testing.assert_allclose(opt.asked[0], prob.start)       # v = 0 at first
    assert not np.allclose(opt.asked[2], opt.asked[1])


def test_explorer_data_uses_the_given_factory_and_log_lr():
    data = lx.explorer_data(FACTORIES, "momentum", "rosenbrock", log10_lr=-3, momentum=0.5,
                            steps=30)
    assert data["lr"] == pytest.approx(1e-3)
    assert data["points"].shape == (31, 2) and not data["diverged"]
    expected, _ = lx.run_optimizer(HeavyBall(1e-3, 0.5), get_problem("rosenbrock"), steps=30)
    np.testing.assert_allclose(data["points"], expected)
    assert lx.explorer_data(FACTORIES, "gd", "quadratic", log10_lr=np.log10(0.3))["diverged"]


def test_race_runs_every_optimizer_from_the_same_start():
    runs = lx.race_data(FACTORIES, "saddle", {"gd": 0.1, "momentum": 0.05}, steps=40)
    assert set(runs) == {"gd", "momentum"}
    for points, values in runs.values():
        assert points.shape == (41, 2) and values.shape == (41,)
        np.testing.assert_allclose(points[0], get_problem("saddle").start)
    # heavy-ball momentum leaves the saddle faster than plain GD
    assert abs(runs["momentum"][0][-1, 1]) > abs(runs["gd"][0][-1, 1])


def test_static_figures_and_headless_show(monkeypatch):
    monkeypatch.setenv("COURSE_WIDGETS", "off")
    fig = lx.lr_explorer(FACTORIES, problem="quadratic", steps=10)
    assert len(fig.axes) == 2 and fig.axes[0].get_title() and fig.axes[1].get_xlabel() == "step"
    fig = lx.optimizer_race(FACTORIES, {"gd": 0.1, "momentum": 0.01}, problem="saddle", steps=10)
    assert "race" in fig.axes[0].get_title()
    fig = lx.draw_race(lx.race_data(FACTORIES, "cliff", {"gd": 0.1, "momentum": 0.01}, steps=10),
                       get_problem("cliff"), upto=4)
    assert "step 4" in fig.axes[0].get_title()


def test_widgets_build_without_a_front_end():
    pytest.importorskip("ipywidgets")
    box = lx.build_lr_explorer(FACTORIES, "gd", "quadratic", -1.0, 0.9, 10)
    sliders = [c for row in box.children[:2] for c in row.children]
    assert all(getattr(s, "continuous_update", False) is False for s in sliders
               if hasattr(s, "continuous_update") and s.__class__.__name__.endswith("Slider"))
    race = lx.build_optimizer_race(FACTORIES, {"gd": 0.1, "momentum": 0.01}, "quadratic", 0.9, 10)
    assert race.children


# ------------------------------------------------ titles, divergence, live widgets

def test_titles_name_only_the_momentum_an_optimizer_uses():
    assert lx.explorer_title("SGD", 0.02, 0.9, None) == "SGD, lr = 0.02"
    assert lx.explorer_title("Momentum", 0.02, 0.9, None) == "Momentum, lr = 0.02, momentum = 0.9"
    assert lx.explorer_title("Adam", 0.1, 0.8, None) == "Adam, lr = 0.1, beta1 = 0.8"


def test_a_diverged_run_says_so_instead_of_printing_its_overflow():
    data = lx.explorer_data(FACTORIES, "gd", "quadratic", log10_lr=np.log10(0.5), steps=50)
    assert data["diverged"] and data["diverged_at"] == lx.diverged_at(data["values"])
    assert 1 <= data["diverged_at"] <= 50 and np.isnan(data["values"][data["diverged_at"]:]).all()
    fig = lx.draw_explorer(data, "gd", 0.9)
    title = fig.axes[0].get_title()
    assert title.endswith(f"diverged at step {data['diverged_at']}") and "e+" not in title
    assert lx.explorer_data(FACTORIES, "gd", "quadratic", log10_lr=-2)["diverged_at"] is None
    matplotlib.pyplot.close(fig)


def test_loss_axis_is_fixed_per_problem_and_step_count():
    low = lx.explorer_data(FACTORIES, "gd", "quadratic", log10_lr=-2, steps=40)
    high = lx.explorer_data(FACTORIES, "gd", "quadratic", log10_lr=-1, steps=40)
    figure = lx.ExplorerFigure()
    figure.show(low, "gd", 0.9)
    layout, limits = figure.layout, (figure.ax_loss.get_ylim(), figure.ax_loss.get_xlim())
    figure.show(high, "gd", 0.9)  # a new lr moves lines only
    assert figure.layout == layout == ("quadratic", 40)
    assert (figure.ax_loss.get_ylim(), figure.ax_loss.get_xlim()) == limits
    figure.show(lx.explorer_data(FACTORIES, "gd", "quadratic", log10_lr=-1, steps=80), "gd", 0.9)
    assert figure.layout == ("quadratic", 80) and figure.ax_loss.get_xlim() == (0, 80)
    matplotlib.pyplot.close(figure.fig)


def _count_full_draws(monkeypatch):
    """Count full draws of any Agg canvas (LiveFigure's background)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    calls = []
    original = FigureCanvasAgg.draw
    monkeypatch.setattr(FigureCanvasAgg, "draw", lambda self: calls.append(1) or original(self))
    return calls


def test_lr_explorer_widget_blits_lr_and_momentum_changes(monkeypatch):
    pytest.importorskip("ipywidgets")
    factories = {"SGD": FACTORIES["gd"], "Momentum": FACTORIES["momentum"]}
    fignums = matplotlib.pyplot.get_fignums()
    box = lx.build_lr_explorer(factories, "Momentum", "quadratic", -1.7, 0.9, 40)
    assert matplotlib.pyplot.get_fignums() == fignums  # plt.show() shows no stale copy
    image, controls = box.children[-1], box.controls
    first = bytes(image.value)
    assert first.startswith(b"\x89PNG") and not controls["momentum"].disabled
    draws = _count_full_draws(monkeypatch)
    controls["log10_lr"].value = -1.2
    controls["momentum"].value = 0.5
    assert draws == [] and bytes(image.value) != first
    controls["optimizer"].value = "SGD"
    assert controls["momentum"].disabled  # SGD ignores it
    controls["steps"].value = 60
    assert draws == [1] and box.redraw()["points"].shape == (61, 2)


def test_race_opens_on_the_finished_race_and_steps_move_lines_only(monkeypatch):
    pytest.importorskip("ipywidgets")
    box = lx.build_optimizer_race(FACTORIES, {"gd": 0.1, "momentum": 0.01}, "saddle", 0.9, 30)
    step, image = box.controls["step"], box.children[-1]
    assert step.value == 30  # not an empty plot at step 0
    assert bytes(image.value).startswith(b"\x89PNG")
    draws = _count_full_draws(monkeypatch)
    frames = set()
    for value in (0, 10, 20):
        step.value = value
        frames.add(bytes(image.value))
    box.controls["problem"].value = "quadratic"  # drawn when the box was built
    assert draws == [] and len(frames) == 3


def test_the_play_button_plays_the_race_from_the_start_and_pauses():
    pytest.importorskip("ipywidgets")
    import time

    box = lx.build_optimizer_race(FACTORIES, {"gd": 0.1, "momentum": 0.01}, "saddle", 0.9, 400,
                                  fps=50)
    step, play = box.controls["step"], box.controls["play"]
    seen = []
    step.observe(lambda change: seen.append(change["new"]), names="value")
    play.value = True  # at the last step: starts again from 0
    time.sleep(0.3)
    play.value = False
    time.sleep(0.1)
    paused_at = step.value
    time.sleep(0.2)
    assert seen[0] == 0 and seen[1:4] == [4, 8, 12] and 0 < paused_at < 400
    assert step.value == paused_at and play.icon == "play"
