"""Two-dimensional test functions for optimizers: value and gradient.

Infrastructure for the optimizer notebook and its widgets (no graded
exercise lives here). Every problem works on points ``x`` of shape ``(..., 2)``:
``value(x)`` returns shape ``(...)``, ``grad(x)`` returns shape ``(..., 2)``,
so one call evaluates a whole contour grid.

- :func:`quadratic`  -- ill-conditioned bowl ``f = 1/2 (a x1^2 + b x2^2)``
  (default a=1, b=10: condition number 10, divergence threshold 2/10).
- :func:`rosenbrock` -- the banana valley ``(1 - x1)^2 + 100 (x2 - x1^2)^2``.
- :func:`saddle`     -- ``1/2 x1^2 - 1/2 x2^2 + 1/4 x2^4``: a saddle at the origin
  and two minima at ``(0, +-1)``.
- :func:`cliff`      -- a gentle bowl with a steep step (a "cliff") across it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Problem:
    """A function of two variables with what a plot of it needs.

    name:    short identifier ("quadratic", ...).
    title:   formula for figure titles.
    value:   x (..., 2) -> f(x) (...).
    grad:    x (..., 2) -> grad f(x) (..., 2).
    start:   (2,) default starting point.
    minima:  (k, 2) global minima (for plots and for measuring progress).
    xlim, ylim: (low, high) plot window.
    f_min:   the minimum value.
    log_levels: draw contours on a log scale (for steep valleys).
    """

    name: str
    title: str
    value: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    start: np.ndarray
    minima: np.ndarray
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    f_min: float = 0.0
    log_levels: bool = False
    hessian_eigenvalues: tuple[float, ...] = field(default=())

    def __call__(self, x):
        return self.value(x)

    def grid(self, n: int = 200):
        """Contour grid: (X1, X2, F), each of shape (n, n)."""
        x1 = np.linspace(*self.xlim, n)
        x2 = np.linspace(*self.ylim, n)
        X1, X2 = np.meshgrid(x1, x2)
        return X1, X2, self.value(np.stack([X1, X2], axis=-1))


def _split(x):
    x = np.asarray(x, dtype=float)
    if x.shape[-1] != 2:
        raise ValueError(f"points must have shape (..., 2), got {x.shape}")
    return x[..., 0], x[..., 1]


def quadratic(a: float = 1.0, b: float = 10.0) -> Problem:
    """f(x) = 1/2 (a x1^2 + b x2^2); Hessian diag(a, b); GD diverges for lr > 2/max(a, b)."""
    def value(x):
        x1, x2 = _split(x)
        return 0.5 * (a * x1 ** 2 + b * x2 ** 2)

    def grad(x):
        x1, x2 = _split(x)
        return np.stack([a * x1, b * x2], axis=-1)

    c1, c2 = ("" if a == 1 else f"{a:g}"), ("" if b == 1 else f"{b:g}")
    return Problem("quadratic", rf"$f(x) = \frac{{1}}{{2}}({c1}x_1^2 + {c2}x_2^2)$", value, grad,
                   start=np.array([-4.0, 1.5]), minima=np.zeros((1, 2)),
                   xlim=(-5.0, 5.0), ylim=(-2.5, 2.5), hessian_eigenvalues=(a, b))


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Problem:
    """f(x) = (a - x1)^2 + b (x2 - x1^2)^2; minimum 0 at (a, a^2)."""
    def value(x):
        x1, x2 = _split(x)
        return (a - x1) ** 2 + b * (x2 - x1 ** 2) ** 2

    def grad(x):
        x1, x2 = _split(x)
        inner = x2 - x1 ** 2
        return np.stack([-2 * (a - x1) - 4 * b * x1 * inner, 2 * b * inner], axis=-1)

    return Problem("rosenbrock", rf"Rosenbrock $(1 - x_1)^2 + {b:g}(x_2 - x_1^2)^2$", value, grad,
                   start=np.array([-1.5, 2.0]), minima=np.array([[a, a * a]]),
                   xlim=(-2.0, 2.0), ylim=(-1.0, 3.0), log_levels=True)


def saddle() -> Problem:
    """f(x) = 1/2 x1^2 - 1/2 x2^2 + 1/4 x2^4: saddle at 0, minima -1/4 at (0, +-1)."""
    def value(x):
        x1, x2 = _split(x)
        return 0.5 * x1 ** 2 - 0.5 * x2 ** 2 + 0.25 * x2 ** 4

    def grad(x):
        x1, x2 = _split(x)
        return np.stack([x1, -x2 + x2 ** 3], axis=-1)

    return Problem("saddle", r"Saddle $\frac{1}{2}x_1^2 - \frac{1}{2}x_2^2 + \frac{1}{4}x_2^4$",
                   value, grad, start=np.array([-2.0, 1e-3]),
                   minima=np.array([[0.0, 1.0], [0.0, -1.0]]),
                   xlim=(-2.5, 2.5), ylim=(-1.6, 1.6), f_min=-0.25)


def cliff(height: float = 50.0, width: float = 0.1, position: float = 1.0) -> Problem:
    """A bowl 1/2 (0.1 x1^2 + x2^2) with a step of ``height`` across x1 = ``position``:

        f(x) = 0.05 x1^2 + 0.5 x2^2 + height/2 (1 + tanh((x1 - position) / width)).

    Walking down from x1 > position, the slope at the edge is height / (2 width)
    (250 by default): one plain gradient step there throws the point far away.
    The minimum is at the origin up to ~1e-5 (the tail of the tanh).
    """
    def value(x):
        x1, x2 = _split(x)
        return 0.05 * x1 ** 2 + 0.5 * x2 ** 2 + 0.5 * height * (1 + np.tanh((x1 - position) / width))

    def grad(x):
        x1, x2 = _split(x)
        sech2 = 1.0 / np.cosh(np.clip((x1 - position) / width, -350, 350)) ** 2
        return np.stack([0.1 * x1 + 0.5 * height / width * sech2, x2], axis=-1)

    return Problem("cliff", rf"Cliff: bowl with a step of height {height:g} at $x_1 = {position:g}$",
                   value, grad, start=np.array([3.0, 1.0]), minima=np.zeros((1, 2)),
                   xlim=(-6.0, 4.0), ylim=(-2.0, 2.0))


PROBLEMS: dict[str, Callable[[], Problem]] = {
    "quadratic": quadratic, "rosenbrock": rosenbrock, "saddle": saddle, "cliff": cliff,
}


def get_problem(name: str) -> Problem:
    """The problem called ``name`` with its default settings."""
    if name not in PROBLEMS:
        raise KeyError(f"unknown problem {name!r}; choose one of {sorted(PROBLEMS)}")
    return PROBLEMS[name]()
