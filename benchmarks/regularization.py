"""Notebook 07's measured figures: run the solution notebook cell by cell in
one profile, time every cell, and print what benchmarks/regularization.md
reports: the regularization table, grid vs random search (synthetic and on
Fashion-MNIST, at equal budgets, over the notebook's repeats), Optuna vs
random search at equal budget, and the explorer's redraw time on the grid the
notebook computed. Also writes them as JSON.

    .venv/bin/python benchmarks/regularization.py [--profile grading|full] [--json FILE]

Not a timed test: the load average before and after is printed, because
another process on the cores slows everything down.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from timed_cells import run_timed, write_results  # benchmarks/timed_cells.py, beside this script

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "solutions" / "07_regularization" / "07_regularization.ipynb"


def redraw_times(grid) -> list[float]:
    """Seconds of each control change of the live widget (lookup, artists, Agg, PNG)."""
    import numpy as np

    from course_utils.widgets import reg_explorer as rx

    box = rx.build_widget(grid, **rx.default_controls(grid))
    log_l2 = [float(v) for v in np.log10(grid.l2s)]
    changes = [("log10_l2", log_l2[-1]), ("dropout", max(grid.dropouts)), ("augment", True),
               ("size", grid.sizes[-1]), ("log10_l2", log_l2[0]), ("dropout", min(grid.dropouts)),
               ("size", grid.sizes[0]), ("augment", False)]
    times = []
    for name, value in changes:
        start = time.perf_counter()
        box.controls[name].value = value
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=["grading", "full"], default="grading")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    import numpy as np

    cells, run = run_timed(NOTEBOOK, args.profile)
    ns = cells.namespace
    out = {"profile": args.profile, "cpus": os.cpu_count(), "load_before": run.load_before,
           "load_after": run.load_after, "total_s": run.total_s, "errors": run.errors,
           "slowest_cells": run.slowest()}
    out["regularization_table"] = ns["reg_table"]
    out["valley"] = {f"{m}_{b}": {"mean_regret": float(np.mean(v)),
                                  "random_better_share": float(np.mean(np.array(ns["valley_best"]["random", b])
                                                                       < np.array(ns["valley_best"]["grid", b])))}
                     for (m, b), v in ns["valley_best"].items()}
    out["fashion_search"] = {m: [100 * best[1] for _, best in results] for m, results in ns["real_search"].items()}
    out["fashion_search"]["optuna"] = [100 * s.best_value for s in ns["studies"]]
    out["budget"], out["repeats"] = ns["SEARCH_BUDGET"], ns["SEARCH_REPEATS"]
    import torch

    torch.set_num_threads(1)
    times = redraw_times(ns["reg_grid"])
    out["explorer_redraw_s"] = {"median": float(np.median(times)), "max": float(max(times)), "all": times}

    print(f"{args.profile} profile: {run.total_s:.1f} s for the notebook ({os.cpu_count()} CPUs, load "
          f"{run.load_before:.1f} before, {run.load_after:.1f} after); errors: {run.errors or 'none'}")
    print("slowest cells: " + ", ".join(f"{c} {s:.1f} s" for c, s in out["slowest_cells"]))
    print("regularization table (validation accuracy, %):")
    for name, row in ns["reg_table"].items():
        print(f"  {name:>14}: train {row['train']:.1f}, last epoch {row['final']:.1f} (± {row['spread']:.1f}), "
              f"early stopped {row['early']:.1f} (epoch {row['epoch']:.0f}), val. loss {row['val_loss']:.3f}")
    for budget in ns["VALLEY_BUDGETS"]:
        grid, rand = (np.array(ns["valley_best"][m, budget]) for m in ("grid", "random"))
        print(f"synthetic valley, budget {budget}, {len(grid)} repeats: mean regret grid {grid.mean():.3f}, "
              f"random {rand.mean():.3f}; random better in {np.mean(rand < grid):.0%}")
    for method, errors_ in out["fashion_search"].items():
        print(f"Fashion-MNIST, {out['budget']} trials x {out['repeats']} repeats, {method:>6}: best validation error "
              f"{np.round(errors_, 1)} %, mean {np.mean(errors_):.1f}%")
    print(f"explorer redraw (one torch thread): median {1e3 * out['explorer_redraw_s']['median']:.0f} ms, "
          f"max {1e3 * out['explorer_redraw_s']['max']:.0f} ms over {len(times)} control changes")
    write_results(out, args.json or REPO / "benchmarks" / "results" / f"regularization_{args.profile}.json")
    return 1 if run.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
