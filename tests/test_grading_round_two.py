"""The grader under attack, round two (issue 26, items 1, 6 and 7).

1. A probe the kernel can rewrite: a submission that mutates its inputs and then
   wraps the probe machinery in its own kernel (``verdict.call_probe``,
   ``decode``, ``encode``, numpy's ``load``/``savez``, ``run_probe`` itself, a
   trace function) so that the "after" values sent are the pristine inputs.
   The sealed runner (``course_utils.verdict.seal``) and the parent's check of
   its signed record (``grading/verdicts.py: seal_problem``) make it lose what
   the unwrapped answer loses. Unit tests run the kernel's side in a fresh
   Python process (a kernel stand-in); the sandbox tests grade every notebook
   whose hidden checks compare inputs after the call.
6. The parent made huge: an executed notebook of ten million empty lists is
   cut in the sandbox and refused by the parent before parsing.
7. A duplicated answer cell: the last copy changed from the stub is graded,
   and the record says so.
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap

import nbformat
import numpy as np
import pytest

from course_grader.cli import main as course
from course_grader.course import REPO, ScratchCourse, assignments, notebooks_of
from course_grader.grading import limits, sandbox
from course_grader.grading.frames import pack
from course_grader.grading.prepare import assemble
from course_grader.grading.template import load_templates, nbgrader_meta
from course_grader.grading.verdicts import SEAL_PATH, judge
from course_utils.verdict import exchange_path

from .adversarial import (A, ANSWER, NB, OWN_RUN_PROBE, PATCH_NUMPY_IO, SORTS_Y_TRUE, TRACE_FUNCTION,
                          WRAP_PROBE_MACHINERY, answer_in_second_copy, answered, duplicate_exercise,
                          index_of, with_cell)
from .test_grading_pipeline import PeakRss

HIDDEN = "confusion_matrix_hidden"
# The student's function patches numpy while the probe runs it.
PATCHES_DURING_THE_CALL = SORTS_Y_TRUE.replace("    y_true.sort()\n",
                                               "    y_true.sort()\n    np.array_equal = lambda *a, **k: True\n")


@pytest.fixture(scope="module")
def template():
    return load_templates(REPO, A)[0]


KERNEL = textwrap.dedent("""
    import json, sys
    from course_utils import verdict
    sealed = verdict.seal() if sys.argv[2] == "sealed" else False
    namespace = {"__name__": "__main__"}
    exec("import numpy as np\\n" + sys.argv[1], namespace)   # the student's cells, then the hidden one
    exec(compile(sys.stdin.read(), "<hidden cell>", "exec"), namespace)
    print(json.dumps(sealed))
""")


def run_kernel_side(template, student_code: str, tmp_path, sealed=True) -> dict[str, bytes]:
    """The hidden cell's kernel source run after ``student_code`` in a fresh Python
    process, sealed first as the sandbox does; returns the files for the judge."""
    folder = tmp_path / "verdict"
    folder.mkdir()
    for path, data in template.exchange.items():
        (folder / os.path.basename(path)).write_bytes(data)
    env = dict(os.environ, COURSE_VERDICT_DIR=str(folder), COURSE_PROFILE="grading")
    done = subprocess.run([sys.executable, "-c", KERNEL, student_code, "sealed" if sealed else "plain"],
                          input=template.hidden[HIDDEN].kernel_source, text=True, env=env,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) is sealed
    assert not sealed or not (folder / "seal.json").exists(), "the seal file must be gone before any student cell"
    back = {exchange_path(*p.name.split(".")[:2]): p.read_bytes() for p in folder.iterdir()}
    return {**back, **template.exchange}


def verdicts(template, files) -> list[str | None]:
    return [judge(check, files) for check in template.hidden[HIDDEN].checks]


@pytest.mark.parametrize("attack, said", [
    (WRAP_PROBE_MACHINERY, "changed its input y_true in place"),
    (PATCH_NUMPY_IO, "changed its input y_true in place"),
    (OWN_RUN_PROBE, "did not come from the grader's sealed probe runner"),
    (TRACE_FUNCTION, "a trace or profile function was set"),
])
def test_wrapping_the_probe_machinery_hides_nothing(template, tmp_path, attack, said):
    """Right counts, y_true sorted in place, the machinery wrapped: every check fails,
    as it does unwrapped."""
    found = verdicts(template, run_kernel_side(template, SORTS_Y_TRUE + attack, tmp_path))
    assert all(v and said in v for v in found), found


def test_the_same_attacks_forge_a_pass_without_the_seal(template, tmp_path):
    """Control: the old run_probe, in the same kernel stand-in, is fooled (the
    grader would then count the forged "after" values)."""
    files = run_kernel_side(template, SORTS_Y_TRUE + WRAP_PROBE_MACHINERY, tmp_path, sealed=False)
    del files[SEAL_PATH]      # as the grader read results before the seal
    assert verdicts(template, files) == [None, None, None]


def test_patching_numpy_while_the_probe_runs_is_refused(template, tmp_path):
    found = verdicts(template, run_kernel_side(template, PATCHES_DURING_THE_CALL, tmp_path))
    assert all(v and "numpy.array_equal was replaced while the checks ran" in v for v in found), found


def test_an_honest_answer_is_unaffected_by_the_seal_and_by_its_own_patches(template, tmp_path):
    """A right answer passes sealed, even beside a cell that wraps the machinery
    (the seal restores it while the check runs)."""
    assert verdicts(template, run_kernel_side(template, ANSWER + WRAP_PROBE_MACHINERY, tmp_path)) \
        == [None, None, None]


def test_a_forged_signature_or_a_changed_probe_does_not_count(template, tmp_path):
    files = run_kernel_side(template, ANSWER, tmp_path)
    check = template.hidden[HIDDEN].checks[0]
    seal_file = exchange_path(check.name, "seal")
    sealed = json.loads(files[seal_file])
    record = json.loads(sealed["record"])
    forged = {**files, seal_file: json.dumps({**sealed, "record": json.dumps({**record, "output": "0"})}).encode()}
    assert "did not come from the grader's sealed probe runner" in judge(check, forged)
    other = type(check)(check.name, check.inputs, check.probe, check.judge, identity="another probe")
    assert "the probe that ran is not the grader's" in judge(other, files)


# ---- 7. a duplicated answer cell -------------------------------------------------------------

def _graded_answer(prepared) -> str:
    return prepared.notebook.cells[index_of(prepared.notebook, "confusion_matrix")].source


def test_the_last_changed_copy_of_an_answer_is_graded_and_recorded(template):
    prepared = assemble(answer_in_second_copy(), template)
    assert _graded_answer(prepared) == ANSWER
    assert any("appears 2 times" in e and "the last copy you changed from the stub (cell 12) is graded" in e
               for e in prepared.events), prepared.events
    # A later garbage copy is what the student's own run defines last: it is graded, and said so.
    prepared = assemble(duplicate_exercise(), template)
    assert "return 0" in _graded_answer(prepared)
    assert any("appears 2 times" in e for e in prepared.events)
    # A later copy left as the stub changes nothing.
    nb = answered()
    stub = nbformat.read(REPO / "notebooks" / A / NB, as_version=4).cells[index_of(nb, "confusion_matrix")]
    nb.cells.insert(index_of(nb, "confusion_matrix") + 1, stub)
    assert _graded_answer(assemble(nb, template)) == ANSWER


# ---- 6. the parent made huge -----------------------------------------------------------------

def huge_executed(n=10_000_000) -> bytes:
    """What a sandbox that did not cut would send: ten million empty lists in one output."""
    text = json.dumps({"cells": [{"cell_type": "code", "id": "x", "metadata": {}, "source": "",
                                  "execution_count": 1, "outputs": [{
                                      "output_type": "display_data", "metadata": {},
                                      "data": {"application/json": "LISTS"}}]}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    return text.replace('"LISTS"', "[" + ",".join(["[]"] * n) + "]").encode()


def test_parent_refuses_a_huge_executed_notebook_before_parsing():
    data = pack({"executed.ipynb": huge_executed(), "status.json": b"{}"})
    with PeakRss() as parent:
        notebook, status, _ = sandbox._results(data)
    assert notebook is None and "JSON lists and objects, more than" in status["reason"]
    assert parent.growth_mib < 150, f"the parent grew by {parent.growth_mib:.0f} MiB"
    too_long = pack({"executed.ipynb": b" " * (limits.MAX_EXECUTED_BYTES + 1)})
    assert "more than" in sandbox._results(too_long)[1]["reason"]


def test_sandbox_cuts_json_outputs_metadata_and_traceback_lines():
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"application/json": [[]] * 100_000},
                                           metadata={"big": "m" * 100_000}),
                    nbformat.v4.new_output("error", ename="E", evalue="v", traceback=["t" * 100_000])]
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert limits.limit_outputs(nb) == 3
    display, error = cell.outputs
    assert display["data"]["application/json"].startswith("[output truncated by the grader")
    assert display["metadata"] == {} and len(error["traceback"][0]) < 3_000
    image = nbformat.v4.new_output("display_data", data={"image/png": "i" * 1_000_000, "text/plain": "fig"})
    cell.outputs = [image] * 30
    assert "images were dropped" in limits.fit_budget(nb, budget=2 * 2**20)
    assert len(nbformat.writes(nb)) < 2 * 2**20 and cell.outputs[0]["data"] == {"text/plain": "fig"}


HUGE_DISPLAY = ("from IPython.display import display\n"
                "display({'application/json': [[] for _ in range(10_000_000)]}, raw=True)\n")


def test_a_huge_display_in_the_sandbox_keeps_the_parent_small(tmp_path):
    """Graded through the sandbox: the honest part scores, the parent stays small."""
    from course_grader.grading.autograde import grade_file
    from course_grader.grading.sandbox import Limits
    path = tmp_path / NB
    nbformat.write(with_cell(HUGE_DISPLAY), path)
    (template,) = load_templates(REPO, A)
    with PeakRss() as parent:
        result = grade_file(path, template, Limits(cell_timeout=120, notebook_limit=400))
    assert result.score == 3, result.events
    assert parent.growth_mib < 200, f"the parent grew by {parent.growth_mib:.0f} MiB"
    outputs = json.dumps([c.get("outputs", []) for c in result.executed.cells])
    assert "[output truncated by the grader" in outputs


# ---- 1, in the sandbox, for every notebook whose checks compare inputs after the call --------

MUTATE = '''

import numpy as _np_round_two


def _mutating_round_two(function):
    """The answer, then one entry of each array argument (or array in a dict argument,
    07's adam_l2_step(params, grads, ...)) changed in place."""
    def mutating(*args, **kwargs):
        result = function(*args, **kwargs)
        given = [*args, *kwargs.values()]
        for value in given + [v for d in given if isinstance(d, dict) for v in d.values()]:
            if isinstance(value, _np_round_two.ndarray) and value.size and value.flags.writeable \\
                    and value.dtype.kind in "biuf":
                value.flat[0] = (not value.flat[0]) if value.dtype.kind == "b" else value.flat[0] + 1
        return result
    return mutating
'''


def mutated_exercise(template):
    """(answer grade_id, its functions and methods) of the first exercise whose
    hidden checks compare inputs after the call (``*_after``)."""
    exercise_of = template.exercise_of()
    answers = template.answer_sources()
    for grade_id, cell in template.hidden.items():
        if "_after" in cell.kernel_source:
            answer = exercise_of.get(grade_id)
            functions = []
            for node in ast.parse(answers.get(answer, "")).body:
                if isinstance(node, ast.FunctionDef):
                    functions.append(node.name)
                elif isinstance(node, ast.ClassDef):     # its methods, e.g. a module's forward
                    functions += [f"{node.name}.{m.name}" for m in node.body
                                  if isinstance(m, ast.FunctionDef) and not m.name.startswith("__")]
            if functions:
                return answer, functions
    return None, []


@pytest.mark.parametrize("assignment", assignments())     # each has a check of its inputs after the call
def test_wrapped_probe_machinery_wins_nothing_in_any_notebook(tmp_path, assignment):
    """The solution with one exercise's functions made to change their array
    arguments in place, alone and with WRAP_PROBE_MACHINERY before the hidden
    cells: the same score, below full marks. (That the untouched solution gets full
    marks in the sandbox is test_grading_trusted's.)"""
    root = tmp_path / "course"
    ScratchCourse.create(root)
    inbox = tmp_path / "inbox"
    templates = load_templates(REPO, assignment)
    assert any(mutated_exercise(t)[0] for t in templates), f"{assignment}: no hidden check looks at its inputs after the call"
    for notebook in notebooks_of(REPO, "solutions", assignment):
        template = next(t for t in templates if t.name == notebook.stem)
        answer, functions = mutated_exercise(template)
        for student in ("mutating", "cheater"):
            nb = nbformat.read(notebook, as_version=4)
            if answer:
                position = next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == answer)
                nb.cells[position].source += MUTATE + "".join(f"{f} = _mutating_round_two({f})\n" for f in functions)
                if student == "cheater":
                    nb.cells.insert(position + 1, nbformat.v4.new_code_cell(WRAP_PROBE_MACHINERY))
            (inbox / student / assignment).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, inbox / student / assignment / notebook.name)
    assert course(["collect", assignment, str(inbox), "--course", str(root)]) == 0
    assert course(["autograde", assignment, "--course", str(root), "--jobs", "2"]) == 0
    scores = {s: ScratchCourse(root).scores(assignment, s) for s in ("mutating", "cheater")}
    for name, mutating in scores["mutating"].items():
        assert mutating.auto_score < mutating.auto_max, f"{name}: mutating the arguments cost nothing ({mutating})"
        assert scores["cheater"][name].auto_score == mutating.auto_score, \
            f"{name}: wrapping the probe machinery changed the score"
        assert sorted(scores["cheater"][name].failed_tests) == sorted(mutating.failed_tests)
