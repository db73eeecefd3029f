"""Visible checks say what kind of wrong an answer is, in words (not only
"found -2.0, expected -1.0"): notebook 02's checks on catalogue bugs whose
diagnosis is known, run in this process like the catalogue tests."""
import pytest

from course_utils.instructor.cells import NotebookCells
from course_utils.instructor.course import REPO, SOLUTIONS

from .catalogue import a02_numpy_mlp

DIAGNOSES = [  # (cell, catalogue bug, words its visible check must say)
    ("cross_entropy_module", "cross-entropy: summed over the batch (factor B)", "times 2 (a sum over the batch"),
    ("cross_entropy_module", "cross-entropy: gradient of the summed loss only", "times 2 (a sum over the batch"),
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
