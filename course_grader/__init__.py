"""Instructor-side tooling: build the course, run nbgrader, grade submissions.

Notebooks never import this subpackage.
"""
