"""Gradient checking by central differences, with verdicts in words.

The numerical gradient of ``L(x)`` is ``(L(x + h e_i) - L(x - h e_i)) / 2h``
for every coordinate ``i``; its error is O(h^2), so in float64 with
``h = 1e-5`` a correct analytic gradient agrees to a relative error of about
1e-8 (smooth functions) and rarely worse than 1e-6 (near ReLU kinks).

A function with an array output ``y = f(x)`` is checked through the scalar
``L = sum(y * dout)`` for a fixed random ``dout``: its gradient is exactly what
``backward(dout)`` must return.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .checks import diagnose

CORRECT_BELOW = 1e-6  # relative error a correct float64 gradient stays under


def numerical_gradient(f: Callable[[np.ndarray], object], x: np.ndarray,
                       dout: np.ndarray | None = None, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of ``sum(f(x) * dout)`` with respect to ``x``.

    f:    function of ``x`` returning a scalar (then ``dout`` is None) or an
          array of the shape of ``dout``.
    x:    float array of any shape; perturbed in place one entry at a time and
          always restored, so ``f`` may also read ``x`` through a closure
          (that is how module parameters are checked).
    Returns an array of ``x``'s shape and dtype.
    """
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"numerical_gradient needs a float array, got dtype {x.dtype}; "
                        "cast with x.astype(np.float64).")
    grad = np.zeros_like(x)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat_x, x):
        raise ValueError("x must be contiguous so it can be perturbed in place")

    def scalar(value):
        return float(np.sum(np.asarray(value) * (1.0 if dout is None else dout)))

    for i in range(flat_x.size):
        original = flat_x[i]
        flat_x[i] = original + h
        plus = scalar(f(x))
        flat_x[i] = original - h
        minus = scalar(f(x))
        flat_x[i] = original
        flat_grad[i] = (plus - minus) / (2 * h)
    return grad


def numerical_param_gradients(module, x: np.ndarray, dout: np.ndarray,
                              h: float = 1e-5) -> dict[str, np.ndarray]:
    """Numerical gradients of ``sum(module.forward(x) * dout)`` for every
    array in ``module.params`` (a dict name -> array, perturbed in place).

    Returns a dict with the same keys and shapes as ``module.params``.
    """
    return {name: numerical_gradient(lambda _: module.forward(x), param, dout, h)
            for name, param in module.params.items()}


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """``||a - n|| / (||a|| + ||n||)``: 0 when equal, 1 when opposite or
    when one of them is zero. Norms (not entry-wise ratios) so that entries
    that are almost zero do not dominate."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    denominator = np.linalg.norm(a) + np.linalg.norm(n)
    if denominator == 0.0:
        return 0.0
    return float(np.linalg.norm(a - n) / denominator)


@dataclass(frozen=True)
class GradientCheck:
    """The outcome of comparing an analytic gradient with a numerical one."""

    name: str
    passed: bool
    error: float          # relative error (inf when shapes differ or nan found)
    tolerance: float
    diagnosis: str        # what the mismatch looks like, "" when it passed

    def __str__(self) -> str:
        verdict = "OK" if self.passed else "WRONG"
        text = (f"{self.name}: {verdict}, relative error {self.error:.1e} "
                f"(a correct gradient gives < {self.tolerance:.0e})")
        return text + (f". {self.diagnosis}" if self.diagnosis else "")


def check_gradient(analytic, numeric, *, name: str = "gradient", tol: float = CORRECT_BELOW,
                   batch_size: int | None = None) -> GradientCheck:
    """Compare an analytic gradient with a numerical one and explain the result.
    ``batch_size``: the batch the gradient was computed on, if any; a gradient
    off by exactly that factor (or its inverse) is then named as a sum where a
    mean belongs (or the reverse)."""
    a = np.asarray(analytic)
    n = np.asarray(numeric)
    if a.shape != n.shape:
        hint = (" It looks transposed." if a.T.shape == n.shape
                and relative_error(a.T, n) < tol else "")
        return GradientCheck(name, False, float("inf"), tol,
                             f"It has shape {a.shape}, expected {n.shape}.{hint}")
    if not np.all(np.isfinite(a)):
        return GradientCheck(name, False, float("inf"), tol,
                             f"It contains {np.sum(~np.isfinite(a))} nan/inf values "
                             "(an overflow? e.g. exp of large numbers).")
    error = relative_error(a, n)
    if error < tol:
        return GradientCheck(name, True, error, tol, "")
    return GradientCheck(name, False, error, tol, _diagnose(a, n, tol, batch_size))


def _diagnose(a: np.ndarray, n: np.ndarray, tol: float, batch_size: int | None) -> str:
    """Name the common shapes of a wrong gradient (checks.diagnose), else where it differs most."""
    why = diagnose(a, n, lambda x, y: relative_error(x, y) < tol, batch_size=batch_size)
    if why:
        return why.replace("expected value", "right answer")
    worst = np.unravel_index(np.argmax(np.abs(a - n)), a.shape)
    return (f"Largest difference at index {tuple(int(i) for i in worst)}: "
            f"analytic {a[worst]:.6g}, numerical {n[worst]:.6g}.")


def assert_gradient(analytic, numeric, *, name: str = "gradient", tol: float = CORRECT_BELOW,
                    batch_size: int | None = None) -> GradientCheck:
    """Like :func:`check_gradient`, but raises ``AssertionError`` with the
    explanation when the gradient is wrong. Returns the check when it passes."""
    result = check_gradient(analytic, numeric, name=name, tol=tol, batch_size=batch_size)
    if not result.passed:
        raise AssertionError(str(result))
    return result


def check_module(module, x: np.ndarray, *, seed: int = 0, h: float = 1e-5,
                 tol: float = CORRECT_BELOW) -> list[GradientCheck]:
    """Check ``module.backward`` against central differences.

    module: an object with ``params``/``grads`` dicts of arrays,
            ``forward(x)`` and ``backward(dout) -> dx`` (the course's layer API).
            Its forward pass must be deterministic (dropout in eval mode, say).
    x:      float64 input batch, samples along its first axis (a parameter
            gradient off by a factor of their number is named as such: the
            parameters' gradients sum over the batch).
    Returns one :class:`GradientCheck` for the input and one per parameter.
    """
    batch = len(x) if np.ndim(x) else None
    out = module.forward(x)
    dout = np.random.default_rng(seed).standard_normal(np.shape(out))
    dx = module.backward(dout)
    checks = [check_gradient(dx, numerical_gradient(module.forward, x, dout, h),
                             name="d input", tol=tol)]
    numeric = numerical_param_gradients(module, x, dout, h)
    for name in module.params:
        if name not in module.grads:
            checks.append(GradientCheck(f"d {name}", False, float("inf"), tol,
                                        f"backward did not fill grads[{name!r}]."))
            continue
        checks.append(check_gradient(module.grads[name], numeric[name],
                                     name=f"d {name}", tol=tol, batch_size=batch))
    return checks
