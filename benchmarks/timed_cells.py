"""The notebook benchmarks' common first step: run a solution notebook cell by
cell in this process, in one profile (widgets off, Agg figures), timing every
cell and collecting the errors the cells raise."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TimedRun:
    seconds: dict[str, float] = field(default_factory=dict)   # per cell id
    errors: dict[str, str] = field(default_factory=dict)      # cell id: repr of what it raised (unexpected ones)
    total_s: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0

    def slowest(self, n: int = 8) -> list[tuple[str, float]]:
        return sorted(self.seconds.items(), key=lambda kv: -kv[1])[:n]


def run_timed(notebook: Path, profile: str, expected_errors: set[str] = frozenset()):
    """Execute every code cell of ``notebook`` in ``profile``; return (NotebookCells, TimedRun).
    Errors of the cells in ``expected_errors`` are not recorded."""
    os.environ["COURSE_PROFILE"] = profile
    os.environ["COURSE_WIDGETS"] = "off"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_grader.cells import NotebookCells

    cells = NotebookCells(notebook)
    run = TimedRun(load_before=os.getloadavg()[0])
    start = time.perf_counter()
    for cell in cells.order:
        t = time.perf_counter()
        error = cells.run(cell)
        run.seconds[cell] = time.perf_counter() - t
        if error is not None and cell not in expected_errors:
            run.errors[cell] = repr(error)
        plt.close("all")
    run.total_s = time.perf_counter() - start
    run.load_after = os.getloadavg()[0]
    return cells, run


def write_results(out: dict, target: Path) -> None:
    """Write a benchmark's figures as JSON and say where."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=1, default=float))
    repo = Path(__file__).resolve().parents[1]
    print(f"wrote {target.relative_to(repo) if target.is_relative_to(repo) else target}")
