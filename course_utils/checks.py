"""Checks for the visible tests: each failure says what was found and what
was expected, in words a student can act on."""
from __future__ import annotations

import numpy as np


def assert_shape(name: str, found, expected_shape: tuple) -> None:
    """Fail unless ``found`` is an array of ``expected_shape``."""
    if not isinstance(found, np.ndarray):
        raise AssertionError(f"{name} should be a NumPy array of shape {expected_shape}, "
                             f"got {type(found).__name__}.")
    if found.shape != tuple(expected_shape):
        raise AssertionError(f"{name} has shape {found.shape}, expected {tuple(expected_shape)}.")


def assert_dtype_kind(name: str, found: np.ndarray, kind: str) -> None:
    """Fail unless ``found``'s dtype is of ``kind``: "integer" or "floating"."""
    wanted = {"integer": np.integer, "floating": np.floating}[kind]
    if not np.issubdtype(found.dtype, wanted):
        raise AssertionError(f"{name} has dtype {found.dtype}, expected an {kind} dtype.")


def assert_close(name: str, found, expected, *, rtol: float = 1e-6, atol: float = 1e-8,
                 batch_size: int | None = None) -> None:
    """Fail unless ``found`` matches ``expected`` in shape and, entry by entry,
    to ``|found - expected| <= atol + rtol * |expected|``. ``batch_size``: the
    batch the result was computed on, if any (names a factor of it, see diagnose)."""
    expected = np.asarray(expected)
    assert_shape(name, found, expected.shape)
    if not np.all(np.isfinite(found)):
        raise AssertionError(f"{name} {not_finite_in_words(found)}.")
    excess = np.abs(found - expected) - (atol + rtol * np.abs(expected))
    if np.any(excess > 0):
        worst = np.unravel_index(np.argmax(excess), expected.shape)
        why = diagnose(found, expected, lambda a, b: np.allclose(a, b, rtol=max(rtol, 1e-9), atol=atol),
                       batch_size=batch_size)
        raise AssertionError(
            f"{name} differs from the expected value in {int(np.sum(excess > 0))} of "
            f"{expected.size} entries; at index {tuple(int(i) for i in worst)} found "
            f"{found[worst]}, expected {expected[worst]}." + (f" {why}" if why else ""))


def not_finite_in_words(found: np.ndarray) -> str:
    """"is inf", or "has 2 nan and 1 inf among its 6 entries": a nan and an inf
    have different causes (0 * log(0) against log(0), say)."""
    if found.size == 1:
        return f"is {found.item()}"
    nans, infs = int(np.sum(np.isnan(found))), int(np.sum(np.isinf(found)))
    kinds = " and ".join(f"{count} {kind}" for count, kind in ((nans, "nan"), (infs, "inf")) if count)
    return f"has {kinds} among its {found.size} entries"


def diagnose(found, expected, close, batch_size: int | None = None) -> str:
    """Name the common shapes of a wrong array, in words: all zeros, the wrong
    sign, the transpose, or the right answer times a factor. ``close(a, b)``
    says when two arrays agree. ``batch_size`` (the batch the result was
    computed on, if any) lets a factor of exactly the batch size, or its
    inverse, be named as a sum where a mean is asked or the reverse; any other
    factor is only stated. Empty when none fits."""
    found, expected = np.asarray(found, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if found.shape != expected.shape or not np.any(expected):
        return ""
    if not np.any(found):
        return "It is all zeros."
    if close(-found, expected):
        return "It has the wrong sign."
    if found.ndim == 2 and found.shape[0] == found.shape[1] and close(found.T, expected):
        return "It equals the transpose of the expected value."
    factor = float(np.sum(found * expected) / np.sum(expected * expected))
    if np.isfinite(factor) and close(found, factor * expected):
        return f"It is the expected value {factor_in_words(factor, batch_size)}."
    return ""


def factor_in_words(factor: float, batch_size: int | None = None) -> str:
    """"times 0.5"; for a factor of the batch size (or its inverse, with a batch
    of more than one sample) also what usually causes it."""
    if batch_size is not None and batch_size > 1:
        if np.isclose(factor, batch_size, rtol=1e-4):
            return (f"times {batch_size}, the batch size: a sum over the batch where the mean "
                    "is asked")
        if np.isclose(factor, 1.0 / batch_size, rtol=1e-4):
            return (f"divided by {batch_size}, the batch size: a mean over the batch where the "
                    "sum is asked")
    return f"times {factor:.4g}"


def assert_equal(name: str, found, expected) -> None:
    """Exact comparison, for integer results such as counts."""
    expected = np.asarray(expected)
    assert_shape(name, found, expected.shape)
    wrong = found != expected
    if np.any(wrong):
        first = tuple(int(i) for i in np.argwhere(wrong)[0])
        raise AssertionError(
            f"{name} is wrong in {int(np.sum(wrong))} of {expected.size} entries; "
            f"at index {first} found {found[first]}, expected {expected[first]}.")
