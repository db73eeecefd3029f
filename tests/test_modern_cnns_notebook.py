"""Notebook 08 (modern CNNs): what its hidden judges say in words for the
mistakes they name, that they accept the pre-activation block, that the
accuracy check reads a trained network as its own forward pass computes it,
and that it is skipped only in a full-profile notebook run."""
import json

import numpy as np
import pytest
import torch

from course_utils import verdict
from course_grader.cells import NotebookCells
from course_grader.course import REPO, SOLUTIONS, notebooks_of

from .catalogue import a08_modern_cnns as catalogue

(NOTEBOOK,) = notebooks_of(REPO, SOLUTIONS, "08_modern_cnns")
CELLS = {c["id"]: "".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"]}
REAL_HIDDEN_CHECK = verdict.hidden_check
EXERCISES = ("setup", "receptive_field", "conv1x1", "global_avg_pool", "residual_block", "make_resnet",
             "input_output_jacobian")


@pytest.fixture(scope="module")
def cells():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_PROFILE", "grading")
        patch.setenv("COURSE_WIDGETS", "off")
        notebook = NotebookCells(NOTEBOOK)
        for cell_id in EXERCISES:
            assert notebook.run(cell_id) is None, cell_id
        yield notebook


def failure_of(cells, variant_name, test_cell):
    """The error a catalogue bug raises in one of its test cells (the solution restored after)."""
    (variant,) = [v for v in catalogue.BUGS if v.name == variant_name]
    assert cells.run(variant.cell, variant.source) is None
    try:
        return cells.run(test_cell)
    finally:
        assert cells.run(variant.cell) is None


@pytest.mark.parametrize("bug, test_cell, words", [
    ("receptive field without the jump (strides ignored)", "receptive_field_hidden", "the jump is not used"),
    ("receptive field ignores the dilation", "receptive_field_hidden", "the dilation is ignored"),
    ("1x1 conv with transposed weights (pixels @ weight)", "conv1x1_hidden", "weight (7, 3): your code raised"),
    ("1x1 conv: channels left last", "conv1x1_hidden", "channels last"),
    ("GAP as a sum", "global_avg_pool_hidden", "It is the sum"),
    ("all-conv net ends in GAP + a linear layer instead of a 1x1 convolution", "make_allconv_hidden",
     "not a linear layer"),
    ("block: first batch norm in evaluation mode during training (F.batch_norm's default)", "residual_block_hidden",
     "batch's statistics during training"),
    ("block: shortcut detached (no gradient through it)", "residual_block_hidden", "is the shortcut detached"),
    ("block: shortcut added after the final ReLU", "residual_block_hidden", "after the final ReLU"),
    ("block: projection without the stride", "residual_block_hidden", "raised"),
    ("resnet: shortcut not passed on (plain twin has shortcuts)", "make_resnet_hidden", "number of additions"),
])
def test_the_judges_name_the_mistake(cells, bug, test_cell, words):
    error = failure_of(cells, bug, test_cell)
    assert isinstance(error, AssertionError) and words in str(error), error


def test_a_pre_activation_block_is_read_as_one(cells):
    """The judge finds the pre-activation design (BN -> ReLU -> conv twice, no ReLU after the addition) in a
    block's parameters, whatever their names and order."""
    (variant,) = [v for v in catalogue.ALTERNATIVES if v.name.startswith("pre-activation block (He et al., ECCV")]
    assert cells.run(variant.cell, variant.source) is None
    try:
        ns = cells.namespace
        given = ns["rbh_inputs"](np.random.default_rng(0), "projection_stride2")
        found = ns["rbh_probe"](**given)
        modes = {mode for mode, _ in ns["rbh_candidates"](found, True)}
        assert modes == {"pre", "pre_proj_on_activation"}     # two batch norms and a projection: no post design
        ns["rbh_judge"](given, found)
        assert found["n_params"] == ns["rbh_expected_params"](3, 5, 2, True, "pre")
    finally:
        assert cells.run(variant.cell) is None


def test_the_accuracy_check_computes_what_the_model_computes(cells):
    """The grader's forward pass from the parameters of a (briefly trained) model gives the model's own
    predictions on the test images."""
    ns = cells.namespace
    for cell_id in ("load_data", "training_tools"):
        assert cells.run(cell_id) is None, cell_id
    torch.manual_seed(0)
    ns["model"] = model = ns["make_resnet"]([1, 1, 1], [8, 16, 32], zero_init=False)
    ns["fit"](model, 1, 3e-3, 0, "test", train_size=256, validate=False)
    error = cells.run("accuracy_hidden")              # defines the grader's functions; this model fails the threshold
    assert isinstance(error, AssertionError) and "test accuracy of `model`" in str(error), error
    given = ns["accuracy_inputs"](np.random.default_rng(0))
    network = ns["accuracy_network"](given, ns["accuracy_probe"](**given))
    assert network is not None and [mode for mode, _, _ in network[2]] == ["post"] * 3
    accuracy, count, finite = ns["accuracy_of_network"](network)
    x, y = ns["accuracy_test_set"]()
    model.eval()
    with torch.no_grad():
        own = float(np.mean(model(x.float()).argmax(1).numpy() == y))
    assert finite and count == 2000 and abs(accuracy - own) <= 2 / count, (accuracy, own)


def test_the_accuracy_check_is_not_charged_for_a_block_that_fits_no_design(cells):
    ns = cells.namespace
    cells.run("accuracy_hidden")
    given = ns["accuracy_inputs"](np.random.default_rng(0))
    found = {"n_blocks": 2, "other_kinds": "conv,bn,linear"}      # fewer blocks than make_resnet([1, 1, 1], ...)
    assert ns["accuracy_network"](given, found) is None


def accuracy_judge(monkeypatch, profile, by_grader):
    """The judge of accuracy_hidden, as a notebook run (or the grader, reading the cell) defines it."""
    monkeypatch.setenv("COURSE_PROFILE", profile)
    collected = []
    monkeypatch.setattr(verdict, "_collecting", collected if by_grader else None)
    namespace = {"__name__": "__main__"}
    monkeypatch.setattr(verdict, "hidden_check", REAL_HIDDEN_CHECK if by_grader else
                        lambda name, **parts: collected.append(parts))
    exec(CELLS["accuracy_hidden"], namespace)
    return collected[0]["judge"] if not by_grader else collected[0].judge


def test_accuracy_check_is_skipped_only_in_a_full_profile_notebook_run(monkeypatch, capsys):
    accuracy_judge(monkeypatch, "full", by_grader=False)({}, {"model_error": "AttributeError: not a model"})
    assert "skipped in the full profile" in capsys.readouterr().out
    judge = accuracy_judge(monkeypatch, "full", by_grader=True)

    class Judged(Exception):
        pass

    def reads_the_model(given, found):
        raise Judged
    monkeypatch.setitem(judge.__globals__, "accuracy_network", reads_the_model)
    with pytest.raises(Judged):         # the grader goes on to judge, whatever the profile
        judge({}, {"model_error": "AttributeError: not a model"})
