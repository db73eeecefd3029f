"""The depth explorer's computation, figure and widget, with a ResNet builder
written here from torch layers (not notebook 8's exercises)."""
import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

from course_utils.widgets import depth_explorer as de

from .widget_timing import REDRAW_LIMIT_S, redraw_times

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402 (the tests ask pyplot which figures it holds)


class Block(nn.Module):
    def __init__(self, c_in, c_out, stride, shortcut, zero_init):
        super().__init__()
        self.branch = nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                                    nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out))
        if zero_init:
            nn.init.zeros_(self.branch[-1].weight)
        self.shortcut = shortcut
        self.proj = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
                     if shortcut and (stride != 1 or c_in != c_out) else nn.Identity())

    def forward(self, x):
        out = self.branch(x)
        return torch.relu(out + self.proj(x) if self.shortcut else out)


def resnet(blocks_per_stage, widths, shortcut=True, zero_init=False):
    layers, previous = [nn.Conv2d(1, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()], widths[0]
    for stage, (n, width) in enumerate(zip(blocks_per_stage, widths)):
        for k in range(n):
            layers.append(Block(previous, width, 2 if stage and not k else 1, shortcut, zero_init))
            previous = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(previous, 10))


@pytest.fixture(scope="module")
def batch():
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    return torch.randn(8, 1, 28, 28, generator=generator), torch.randint(0, 10, (8,), generator=generator)


def state(batch, **controls):
    return de.depth_state(resnet, *batch, **controls)


@pytest.mark.parametrize("depth, n", [(8, 1), (20, 3), (56, 9)])
def test_depth_is_6n_plus_2(depth, n):
    assert de.blocks_per_stage(depth) == n


@pytest.mark.parametrize("depth", [7, 10, 2])
def test_other_depths_are_refused(depth):
    with pytest.raises(ValueError, match="6n \\+ 2"):
        de.blocks_per_stage(depth)


def test_one_value_per_3x3_convolution_and_determinism(batch):
    s = state(batch, depth=14, shortcut=False)
    assert s["grad_norm"].shape == s["act_std"].shape == (13,)   # the stem and two per block
    assert np.all(s["grad_norm"] > 0) and np.all(s["act_std"] > 0)
    again = state(batch, depth=14, shortcut=False)
    np.testing.assert_array_equal(s["grad_norm"], again["grad_norm"])
    other = state(batch, depth=14, shortcut=False, seed=1)
    assert not np.array_equal(s["grad_norm"], other["grad_norm"])


def test_zero_init_silences_every_residual_branch(batch):
    """gamma = 0 in each branch's last batch norm: each block starts as ReLU(x), no gradient reaches a branch's
    convolutions, only the stem's."""
    s = state(batch, depth=20, shortcut=True, init="zero_init")
    assert s["grad_norm"][0] > 0
    np.testing.assert_array_equal(s["grad_norm"][1:], 0.0)
    plain = state(batch, depth=20, shortcut=True, init="default")
    assert np.all(plain["grad_norm"] > 0)


def test_small_weights_shrink_the_convolution_outputs(batch):
    """N(0, 0.01^2) weights against PyTorch's default (uniform, std 1 / sqrt(3 fan_in)): in the plain net, where
    batch norm gives every convolution the same input in both, each output's spread shrinks by the ratio of the
    weights' stds, 0.01 sqrt(3 * 9 * C_in)."""
    small, default = state(batch, depth=8, shortcut=False, init="small"), state(batch, depth=8, shortcut=False)
    c_in = np.array([1, 4, 4, 4, 8, 8, 16])             # the stem, then two convolutions per block
    expected = 0.01 * np.sqrt(27 * c_in)
    np.testing.assert_allclose(small["act_std"] / default["act_std"], expected, rtol=0.35)


def test_the_shortcut_keeps_the_sum_growing_with_depth(batch):
    """In a ResNet every block adds to its input, so the spread of the signal entering the later blocks grows
    with depth; in the plain twin batch norm resets it at every layer."""
    res, plain = state(batch, depth=56, shortcut=True), state(batch, depth=56, shortcut=False)
    assert res["act_std"][-2] > 2 * res["act_std"][1], res["act_std"]
    assert plain["act_std"][-2] < 2 * plain["act_std"][1], plain["act_std"]


def test_bad_controls_are_reported(batch):
    with pytest.raises(ValueError, match="unknown init"):
        state(batch, init="orthogonal")


def test_headless_shows_the_static_figure(monkeypatch, batch):
    monkeypatch.setenv("COURSE_WIDGETS", "off")
    fig = de.depth_explorer(resnet, *batch, depth=14, shortcut=False)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert "plain-14 at initialization" in fig._suptitle.get_text()
    assert all(ax.get_xlabel() and ax.get_ylabel() and ax.get_yscale() == "log" for ax in fig.axes)
    matplotlib.pyplot.close(fig)


def test_widget_redraws_each_control_under_the_limit(batch):
    pytest.importorskip("ipywidgets")
    fignums = matplotlib.pyplot.get_fignums()
    box = de.build_widget(resnet, *batch, depth=20, shortcut=True, init="default")
    assert matplotlib.pyplot.get_fignums() == fignums      # no pyplot figure left behind
    assert all(not getattr(c, "continuous_update", False) for c in box.controls.values())
    first = bytes(box.children[-1].value)
    assert first.startswith(b"\x89PNG")
    changes = [("depth", 56), ("shortcut", False), ("init", "zero_init"), ("depth", 8), ("shortcut", True),
               ("init", "small"), ("depth", 32), ("init", "default")]
    times = redraw_times(box, changes)
    assert bytes(box.children[-1].value) != first
    assert box.redraw()["depth"] == 32
    print(f"depth explorer redraw: median {1e3 * np.median(times):.0f} ms, max {1e3 * max(times):.0f} ms")
    assert np.median(times) < REDRAW_LIMIT_S, f"redraws took {np.round(times, 3)} s"

    def broken(*args, **kwargs):
        raise RuntimeError("student bug")
    box = de.build_widget(broken, *batch, depth=8, shortcut=True, init="default")
    assert "student bug" in box.children[-2].value
