"""What the course needs from the machine, checked in one call."""
from __future__ import annotations

import importlib
import math
import platform
import sys

REQUIRED = ("numpy", "scipy", "torch", "matplotlib", "ipywidgets", "tqdm", "nbgrader", "threadpoolctl")
MIN_PYTHON = (3, 10)


def environment_report() -> dict[str, str]:
    """Versions of Python and the required packages, the threads torch uses,
    and whether CUDA is available. Raises ``RuntimeError`` naming every
    missing package and the command that installs them."""
    if sys.version_info < MIN_PYTHON:
        raise RuntimeError(f"Python {platform.python_version()} is too old; "
                           f"the course needs {'.'.join(map(str, MIN_PYTHON))} or newer.")
    report, missing = {"python": platform.python_version()}, []
    for name in REQUIRED:
        try:
            report[name] = importlib.import_module(name).__version__
        except ImportError:
            missing.append(name)
    if missing:
        raise RuntimeError(f"Missing packages: {', '.join(missing)}. Run ./setup.sh from the "
                           "course folder (or `pip install -e .`) and restart the kernel.")
    import torch
    report["torch threads"] = str(torch.get_num_threads())
    report["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available (CPU only)"
    return report


def setup_notebook(*, minutes: float | None = None, busy_minutes: float | None = None,
                   threads: int | None = None):
    """The first code cell of every notebook: choose the thread counts
    (:func:`course_utils.threads.configure_threads`) and print one line saying
    the profile, the data, the threads and, given ``minutes`` (the measured
    run time of this notebook in the current profile on an idle 2-core CPU,
    e.g. ``choose(grading=0.5, full=8)``) and ``busy_minutes`` (the same with
    another program keeping both cores busy), how long the notebook takes.

    Returns None, so that a notebook's first cell, which ends with this call,
    shows only the printed line and no ``Out[1]:`` repr.
    """
    from .profile import profile_line
    from .threads import configure_threads

    choice = configure_threads(threads)
    parts = [profile_line(), choice.summary()]
    if minutes is not None:
        busy = (f" ({_minutes(busy_minutes)} when another program keeps it busy)"
                if busy_minutes is not None and busy_minutes > minutes
                and _minutes(busy_minutes) != _minutes(minutes) else "")  # said only if it is longer
        parts.append(f"about {_minutes(minutes)} on a 2-core CPU{busy}")
    off = _widgets_off()
    if off:
        parts.append(f"widgets off: {off}")
    print(" · ".join(parts))


def _widgets_off() -> str | None:
    """Why the explorers show static figures, in a Jupyter kernel (else None)."""
    from .widgets import widgets_off_reason

    reason = widgets_off_reason()
    return None if reason is None or reason.startswith("not in a Jupyter kernel") else reason


def _minutes(minutes: float) -> str:
    """A run time as the first cell says it: one decimal under 2 minutes (1.45
    minutes is not "1 minute"), whole minutes from 2 on, rounded half up."""
    if minutes < 1:
        return "1 minute or less"
    if minutes < 2:
        shown = f"{minutes:.1f}".removesuffix(".0")
    else:
        shown = str(math.floor(minutes + 0.5))
    return f"{shown} minute{'s' if shown != '1' else ''}"
