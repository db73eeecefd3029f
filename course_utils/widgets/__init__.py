"""Interactive explorers (ipywidgets + matplotlib).

Each explorer is split in two: a pure function that computes what the figure
shows for given control values (unit-tested without a browser), and a thin
widget that calls it when a control changes. Graded exercises are never
re-implemented here: an explorer takes the student's functions as arguments.

Headless (the autograder, CI, nbconvert) there is no widget front end to draw
the controls, so :func:`show` draws the static figure for the default control
values instead.
"""
from __future__ import annotations

import os
from typing import Callable

from ..profile import current_profile

ENV_VAR = "COURSE_WIDGETS"  # "on" / "off" overrides the automatic choice


def widgets_enabled() -> bool:
    """True when live widgets make sense: inside an IPython kernel, not in
    the grading profile (which runs headless), unless $COURSE_WIDGETS says
    otherwise."""
    choice = os.environ.get(ENV_VAR, "").strip().lower()
    if choice in ("on", "off"):
        return choice == "on"
    if choice:
        raise ValueError(f"{ENV_VAR}={choice!r}: expected 'on', 'off' or unset.")
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    in_kernel = shell is not None and "IPKernelApp" in getattr(shell, "config", {})
    return in_kernel and not current_profile().is_grading


def show(build_widget: Callable[[], object], draw_static: Callable[[], object]):
    """Display the live widget where possible, else the static figure.

    build_widget: returns an ipywidgets widget (called only when enabled).
    draw_static:  draws the figure for the default control values and returns it.
    Returns whatever was shown.
    """
    if widgets_enabled():
        from IPython.display import display

        widget = build_widget()
        display(widget)
        return widget
    return draw_static()
