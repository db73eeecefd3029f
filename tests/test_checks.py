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
    with pytest.raises(AssertionError, match="nan"):
        assert_close("y", expected * np.nan, expected)
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
    (2.0 * np.array([[1.0, 2.0], [3.0, 4.0]]), "times 2 (a sum over the batch"),
    (np.zeros((2, 2)), "all zeros"),
])
def test_assert_close_says_what_kind_of_wrong(found, words):
    with pytest.raises(AssertionError, match=re.escape(words)):
        assert_close("dW", found, np.array([[1.0, 2.0], [3.0, 4.0]]))


def test_assert_close_says_nothing_more_for_an_unrelated_error():
    with pytest.raises(AssertionError) as failure:
        assert_close("dW", np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert str(failure.value).endswith("found 5.0, expected 4.0.")
