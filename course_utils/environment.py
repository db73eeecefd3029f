"""What the course needs from the machine, checked in one call."""
from __future__ import annotations

import importlib
import platform
import sys

REQUIRED = ("numpy", "scipy", "torch", "matplotlib", "ipywidgets", "tqdm", "nbgrader")
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
