"""Notebook 09's measured figures: run the solution notebook cell by cell in
one profile, time every cell, then measure the trained LSTM once on the
official test images (the notebook itself never touches them). Prints what
benchmarks/recurrent.md reports: the long-dependency table (adding problem),
row-by-row Fashion-MNIST (RNN vs LSTM, accuracy and seconds per epoch), the
clipping experiment and the gradient-flow figures. Also writes them as JSON.

    .venv/bin/python benchmarks/recurrent.py [--profile grading|full] [--json FILE]
    .venv/bin/python benchmarks/recurrent.py --threshold-seeds 12

The second form measures the hidden accuracy check's threshold: in the
grading profile (the grader's), the main run is repeated with seeds 0..N-1
(initialization, batch order) and each trained `model` is measured exactly as
the grader does: the hidden cell's own probe reads its parameters, its own
judge's forward pass computes the test accuracy.

The grading profile's hidden accuracy check says it is skipped in a
full-profile run (its constants are the grading profile's).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from timed_cells import run_timed, write_results  # benchmarks/timed_cells.py, beside this script

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "solutions" / "09_recurrent" / "09_recurrent.ipynb"


def test_accuracy(ns) -> float:
    """Accuracy of the notebook's `model` on the official test set, standardized as the notebook does."""
    import numpy as np
    import torch

    from course_utils.data import load_fashion_mnist, normalize, scale_pixels

    data = load_fashion_mnist()
    x = normalize(scale_pixels(data.x_test), ns["pixel_mean"], ns["pixel_std"])
    batches = ns["make_batches"](torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.asarray(data.y_test)),
                                 1000, 0)
    return ns["evaluate"](ns["model"], batches, ns["DEVICE"])[1]


def threshold_seeds(cells, n: int) -> int:
    """Print the graded test accuracy of the grading profile's main run for seeds 0..n-1."""
    import numpy as np
    import torch

    ns = cells.namespace
    accuracies = []
    for seed in range(n):
        start = time.perf_counter()
        torch.manual_seed(seed)
        ns["model"] = ns["SequenceClassifier"]("lstm", 28, ns["HIDDEN"], 10)
        ns["fit"](ns["model"], ns["EPOCHS"], lr=ns["MAIN_LR"], seed=seed, desc=f"seed {seed}")
        found = ns["accuracy_probe"](**ns["accuracy_inputs"](np.random.default_rng(seed)))
        accuracy, count, _ = ns["accuracy_of_parameters"](found)
        accuracies.append(accuracy)
        print(f"seed {seed}: graded test accuracy {100 * accuracy:.2f} % on {count} images "
              f"({time.perf_counter() - start:.1f} s)", flush=True)
    a = 100 * np.array(accuracies)
    print(f"{n} seeds: mean {a.mean():.2f} %, std {a.std(ddof=1):.2f}, min {a.min():.2f} %, max {a.max():.2f} %; "
          f"threshold in the hidden cell: {100 * ns['ACCURACY_THRESHOLD']:.0f} %")
    return 0 if a.min() > 100 * ns["ACCURACY_THRESHOLD"] else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=["grading", "full"], default="grading")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--threshold-seeds", type=int, default=0, metavar="N",
                        help="measure the hidden accuracy check over N seeds (grading profile) instead")
    args = parser.parse_args(argv)
    if args.threshold_seeds:
        args.profile = "grading"
    import numpy as np

    cells, run = run_timed(NOTEBOOK, args.profile)
    if args.threshold_seeds:
        return threshold_seeds(cells, args.threshold_seeds)
    ns = cells.namespace
    lstm, rnn = ns["lstm_history"], ns["rnn_history"]
    out = {"profile": args.profile, "cpus": os.cpu_count(), "torch_threads": __import__("torch").get_num_threads(),
           "load_before": run.load_before, "load_after": run.load_after, "total_s": run.total_s, "errors": run.errors,
           "slowest_cells": run.slowest(),
           "fmnist": {"hidden": ns["HIDDEN"], "train_images": len(ns["xt_train"]),
                      "lstm": {"epochs": ns["EPOCHS"], "val_acc": lstm["val_acc"], "seconds_per_epoch": lstm["seconds"],
                               "test_acc": test_accuracy(ns)},
                      "rnn": {"epochs": ns["RNN_EPOCHS"], "val_acc": rnn["val_acc"], "seconds_per_epoch": rnn["seconds"]},
                      "quoted_notebook6": ns["NOTEBOOK6"]},
           "adding": {"steps": ns["ADDING_STEPS"], "hidden": ns["ADDING_HIDDEN"], "seeds": ns["SEEDS"],
                      "table": {f"{cell} {length}": {"mse_mean": m, "mse_std": s, "solved": k}
                                for (cell, length), (m, s, k) in ns["ADDING_TABLE"].items()},
                      "rnn_fails_at": ns["RNN_FAILS_AT"], "lstm_fails_at": ns["LSTM_FAILS_AT"]},
           "clipping": ns["CLIP_TABLE"],
           "gradient_flow": {"steps_back": ns["FLOW_STEPS"] // 2, "rnn": {str(k): v for k, v in ns["FLOW_AT"].items()},
                             "lstm": {str(k): v for k, v in ns["LSTM_AT"].items()},
                             "autograd_gap": ns["AUTOGRAD_GAP"]}}
    f = out["fmnist"]
    print(f"{args.profile} profile: {run.total_s:.1f} s for the notebook ({out['cpus']} CPUs, {out['torch_threads']} "
          f"torch thread(s), load {run.load_before:.1f} before, {run.load_after:.1f} after); errors: {run.errors or 'none'}")
    print("slowest cells: " + ", ".join(f"{c} {s:.1f} s" for c, s in out["slowest_cells"]))
    print(f"row-by-row Fashion-MNIST, H = {f['hidden']}, {f['train_images']} training images:")
    print(f"  LSTM: {f['lstm']['epochs']} epochs, {np.mean(lstm['seconds']):.1f} s / epoch, validation "
          f"{', '.join(f'{100 * a:.1f}' for a in lstm['val_acc'])} %, TEST {100 * f['lstm']['test_acc']:.2f} %")
    print(f"  RNN:  {f['rnn']['epochs']} epochs, {np.mean(rnn['seconds']):.1f} s / epoch, validation "
          f"{', '.join(f'{100 * a:.1f}' for a in rnn['val_acc'])} %")
    a = out["adding"]
    print(f"adding problem ({a['steps']} steps of 64, H = {a['hidden']}, seeds {a['seeds']}): test MSE mean ± std, solved")
    for key, row in a["table"].items():
        print(f"  {key:>10}: {row['mse_mean']:.4f} ± {row['mse_std']:.4f}, {row['solved']}/{len(a['seeds'])}")
    print(f"  RNN fails from length {a['rnn_fails_at']}, LSTM from {a['lstm_fails_at']} (None: never)")
    for label, (norm, loss) in out["clipping"].items():
        print(f"clipping, {label}: largest gradient norm {norm:.3g}, final loss {loss:.4f}")
    g = out["gradient_flow"]
    print(f"gradient flow {g['steps_back']} steps back: RNN {g['rnn']}, LSTM {g['lstm']}; "
          f"Jacobian product vs autograd: {g['autograd_gap']:.1e}")
    write_results(out, args.json or REPO / "benchmarks" / "results" / f"recurrent_{args.profile}.json")
    return 1 if run.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
