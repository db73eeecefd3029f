"""Time of one training step of notebook 06's VGG-style networks on this CPU: a batch of
128 Fashion-MNIST-sized images, forward, backward and AdamW, channels-last, one torch
thread (what setup_notebook() picks on 2 CPUs); median of 20 steps after 5 warm-up steps.
Used to choose the full profile's CHANNELS (benchmarks/cnn.md). Not a timed test.

    .venv/bin/python benchmarks/cnn_step_time.py "[[32], [64], [128]]" "[[16, 16], [32, 32], [64]]"
"""
from __future__ import annotations

import json
import os
import sys
import time

import torch
from torch import nn


def vgg(channels: list[list[int]]) -> nn.Sequential:
    """06's layout: per stage 3x3 conv -> BN -> ReLU for each width, then 2x2 max pooling; one linear layer."""
    layers, previous, size = [], 1, 28
    for stage in channels:
        for width in stage:
            layers += [nn.Conv2d(previous, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
            previous = width
        layers.append(nn.MaxPool2d(2))
        size //= 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(previous * size * size, 10))


def step_ms(channels, steps=20, warmup=5) -> float:
    torch.manual_seed(0)
    model = vgg(channels).to(memory_format=torch.channels_last)
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
    torch.set_num_threads(1)
    print(f"{os.cpu_count()} CPUs, 1 torch thread, load {os.getloadavg()[0]:.1f}")
    for text in argv or ["[[32], [64], [128]]", "[[16, 16], [32, 32], [64]]"]:
        channels = json.loads(text)
        params = sum(p.numel() for p in vgg(channels).parameters())
        print(f"{str(channels):<28} {params:>8,} parameters  {step_ms(channels):6.0f} ms per step")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
