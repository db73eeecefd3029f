"""Preprocessing for batch-first numpy arrays: encode, scale, split, batch."""
from __future__ import annotations

import numbers
from typing import Iterator, Optional, Union

import numpy as np

SeedLike = Union[int, np.random.Generator]


def _int_labels(labels, name: str = "labels") -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (N,), got shape {y.shape}.")
    if not y.size:
        return y.astype(np.int64)  # np.asarray([]) is float64; an empty list is still valid
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must be integers, got dtype {y.dtype}; cast with .astype(np.int64).")
    return y


def one_hot(labels, num_classes: int) -> np.ndarray:
    """One-hot encode integer class labels.

    Inputs:
    - labels: (N,) integer array-like with values in [0, num_classes).
    - num_classes: int C > 0.

    Returns:
    - (N, C) float64 with out[i, labels[i]] = 1 and zeros elsewhere.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes <= 0:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}.")
    y = _int_labels(labels)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"labels must be in [0, {num_classes}), found values in [{y.min()}, {y.max()}]."
        )
    out = np.zeros((len(y), num_classes), dtype=np.float64)
    out[np.arange(len(y)), y] = 1.0
    return out


def scale_pixels(images, dtype=np.float32) -> np.ndarray:
    """Map uint8 pixels [0, 255] to floats in [0, 1].

    Inputs:
    - images: uint8 array of any shape, e.g. (N, H, W) or (N, C, H, W).
    - dtype: floating dtype of the result.

    Returns: array of the same shape, dtype ``dtype``, values in [0, 1].
    """
    x = np.asarray(images)
    if x.dtype != np.uint8:
        # Refuse rather than guess: dividing already-scaled floats by 255 is a silent bug.
        raise TypeError(f"scale_pixels expects uint8 images, got {x.dtype}; were they already scaled?")
    return x.astype(dtype) / np.asarray(255, dtype=dtype)


def fit_normalizer(x_train, axis=None, eps: float = 1e-8):
    """Mean and standard deviation of the training data.

    Inputs:
    - x_train: (N, ...) array; statistics come from training data only so
      no information leaks from validation/test.
    - axis: None for one global scalar mean/std, or the axes to reduce over
      for per-feature stats, e.g. (0, 2, 3) for per-channel stats of NCHW.
    - eps: stds below this are replaced by 1, so constant features (e.g.
      always-black border pixels) are centred instead of divided by zero.

    Returns:
    - mean, std: float64 arrays; shape () when axis is None, otherwise the
      input shape with reduced axes kept as size 1 so they broadcast.
    """
    x = np.asarray(x_train, dtype=np.float64)
    mean = x.mean(axis=axis, keepdims=axis is not None)
    std = x.std(axis=axis, keepdims=axis is not None)
    std = np.where(std < eps, 1.0, std)
    return np.asarray(mean), np.asarray(std)


def normalize(x, mean, std) -> np.ndarray:
    """Standardize: (x - mean) / std.

    Inputs:
    - x: (N, ...) array; integers are converted to float32.
    - mean, std: from fit_normalizer (scalars or broadcastable arrays).

    Returns: array shaped like x, in x's float dtype (float32 for integer x).
    """
    x = np.asarray(x)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    std = np.asarray(std, dtype=np.float64)
    if np.any(std == 0):
        raise ValueError("std contains zeros; use fit_normalizer, which guards against them.")
    return ((x - mean) / std).astype(dtype, copy=False)


def flatten_images(images) -> np.ndarray:
    """Flatten each example: (N, d1, ..., dk) -> (N, d1*...*dk), a view when possible."""
    x = np.asarray(images)
    if x.ndim < 2:
        raise ValueError(f"expected batch-first images with ndim >= 2, got shape {x.shape}.")
    return x.reshape(x.shape[0], -1)


def _check_lengths(x, y):
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}.")


def _num_val(val_size, n: int) -> int:
    if isinstance(val_size, bool):
        raise TypeError("val_size must be an int count or a float fraction, not a bool.")
    if isinstance(val_size, numbers.Integral):
        k = int(val_size)
    elif isinstance(val_size, numbers.Real) and 0 < val_size < 1:
        k = int(round(val_size * n))
    else:
        raise ValueError(f"val_size must be an int count or a fraction in (0, 1), got {val_size!r}.")
    if not 0 < k < n:
        raise ValueError(f"val_size gives {k} validation examples out of {n}; need between 1 and {n - 1}.")
    return k


def train_val_split(x, y, val_size, *, seed: SeedLike, stratify: bool = True):
    """Split off a validation set.

    Inputs:
    - x: (N, ...) array; y: (N,) labels.
    - val_size: int number of validation examples, or float fraction in (0, 1).
    - seed: int or np.random.Generator; the same int gives the same split.
    - stratify: if True, each class contributes to validation in proportion
      to its frequency (largest-remainder rounding, so the total is exact).

    Returns:
    - x_tr (N - K, ...), y_tr (N - K,), x_val (K, ...), y_val (K,): disjoint,
      together covering x, each in the original order.
    """
    x, y = np.asarray(x), np.asarray(y)
    _check_lengths(x, y)
    n = len(y)
    k = _num_val(val_size, n)
    rng = np.random.default_rng(seed)
    if not stratify:
        val = rng.permutation(n)[:k]
    else:
        if y.ndim != 1:
            raise ValueError(f"stratify needs 1-D class labels, got shape {y.shape}.")
        classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        quota = k * counts / n
        per_class = np.floor(quota).astype(np.int64)
        # Hand leftover slots to the classes with the largest remainders.
        order = np.argsort(-(quota - per_class), kind="stable")
        per_class[order[: k - per_class.sum()]] += 1
        val = np.concatenate([
            rng.permutation(np.flatnonzero(inverse == c))[:m] for c, m in enumerate(per_class)
        ])
    mask = np.zeros(n, dtype=bool)
    mask[val] = True
    return x[~mask], y[~mask], x[mask], y[mask]


def iterate_minibatches(
    x, y, batch_size: int, *, seed: Optional[SeedLike] = None, shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[tuple]:
    """Yield (xb, yb) minibatches covering one epoch.

    Inputs:
    - x: (N, ...) array; y: (N, ...) array of matching length.
    - batch_size: int B > 0.
    - seed: int (same batches every call; e.g. pass the epoch number) or a
      np.random.Generator (a new order on each call, reproducible overall).
      Required when shuffle is True, so every run is reproducible.
    - shuffle: if False, batches are in order (and are views of x and y).
    - drop_last: if True, skip a final batch smaller than B.

    Yields:
    - xb: (B, ...) and yb: (B, ...); the last batch may have fewer than B rows.
      Each example appears exactly once per epoch (except those dropped).
    """
    x, y = np.asarray(x), np.asarray(y)
    _check_lengths(x, y)
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    n = len(x)
    if shuffle:
        if seed is None:
            raise ValueError(
                "shuffle=True needs a seed (an int, e.g. the epoch number, or a "
                "np.random.Generator) so runs are reproducible; or pass shuffle=False."
            )
        order = np.random.default_rng(seed).permutation(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if shuffle:
            idx = order[start:start + batch_size]
            yield x[idx], y[idx]
        else:
            yield x[start:start + batch_size], y[start:start + batch_size]
