"""Another process on the cores, for the benchmarks' "loaded" figures: one
busy-looping Python process per CPU asked for, while a block runs."""
from __future__ import annotations

import contextlib
import subprocess
import sys
import time


@contextlib.contextmanager
def cpu_load(processes: int):
    """Busy-looping processes on the machine while the block runs."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(processes)]
    try:
        time.sleep(1.0)  # let them get going
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
