"""NumPy LSTM (notebook 09's solution cell, run from the solution notebook) against
torch's CPU LSTM, forward + backward (dx, dh0, dc0 and every weight gradient) on
B=64, T=28, N=28, H=128, ONE thread each, side by side: the repeats alternate
NumPy and torch, and the medians are compared. float32 and float64.

    .venv/bin/python benchmarks/lstm_speed.py [--repeats 15] [--json FILE]

Target (issue 25): the NumPy LSTM within 3x of torch.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"                      # before numpy is imported: one BLAS thread

from timed_cells import write_results  # noqa: E402 (benchmarks/timed_cells.py, beside this script)

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "solutions" / "09_recurrent" / "09_recurrent.ipynb"
B, T, N, H = 64, 28, 28, 128


def numpy_lstm_class():
    """The LSTM class of the solution notebook (its own cell, executed here)."""
    import numpy as np

    from course_grader.cells import NotebookCells

    cells = NotebookCells(NOTEBOOK)
    cells.namespace["np"] = np
    error = cells.run("lstm")
    if error is not None:
        raise error
    return cells.namespace["LSTM"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "lstm_speed.json")
    args = parser.parse_args(argv)
    import numpy as np
    import torch

    torch.set_num_threads(1)
    LSTM = numpy_lstm_class()
    out = {"shape": {"B": B, "T": T, "N": N, "H": H}, "threads": 1, "repeats": args.repeats,
           "torch": torch.__version__, "numpy": np.__version__, "load_before": os.getloadavg()[0]}
    for dtype, tdtype in ((np.float32, torch.float32), (np.float64, torch.float64)):
        rng = np.random.default_rng(0)
        ours = LSTM(N, H, rng)
        ours.params = {k: v.astype(dtype) for k, v in ours.params.items()}
        x = rng.standard_normal((B, T, N)).astype(dtype)
        zeros = np.zeros((B, H), dtype=dtype)
        dh = rng.standard_normal((B, T, H)).astype(dtype)
        lstm = torch.nn.LSTM(N, H, batch_first=True).to(tdtype)
        tx = torch.from_numpy(x).requires_grad_(True)
        tdh = torch.from_numpy(dh)

        def numpy_step():
            ours.forward(x, zeros, zeros)
            return ours.backward(dh)

        def torch_step():
            lstm.zero_grad()
            tx.grad = None
            (lstm(tx)[0] * tdh).sum().backward()

        times = {"numpy": [], "torch": []}
        for step in (numpy_step, torch_step):
            step()                                   # warm-up
        for _ in range(args.repeats):
            for name, step in (("numpy", numpy_step), ("torch", torch_step)):
                start = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - start)
        medians = {name: float(np.median(t)) for name, t in times.items()}
        ratio = medians["numpy"] / medians["torch"]
        out[np.dtype(dtype).name] = {"numpy_ms": 1e3 * medians["numpy"], "torch_ms": 1e3 * medians["torch"],
                                     "ratio": ratio}
        print(f"{np.dtype(dtype).name}: NumPy LSTM forward+backward {1e3 * medians['numpy']:.1f} ms, torch "
              f"{1e3 * medians['torch']:.1f} ms (medians of {args.repeats}, one thread): NumPy / torch = {ratio:.2f}")
    out["load_after"] = os.getloadavg()[0]
    print(f"load average {out['load_before']:.1f} before, {out['load_after']:.1f} after")
    write_results(out, args.json)
    return 0 if max(out[d]["ratio"] for d in ("float32", "float64")) <= 3.0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
