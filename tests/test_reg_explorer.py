"""The regularization explorer's computation (torch's layers, dropout and Adam,
nothing of notebook 7's exercises), its grid, its figure and its widget."""

import matplotlib
import numpy as np
import pytest
import torch

from course_utils.widgets import reg_explorer as rx

from .widget_timing import REDRAW_LIMIT_S, redraw_times

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402 (the tests ask pyplot which figures it holds)


def blobs(n, features=784, classes=3, seed=0, noise=1.0):
    """Gaussian blobs: an easy, fast classification problem in the explorer's input format."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0.0, 1.0, (classes, features))
    y = rng.integers(0, classes, n)
    x = centers[y] + noise * rng.standard_normal((n, features))
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)


@pytest.fixture(scope="module")
def tiny_grid():
    x, y = blobs(120)
    xv, yv = blobs(60, seed=1)
    torch.set_num_threads(1)
    return rx.precompute_grid(x, y, xv, yv, sizes=(40, 20), l2s=(1e-2, 1e-5), dropouts=(0.0, 0.5), epochs=3, width=16)


def test_make_mlp_layers_and_dropout():
    plain = rx.make_mlp(32, in_features=10, classes=4)
    assert [type(m).__name__ for m in plain] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    dropped = rx.make_mlp(32, dropout=0.3, depth=3, in_features=10)
    assert sum(isinstance(m, torch.nn.Dropout) for m in dropped) == 3
    assert rx.make_mlp(8, in_features=5, seed=1)[0].weight.equal(rx.make_mlp(8, in_features=5, seed=1)[0].weight)
    with pytest.raises(ValueError, match="dropout"):
        rx.make_mlp(8, dropout=1.0)


def test_shift_flip_moves_pixels_and_keeps_them():
    images = torch.arange(4 * 2 * 7 * 7, dtype=torch.float32).reshape(4, 2, 7, 7)
    out = rx.shift_flip(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.dtype == images.dtype
    for a, b in zip(out, images):   # a roll and a flip permute the pixels of every channel
        assert torch.equal(a.flatten(1).sort(1).values, b.flatten(1).sort(1).values)
    again = rx.shift_flip(images, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    assert torch.equal(images, torch.arange(4 * 2 * 7 * 7, dtype=torch.float32).reshape(4, 2, 7, 7))  # input kept
    many = torch.arange(49, dtype=torch.float32).reshape(1, 1, 7, 7).repeat(400, 1, 1, 1)
    moved = rx.shift_flip(many, torch.Generator().manual_seed(1))
    assert 0.7 < (moved != many).flatten(1).any(1).float().mean() < 1.0   # 1/25 * 1/2 of them stay put


def test_train_curves_shapes_and_overfitting_on_few_samples():
    torch.set_num_threads(1)
    x, y = blobs(60, features=50, noise=3.0)
    xv, yv = blobs(200, features=50, seed=1, noise=3.0)
    run = rx.train_curves(x, y, xv, yv, width=64, epochs=30, batch_size=20, lr=3e-3, image_shape=(2, 5, 5))
    for name in rx.CURVES:
        assert run[name].shape == (30,) and np.all(np.isfinite(run[name]))
    assert run["train_acc"][-1] == 1.0 and run["val_acc"][-1] < 1.0   # memorized, and worse on new data
    assert run["train_loss"][-1] < run["val_loss"][-1]
    assert isinstance(run["model"], torch.nn.Module)


def test_train_curves_steps_extra_sets_and_early_exit():
    x, y = blobs(50, features=20)
    run = rx.train_curves(x, y, x, y, width=8, steps=12, epochs=4, batch_size=10, extra={"again": (x, y)})
    assert run["train_acc"].shape == (4,)
    np.testing.assert_allclose(run["again_acc"], run["val_acc"])
    seen = []
    short = rx.train_curves(x, y, x, y, width=8, epochs=10, on_epoch=lambda e, v: seen.append((e, v)) or e == 2)
    assert short["val_acc"].shape == (3,) and [e for e, _ in seen] == [0, 1, 2]
    assert set(seen[0][1]) >= {"train_loss", "val_acc"}


def test_train_curves_augments_with_the_function_given():
    """Notebook 7 trains with the student's augment_batch: every training batch goes through it, as
    images, and a wrong shape is refused in words."""
    x, y = blobs(30, features=2 * 5 * 5)
    seen = []

    def blank(images):
        seen.append(tuple(images.shape))
        return torch.zeros_like(images)

    run = rx.train_curves(x, y, x, y, width=8, epochs=2, batch_size=10, image_shape=(2, 5, 5), augment=blank)
    assert seen == [(10, 2, 5, 5)] * 6
    plain = rx.train_curves(x, y, x, y, width=8, epochs=2, batch_size=10, image_shape=(2, 5, 5))
    assert not np.allclose(run["train_loss"], plain["train_loss"])   # it trained on the blanks
    with pytest.raises(ValueError, match="expected a tensor of shape"):
        rx.train_curves(x, y, x, y, width=8, epochs=1, batch_size=10, image_shape=(2, 5, 5),
                        augment=lambda images: images[:, :1])


def test_weight_decay_shrinks_weights_and_spares_biases():
    x, y = blobs(40, features=10)
    zero = torch.zeros_like(x)   # no data gradient for the first layer's weights: only the decay moves them
    plain = rx.train_curves(zero, y, zero, y, width=8, epochs=5, batch_size=40, weight_decay=0.0)["model"]
    decayed = rx.train_curves(zero, y, zero, y, width=8, epochs=5, batch_size=40, weight_decay=1.0,
                              decoupled=True)["model"]
    start = rx.make_mlp(8, in_features=10)
    assert torch.equal(plain[0].weight, start[0].weight)
    np.testing.assert_allclose(decayed[0].weight.detach(), start[0].weight.detach() * (1 - 1e-3) ** 5, rtol=1e-5)
    # the bias of the first layer follows the data gradient only: the same with and without decay
    np.testing.assert_allclose(decayed[0].bias.detach(), plain[0].bias.detach(), rtol=1e-4, atol=1e-6)


def test_grid_shapes_order_and_reference(tiny_grid):
    grid = tiny_grid
    assert grid.sizes == (20, 40) and grid.l2s == (1e-5, 1e-2) and grid.dropouts == (0.0, 0.5)
    assert grid.runs == 16
    for name in rx.CURVES:
        assert grid.curves[name].shape == (2, 2, 2, 2, 3) and np.all(np.isfinite(grid.curves[name]))
    state = rx.grid_state(grid, size=40, l2=1e-2, dropout=0.5, augment=True)
    np.testing.assert_array_equal(state["val_acc"], grid.curves["val_acc"][1, 1, 1, 1])
    np.testing.assert_array_equal(state["reference"]["train_loss"], grid.curves["train_loss"][1, 0, 0, 0])
    assert state["best_epoch"] == int(np.argmax(state["val_acc"])) + 1
    assert state["final_gap"] == pytest.approx(state["train_acc"][-1] - state["val_acc"][-1])


def test_grid_state_takes_the_nearest_run(tiny_grid):
    state = rx.grid_state(tiny_grid, size=33, l2=3e-3, dropout=0.3, augment=False)   # log10 3e-3 is nearer -2
    assert (state["size"], state["l2"], state["dropout"], state["augment"]) == (40, 1e-2, 0.5, False)
    assert rx.grid_state(tiny_grid, size=1, l2=0.0, dropout=0.0, augment=False)["l2"] == 1e-5


def test_grid_refuses_bad_settings_in_words():
    x, y = blobs(30, features=10)
    with pytest.raises(ValueError, match="log scale"):
        rx.precompute_grid(x, y, x, y, sizes=(10,), l2s=(0.0,), dropouts=(0.0,), epochs=1)
    with pytest.raises(ValueError, match="sizes"):
        rx.precompute_grid(x, y, x, y, sizes=(100,), l2s=(1e-3,), dropouts=(0.0,), epochs=1)


def test_the_shipped_data_overfits_without_regularization_and_less_with_it():
    """The grading profile's grid in miniature, on real Fashion-MNIST images."""
    from course_utils.data import flatten_images, load_fashion_mnist, scale_pixels

    torch.set_num_threads(1)
    data = load_fashion_mnist("subset")
    x = torch.tensor(flatten_images(scale_pixels(data.x_train[:1200])))
    x = (x - x.mean()) / x.std()
    y = torch.tensor(data.y_train[:1200].astype(np.int64))
    grid = rx.precompute_grid(x[:200], y[:200], x[200:], y[200:], sizes=(200,), l2s=(1e-5,), dropouts=(0.0, 0.5),
                              augments=(False,), epochs=15, width=128, batch_size=20)
    plain = rx.grid_state(grid, size=200, l2=1e-5, dropout=0.0, augment=False)
    dropped = rx.grid_state(grid, size=200, l2=1e-5, dropout=0.5, augment=False)
    assert plain["train_acc"][-1] > 0.98 and plain["final_gap"] > 0.15
    assert plain["val_loss"][-1] > plain["val_loss"].min() * 1.05          # the validation loss turns up
    assert dropped["val_loss"][-1] < plain["val_loss"][-1]


def test_headless_shows_the_static_figure(monkeypatch, tiny_grid):
    monkeypatch.setenv("COURSE_WIDGETS", "off")
    fig = rx.reg_explorer(tiny_grid, dropout=0.5)
    assert isinstance(fig, matplotlib.figure.Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert any("20 training images" in t and "dropout 0.5" in t for t in titles), titles
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    assert fig.texts and "Regularization explorer" in fig.texts[0].get_text()
    matplotlib.pyplot.close(fig)


def test_widget_controls_redraw_and_leave_no_pyplot_figure(tiny_grid):
    pytest.importorskip("ipywidgets")
    fignums = matplotlib.pyplot.get_fignums()
    box = rx.build_widget(tiny_grid, **rx.default_controls(tiny_grid))
    assert matplotlib.pyplot.get_fignums() == fignums
    assert all(not getattr(c, "continuous_update", False) for c in box.controls.values())
    image = box.children[-1]
    first = bytes(image.value)
    assert first.startswith(b"\x89PNG")
    box.controls["dropout"].value = 0.5
    assert bytes(image.value) != first
    box.controls["log10_l2"].value = -2.0
    box.controls["augment"].value = True
    box.controls["size"].value = 40
    state = box.redraw()
    assert (state["size"], state["l2"], state["dropout"], state["augment"]) == (40, 1e-2, 0.5, True)


def test_each_control_change_redraws_in_under_the_limit():
    """Median over changes of every control of the whole redraw (lookup, artists,
    Agg render, PNG), on a grid of the full profile's shape (3 sizes x 4 L2 x 3
    dropout x 2, 30 epochs; filled with synthetic curves: the redraw does not
    depend on how they were computed)."""
    pytest.importorskip("ipywidgets")
    rng = np.random.default_rng(0)
    shape = (3, 4, 3, 2, 30)
    curves = {"train_acc": rng.uniform(0.5, 1.0, shape), "val_acc": rng.uniform(0.5, 0.9, shape),
              "train_loss": rng.uniform(0.01, 1.0, shape), "val_loss": rng.uniform(0.3, 2.0, shape)}
    grid = rx.RegGrid((250, 1000, 4000), (1e-5, 1e-4, 1e-3, 1e-2), (0.0, 0.25, 0.5), (False, True), 30, curves,
                      {"width": 256, "val_size": 10000})
    times = _redraw_times(grid)
    print(f"regularization explorer redraw: median {1e3 * np.median(times):.0f} ms, max {1e3 * max(times):.0f} ms")
    assert np.median(times) < REDRAW_LIMIT_S, f"redraws took {np.round(times, 3)} s"


def _redraw_times(grid):
    box = rx.build_widget(grid, **rx.default_controls(grid))
    changes = [("log10_l2", -2.0), ("dropout", 0.5), ("augment", True), ("size", 4000), ("log10_l2", -4.0),
               ("dropout", 0.25), ("size", 250), ("augment", False), ("log10_l2", -5.0), ("dropout", 0.0)]
    return redraw_times(box, changes)


def test_epoch_ticks_are_whole_numbers(tiny_grid):
    """07's explorer put ticks at 1.25 and 1.75 epochs."""
    from course_utils.widgets.reg_explorer import RegFigure
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = RegFigure(tiny_grid, Figure())
    FigureCanvasAgg(figure.fig).draw()
    for ax in (figure.acc_ax, figure.loss_ax):
        low, high = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert ticks and all(t == round(t) for t in ticks), ticks
