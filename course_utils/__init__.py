"""Helpers shared by every notebook of the course: run profiles, data,
gradient checking, checks with readable failures and figures.

It never contains the solution of a graded exercise.
"""
from .profile import choose, current_profile

__version__ = "0.1.0"
__all__ = ["choose", "current_profile", "__version__"]
