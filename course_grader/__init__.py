"""The instructor's side of the course (the `course` command): build the
released notebooks, run nbgrader, grade submissions in sandboxes, hand back
feedback. Notebooks never import it; of the student package it uses only
``course_utils.verdict`` (tests/test_grader_package.py).
"""
import sys

# jsonschema (under nbformat) imports rfc3987_syntax where it is installed (jupyterlab's
# dependencies bring it), and that module builds a grammar when imported: 2.6 s of every
# `course` command and of every sandbox, a submission's largest fixed cost. No notebook
# schema checks an IRI, so the grader does without it (jsonschema then skips that format).
sys.modules.setdefault("rfc3987_syntax", None)
