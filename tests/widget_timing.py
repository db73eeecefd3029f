"""Redraw time of an explorer, measured the way the widget redraws: each
control change runs its observer (computation, artists, Agg render, PNG)."""
from __future__ import annotations

import time


def redraw_times(box, changes) -> list[float]:
    """Seconds per change; ``changes``: (control name, new value) pairs."""
    times = []
    for name, value in changes:
        start = time.perf_counter()
        box.controls[name].value = value     # observe -> redraw
        times.append(time.perf_counter() - start)
    return times
