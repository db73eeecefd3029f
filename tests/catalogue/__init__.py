"""The grading catalogue, per assignment: realistic bugs the tests must catch
and valid alternatives they must accept (see ../../shared/grading_catalogue/).

Each module is named after its assignment and defines ``BUGS`` and
``ALTERNATIVES``, lists of :class:`Variant`.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    name: str
    cell: str                 # id of the solution cell it replaces
    source: str               # the replacement code
    tests: tuple[str, ...]    # ids of the test cells that grade it
    must_fail: tuple[str, ...] = ()  # for bugs: test cells that must fail (default: any of tests)
    # for bugs: cells run after ``tests`` that must still pass: a mistake is charged where it is made
    must_pass: tuple[str, ...] = ()


def tests_of(exercise: str) -> tuple[str, str]:
    """The test cells of an exercise, by the course's naming convention."""
    return (f"{exercise}_visible", f"{exercise}_hidden")
