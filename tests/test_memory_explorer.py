"""The memory explorer (notebook 9): its autograd Jacobian norms against what
they must be, its figure and its widget, and the redraw time."""
import matplotlib
import numpy as np
import pytest
import torch

from course_utils.widgets import memory_explorer as mx

from .widget_timing import REDRAW_LIMIT_S, redraw_times

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402 (the tests ask pyplot which figures it holds)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_linear_rnn_norms_are_powers_of_the_spectral_radius():
    """A linear RNN with U = radius x orthogonal: dh_T/dh_t = U^(T-t), of norm radius^(T-t) exactly."""
    norms = mx.rnn_memory(0.9, "linear", 40)[::-1]
    np.testing.assert_allclose(norms, 0.9 ** np.arange(40), rtol=1e-10)


def test_tanh_rnn_norms_match_a_jacobian_product_written_here():
    generator = torch.Generator().manual_seed(0)          # the draws rnn_memory makes for seed 0
    U = 1.3 * mx._orthogonal(mx.HIDDEN, generator)
    W = torch.randn(mx.HIDDEN, mx.INPUTS, generator=generator, dtype=torch.float64) / mx.INPUTS ** 0.5
    x = torch.randn(12, mx.INPUTS, generator=generator, dtype=torch.float64)
    h, states = torch.zeros(mx.HIDDEN, dtype=torch.float64), []
    for t in range(12):
        h = torch.tanh(W @ x[t] + U @ h)
        states.append(h)
    product, expected = torch.eye(mx.HIDDEN, dtype=torch.float64), [1.0]
    for t in range(11, 0, -1):                              # dh_T/dh_t = J_T ... J_{t+1}
        product = product @ (torch.diag(1 - states[t] ** 2) @ U)
        expected.append(float(torch.linalg.matrix_norm(product, ord=2)))
    np.testing.assert_allclose(mx.rnn_memory(1.3, "tanh", 12)[::-1], expected, rtol=1e-9)


def test_lstm_forget_bias_keeps_the_gradient_longer():
    state_low = mx.memory_state(forget_bias=-2.0, length=60)
    state_high = mx.memory_state(forget_bias=3.0, length=60)
    assert state_high["lstm"][50] > 1e3 * state_low["lstm"][50]
    assert np.array_equal(state_low["rnn"], state_high["rnn"])      # the RNN's curve does not depend on it


def test_state_shapes_cache_and_errors():
    cache = {}
    state = mx.memory_state(radius=1.1, length=30, cache=cache)
    assert state["steps_back"].shape == state["rnn"].shape == state["lstm"].shape == (30,)
    assert state["rnn"][0] == pytest.approx(1.0)                     # dh_T/dh_T is the identity
    again = mx.memory_state(radius=1.1, length=30, forget_bias=2.0, cache=cache)
    assert again["rnn"] is state["rnn"] and len(cache) == 2          # only the LSTM was computed again
    np.testing.assert_array_equal(again["lstm"], mx.memory_state(radius=1.1, length=30, forget_bias=2.0)["lstm"])
    with pytest.raises(ValueError, match="nonlinearity"):
        mx.memory_state(nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="length"):
        mx.memory_state(length=mx.MAX_LENGTH + 1)


def test_headless_shows_the_static_figure(monkeypatch):
    monkeypatch.setenv("COURSE_WIDGETS", "off")
    fig = mx.memory_explorer(radius=0.8, length=50)
    assert isinstance(fig, matplotlib.figure.Figure)
    (ax,) = fig.axes
    assert "spectral radius 0.80" in ax.get_title() and "T = 50" in ax.get_title()
    assert ax.get_xlabel() and ax.get_ylabel()
    assert [len(line.get_xdata()) for line in ax.get_lines()[:2]] == [50, 50]
    matplotlib.pyplot.close(fig)


def test_widget_controls_redraw_and_leave_no_pyplot_figure():
    pytest.importorskip("ipywidgets")
    fignums = matplotlib.pyplot.get_fignums()
    box = mx.build_widget(radius=1.0, nonlinearity="tanh", forget_bias=1.0, length=50)
    assert matplotlib.pyplot.get_fignums() == fignums
    assert all(not getattr(c, "continuous_update", False) for c in box.controls.values())
    image = box.children[-1]
    first = bytes(image.value)
    assert first.startswith(b"\x89PNG")
    box.controls["radius"].value = 1.5
    assert bytes(image.value) != first
    box.controls["nonlinearity"].value = "relu"
    box.controls["forget_bias"].value = 3.0
    box.controls["length"].value = 80
    state = box.redraw()
    assert (state["radius"], state["nonlinearity"], state["forget_bias"], state["length"]) == (1.5, "relu", 3.0, 80)


def test_each_control_change_redraws_in_under_the_limit():
    """Median over changes of every control of the whole redraw (autograd, artists, Agg render, PNG),
    lengths up to the largest the slider allows."""
    pytest.importorskip("ipywidgets")
    box = mx.build_widget(radius=1.0, nonlinearity="tanh", forget_bias=1.0, length=100)
    changes = [("radius", 1.5), ("forget_bias", 0.0), ("nonlinearity", "relu"), ("length", mx.MAX_LENGTH),
               ("radius", 0.8), ("forget_bias", 3.0), ("length", 50), ("nonlinearity", "linear"),
               ("length", 150), ("radius", 1.2)]
    times = redraw_times(box, changes)
    print(f"memory explorer redraw: median {1e3 * np.median(times):.0f} ms, max {1e3 * max(times):.0f} ms")
    assert np.median(times) < REDRAW_LIMIT_S, f"redraws took {np.round(times, 3)} s"
