import re

import numpy as np
import pytest

from course_utils.checks import assert_close, assert_dtype_kind, assert_equal, assert_shape


def test_assert_shape_words():
    with pytest.raises(AssertionError, match=r"dW has shape \(5, 10\), expected \(10, 5\)"):
        assert_shape("dW", np.zeros((5, 10)), (10, 5))
    with pytest.raises(AssertionError, match="NumPy array .* got list"):
        assert_shape("dW", [1, 2], (2,))


def test_assert_close_reports_the_worst_entry():
    expected = np.arange(6.0).reshape(2, 3)
    found = expected.copy()
    found[1, 2] += 1.0
    with pytest.raises(AssertionError, match=r"1 of 6 entries; at index \(1, 2\) found 6.0, expected 5.0"):
        assert_close("y", found, expected)
    with pytest.raises(AssertionError, match="has 6 nan among its 6 entries"):
        assert_close("y", expected * np.nan, expected)
    with pytest.raises(AssertionError, match=r"has 1 nan and 1 inf among its 6 entries"):
        assert_close("y", np.where(expected == 1, np.nan, np.where(expected == 2, np.inf, expected)), expected)
    with pytest.raises(AssertionError, match=r"^loss is inf\.$"):
        assert_close("loss", np.asarray(np.inf), np.asarray(1.0))
    assert_close("y", expected + 1e-12, expected)


def test_assert_equal_and_dtype():
    with pytest.raises(AssertionError, match=r"index \(0, 1\) found 3, expected 2"):
        assert_equal("counts", np.array([[1, 3]]), [[1, 2]])
    with pytest.raises(AssertionError, match="float64, expected an integer dtype"):
        assert_dtype_kind("counts", np.zeros(2), "integer")
    assert_equal("counts", np.array([[1, 2]]), [[1, 2]])


@pytest.mark.parametrize("found, words", [
    (-np.array([[1.0, 2.0], [3.0, 4.0]]), "wrong sign"),
    (np.array([[1.0, 3.0], [2.0, 4.0]]), "transpose"),
    (2.0 * np.array([[1.0, 2.0], [3.0, 4.0]]), "is the expected value times 2."),
    (np.zeros((2, 2)), "all zeros"),
])
def test_assert_close_says_what_kind_of_wrong(found, words):
    with pytest.raises(AssertionError, match=re.escape(words)):
        assert_close("dW", found, np.array([[1.0, 2.0], [3.0, 4.0]]))


def test_assert_close_says_nothing_more_for_an_unrelated_error():
    with pytest.raises(AssertionError) as failure:
        assert_close("dW", np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert str(failure.value).endswith("found 5.0, expected 4.0.")


@pytest.mark.parametrize("factor, batch_size, words", [
    (4.0, 4, "times 4, the batch size: a sum over the batch where the mean is asked."),
    (0.25, 4, "divided by 4, the batch size: a mean over the batch where the sum is asked."),
    (0.9526, 4, "times 0.9526."),       # a learning-rate schedule's factor, not the batch's
    (2.0, 4, "times 2."),
    (4.0, None, "times 4."),            # the check does not know the batch
    (1.0 / 3, 1, "times 0.3333."),      # at batch 1 a sum is the mean
])
def test_a_factor_is_blamed_on_the_batch_only_when_it_is_the_batch_size(factor, batch_size, words):
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(AssertionError) as failure:
        assert_close("dW", factor * expected, expected, batch_size=batch_size)
    assert str(failure.value).endswith(words), str(failure.value)
    if "batch size" not in words:
        assert "batch" not in str(failure.value)
