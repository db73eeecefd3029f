"""Training throughput of the SOLUTION's NumPy MLP vs the identical PyTorch MLP, on CPU.

The NumPy modules are loaded by executing the solution notebook's definition
cells (never a copy). Both models: 784-256-256-10, batch 128, plain SGD, the
same batches; repeats are interleaved (numpy, torch, numpy, ...) and medians
reported. Also: the fraction of the machine's float32 matmul peak that the
NumPy epoch reaches (FLOPs of forward + backward counted below).

    python benchmarks/mlp_throughput.py [--batches 100] [--repeats 7]

With --threads: the float32 epoch with 1 and 2 BLAS threads (threadpoolctl) and
1 and 2 torch threads, on an idle machine and with one busy-looping process per
CPU started by the script, side by side (the figures behind course_utils/threads.py):

    python benchmarks/mlp_throughput.py --threads [--repeats 3]
"""
import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from course_grader.cells import NotebookCells
from cpu_load import cpu_load  # benchmarks/cpu_load.py, beside this script

NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions/02_numpy_mlp/02_numpy_mlp.ipynb"
DEFINITIONS = ["linear_module", "relu_module", "softmax_module", "cross_entropy_module", "dropout_module",
               "mlp", "weight_decay", "train_step"]
SIZES = [784, 256, 256, 10]


def load_solution():
    cells = NotebookCells(NOTEBOOK)
    cells.namespace["np"] = np
    for cell in DEFINITIONS:
        error = cells.run(cell)
        assert error is None, (cell, error)
    return cells.namespace


def flops_per_sample():
    # forward x@W.T: 2*in*out; backward dW and dx: 2 * 2*in*out (dx of the first layer is computed too)
    return sum(6 * a * b for a, b in zip(SIZES[:-1], SIZES[1:]))


def matmul_peak(dtype=np.float32, n=2048, repeats=5):
    a, b = np.ones((n, n), dtype), np.ones((n, n), dtype)
    a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n ** 3 / min(times)


def make_epochs(dtype, n_batches, batch_size=128, lr=0.01):
    """(numpy_epoch, torch_epoch, dtypes of the NumPy params): one pass over
    the same n_batches batches each, identical models."""
    ns = load_solution()
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((n_batches, batch_size, SIZES[0])).astype(dtype)
    ys = rng.integers(0, SIZES[-1], size=(n_batches, batch_size))
    mlp = ns["MLP"](SIZES[0], SIZES[1:-1], SIZES[-1], np.random.default_rng(0), init_std=0.05)
    for layer in mlp.layers:
        for k in layer.params:
            layer.params[k] = layer.params[k].astype(dtype)
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64
    layers = []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).to(torch_dtype)
    model.load_state_dict({k: torch.tensor(v) for k, v in mlp.params.items()})
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    txs, tys = torch.from_numpy(xs), torch.from_numpy(ys)
    train_step = ns["train_step"]

    def numpy_epoch():
        for x, y in zip(xs, ys):
            train_step(mlp, x, y, lr)

    def torch_epoch():
        for x, y in zip(txs, tys):
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            opt.step()

    return numpy_epoch, torch_epoch, {p.dtype for p in mlp.params.values()}


def seconds(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(dtype, n_batches, repeats):
    numpy_epoch, torch_epoch, dtypes = make_epochs(dtype, n_batches)
    numpy_epoch(), torch_epoch()  # warm-up
    t_np, t_torch = [], []
    for _ in range(repeats):
        t_np.append(seconds(numpy_epoch))
        t_torch.append(seconds(torch_epoch))
    return np.median(t_np), np.median(t_torch), dtypes


def thread_times(numpy_epoch, torch_epoch, counts, repeats):
    """Median seconds per epoch {("numpy" | "torch", threads): s}, repeats
    interleaved over every library and thread count."""
    from threadpoolctl import threadpool_limits

    found = {}
    for _ in range(repeats):
        for n in counts:
            with threadpool_limits(limits=n, user_api="blas"):
                found.setdefault(("numpy", n), []).append(seconds(numpy_epoch))
            torch.set_num_threads(n)
            found.setdefault(("torch", n), []).append(seconds(torch_epoch))
    return {key: float(np.median(times)) for key, times in found.items()}


def thread_table(n_batches, repeats, counts=(1, 2)):
    numpy_epoch, torch_epoch, _ = make_epochs(np.float32, n_batches)
    numpy_epoch(), torch_epoch()  # warm-up
    cpus = len(os.sched_getaffinity(0))
    rows = {}
    for busy in (0, cpus):
        with cpu_load(busy):
            load = os.getloadavg()[0]  # other users of the machine show here too
            times = thread_times(numpy_epoch, torch_epoch, counts, repeats)
        rows[f"{busy} busy processes (load avg. {load:.1f} before)"] = times
    print(f"\nfloat32, {n_batches} batches of 128, median of {repeats} (ms); {cpus} CPUs")
    header = " | ".join(f"{lib} {n} thr." for lib in ("numpy", "torch") for n in counts)
    print(f"| machine | {header} |\n|---|" + "---|" * (2 * len(counts)))
    for label, times in rows.items():
        cells = " | ".join(f"{times[(lib, n)] * 1e3:.0f}" for lib in ("numpy", "torch")
                           for n in counts)
        print(f"| {label} | {cells} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", action="store_true",
                        help="1 vs 2 threads, idle and loaded, instead of numpy vs torch")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy {np.__version__}")
    if args.threads:
        return thread_table(args.batches, args.repeats)
    peak = matmul_peak()
    print(f"float32 matmul peak (2048^3): {peak / 1e9:.1f} GFLOP/s")
    for dtype in (np.float32, np.float64):
        t_np, t_torch, dtypes = run(dtype, args.batches, args.repeats)
        samples = args.batches * 128
        rate = flops_per_sample() * samples / t_np
        print(f"{np.dtype(dtype).name}: {args.batches} batches of 128, median of {args.repeats}: "
              f"numpy {t_np * 1e3:.1f} ms, torch {t_torch * 1e3:.1f} ms, ratio numpy/torch {t_np / t_torch:.2f}; "
              f"numpy {rate / 1e9:.1f} GFLOP/s = {rate / peak:.0%} of the float32 matmul peak "
              f"(params stay {sorted(str(d) for d in dtypes)})")


if __name__ == "__main__":
    main()
