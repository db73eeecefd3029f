"""Feedback in words, end to end: the bugs of ../shared/grading_catalogue/,
planted in the solutions (one per exercise, one submission per notebook),
graded by `course autograde` (probes in the sandbox, judges in the grader)
and shown by `course feedback`. For each bug the exercise loses its points
and its feedback page says, per failing check, what was found and what was
expected, not a bare AssertionError.
"""
import html
import json
import re

import nbformat
import pytest

from course_grader.cli import main as course
from course_grader.course import REPO, SOLUTIONS, ScratchCourse, notebooks_of

from .catalogue import a01_backprop, a02_numpy_mlp, a03_optimizers, a04_initialization, a05_batch_norm, a06_cnn, a07_regularization, a09_recurrent

# The shared catalogue's bugs, as the course's catalogue writes them: (cell, variant name).
SHARED_BUGS = {
    "01_backprop": (a01_backprop, [
        ("softmax", "no max subtraction (nan at logits of 1000)"),
        ("linear_backward", "db summed over the wrong axis (axis=1)"),
        ("cross_entropy_grad", "gradient of the summed loss (no 1/N)"),
        ("relu_backward", "masks with the sign of dout instead of x"),
    ]),
    "02_numpy_mlp": (a02_numpy_mlp, [
        ("dropout_module", "dropout: no rescaling (not inverted)"),
        ("linear_module", "linear: bias gradient summed over the wrong axis"),
    ]),
    "03_optimizers": (a03_optimizers, [
        ("momentum", "momentum as v = m v + g; p -= lr v (equal only for a constant lr)"),
        ("adam", "Adam without bias correction"),
        ("sgd", "SGD updates a copy of the array"),
    ]),
    "04_initialization": (a04_initialization, [
        ("kaiming_normal", "Kaiming with fan_out where fan_in is asked"),
        ("glorot_uniform", "Glorot with sqrt(6)/(m+n) instead of sqrt(6/(m+n))"),
    ]),
    "05_batch_norm": (a05_batch_norm, [
        ("batchnorm_backward_compact", "compact: the thesis's eq. 1.3.19 (no terms through the mean and the variance)"),
        ("batchnorm_module", "module: running statistics never updated"),
        ("layer_norm_module", "layer norm normalizing over the batch (axis 0)"),
    ]),
    "06_cnn": (a06_cnn, [
        ("conv2d_im2col", "im2col: kernel flipped (a true convolution)"),
        ("conv2d_backward", "backward: db averaged instead of summed"),
    ]),
    "07_regularization": (a07_regularization, [
        ("adam_l2_step", "Adam + L2: the decay applied after Adam's normalization (AdamW)"),
        ("early_stopping", "early stopping returns the last epoch instead of the best"),
    ]),
    "09_recurrent": (a09_recurrent, [
        ("elman_rnn", "BPTT forgets the gradient from the next step"),
        ("lstm_params_from_torch", "torch gate order taken as i, f, o, g"),
    ]),
}
# What a message in words contains: the quantity found against the one expected.
WORDS = re.compile(r"expected|relative error|differ|should|must|at most|changed|nan|correct|"
                   r"too (small|large)|instead", re.I)


def planted(assignment, module, bugs):
    (path,) = notebooks_of(REPO, SOLUTIONS, assignment)
    nb = nbformat.read(path, as_version=4)
    variants = {(v.cell, v.name): v for v in module.BUGS}
    chosen = [variants[bug] for bug in bugs]
    for variant in chosen:
        cell = next(c for c in nb.cells if c.id == variant.cell)
        cell.source = variant.source
    return path.name, nb, chosen


@pytest.mark.parametrize("assignment", sorted(SHARED_BUGS))
def test_feedback_explains_each_shared_catalogue_bug(tmp_path, assignment):
    module, bugs = SHARED_BUGS[assignment]
    name, nb, chosen = planted(assignment, module, bugs)
    root = tmp_path / "course"
    ScratchCourse.create(root)
    folder = tmp_path / "inbox" / "buggy" / assignment
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / name)
    assert course(["collect", assignment, str(tmp_path / "inbox"), "--course", str(root)]) == 0
    assert course(["autograde", assignment, "--course", str(root), "--jobs", "1"]) == 0
    assert course(["feedback", assignment, "--course", str(root)]) == 0
    record = json.loads((root / "autograded" / "buggy" / assignment / "grading-record.json").read_text())
    scores = {c["grade_id"]: c for c in record["notebooks"][0]["scores"]}
    page = html.unescape((root / "feedback" / "buggy" / assignment / name.replace(".ipynb", ".html"))
                         .read_text())
    graded = {g for g, c in scores.items() if not c["manual"] and c["max_score"] > 0}
    for variant in chosen:
        cells = [t for t in (variant.must_fail or variant.tests) if t in graded]
        lost = [t for t in cells if scores[t]["score"] == 0]
        assert lost, f"{variant.name}: kept the points of {cells}"
        for test in lost:
            messages = [m for _, m in scores[test]["errors"]]
            judged = [m for m in messages if m.startswith("check ")]
            assert judged, f"{variant.name}: {test} failed without a judged check: {messages}"
            in_words = [m for m in judged if WORDS.search(m) and re.search(r"\d", m) and len(m) > 60]
            assert in_words == judged, f"{variant.name}: not in words: {judged}"
            assert judged[0] in page, f"{variant.name}: the feedback page lacks {judged[0]!r}"
