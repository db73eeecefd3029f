"""The BN explorer's computation (torch's batch and layer norm, nothing of
notebook 5's exercises), its figure and its widget."""

import matplotlib
import numpy as np
import pytest

from course_utils.widgets import bn_explorer as bx

from .widget_timing import REDRAW_LIMIT_S, redraw_times

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402 (the tests ask pyplot which figures it holds)


@pytest.mark.parametrize("depth, expected", [(1, [0]), (3, [0, 1, 2]), (10, [0, 2, 4, 7, 9]),
                                             (50, [0, 12, 24, 37, 49])])
def test_histogram_layers_first_last_and_spread(depth, expected):
    assert bx.histogram_layers(depth) == expected


def test_state_shapes_and_determinism():
    s = bx.explorer_state(depth=7, log10_std=-1.0, batch=32, norm="layer norm", activation="tanh")
    assert s["pre_std"].shape == s["act_std"].shape == s["dead"].shape == (7,)
    assert s["layers"] == bx.histogram_layers(7) and len(s["histograms"]) == len(s["layers"])
    counts, edges = s["histograms"][0]
    assert counts.sum() == 32 * 100 and edges.shape == (41,)
    again = bx.explorer_state(depth=7, log10_std=-1.0, batch=32, norm="layer norm", activation="tanh")
    np.testing.assert_array_equal(s["act_std"], again["act_std"])


def test_without_normalization_small_weights_vanish_and_batch_norm_keeps_the_signal():
    plain = bx.explorer_state(depth=30, log10_std=-2.0, batch=64, norm="none")
    # each ReLU layer multiplies the std by about 0.01 * sqrt(100 / 2) = 0.07
    assert plain["act_std"][-1] < 1e-25 < plain["act_std"][0]
    bn = bx.explorer_state(depth=30, log10_std=-2.0, batch=64, norm="batch norm")
    np.testing.assert_allclose(bn["pre_std"], 1.0, rtol=5e-3)   # normalized at every layer (eps: 0.998)
    assert 0.5 < bn["act_std"].min() <= bn["act_std"].max() < 0.7  # ReLU of N(0, 1): 0.58
    ln = bx.explorer_state(depth=30, log10_std=-2.0, batch=64, norm="layer norm")
    np.testing.assert_allclose(ln["pre_std"], 1.0, rtol=5e-3)


def test_eps_stops_batch_norm_for_tiny_weights():
    """Var(Wx) below eps: batch norm divides by sqrt(eps) and the signal shrinks (notebook 5, 7.1)."""
    tiny = bx.explorer_state(depth=10, log10_std=-4.0, batch=256, norm="batch norm")
    assert tiny["act_std"][-1] < 1e-3 * tiny["act_std"][0]
    no_eps = bx.explorer_state(depth=10, log10_std=-4.0, batch=256, norm="batch norm", eps=1e-30)
    np.testing.assert_allclose(no_eps["pre_std"], 1.0, rtol=1e-6)


def test_batch_of_two_normalizes_every_unit_to_plus_minus_one():
    s = bx.explorer_state(depth=5, log10_std=0.0, batch=2, norm="batch norm", activation="relu")
    for counts, edges in s["histograms"]:  # ReLU of +-1: the values 0 and 1 only, 100 of each
        zero_bin = int(np.searchsorted(edges, 0.0, side="right")) - 1
        assert counts[zero_bin] == counts[-1] == 100 and counts.sum() == 200
    np.testing.assert_allclose(s["dead"], 0.5)


def test_layer_norm_does_not_depend_on_the_batch():
    small = bx.explorer_state(depth=6, log10_std=-0.5, batch=2, norm="layer norm")
    large = bx.explorer_state(depth=6, log10_std=-0.5, batch=512, norm="layer norm")
    # same first rows, normalized on their own: each normalized row has std 1 whatever the batch
    np.testing.assert_allclose(small["pre_std"], large["pre_std"], rtol=1e-6)


def test_kept_weights_give_the_same_state():
    streams = {}
    for controls in ({"depth": 12}, {"depth": 5, "log10_std": -3.0}, {"batch": 8, "norm": "none"},
                     {"depth": 40, "activation": "tanh"}):
        kept = bx.explorer_state(streams=streams, **controls)
        fresh = bx.explorer_state(**controls)
        np.testing.assert_array_equal(kept["act_std"], fresh["act_std"])
    assert len(streams[100, 0]["weights"].weights) == 40  # drawn once, as deep as asked


def test_bad_controls_are_refused_in_words():
    with pytest.raises(ValueError, match="normalization"):
        bx.explorer_state(norm="group norm")
    with pytest.raises(ValueError, match="at least 2"):
        bx.explorer_state(batch=1, norm="batch norm")
    assert bx.explorer_state(batch=1, norm="layer norm", depth=2)["act_std"].shape == (2,)


def test_huge_weights_still_draw():
    s = bx.explorer_state(depth=50, log10_std=1.0, batch=16, norm="none")
    fig = bx.draw_explorer(s)
    fig.canvas.draw()
    matplotlib.pyplot.close(fig)


def test_headless_shows_the_static_figure(monkeypatch):
    monkeypatch.setenv("COURSE_WIDGETS", "off")
    fig = bx.bn_explorer(depth=4, batch=8, norm="batch norm")
    assert isinstance(fig, matplotlib.figure.Figure)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert any("batch norm" in t and "4 layers of 100 units" in t for t in titles), titles
    assert all(ax.get_xlabel() for ax in fig.axes if ax.get_visible())
    assert fig.texts and fig.texts[0].get_text()  # the suptitle
    matplotlib.pyplot.close(fig)


def test_widget_controls_redraw_and_leave_no_pyplot_figure():
    pytest.importorskip("ipywidgets")
    fignums = matplotlib.pyplot.get_fignums()
    box = bx.build_widget(depth=5, log10_std=-2.0, batch=16, norm="none", activation="relu")
    assert matplotlib.pyplot.get_fignums() == fignums
    assert all(not getattr(c, "continuous_update", False) for c in box.controls.values())
    image = box.children[-1]
    first = bytes(image.value)
    assert first.startswith(b"\x89PNG")
    box.controls["norm"].value = "batch norm"
    assert bytes(image.value) != first
    box.controls["batch"].value = 2
    assert box.redraw()["batch"] == 2
    box.controls["norm"].value = "none"
    box.controls["depth"].value = 9
    assert box.redraw()["depth"] == 9


def test_each_control_change_redraws_in_under_the_limit():
    """Median over changes of every control, at the largest depth and batch, of the
    whole redraw (computation, artists, Agg render, PNG) the widget does, with one
    torch thread as a notebook's setup_notebook() chooses on a 2-core machine."""
    pytest.importorskip("ipywidgets")
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        times = _redraw_times()
    finally:
        torch.set_num_threads(threads)
    print(f"BN explorer redraw: median {1e3 * np.median(times):.0f} ms, max {1e3 * max(times):.0f} ms")
    assert np.median(times) < REDRAW_LIMIT_S, f"redraws took {np.round(times, 3)} s"


def _redraw_times():
    box = bx.build_widget(depth=bx.MAX_DEPTH, log10_std=-2.0, batch=max(bx.BATCH_SIZES),
                          norm="batch norm", activation="relu")
    changes = [("log10_std", -1.0), ("norm", "layer norm"), ("batch", 64), ("depth", 30),
               ("activation", "tanh"), ("norm", "none"), ("log10_std", -3.5),
               ("batch", max(bx.BATCH_SIZES)), ("depth", bx.MAX_DEPTH), ("norm", "batch norm")]
    return redraw_times(box, changes)
