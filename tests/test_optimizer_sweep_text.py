"""Notebook 03's learning-rate sweep says which optimizer's good range is wider
from the ranges it measured: with MLP_STEPS = 3000 (the edit the text suggests)
one optimizer had no good learning rate, its range was (nan, nan), and the
grading profile printed "wider good range ... SGD" from that nan."""
import ast
import json

import numpy as np
import pytest

from course_grader.course import REPO, SOLUTIONS


def sweep_function(name):
    """A function defined in the sweep cell of the solution, by itself."""
    cells = json.loads((REPO / SOLUTIONS / "03_optimizers" / "03_optimizers.ipynb").read_text())["cells"]
    source = next("".join(c["source"]) for c in cells if c.get("id") == "sweep_run")
    (node,) = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name]
    space = {"np": np}
    exec(compile(ast.Module([node], []), "<sweep_run>", "exec"), space)
    return space[name]


@pytest.mark.parametrize("good_range, words", [
    ({"SGD": (1e-3, 1e-1), "Adam": (1e-4, 1e-1)}, "Adam has the wider good range (3.0 decades)"),
    ({"SGD": (1e-3, 1e-1), "Adam": (1e-2, 1.0)}, "SGD and Adam have equally wide good ranges (2.0 decades)"),
    ({"Adam": (1e-4, 1e-2)}, "only Adam has good learning rates (2.0 decades)"),   # every SGD run diverged
    ({}, "neither optimizer has a good learning rate on this grid"),
])
def test_the_wider_range_is_said_from_the_measured_ranges(good_range, words):
    assert sweep_function("wider_range_text")(good_range) == words
