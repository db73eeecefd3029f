"""Time of one training step of notebook 06's VGG-style networks on this CPU: a batch of
128 Fashion-MNIST-sized images, forward, backward and AdamW, channels-last, with the threads
the notebook's setup cell chooses (1 torch thread on 2 CPUs); median of 20 steps after 5
warm-up steps. The networks are built by the solution notebook's own `make_vgg`. Used to
choose the full profile's CHANNELS (benchmarks/cnn.md). Not a timed test.

    .venv/bin/python benchmarks/cnn_step_time.py "[[32], [64], [128]]" "[[16, 16], [32, 32], [64]]"
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

from course_grader.cells import NotebookCells

NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions" / "06_cnn" / "06_cnn.ipynb"


def notebook_make_vgg():
    """06's `make_vgg`, after its setup cell (imports, threads)."""
    cells = NotebookCells(NOTEBOOK)
    for cell in ("setup", "make_vgg"):
        error = cells.run(cell)
        if error is not None:
            raise error
    return cells.namespace["make_vgg"]


def step_ms(model: nn.Module, steps=20, warmup=5) -> float:
    model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(128, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (128,))
    times = []
    for _ in range(warmup + steps):
        start = time.perf_counter()
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return 1e3 * sorted(times[warmup:])[steps // 2]


def main(argv: list[str]) -> int:
    make_vgg = notebook_make_vgg()
    print(f"{os.cpu_count()} CPUs, {torch.get_num_threads()} torch thread(s), load {os.getloadavg()[0]:.1f}")
    for text in argv or ["[[32], [64], [128]]", "[[16, 16], [32, 32], [64]]"]:
        channels = json.loads(text)
        torch.manual_seed(0)
        model = make_vgg(channels, use_batchnorm=True)
        params = sum(p.numel() for p in model.parameters())
        print(f"{str(channels):<28} {params:>8,} parameters  {step_ms(model):6.0f} ms per step")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
