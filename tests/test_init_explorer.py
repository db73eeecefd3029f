"""The initialization explorer's computation, with initializers and layer
statistics written here (torch.nn.init and torch autograd), not the notebook's."""
import math

import matplotlib
import numpy as np
import pytest
import torch

from course_utils.widgets import init_explorer as ie

matplotlib.use("Agg")


def _torch_init(fill):
    def init(shape, rng):
        generator = torch.Generator().manual_seed(int(rng.integers(2 ** 62)))
        return fill(torch.empty(shape, dtype=torch.float64), generator=generator).numpy()
    return init


INITIALIZERS = {
    "glorot uniform": _torch_init(torch.nn.init.xavier_uniform_),
    "kaiming normal": _torch_init(lambda t, generator: torch.nn.init.kaiming_normal_(
        t, nonlinearity="relu", generator=generator)),
    "normal(0, 1)": _torch_init(lambda t, generator: torch.nn.init.normal_(t, generator=generator)),
}
ACT = {"linear": lambda z: z, "relu": torch.relu, "tanh": torch.tanh}


def torch_layer_statistics(x, weights, activation, dout):
    h = torch.tensor(x)
    inputs, outputs = [], []
    for w in weights:
        if h.requires_grad:
            h.retain_grad()
        else:
            h.requires_grad_(True)
        inputs.append(h)
        h = ACT[activation](h @ torch.tensor(w).T)
        outputs.append(h)
    h.backward(torch.tensor(dout))
    act_std = np.array([o.detach().std(unbiased=False).item() for o in outputs])
    grad_std = np.array([i.grad.std(unbiased=False).item() for i in inputs])
    return act_std, grad_std, [o.detach().numpy() for o in outputs]


def state(**controls):
    return ie.explorer_state(INITIALIZERS, torch_layer_statistics, **controls)


@pytest.mark.parametrize("depth, expected", [(1, [0]), (3, [0, 1, 2]), (5, [0, 1, 2, 3, 4]),
                                             (10, [0, 2, 4, 7, 9]), (50, [0, 12, 24, 37, 49])])
def test_histogram_layers_first_last_and_spread(depth, expected):
    assert ie.histogram_layers(depth) == expected


def test_state_shapes_and_determinism():
    s = state(scheme="glorot uniform", depth=7, width=30, activation="tanh", batch=64)
    assert s["act_std"].shape == s["grad_std"].shape == s["weight_std"].shape == (7,)
    assert s["layers"] == ie.histogram_layers(7)
    for counts, edges in s["histograms"]:
        assert counts.sum() == 64 * 30 and edges.shape == (41,)
    again = state(scheme="glorot uniform", depth=7, width=30, activation="tanh", batch=64)
    np.testing.assert_array_equal(s["act_std"], again["act_std"])
    other = state(scheme="glorot uniform", depth=7, width=30, activation="tanh", batch=64, seed=1)
    assert not np.array_equal(s["act_std"], other["act_std"])


def test_weights_follow_scheme_and_gain():
    s = state(scheme="kaiming normal", log10_gain=-1.0, depth=4, width=400)
    assert s["gain"] == pytest.approx(0.1)
    np.testing.assert_allclose(s["weight_std"], 0.1 * math.sqrt(2 / 400), rtol=0.02)


def test_linear_stack_scales_as_gain_to_the_depth():
    """Same seed, linear activation: multiplying every weight by g multiplies
    layer l's activations by g**l and the gradient reaching layer l's input
    by g**(depth - l + 1)."""
    base = state(scheme="normal(0, 1)", depth=6, width=20, activation="linear")
    scaled = state(scheme="normal(0, 1)", log10_gain=-0.5, depth=6, width=20, activation="linear")
    g = 10 ** -0.5
    layers = np.arange(1, 7)
    np.testing.assert_allclose(scaled["act_std"], base["act_std"] * g ** layers, rtol=1e-10)
    np.testing.assert_allclose(scaled["grad_std"], base["grad_std"] * g ** (7 - layers), rtol=1e-10)


def test_the_figures_of_the_lecture():
    """Unit-variance weights, 100 units: activations grow ~10x per layer
    (variance 100**l); Kaiming keeps a ReLU stack's spread of order one."""
    s = state(scheme="normal(0, 1)", depth=10, width=100, activation="linear")
    growth = s["act_std"][1:] / s["act_std"][:-1]
    assert np.all((growth > 7) & (growth < 13)), growth
    k = state(scheme="kaiming normal", depth=10, width=100, activation="relu")
    assert np.all((k["act_std"] > 0.3) & (k["act_std"] < 3)), k["act_std"]
    assert np.all((k["grad_std"] > 0.3) & (k["grad_std"] < 3)), k["grad_std"]


def test_bad_controls_and_bad_statistics_are_reported():
    with pytest.raises(ValueError, match="unknown init scheme"):
        state(scheme="orthogonal")
    with pytest.raises(ValueError, match="unknown activation"):
        state(scheme="glorot uniform", activation="sigmoid")

    def too_short(x, weights, activation, dout):
        a, g, acts = torch_layer_statistics(x, weights, activation, dout)
        return a[:-1], g, acts
    with pytest.raises(ValueError, match="for 3 layers"):
        ie.explorer_state(INITIALIZERS, too_short, scheme="glorot uniform", depth=3, width=5)


def test_overflow_and_zeros_still_draw():
    huge = state(scheme="normal(0, 1)", log10_gain=1.0, depth=40, width=100, activation="linear")
    assert huge["act_std"][-1] > 1e79  # 100**40
    huge["act_std"][-3:] = [np.inf, np.nan, np.inf]  # as float32 statistics would overflow
    dead = state(scheme="normal(0, 1)", log10_gain=-4.0, depth=40, width=100, activation="relu")
    assert dead["act_std"][-1] < 1e-100
    dead["act_std"][-1] = 0.0  # as float32 would underflow
    for s in (huge, dead):
        fig = ie.draw_explorer(s)
        assert fig.axes[-1].get_yscale() == "log"
        matplotlib.pyplot.close(fig)


def test_headless_shows_the_static_figure(monkeypatch):
    monkeypatch.setenv("COURSE_WIDGETS", "off")
    fig = ie.init_explorer(INITIALIZERS, torch_layer_statistics, depth=4, width=10)
    assert isinstance(fig, matplotlib.figure.Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert any("glorot uniform" in t and "4 layers of 10 units" in t for t in titles), titles
    assert all(ax.get_xlabel() for ax in fig.axes if ax.get_visible())
    matplotlib.pyplot.close(fig)


def test_widget_controls_redraw_on_release():
    pytest.importorskip("ipywidgets")
    box = ie.build_widget(INITIALIZERS, torch_layer_statistics, scheme="glorot uniform",
                          log10_gain=0.0, depth=3, width=8, activation="relu", batch=16)
    assert all(not getattr(c, "continuous_update", False) for c in box.controls.values())
    box.controls["depth"].value = 6
    s = box.redraw()
    assert s["depth"] == 6 and s["act_std"].shape == (6,)
    box.controls["scheme"].value = "kaiming normal"
    assert box.redraw()["scheme"] == "kaiming normal"

    def broken(x, weights, activation, dout):
        raise RuntimeError("student bug")
    box = ie.build_widget(INITIALIZERS, broken, scheme="glorot uniform", log10_gain=0.0,
                          depth=3, width=8, activation="relu")
    assert "student bug" in box.children[2].value


def test_the_live_widget_leaves_no_pyplot_figure_behind():
    """plt.show() after the widget showed a stale static copy of its figure."""
    pytest.importorskip("ipywidgets")
    fignums = matplotlib.pyplot.get_fignums()
    box = ie.build_widget(INITIALIZERS, torch_layer_statistics, scheme="glorot uniform",
                          log10_gain=0.0, depth=3, width=8, activation="relu", batch=16)
    assert matplotlib.pyplot.get_fignums() == fignums
    histograms, stds = box.children[-1].children
    first = bytes(histograms.value), bytes(stds.value)
    assert all(png.startswith(b"\x89PNG") for png in first)
    box.controls["scheme"].value = "kaiming normal"
    assert bytes(histograms.value) != first[0] and bytes(stds.value) != first[1]


def test_the_batch_shrinks_as_the_layers_widen():
    assert [ie.auto_batch(w) for w in (2, 64, 100, 500)] == [256, 256, 163, 32]
    s = state(scheme="glorot uniform", depth=2, width=500)
    assert s["batch"] == 32 and s["histograms"][0][0].sum() == 32 * 500


def test_kept_weights_give_the_same_state_and_are_drawn_once():
    calls = []

    def counted(shape, rng):
        calls.append(shape)
        return rng.standard_normal(shape) / np.sqrt(shape[1])
    inits = {"counted": counted}
    streams = {}
    deep = ie.explorer_state(inits, torch_layer_statistics, scheme="counted", depth=8, width=12,
                             streams=streams)
    assert len(calls) == 8
    for controls in ({"depth": 5}, {"depth": 8, "log10_gain": 0.5}, {"activation": "tanh"}):
        kept = ie.explorer_state(inits, torch_layer_statistics, scheme="counted", width=12,
                                 streams=streams, **{"depth": 8, **controls})
        fresh = ie.explorer_state(inits, torch_layer_statistics, scheme="counted", width=12,
                                  **{"depth": 8, **controls})
        np.testing.assert_array_equal(kept["act_std"], fresh["act_std"])
        np.testing.assert_array_equal(kept["grad_std"], fresh["grad_std"])
    assert len(calls) == 8 + (5 + 8 + 8)  # the fresh ones drew again, the kept ones did not
    np.testing.assert_array_equal(deep["act_std"][:5], ie.explorer_state(
        inits, torch_layer_statistics, scheme="counted", depth=5, width=12)["act_std"])


def test_tiny_activations_need_no_offset_text():
    """At depth 50 the histograms' offset labels ("1e-107") overlapped the axis label."""
    s = state(scheme="normal(0, 1)", log10_gain=-3.0, depth=50, width=50, activation="linear")
    assert s["act_std"][-1] < 1e-100
    fig = ie.draw_explorer(s)
    fig.canvas.draw()
    histograms = fig.axes[:5]
    assert all(ax.get_xlim() == (-1.0, 1.0) for ax in histograms)
    assert all(ax.xaxis.get_offset_text().get_text() == "" for ax in histograms)
    assert histograms[-1].get_title() == f"layer 50: std {s['act_std'][-1]:.2g}"
    matplotlib.pyplot.close(fig)


def test_a_gain_change_reuses_the_scaled_buffers_and_kept_weights_stay_intact():
    """The gain's copies are kept in buffers (fresh 100 MB per change cost up
    to 0.7 s); a statistics function that writes into its weights must raise,
    not corrupt them."""
    stream = ie.WeightStream(INITIALIZERS["glorot uniform"], 6, seed=0)
    base, _ = stream.first(3)
    first, _ = stream.scaled(3, 2.0)
    np.testing.assert_array_equal(first[2], 2.0 * base[2])
    buffer = first[0]
    again, stds = stream.scaled(3, 0.5)
    assert again[0] is buffer  # the same memory, new values
    np.testing.assert_array_equal(again[0], 0.5 * base[0])
    np.testing.assert_allclose(stds, 0.5 * np.array([w.std() for w in base]))
    assert stream.scaled(3, 1.0)[0][0] is base[0]

    def vandal(x, weights, activation, dout):
        weights[0] *= 0
        return torch_layer_statistics(x, weights, activation, dout)
    streams = {}
    with pytest.raises(ValueError, match="read-only"):
        ie.explorer_state(INITIALIZERS, vandal, scheme="glorot uniform", depth=3, width=6,
                          streams=streams)
    kept = ie.explorer_state(INITIALIZERS, torch_layer_statistics, scheme="glorot uniform",
                             depth=3, width=6, streams=streams)
    fresh = state(scheme="glorot uniform", depth=3, width=6)
    np.testing.assert_array_equal(kept["act_std"], fresh["act_std"])


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_tiny_stds_are_measured_below_the_underflow_of_their_squares(activation):
    """Gain 1e-4, depth 50: activations and gradients reach 1e-190, whose squares
    underflow, so np.std gave 0 below about 1e-160 and both curves stopped there
    while the histograms still had a shape. Each layer multiplies by about the
    same factor: the measured stds lie on a straight line on the log axis."""
    s = state(scheme="kaiming normal", log10_gain=-4.0, depth=50, width=100, activation=activation)
    for stds in (s["act_std"], np.flip(s["grad_std"])):   # the gradient shrinks towards the input
        assert np.all(stds > 0) and stds[-1] < 1e-185, stds
        steps = np.diff(np.log10(stds))
        assert np.ptp(steps) < 0.4, steps   # one factor per layer, no cut and no jump
    x, weights, dout = _stack_inputs(s)
    plain = torch_layer_statistics(x, weights, activation, dout)
    trusted = plain[0] > 1e-140                             # where np.std is still right, it is kept
    np.testing.assert_allclose(s["act_std"][trusted], plain[0][trusted], rtol=1e-12)
    fig = ie.draw_explorer(s)
    assert "std 0" not in fig.axes[4].get_title()
    matplotlib.pyplot.close(fig)


def _stack_inputs(s):
    """x, the weights and dout of an explorer state (seed 0), as explorer_state makes them."""
    weights, _ = ie.WeightStream(INITIALIZERS[s["scheme"]], s["width"], seed=0).scaled(s["depth"], s["gain"])
    rng = np.random.default_rng([0, 0])
    x = rng.standard_normal((s["batch"], s["width"]))
    return x, weights, rng.standard_normal((s["batch"], s["width"]))

