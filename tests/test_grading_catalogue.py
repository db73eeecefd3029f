"""Hidden tests against the grading catalogue: every realistic bug loses the
marks of its exercise (and, where it says so, only those: its ``must_pass``
cells still pass), every valid alternative keeps them.

Each solution notebook runs once, in this process, in the grading profile;
then each variant replaces its exercise's solution cell, that exercise's test
cells are rerun, and the original is restored.
"""
import importlib
import json
import pkgutil

import matplotlib
import numpy as np
import pytest
import torch

from course_grader.cells import NotebookCells
from course_grader.course import REPO, SOLUTIONS, notebooks_of

from . import catalogue

matplotlib.use("Agg")

MODULES = {m.name: importlib.import_module(f"tests.catalogue.{m.name}")
           for m in pkgutil.iter_modules(catalogue.__path__)}


def assignment_of(module_name: str) -> str:
    return module_name.removeprefix("a")  # modules are a<assignment> (names start with a digit)


def variants(kind: str):
    # One xdist group per notebook: its variants share one execution of it.
    return [pytest.param(name, v, id=f"{assignment_of(name)}:{v.name}",
                         marks=pytest.mark.xdist_group(name))
            for name, module in MODULES.items() for v in getattr(module, kind)]


class ProcessState:
    """Process-wide settings a notebook may change (a kernel would start fresh
    for each notebook; here they share one process)."""

    def __init__(self):
        self.torch_dtype = torch.get_default_dtype()
        self.torch_threads = torch.get_num_threads()
        self.numpy_errors = np.geterr()

    def restore(self):
        torch.set_default_dtype(self.torch_dtype)
        torch.set_num_threads(self.torch_threads)
        np.seterr(**self.numpy_errors)


FRESH = ProcessState()


@pytest.fixture(scope="module")
def executed(monkeypatch_module):
    """Executed solution notebooks, by assignment, built on first use; each
    returned with its own process state restored."""
    cache = {}

    def get(module_name):
        if module_name not in cache:
            FRESH.restore()
            assignment = assignment_of(module_name)
            (path,) = notebooks_of(REPO, SOLUTIONS, assignment)
            cells = NotebookCells(path)
            errors = cells.run_all()
            assert not errors, f"the solution of {assignment} fails: {errors}"
            cache[module_name] = cells, ProcessState()
        cells, state = cache[module_name]
        state.restore()
        return cells
    return get


@pytest.fixture(scope="module", autouse=True)
def fresh_process_state_after():
    """The notebooks set process-wide state (02: torch's default dtype float64);
    the tests that run next in this worker get it as it was (test_reg_explorer
    failed on float64 after a catalogue test of 02)."""
    yield
    FRESH.restore()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_PROFILE", "grading")
        yield patch


def run_variant(cells: NotebookCells, variant):
    assert variant.cell in cells.source, f"no solution cell {variant.cell}"
    assert cells.run(variant.cell, variant.source) is None, "the variant itself does not run"
    try:
        return {test: cells.run(test) for test in dict.fromkeys(variant.tests + variant.must_pass)}
    finally:
        assert cells.run(variant.cell) is None  # restore the solution


def graded_cells(module_name: str) -> set[str]:
    """Test cells that carry points (visible checks carry none)."""
    (path,) = notebooks_of(REPO, SOLUTIONS, assignment_of(module_name))
    cells = json.loads(path.read_text())["cells"]
    return {c["id"] for c in cells if c["metadata"].get("nbgrader", {}).get("points")}


@pytest.mark.parametrize("module_name, variant", variants("BUGS"))
def test_bug_is_caught(executed, module_name, variant):
    """A bug must lose marks: fail a graded cell, with a message in words."""
    graded = graded_cells(module_name)
    must_fail = variant.must_fail or tuple(t for t in variant.tests if t in graded)
    assert must_fail and set(must_fail) <= graded, \
        f"'{variant.name}' names no graded test cell to fail: {variant.tests}"
    outcome = run_variant(executed(module_name), variant)
    assert any(outcome[t] is not None for t in must_fail), \
        f"'{variant.name}' passes {list(must_fail)}"
    for test in must_fail:
        error = outcome[test]
        if error is not None:  # the failure explains itself in words
            assert isinstance(error, AssertionError) and str(error).strip(), \
                f"{test} failed without words: {error!r}"
    charged_again = {t: repr(outcome[t]) for t in variant.must_pass if outcome[t] is not None}
    assert not charged_again, f"'{variant.name}' is charged again by {charged_again}"


@pytest.mark.parametrize("module_name, variant", variants("ALTERNATIVES"))
def test_alternative_gets_full_marks(executed, module_name, variant):
    outcome = run_variant(executed(module_name), variant)
    failed = {t: repr(e) for t, e in outcome.items() if e is not None}
    assert not failed, f"valid alternative '{variant.name}' fails {failed}"
