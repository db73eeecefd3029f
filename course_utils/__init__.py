"""Helpers shared by every notebook of the course: run profiles, thread
counts, data, gradient checking, checks with readable failures and figures.

It never contains the solution of a graded exercise.
"""
from .environment import setup_notebook
from .profile import choose, current_profile
from .threads import configure_threads

__version__ = "0.1.0"
__all__ = ["choose", "configure_threads", "current_profile", "setup_notebook", "__version__"]
