"""Measure the hidden accuracy test's threshold for notebook 02_numpy_mlp.

Runs the SOLUTION notebook's cells (setup, data, modules, training loop, the
stronger MLP) in the grading profile for several values of SEED, then measures
the trained ``model`` exactly as the hidden check ``accuracy_hidden`` does: the
check's probe returns the parameters of ``model``, and the check's own
``accuracy_of_parameters`` (the judge's reference forward pass, in the grader)
computes the accuracy on the held-out test images it loads itself. It does the
same for three broken implementations (gradient of the summed loss, no bias
update, wrong update sign).

The judge normalizes the test images with the statistics of the training split
of SEED = 0 (the setup cell is locked, so graded notebooks always use 0); for
another SEED the judge is pointed at that seed's split, as it would be if the
setup cell said so. The accuracy the notebook's own ``evaluate`` gives (what the
hidden cell measured before the grader judged it) is printed alongside.

    COURSE_PROFILE=grading python benchmarks/accuracy_threshold.py [n_seeds]
"""
import os
import sys
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
os.environ["COURSE_PROFILE"] = "grading"

from course_grader.cells import NotebookCells  # noqa: E402
from course_grader.grading.verdicts import read_checks  # noqa: E402
from course_utils.verdict import call_probe, decode, encode, make_inputs  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions/02_numpy_mlp/02_numpy_mlp.ipynb"
CELLS = ["setup", "load_data", "linear_module", "relu_module", "softmax_module", "cross_entropy_module",
         "dropout_module", "mlp", "weight_decay", "train_step", "train_loop", "strong_config"]
BROKEN = {  # (cell, text of the solution, replacement)
    "gradient of the summed loss (x B)": ("train_step", "mlp.backward(softmax.backward(cross_entropy.backward(probs, y)))",
                                          "mlp.backward(len(y) * softmax.backward(cross_entropy.backward(probs, y)))"),
    "no bias update": ("weight_decay", "        else:\n            p -= lr * grads[name]",
                       "        elif name.endswith('weight'):\n            p -= lr * grads[name]"),
    "wrong sign": ("weight_decay", "p -= lr * ", "p += lr * "),
}


def test_accuracy(seed, broken=None):
    """(accuracy as the judge measures it, accuracy by the notebook's evaluate, threshold)."""
    cells = NotebookCells(NOTEBOOK)
    for cell in CELLS:
        source = cells.source[cell]
        if cell == "setup":
            source = source.replace("SEED = 0 ", f"SEED = {seed} ")
        if broken and cell == broken[0]:
            assert broken[1] in source, broken
            source = source.replace(broken[1], broken[2])
        with open(os.devnull, "w") as null:
            stdout, sys.stdout = sys.stdout, null
            try:
                error = cells.run(cell, source)
            finally:
                sys.stdout = stdout
        assert error is None, (cell, error)
    with open(os.devnull, "w") as null:
        stdout, sys.stdout = sys.stdout, null
        try:
            error = cells.run("strong_train", cells.source["strong_train"].replace("plot_training_curves",
                                                                                   "(lambda *a, **k: None)"))
        finally:
            sys.stdout = stdout
    assert error is None, ("strong_train", error)
    ns = cells.namespace
    assert ns["SEED"] == seed
    # The hidden cell, read as the grader reads it (its checks collected, not run).
    (check,) = read_checks(cells.source["accuracy_hidden"], "accuracy_hidden", ns).checks
    ns["ACCURACY_DATA"]["seed"] = seed
    ns["accuracy_test_cache"].clear()
    found = decode(encode(call_probe(check.probe, make_inputs(check))))   # what crosses the boundary
    judged, _, _ = ns["accuracy_of_parameters"](found)
    x_test = ns["normalize"](ns["flatten_images"](ns["scale_pixels"](ns["data"].x_test, np.float64)),
                             ns["pixel_mean"], ns["pixel_std"])
    with np.errstate(all="ignore"):
        evaluated = ns["evaluate"](ns["model"], x_test, ns["data"].y_test)[1]
    return judged, evaluated, ns["ACCURACY_THRESHOLD"]


if __name__ == "__main__":
    n_seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    accs = []
    for seed in range(n_seeds):
        judged, evaluated, threshold = test_accuracy(seed)
        accs.append(judged)
        print(f"seed {seed:2d}: test accuracy {judged:.4f} (evaluate: {evaluated:.4f})", flush=True)
    accs = np.array(accs)
    print(f"correct solution over {n_seeds} seeds: mean {accs.mean():.4f}, std {accs.std():.4f}, "
          f"min {accs.min():.4f}, max {accs.max():.4f}; threshold {threshold}")
    for name, broken in BROKEN.items():
        judged, evaluated, _ = test_accuracy(0, broken)
        print(f"broken: {name:>35}: test accuracy {judged:.4f} (evaluate: {evaluated:.4f}) (seed 0)", flush=True)
