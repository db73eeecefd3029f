"""Visible checks say what kind of wrong an answer is, in words (not only
"found -2.0, expected -1.0"): notebook 02's checks on catalogue bugs whose
diagnosis is known, run in this process like the catalogue tests."""
import pytest

from course_grader.cells import NotebookCells
from course_grader.course import REPO, SOLUTIONS

from .catalogue import a01_backprop, a02_numpy_mlp

DIAGNOSES = [  # (cell, catalogue bug, words its visible check must say)
    ("linear_module", "linear: dW of the summed loss (times batch size)",
     "times 2, the batch size: a sum over the batch where the mean is asked"),
    ("cross_entropy_module", "cross-entropy: summed over the batch (factor B)", "times 2, the batch size: a sum over the batch where the mean is asked"),
    ("cross_entropy_module", "cross-entropy: gradient of the summed loss only", "times 2, the batch size: a sum over the batch where the mean is asked"),
    ("softmax_module", "softmax: normalized over the batch axis", "that is axis 0, the batch"),
]


@pytest.fixture(scope="module")
def notebook02():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_PROFILE", "grading")
        yield run_until_cross_entropy()


def run_until_cross_entropy():
    cells = NotebookCells(REPO / SOLUTIONS / "02_numpy_mlp" / "02_numpy_mlp.ipynb")
    for cell in cells.order[:cells.order.index("cross_entropy_module_visible") + 1]:
        assert cells.run(cell) is None, cell
    return cells


@pytest.mark.parametrize("cell, bug, words", DIAGNOSES, ids=[d[1] for d in DIAGNOSES])
def test_visible_check_names_the_mistake(notebook02, cell, bug, words):
    variant = next(v for v in a02_numpy_mlp.BUGS if v.cell == cell and v.name == bug)
    assert notebook02.run(cell, variant.source) is None
    try:
        error = notebook02.run(f"{cell}_visible")
    finally:
        assert notebook02.run(cell) is None
    assert isinstance(error, AssertionError) and words in str(error), f"{bug}: {error!r}"


CROSS_ENTROPY_WORDS = [  # notebook 01: (catalogue bug, test cell, words, words it must not say)
    ("t * log(p) unguarded: nan where a wrong class has probability 0", "cross_entropy_visible",
     "is nan: 0 * log(0) gives nan", "is inf"),
    ("t * log(p) unguarded: nan where a wrong class has probability 0", "cross_entropy_hidden",
     "is nan: 0 * log(0) gives nan", "is inf"),
    ("target probabilities summed over the batch axis: inf for a class that is never the target",
     "cross_entropy_visible", "cross_entropy(probs, targets) is inf.", "0 * log(0)"),
    ("target probabilities summed over the batch axis: inf for a class that is never the target",
     "cross_entropy_hidden", "is inf: a log(0) reached the loss", "0 * log(0)"),
]


@pytest.fixture(scope="module")
def notebook01():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_PROFILE", "grading")
        cells = NotebookCells(REPO / SOLUTIONS / "01_backprop" / "01_backprop.ipynb")
        for cell in cells.order[:cells.order.index("cross_entropy_hidden") + 1]:
            assert cells.run(cell) is None, cell
        yield cells


@pytest.mark.parametrize("bug, test, words, not_words", CROSS_ENTROPY_WORDS,
                         ids=[f"{w[1]}: {w[2]}" for w in CROSS_ENTROPY_WORDS])
def test_a_nan_and_an_inf_cross_entropy_are_told_apart(notebook01, bug, test, words, not_words):
    """An inf loss was explained as "0 * log(0) gives nan"."""
    variant = next(v for v in a01_backprop.BUGS if v.cell == "cross_entropy" and v.name == bug)
    assert notebook01.run("cross_entropy", variant.source) is None
    try:
        error = notebook01.run(test)
    finally:
        assert notebook01.run("cross_entropy") is None
    assert isinstance(error, AssertionError) and words in str(error) and not_words not in str(error), repr(error)
