"""Notebook 06 (CNN): the diagnoses its visible checks and hidden judges share,
the accuracy check outside the grading profile, and numbers its prose states
that the grading-profile run does not print.
"""
import json
import math
import re

import numpy as np
import pytest
import torch

from course_utils import verdict
from course_utils.conv_checks import assert_matches, backward_mistakes, forward_mistakes, torch_conv
from course_grader.cells import NotebookCells
from course_grader.course import REPO, SOLUTIONS, notebooks_of

(NOTEBOOK,) = notebooks_of(REPO, SOLUTIONS, "06_cnn")
CELLS = {c["id"]: "".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"]}
REAL_HIDDEN_CHECK = verdict.hidden_check
RNG = np.random.default_rng(0)
X, W, B = RNG.standard_normal((2, 3, 7, 6)), RNG.standard_normal((4, 3, 3, 3)), RNG.standard_normal(4)


def failure(found, expected, mistakes):
    with pytest.raises(AssertionError) as error:
        assert_matches("conv", found, expected, 1e-9, mistakes)
    return str(error.value)


@pytest.mark.parametrize("wrong, words", [
    (W[:, :, ::-1, ::-1], "the kernel is flipped"),
    (W.transpose(0, 1, 3, 2), "the kernel is transposed"),
])
def test_forward_mistakes_are_named(wrong, words):
    found = torch_conv(X, wrong.copy(), B, 2, 1)
    assert words in failure(found, torch_conv(X, W, B, 2, 1), forward_mistakes(X, W, B, 2, 1))


def test_backward_mistakes_are_named_and_nonsquare_kernels_work():
    w = RNG.standard_normal((4, 3, 3, 2))
    dout = RNG.standard_normal(torch_conv(X, w, B, 1, 1).shape)
    _, dx, dw, db = torch_conv(X, w, B, 1, 1, dout)
    mistakes = backward_mistakes(X, w, B, dout, 1, 1)          # no transposed dx for a 3 x 2 kernel
    assert "input channels and the filters swapped" in failure(dw.transpose(1, 0, 2, 3), dw, mistakes["dw"])
    assert "averaged instead of summed" in failure(db / (2 * 7 * 7), db, mistakes["db"])
    assert_matches("dx", dx, dx, 1e-9, mistakes["dx"])


def notebook_cells(monkeypatch, *ids, **replaced):
    monkeypatch.setenv("COURSE_PROFILE", "grading")
    cells = NotebookCells(NOTEBOOK)
    for cell_id in ("setup", *ids):
        assert cells.run(cell_id, replaced.get(cell_id)) is None, cell_id
    return cells


@pytest.mark.parametrize("visible, cell, wrong, words", [
    ("conv2d_naive_visible", "conv2d_naive", "np.sum(window * w[f, :, ::-1, ::-1])", "the kernel is flipped"),
    ("conv2d_naive_visible", "conv2d_naive", "np.sum(window * w[f].transpose(0, 2, 1))", "the kernel is transposed"),
])
def test_visible_check_names_the_mistake(monkeypatch, visible, cell, wrong, words):
    """The visible check says in words what the hidden judge says: one diagnosis."""
    source = CELLS[cell].replace("np.sum(window * w[f])", wrong)
    cells = notebook_cells(monkeypatch, cell, **{cell: source})
    error = cells.run(visible)
    assert isinstance(error, AssertionError) and words in str(error), error


def test_visible_backward_check_names_swapped_channels(monkeypatch):
    source = CELLS["conv2d_backward"].replace("return dx, dw, db", "return dx, dw.transpose(1, 0, 2, 3).copy(), db")
    cells = notebook_cells(monkeypatch, "conv2d_backward", conv2d_backward=source)
    error = cells.run("conv2d_backward_visible")
    assert isinstance(error, AssertionError) and "input channels and the filters swapped" in str(error), error


def accuracy_judge(monkeypatch, profile, by_grader):
    """The judge of accuracy_hidden, as a notebook run (or the grader, reading the cell) defines it."""
    monkeypatch.setenv("COURSE_PROFILE", profile)
    collected = []
    monkeypatch.setattr(verdict, "_collecting", collected if by_grader else None)
    namespace = {"__name__": "__main__"}
    # a notebook run would judge at once: collect instead, to call the judge by hand
    monkeypatch.setattr(verdict, "hidden_check", REAL_HIDDEN_CHECK if by_grader else
                        lambda name, **parts: collected.append(parts))
    exec(CELLS["accuracy_hidden"], namespace)
    return collected[0]["judge"] if not by_grader else collected[0].judge


def test_accuracy_check_is_skipped_only_in_a_full_profile_notebook_run(monkeypatch, capsys):
    """Issue 22 item 5: solutions/06 opened in the full profile runs clean; the
    grader never skips, whatever COURSE_PROFILE says."""
    found = {"model_error": "AttributeError: not a model", "parts_error": "RuntimeError"}
    accuracy_judge(monkeypatch, "full", by_grader=False)({}, found)
    assert "skipped in the full profile" in capsys.readouterr().out
    judge = accuracy_judge(monkeypatch, "full", by_grader=True)
    with pytest.raises(NameError):      # it goes on to judge (the cells it relies on are not loaded here)
        judge({}, {"model_error": "AttributeError: not a model"})


def full_profile_constants(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "full")
    namespace = {"__name__": "__main__"}
    exec(CELLS["setup"], namespace)
    return namespace


def test_weight_decay_numbers_in_the_text_follow_the_schedule(monkeypatch):
    """The grading profile has no weight decay, so its run cannot print the full
    profile's figures that 7.1 states: they are computed here from its settings."""
    setup = full_profile_constants(monkeypatch)
    steps = setup["EPOCHS"] * math.ceil((60_000 - setup["VAL_SIZE"]) / setup["BATCH_SIZE"])
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=setup["MAIN_LR"])
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=setup["MAIN_LR"], total_steps=steps)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    shrink = 1 - np.prod(1 - np.array(rates) * setup["MAIN_WEIGHT_DECAY"])
    text = CELLS["training_md"]
    assert f"sum to about {sum(rates):.1f}" in text
    assert f"by about {100 * shrink:.2f} % in the whole run" in text


def multiply_adds(channels):
    total, previous, size = 0, 1, 28
    for stage in channels:
        for width in stage:
            total += size * size * width * 9 * previous
            previous = width
        size //= 2
    return total + previous * size * size * 10


def test_multiply_add_ratios_in_the_model_answer(monkeypatch):
    mlp = 784 * 256 + 256 * 128 + 128 * 10
    text = CELLS["cost_answer"]
    channels = full_profile_constants(monkeypatch)["CHANNELS"]
    full, grading = multiply_adds(channels) / mlp, multiply_adds([[8], [16]]) / mlp
    assert re.search(rf"about {full:.0f} times as many for the full profile's `{re.escape(str(channels))}`", text), full
    assert f"{grading:.1f} times for the grading profile's" in text, grading


RECORDED_FULL_RUN = REPO / "benchmarks" / "results" / "cnn_full.json"
(NOTEBOOK_08,) = notebooks_of(REPO, SOLUTIONS, "08_modern_cnns")
CELLS_08 = {c["id"]: "".join(c["source"]) for c in json.loads(NOTEBOOK_08.read_text())["cells"]}


def spaced(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def test_what_06_and_08_say_of_the_full_run_is_the_recorded_run(monkeypatch):
    """The full profile's main run takes minutes, too long for the suite: what 06 (7.1, section 9)
    and 08 (section 10) say of it is benchmarks/cnn.py's recorded run of the current settings."""
    run = json.loads(RECORDED_FULL_RUN.read_text())["main"]
    setup = full_profile_constants(monkeypatch)
    assert (run["channels"], run["epochs"]) == (setup["CHANNELS"], setup["EPOCHS"]), \
        "the recorded run is of other settings: run benchmarks/cnn.py --profile full"
    accuracy = f"{100 * run['test_acc']:.1f} % test accuracy"
    minutes = f"{run['train_s'] / 60:.1f} minutes of training"
    per_epoch = f"about {np.mean(run['seconds_per_epoch']):.0f} s per epoch"
    params = f"{spaced(run['parameters'])} parameters"
    assert accuracy in CELLS["training_md"] and minutes in CELLS["training_md"]
    assert f"(`{setup['CHANNELS']}`, {params})" in CELLS["summary_md"] and f"{setup['EPOCHS']} epochs" in CELLS["summary_md"]
    assert f"official test set: {100 * run['test_acc']:.1f} %" in CELLS["summary_md"]
    assert f"reached {accuracy} in {minutes}" in CELLS_08["best_md"]
    assert f"({params}, {accuracy} after {run['epochs']} epochs, {per_epoch}" in CELLS_08["best_question_md"]
    assert f"VGG_CHANNELS = {setup['CHANNELS']}" in CELLS_08["receptive_field_tables"]
