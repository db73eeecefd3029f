"""Answers borrowed from the course's own helpers, refused in the trusted parent.

Some student-facing helpers implement what an earlier exercise asks for
(``course_utils.gradcheck.numerical_gradient`` is notebook 1's exercise, and
notebook 2 onwards uses it). An answer that imports or calls such a helper
earns nothing for that exercise: the parent reads every code cell the student
controls (answer cells and cells they added) before execution, and an
exercise whose name is reached through ``course_utils`` there is refused:
its test cells score 0 with a message saying why (score.py).

What counts as reaching it: ``from course_utils... import name`` (any alias),
an attribute ``.name`` or a string ``"name"`` (getattr, importlib) in a cell
that also mentions ``course_utils``. Unparsable cells are read as text.
"""
from __future__ import annotations

import ast
from functools import lru_cache

from .sandbox import package_dir
from .verdicts import bound_names, parse


@lru_cache(maxsize=1)
def course_helpers() -> dict[str, str]:
    """Public functions and classes of the student-facing package: name -> module.
    Read from its source, not imported: the grader runs none of it."""
    root = package_dir("course_utils")
    helpers: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                helpers.setdefault(node.name, module)
    return helpers


def borrowable(answers: dict[str, str]) -> dict[str, dict[str, str]]:
    """Exercises (answer grade_id -> source) whose names a helper also has:
    grade_id -> {name: the helper's module}."""
    helpers = course_helpers()
    found = {}
    for grade_id, source in answers.items():
        shared = {n: helpers[n] for n in bound_names(source, defs_only=True) if n in helpers}
        if shared:
            found[grade_id] = shared
    return found


def reached_names(source: str, names: set[str]) -> set[str]:
    """Which of ``names`` this code reaches through course_utils."""
    if "course_utils" not in source:
        return set()
    try:
        tree = parse(source)
    except SyntaxError:          # the cell will not run either; read it as text
        return {n for n in names if n in source}
    reached = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_utils"):
            reached |= {a.name for a in node.names if a.name in names or a.name == "*"}
        elif isinstance(node, ast.Attribute) and node.attr in names:
            reached.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            reached |= {n for n in names if n in node.value}
    if "*" in reached:
        reached = (reached - {"*"}) | names
    return reached


def refused_answers(student_sources: list[str], answers: dict[str, str]) -> dict[str, str]:
    """answer grade_id -> why it is refused, for each exercise the student's
    code (``student_sources``) borrows from a course helper."""
    refused = {}
    for grade_id, shared in borrowable(answers).items():
        used = set().union(*(reached_names(s, set(shared)) for s in student_sources))
        for name in sorted(used):
            refused[grade_id] = (f"{name} comes from {shared[name]}, the course's own implementation "
                                 f"of this exercise: write your own; no points for {grade_id!r}")
    return refused
