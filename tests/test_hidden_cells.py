"""What the student's kernel runs in place of a hidden test cell
(grading/verdicts.py kernel_source, course_utils.verdict.run_probe):

- the probes find their files wherever the submission moved the working
  directory (COURSE_VERDICT_DIR);
- the cell neither puts names into the student's namespace nor takes any from
  it but the student's functions (a helper called `partial`, `np = None`);
- a probe that uses any other global name is refused when the template is built;
- "inputs unchanged" is judged in the grader on the inputs the probe returns,
  so a patched np.array_equal in the kernel does not hide a mutation.
"""
import ast
import os
import re

import numpy as np
import pytest

from course_utils import verdict
from course_grader.course import REPO, assignments
from course_grader.grading.template import load_templates
from course_grader.grading.verdicts import HiddenCheckError, inputs_files, judge, read_checks
from course_utils.verdict import VERDICT_DIR_ENV, assert_inputs_unchanged, encode, exchange_path

HIDDEN = '''
from functools import partial

import numpy as np
from course_utils.verdict import hidden_check


def double_inputs(rng):
    return {"x": rng.normal(size=5)}


def double_probe(x):
    triple = partial(np.multiply, 3)          # functools.partial, the cell's own
    return {"y": double(x), "z": triple(x)}


def double_judge(given, found):
    assert np.allclose(found["y"], 2 * given["x"]) and np.allclose(found["z"], 3 * given["x"]), "wrong"


hidden_check("double", inputs=double_inputs, probe=double_probe, judge=double_judge)
'''


def student_namespace():
    """A student whose helper is called `partial` and who reused the name np."""
    namespace = {"np": None}
    exec("def partial(x):\n    return x + x\n\ndef double(x):\n    return partial(x)\n", namespace)
    return namespace


def run_in_kernel(kernel_source, namespace, files, folder, monkeypatch):
    """Run a hidden cell's kernel source as the sandbox's kernel would: the inputs
    files in ``folder``, COURSE_VERDICT_DIR naming it; returns every exchange file."""
    for path, data in files.items():
        (folder / os.path.basename(path)).write_bytes(data)
    monkeypatch.setenv(VERDICT_DIR_ENV, str(folder))
    exec(compile(kernel_source, "<hidden cell>", "exec"), namespace)
    return {exchange_path(*p.name.split(".")[:2]): p.read_bytes() for p in folder.iterdir()}


def test_run_probe_finds_its_files_after_chdir(tmp_path, monkeypatch):
    folder = tmp_path / "run" / "verdict"
    folder.mkdir(parents=True)
    (folder / "c.in.npz").write_bytes(encode({"x": np.arange(3)}))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")           # the submission's own os.chdir
    monkeypatch.setenv(VERDICT_DIR_ENV, str(folder))
    verdict.run_probe("c", lambda x: {"y": x + 1})
    assert verdict.decode((folder / "c.out.npz").read_bytes())["y"].tolist() == [1, 2, 3]


def test_run_probe_without_the_variable_uses_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "verdict").mkdir()
    (tmp_path / "verdict" / "c.in.npz").write_bytes(encode({"x": 1}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(VERDICT_DIR_ENV, raising=False)
    verdict.run_probe("c", lambda x: {"y": x + 1})
    assert verdict.decode((tmp_path / "verdict" / "c.out.npz").read_bytes()) == {"y": 2}


def test_hidden_cell_leaves_the_students_names_alone(tmp_path, monkeypatch):
    cell = read_checks(HIDDEN, "double_hidden", {}, student_names={"double"})
    namespace = student_namespace()
    before = dict(namespace)
    files = run_in_kernel(cell.kernel_source, namespace, inputs_files(cell.checks), tmp_path, monkeypatch)
    assert judge(cell.checks[0], files) is None       # the probe worked, with its own partial and np
    assert namespace == before, "the hidden cell changed the student's namespace"


def test_every_hidden_cell_binds_nothing_in_the_kernel():
    """Top level: one function, called and deleted in a try/finally."""
    for assignment in assignments():
        for template in load_templates(REPO, assignment):   # builds: every probe's names are known
            for grade_id, cell in template.hidden.items():
                if not cell.checks:
                    continue
                body = ast.parse(cell.kernel_source).body
                assert [type(node) for node in body] == [ast.FunctionDef, ast.Try], grade_id
                (deleted,) = body[1].finalbody
                assert isinstance(deleted, ast.Delete) and deleted.targets[0].id == body[0].name


@pytest.mark.parametrize("probe, unknown", [
    ("def p(x):\n    return {'y': np.sum(x)}\n", "np"),                     # not imported here
    ("def p(x):\n    return {'y': helper(x)}\n", "helper"),                 # an earlier hidden cell's
    ("def p(x):\n    return {'y': [SCALE * v for v in x][0]}\n", "SCALE"),  # this cell's constant
])
def test_probe_with_an_unknown_global_is_refused(probe, unknown):
    source = ("from course_utils.verdict import hidden_check\nSCALE = 2\n" + probe
              + "hidden_check('c', probe=p, judge=lambda i, o: None)\n")
    shared = {"helper": abs}
    with pytest.raises(HiddenCheckError, match=rf"probe p uses {unknown}, which the cell does not import"):
        read_checks(source, "cell", shared, student_names={"double"})


def test_star_import_is_refused():
    source = ("from numpy import *\nfrom course_utils.verdict import hidden_check\n"
              "def p():\n    return {}\nhidden_check('c', probe=p, judge=lambda i, o: None)\n")
    with pytest.raises(HiddenCheckError, match="inside a function"):
        read_checks(source, "cell", {}, student_names=set())


def test_a_probe_with_default_arguments_is_refused_at_build():
    """The sealed runner reports that a probe has defaults but not which: a kernel could
    have rewritten them, so the grader does not count it (07's grid_search_hidden lost
    its 3 points in every sandbox until its probe took nan_below as an input)."""
    source = ("from course_utils.verdict import hidden_check\n"
              "def p(x=1.0):\n    return {}\nhidden_check('c', probe=p, judge=lambda i, o: None)\n")
    with pytest.raises(HiddenCheckError, match="the probe p has default arguments"):
        read_checks(source, "cell", {}, student_names=set())


def test_inputs_unchanged_is_judged_on_data():
    given = {"x": np.array([1.0, np.nan, 3.0]), "k": np.arange(4)}
    same = {"x_after": given["x"].copy(), "k_after": given["k"].copy()}
    assert_inputs_unchanged("f", given, same, ["x", "k"]) is None
    for found, words in [({**same, "k_after": np.array([0, 1, 9, 9])}, "input k in place (2 of its 4 entries"),
                         ({**same, "x_after": np.zeros(2)}, "input x in place (from shape (3,)"),
                         ({"x_after": same["x_after"]}, "no copy of the input k")]:
        with pytest.raises(AssertionError, match=re.escape(words)):
            assert_inputs_unchanged("f", given, found, ["x", "k"])


def test_mutation_is_seen_though_the_kernel_patched_array_equal(tmp_path, monkeypatch):
    """Notebook 00: right counts, y_true sorted in place, np.array_equal patched in the
    kernel (and only there: the grader is another process)."""
    (template,) = load_templates(REPO, "00_setup_and_tour")
    cell = template.hidden["confusion_matrix_hidden"]
    namespace = {"np": np}
    exec("def confusion_matrix(y_true, y_pred, num_classes):\n"
         "    counts = np.zeros((num_classes, num_classes), dtype=np.int64)\n"
         "    np.add.at(counts, (y_true, y_pred), 1)\n"
         "    y_true.sort()\n"
         "    return counts\n", namespace)
    with monkeypatch.context() as kernel:
        kernel.setattr(np, "array_equal", lambda *a, **k: True)
        files = run_in_kernel(cell.kernel_source, namespace, inputs_files(cell.checks), tmp_path, monkeypatch)
    verdicts = [judge(check, files) for check in cell.checks]
    assert all(v and "changed its input y_true in place" in v for v in verdicts), verdicts
