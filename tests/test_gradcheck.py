import numpy as np
import pytest

from course_utils.gradcheck import (assert_gradient, check_gradient, check_module,
                                    numerical_gradient, relative_error)


class Linear:
    """A correct linear layer in the course's layer API (y = x W^T + b)."""

    def __init__(self, n_in, n_out, rng, bias_axis=0):
        self.params = {"weight": rng.standard_normal((n_out, n_in)),
                       "bias": rng.standard_normal(n_out)}
        self.grads = {}
        self.bias_axis = bias_axis

    def forward(self, x):
        self.x = x
        return x @ self.params["weight"].T + self.params["bias"]

    def backward(self, dout):
        self.grads["weight"] = dout.T @ self.x
        self.grads["bias"] = dout.sum(axis=self.bias_axis)
        return dout @ self.params["weight"]


def linear_problem(batch=6, n_in=4, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, n_in))
    t = rng.standard_normal((batch, n_out))
    w = rng.standard_normal((n_out, n_in))
    loss = lambda w: 0.5 * np.sum((x @ w.T - t) ** 2) / batch
    grad = (x @ w.T - t).T @ x / batch
    return w, loss, grad


def test_numerical_gradient_of_a_known_function_and_restores_x():
    x = np.linspace(-2, 2, 7)
    before = x.copy()
    grad = numerical_gradient(lambda v: np.sum(v ** 3), x)
    np.testing.assert_allclose(grad, 3 * before ** 2, rtol=1e-8, atol=1e-9)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_of_an_array_function_uses_dout():
    rng = np.random.default_rng(1)
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    grad = numerical_gradient(np.tanh, x, dout)
    np.testing.assert_allclose(grad, dout * (1 - np.tanh(x) ** 2), rtol=1e-7, atol=1e-10)


def test_numerical_gradient_refuses_integer_arrays():
    with pytest.raises(TypeError, match="float"):
        numerical_gradient(np.sum, np.arange(3))


def test_relative_error_scale():
    a = np.array([1.0, 2.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(a, -a) == pytest.approx(1.0)
    assert relative_error(np.zeros(2), np.zeros(2)) == 0.0


def test_correct_gradient_passes_with_the_error_in_words():
    w, loss, grad = linear_problem()
    result = check_gradient(grad, numerical_gradient(loss, w), name="dW")
    assert result.passed and result.error < 1e-8
    assert "OK" in str(result) and "a correct gradient gives < 1e-06" in str(result)


@pytest.mark.parametrize("mutate, words", [
    (lambda g: -g, "wrong sign"),
    (lambda g: 6 * g, "times 6"),            # sum over a batch of 6 instead of the mean
    (lambda g: g.T, "looks transposed"),      # non-square: the shape gives it away
    (lambda g: np.zeros_like(g), "all zeros"),
    (lambda g: np.where(g > 0, np.nan, g), "nan"),
])
def test_wrong_gradients_are_flagged_and_named(mutate, words):
    w, loss, grad = linear_problem()
    result = check_gradient(mutate(grad), numerical_gradient(loss, w), name="dW")
    assert not result.passed
    assert words in str(result)
    with pytest.raises(AssertionError, match="WRONG"):
        assert_gradient(mutate(grad), numerical_gradient(loss, w))


def test_square_transposed_gradient_is_named():
    w, loss, grad = linear_problem(n_in=3, n_out=3)
    result = check_gradient(grad.T, numerical_gradient(loss, w))
    assert not result.passed and "transpose" in result.diagnosis


def test_small_error_reports_the_worst_entry():
    w, loss, grad = linear_problem()
    wrong = grad.copy()
    wrong[1, 2] += 0.5
    result = check_gradient(wrong, numerical_gradient(loss, w))
    assert not result.passed and "index (1, 2)" in result.diagnosis


def test_check_module_passes_a_correct_layer():
    rng = np.random.default_rng(2)
    layer = Linear(5, 3, rng)
    checks = check_module(layer, rng.standard_normal((4, 5)))
    assert [c.name for c in checks] == ["d input", "d weight", "d bias"]
    assert all(c.passed for c in checks), [str(c) for c in checks]


def test_check_module_catches_bias_summed_over_the_wrong_axis():
    rng = np.random.default_rng(3)
    layer = Linear(5, 4, rng, bias_axis=1)
    # batch == out_features, the case where the wrong axis still has the right shape
    checks = {c.name: c for c in check_module(layer, rng.standard_normal((4, 5)))}
    assert checks["d input"].passed and checks["d weight"].passed
    assert not checks["d bias"].passed


def test_check_module_reports_a_missing_parameter_gradient():
    rng = np.random.default_rng(4)
    layer = Linear(2, 2, rng)
    layer.backward = lambda dout: dout @ layer.params["weight"]  # forgets grads
    checks = {c.name: c for c in check_module(layer, rng.standard_normal((3, 2)))}
    assert "did not fill grads['weight']" in str(checks["d weight"])


def test_check_module_names_a_mean_over_the_batch_where_backward_must_sum():
    rng = np.random.default_rng(5)
    layer = Linear(5, 3, rng)
    x = rng.standard_normal((4, 5))
    right_backward = layer.backward

    def mean_over_batch(dout):
        dx = right_backward(dout)
        layer.grads["weight"] = layer.grads["weight"] / len(dout)
        return dx
    layer.backward = mean_over_batch
    checks = {c.name: c for c in check_module(layer, x)}
    assert checks["d input"].passed and checks["d bias"].passed
    assert "divided by 4, the batch size: a mean over the batch where the sum is asked" in str(checks["d weight"])


def test_a_factor_other_than_the_batch_size_is_only_stated():
    w, loss, grad = linear_problem()
    result = check_gradient(0.95 * grad, numerical_gradient(loss, w), batch_size=6)
    assert "times 0.95." in result.diagnosis and "batch" not in result.diagnosis
    result = check_gradient(6 * grad, numerical_gradient(loss, w), batch_size=6)
    assert "times 6, the batch size: a sum over the batch" in result.diagnosis
