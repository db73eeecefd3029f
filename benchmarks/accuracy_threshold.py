"""Measure the hidden accuracy test's threshold for notebook 02_numpy_mlp.

Runs the SOLUTION notebook's cells (setup, data, modules, training loop, the
stronger MLP) in the grading profile for several values of SEED, evaluates the
trained ``model`` on the held-out test set exactly as the hidden cell
``accuracy_hidden`` does, and does the same for three broken implementations
(gradient of the summed loss, no bias update, wrong update sign).

    COURSE_PROFILE=grading python benchmarks/accuracy_threshold.py [n_seeds]
"""
import os
import sys
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
os.environ["COURSE_PROFILE"] = "grading"

from course_utils.instructor.cells import NotebookCells  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions/02_numpy_mlp/02_numpy_mlp.ipynb"
CELLS = ["setup", "load_data", "linear_module", "relu_module", "softmax_module", "cross_entropy_module",
         "dropout_module", "mlp", "weight_decay", "train_step", "train_loop", "strong_config"]
BROKEN = {
    "gradient of the summed loss (x B)": ("train_step", "mlp.backward(softmax.backward(cross_entropy.backward(probs, y)))",
                                          "mlp.backward(len(y) * softmax.backward(cross_entropy.backward(probs, y)))"),
    "no bias update": ("weight_decay", "        p -= lr * step", "        if name.endswith('weight'): p -= lr * step"),
    "wrong sign": ("weight_decay", "        p -= lr * step", "        p += lr * step"),
}


def test_accuracy(seed, broken=None):
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
    cells.run("strong_train", cells.source["strong_train"].replace("plot_training_curves", "(lambda *a, **k: None)"))
    ns = cells.namespace
    assert ns["SEED"] == seed
    x_test = ns["normalize"](ns["flatten_images"](ns["scale_pixels"](ns["data"].x_test, np.float64)),
                             ns["pixel_mean"], ns["pixel_std"])
    with np.errstate(all="ignore"):
        return ns["evaluate"](ns["model"], x_test, ns["data"].y_test)[1]


if __name__ == "__main__":
    n_seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    accs = []
    for seed in range(n_seeds):
        accs.append(test_accuracy(seed))
        print(f"seed {seed:2d}: test accuracy {accs[-1]:.4f}", flush=True)
    accs = np.array(accs)
    print(f"correct solution over {n_seeds} seeds: mean {accs.mean():.4f}, std {accs.std():.4f}, "
          f"min {accs.min():.4f}, max {accs.max():.4f}")
    for name, broken in BROKEN.items():
        print(f"broken: {name:>35}: test accuracy {test_accuracy(0, broken):.4f} (seed 0)", flush=True)
