import numpy as np
import pytest

from course_utils.gradcheck import numerical_gradient
from course_utils.problems import PROBLEMS, cliff, get_problem, quadratic


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_gradient_matches_finite_differences(name):
    prob = get_problem(name)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = np.array([rng.uniform(*prob.xlim), rng.uniform(*prob.ylim)])
        numeric = numerical_gradient(lambda z: float(prob.value(z)), x.copy(), h=1e-6)
        np.testing.assert_allclose(prob.grad(x), numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_minima_are_stationary_with_the_stated_value(name):
    prob = get_problem(name)
    for m in prob.minima:  # the cliff's tanh tail moves its minimum by ~1e-5 from the origin
        np.testing.assert_allclose(prob.grad(m), 0, atol=1e-5)
        assert prob.value(m) == pytest.approx(prob.f_min, abs=1e-6)
    assert prob.value(prob.start) > prob.f_min


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_vectorised_over_leading_axes(name):
    prob = get_problem(name)
    X1, X2, F = prob.grid(7)
    assert F.shape == (7, 7)
    pts = np.stack([X1, X2], axis=-1)
    assert prob.grad(pts).shape == (7, 7, 2)
    assert F[3, 4] == pytest.approx(prob.value(pts[3, 4]))
    np.testing.assert_allclose(prob.grad(pts)[2, 5], prob.grad(pts[2, 5]))


def test_quadratic_hessian_and_bad_shape():
    prob = quadratic(1, 10)
    assert prob.hessian_eigenvalues == (1, 10)
    assert prob.value(np.array([1.0, 1.0])) == pytest.approx(5.5)
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        prob.value(np.zeros(3))
    with pytest.raises(KeyError, match="unknown problem"):
        get_problem("himmelblau")


def test_cliff_is_steep_at_the_edge_and_finite_far_away():
    prob = cliff(height=50, width=0.05, position=1.0)
    assert prob.grad(np.array([1.0, 0.0]))[0] == pytest.approx(0.1 + 500)
    with np.errstate(all="raise"):
        g = prob.grad(np.array([[1e4, 0.0], [-1e4, 0.0]]))
    assert np.all(np.isfinite(g))
    assert prob.value(np.array([3.0, 0.0])) - prob.value(np.array([0.0, 0.0])) > 49
