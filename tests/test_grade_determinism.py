"""The same submission gets the same grade under every inputs secret.

Each grading run draws its hidden checks' inputs from a fresh secret (so that
results copied out of one run are worthless in another); a contract case that
decides points must therefore be present in every run, not drawn (07's
successive halving once drew where its diverging configuration sat: a
submission that sorted with nan in its keys scored 3/3 in one run and 0/3 in
three others). Borderline submissions, which pass some cases of an exercise
and fail others, are graded here as ``course autograde`` grades them (the
grader's inputs, encoding and judges; only the probes run in this process
instead of a sandbox) under several secrets: every graded cell's verdict must
be the same in all of them.
"""
from __future__ import annotations

import ast
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from course_grader.course import REPO, SOLUTIONS, assignments, notebooks_of
from course_grader.grading.template import load_templates
from course_grader.grading.verdicts import judge
from course_utils.verdict import call_probe, decode, encode, encoded_inputs, exchange_path

from .catalogue import a04_initialization, a07_regularization

SECRETS = [f"determinism-{k}" for k in range(6)]
SOLUTION = "the solution itself"
# (assignment, catalogue module, variant name): bugs that fail only some inputs, and the solution.
BORDERLINE = [
    ("07_regularization", a07_regularization, SOLUTION),
    ("07_regularization", a07_regularization,
     "successive halving sorts the values with nan in them (sorted(key=value) keeps a nan that comes first)"),
    ("07_regularization", a07_regularization, "successive halving treats nan as the best (as -inf)"),
    ("07_regularization", a07_regularization,
     "grid search lets a nan trial win (min with key=value keeps a nan that comes first)"),
    ("07_regularization", a07_regularization, "early stopping on nan: skips the epoch instead of stopping"),
    ("07_regularization", a07_regularization, "dropout: p taken as the keep probability (keep where u < p)"),
    ("07_regularization", a07_regularization, "flip: one draw for the whole batch"),
    ("04_initialization", a04_initialization, "normal initializer returning uniform samples of the right variance"),
]


def solution_notebook(assignment):
    (path,) = notebooks_of(REPO, SOLUTIONS, assignment)
    return nbformat.read(path, as_version=4)


def definitions(source: str) -> list[str]:
    """A cell's imports, functions, classes and assignments without a call, one statement each:
    what a run of the notebook leaves defined, without running its training loops."""
    return [ast.get_source_segment(source, node) for node in ast.parse(source).body
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
            or (isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None
                and not any(isinstance(n, ast.Call) for n in ast.walk(node.value)))]


@contextmanager
def submission_defined(template, notebook, replaced: dict[str, str]):
    """The solution notebook's definitions (answer cells swapped for ``replaced``, by cell id) in the
    namespace the hidden checks' probes run in, as in the student's kernel; restored afterwards."""
    space = next(c.probe.__globals__ for cell in template.hidden.values() for c in cell.checks)
    saved = dict(space)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or not meta.get("grade")):
            for statement in definitions(replaced.get(cell.id, cell.source)):
                try:
                    exec(statement, space)
                except Exception:   # needs a value of the skipped run (`x = history[-1]`, a default
                    pass            # from a choose(...)); a check that needs it fails and says so
    try:
        yield
    finally:
        space.clear()
        space.update(saved)


def verdicts(template, cells, secret: str) -> dict[str, str | None]:
    """For each of ``cells``: None if every one of its hidden checks passes with inputs from
    ``secret``, else the first failure's message."""
    failures = {}
    for cell in cells:
        failure = None
        for check in template.hidden[cell].checks:
            given = encoded_inputs(check, secret)
            files = {exchange_path(check.name, "in"): given}
            try:
                files[exchange_path(check.name, "out")] = encode(call_probe(check.probe, decode(given)))
            except Exception as error:   # what the sandbox would write down
                files[exchange_path(check.name, "err")] = f"{type(error).__name__}: {error}".encode()
            failure = failure or judge(check, files)
        failures[cell] = failure
    return failures


@pytest.fixture(scope="module")
def template_of():
    cache = {}

    def get(assignment):
        if assignment not in cache:
            (cache[assignment],) = load_templates(Path(REPO), assignment)
        return cache[assignment]
    return get


@pytest.mark.parametrize("assignment, module, name", BORDERLINE,
                         ids=[f"{a}:{n}" for a, _, n in BORDERLINE])
def test_a_grade_does_not_depend_on_the_inputs_secret(template_of, assignment, module, name):
    template, notebook = template_of(assignment), solution_notebook(assignment)
    if name == SOLUTION:
        replaced, cells = {}, [c for c in template.hidden if template.hidden[c].checks]
    else:
        (variant,) = [v for v in module.BUGS if v.name == name]
        replaced, cells = {variant.cell: variant.source}, [t for t in variant.tests if t in template.hidden]
    with submission_defined(template, notebook, replaced):
        seen = {secret: verdicts(template, cells, secret) for secret in SECRETS}
    passed = {cell: [seen[s][cell] is None for s in SECRETS] for cell in cells}
    differ = {cell: (verdict, next(seen[s][cell] for s in SECRETS if seen[s][cell]))
              for cell, verdict in passed.items() if len(set(verdict)) > 1}
    assert not differ, f"{name}: whether these cells pass changes with the secret (passed per secret, a failure): {differ}"
    if name == SOLUTION:
        failed = {cell: seen[SECRETS[0]][cell] for cell, verdict in passed.items() if not verdict[0]}
        assert not failed, f"the solution fails {failed}"
    else:
        assert not all(verdict[0] for verdict in passed.values()), \
            f"{name} passes {cells} under every secret: not a bug these checks catch"


# Checks of a trained model (the notebook's training run leaves `model`): not defined without the run.
NEEDS_THE_RUN = ("accuracy_hidden",)
# 24 fixed secrets; "scan-6" and "scan-15" draw 03's clip_by_norm case that the solution once failed.
MANY_SECRETS = [f"scan-{k}" for k in range(24)]


@pytest.mark.parametrize("assignment", assignments())
def test_every_solution_passes_its_hidden_checks_under_every_secret(template_of, assignment):
    """A valid answer must not lose points to an unlucky draw of inputs: 03's clip_by_norm judge
    compared with torch's clip_grad_norm_, which divides by norm + 1e-6, at a 1e-5 tolerance, and
    failed the solution in 3 of 40 secrets (global norms near 0.03)."""
    template, notebook = template_of(assignment), solution_notebook(assignment)
    cells = [c for c in template.hidden if template.hidden[c].checks and c not in NEEDS_THE_RUN]
    assert cells, f"{assignment} has no hidden checks to judge"
    with submission_defined(template, notebook, {}):
        failed = {(secret, cell): message for secret in MANY_SECRETS
                  for cell, message in verdicts(template, cells, secret).items() if message}
    assert not failed, f"{assignment}: the solution fails under some secrets: {failed}"
