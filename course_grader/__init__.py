"""The instructor's side of the course (the `course` command): build the
released notebooks, run nbgrader, grade submissions in sandboxes, hand back
feedback. Notebooks never import it; of the student package it uses only
``course_utils.verdict`` (tests/test_grader_package.py).
"""
