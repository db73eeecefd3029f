"""Tests for course_utils.data.transforms."""
import numpy as np
import pytest

from course_utils.data.transforms import (
    fit_normalizer,
    flatten_images,
    iterate_minibatches,
    normalize,
    one_hot,
    scale_pixels,
    train_val_split,
)


def test_one_hot_values():
    out = one_hot(np.array([2, 0, 1, 2]), 3)
    assert out.dtype == np.float64 and out.shape == (4, 3)
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert one_hot([], 5).shape == (0, 5)


@pytest.mark.parametrize("labels, k, exc, text", [
    ([0, 3], 3, ValueError, "[0, 3)"),
    ([-1, 0], 3, ValueError, "[0, 3)"),
    ([[0, 1]], 3, ValueError, "1-D"),
    ([0.0, 1.0], 3, TypeError, "integers"),
    ([0, 1], 0, ValueError, "positive"),
])
def test_one_hot_errors(labels, k, exc, text):
    with pytest.raises(exc) as err:
        one_hot(labels, k)
    assert text in str(err.value)


def test_scale_pixels():
    x = np.array([[0, 128, 255]], dtype=np.uint8)
    out = scale_pixels(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0, 128 / 255, 1]], rtol=1e-6)
    with pytest.raises(TypeError, match="uint8"):
        scale_pixels(out)


def test_normalize_global_and_per_channel():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, size=(200, 3, 4, 4)) * np.array([1, 2, 3])[:, None, None]
    mean, std = fit_normalizer(x)
    assert mean.shape == () and std.shape == ()
    z = normalize(x, mean, std)
    assert abs(z.mean()) < 1e-6 and abs(z.std() - 1) < 1e-6

    mean_c, std_c = fit_normalizer(x, axis=(0, 2, 3))
    assert mean_c.shape == (1, 3, 1, 1)
    zc = normalize(x, mean_c, std_c)
    np.testing.assert_allclose(zc.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(zc.std(axis=(0, 2, 3)), 1, atol=1e-6)


def test_normalize_guards_zero_std_and_casts_uint8():
    x = np.zeros((10, 2, 2), dtype=np.uint8)
    x[:, 0, 0] = np.arange(10)
    mean, std = fit_normalizer(x, axis=0)
    z = normalize(x, mean, std)
    assert z.dtype == np.float32 and np.all(np.isfinite(z))
    assert np.all(z[:, 1, 1] == 0)  # constant feature: centred, not divided by 0


def test_flatten_images():
    x = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    f = flatten_images(x)
    assert f.shape == (2, 60)
    np.testing.assert_array_equal(f[1], x[1].ravel())
    with pytest.raises(ValueError):
        flatten_images(np.arange(3))


def _labels():
    return np.repeat(np.arange(3), [60, 30, 10])  # imbalanced classes


def test_split_stratified_disjoint_covering_deterministic():
    y = _labels()
    x = np.arange(len(y)) * 10  # x encodes the index so we can track examples
    x_tr, y_tr, x_val, y_val = train_val_split(x, y, 0.2, seed=1)
    assert len(x_val) == 20 and len(x_tr) == 80
    np.testing.assert_array_equal(np.bincount(y_val), [12, 6, 2])
    assert set(x_tr).isdisjoint(x_val)
    assert sorted(np.concatenate([x_tr, x_val])) == sorted(x)
    np.testing.assert_array_equal(y_tr, y[x_tr // 10])  # pairs kept together
    np.testing.assert_array_equal(y_val, y[x_val // 10])
    again = train_val_split(x, y, 0.2, seed=1)
    np.testing.assert_array_equal(again[2], x_val)
    other = train_val_split(x, y, 0.2, seed=2)
    assert not np.array_equal(other[2], x_val)


def test_split_int_size_and_unstratified():
    y = _labels()
    x = np.arange(len(y))
    _, _, x_val, y_val = train_val_split(x, y, 7, seed=0)
    assert len(x_val) == 7 and np.bincount(y_val, minlength=3).sum() == 7
    x_tr, _, x_val, _ = train_val_split(x, y, 25, seed=0, stratify=False)
    assert len(x_val) == 25 and set(x_tr).isdisjoint(x_val) and len(x_tr) == 75


@pytest.mark.parametrize("size", [0, 100, 1.5, -0.1, True])
def test_split_rejects_bad_sizes(size):
    y = _labels()
    with pytest.raises((ValueError, TypeError)):
        train_val_split(np.arange(len(y)), y, size, seed=0)


def test_split_length_mismatch():
    with pytest.raises(ValueError, match="same length"):
        train_val_split(np.zeros(5), np.zeros(4, int), 1, seed=0)


def test_minibatches_cover_each_sample_once():
    x = np.arange(23)
    y = x * 2
    batches = list(iterate_minibatches(x, y, 5, seed=0))
    assert [len(xb) for xb, _ in batches] == [5, 5, 5, 5, 3]
    seen = np.concatenate([xb for xb, _ in batches])
    assert sorted(seen) == list(range(23))
    assert not np.array_equal(seen, x)  # actually shuffled
    for xb, yb in batches:
        np.testing.assert_array_equal(yb, xb * 2)


def test_minibatches_deterministic_by_seed():
    x = np.arange(50)
    a = [xb for xb, _ in iterate_minibatches(x, x, 8, seed=3)]
    b = [xb for xb, _ in iterate_minibatches(x, x, 8, seed=3)]
    c = [xb for xb, _ in iterate_minibatches(x, x, 8, seed=4)]
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c))
    rng = np.random.default_rng(0)  # a Generator gives a new order per epoch
    e1 = np.concatenate([xb for xb, _ in iterate_minibatches(x, x, 8, seed=rng)])
    e2 = np.concatenate([xb for xb, _ in iterate_minibatches(x, x, 8, seed=rng)])
    assert not np.array_equal(e1, e2) and sorted(e1) == sorted(e2)


def test_minibatches_drop_last_and_no_shuffle():
    x = np.arange(23)
    batches = list(iterate_minibatches(x, x, 5, seed=0, drop_last=True))
    assert [len(xb) for xb, _ in batches] == [5, 5, 5, 5]
    assert len(set(np.concatenate([xb for xb, _ in batches]))) == 20
    ordered = np.concatenate([xb for xb, _ in iterate_minibatches(x, x, 5, shuffle=False)])
    np.testing.assert_array_equal(ordered, x)


def test_minibatches_validation():
    with pytest.raises(ValueError, match="same length"):
        list(iterate_minibatches(np.zeros(3), np.zeros(4), 2, seed=0))
    with pytest.raises(ValueError, match="seed"):
        list(iterate_minibatches(np.zeros(3), np.zeros(3), 2))
    with pytest.raises(ValueError, match="batch_size"):
        list(iterate_minibatches(np.zeros(3), np.zeros(3), 0, seed=0))
