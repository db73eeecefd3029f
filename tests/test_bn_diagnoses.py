"""Notebook 05's hidden judges say what kind of wrong an answer is, in words
(issue 22 item 8): the reference with one term changed is recognised and
named, and an input changed in place is reported as such before any output
computed from it. Catalogue bugs, run in this process like the catalogue
tests."""
import pytest

from course_grader.cells import NotebookCells
from course_grader.course import REPO, SOLUTIONS

from .catalogue import a05_batch_norm

DIAGNOSES = [  # (catalogue bug, hidden cell, words its message must contain)
    ("module: forward normalizes x in place (x -= mean)", "batchnorm_module_hidden",
     "changed its input x_steps in place"),
    ("layer norm: backward forgets gamma", "layer_norm_module_hidden", "gamma is missing"),
    ("layer norm: backward with gamma factored out as in batch norm", "layer_norm_module_hidden",
     "gamma is factored out of the means"),
    ("thesis_dx: eps inside the square root (the right frozen gradient, not as printed)", "thesis_dx_hidden",
     "eps is inside the square root"),
    ("thesis_dx: unbiased standard deviation (ddof=1)", "thesis_dx_hidden", "unbiased standard deviation"),
    ("BatchNorm2d: statistics over the batch axis only (one per channel and position)", "batchnorm2d_module_hidden",
     "over the batch axis only"),
    ("BatchNorm2d: running variance with B/(B - 1) instead of n/(n - 1), n = B*H*W", "batchnorm2d_module_hidden",
     "not B/(B - 1)"),
    ("BatchNorm2d backward: the thesis's eq. 1.3.19 in training mode", "batchnorm2d_module_backward_hidden",
     "the terms through the mean and the variance are both missing"),
]


@pytest.fixture(scope="module")
def notebook05():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_PROFILE", "grading")
        cells = NotebookCells(REPO / SOLUTIONS / "05_batch_norm" / "05_batch_norm.ipynb")
        for cell in cells.order[:cells.order.index("thesis_dx_hidden") + 1]:
            assert cells.run(cell) is None, cell
        yield cells


@pytest.mark.parametrize("bug, hidden, words", DIAGNOSES, ids=[d[0] for d in DIAGNOSES])
def test_hidden_judge_names_the_mistake(notebook05, bug, hidden, words):
    variant = next(v for v in a05_batch_norm.BUGS if v.name == bug)
    assert notebook05.run(variant.cell, variant.source) is None
    try:
        error = notebook05.run(hidden)
    finally:
        assert notebook05.run(variant.cell) is None
    assert isinstance(error, AssertionError) and words in str(error), f"{bug}: {error!r}"
