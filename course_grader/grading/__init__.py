"""Isolated, parallel, robust grading of untrusted submissions.

The trusted parent (``autograde.py``) prepares each submission against the
instructor's source (``prepare.py``), runs it in a sandboxed child
(``sandbox.py`` -> ``sandbox_exec.py``), scores the executed notebook itself
(``score.py``) and alone writes the gradebook (``gradebook.py``). See
docs/grading.md for what is defended and what is not yet.
"""
