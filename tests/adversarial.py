"""Submissions of notebook 00 made from its released version, each with one
honest answer, accident or attack, and the score it must get (out of 3:
1 point for `confusion_matrix_hidden`, 2 for `confusion_matrix_edge_cases_hidden`).

Used by tests/test_grading_pipeline.py and benchmarks/grading_throughput.py.
``__ROOT__`` in a notebook's text stands for the scratch course's path.
"""
from __future__ import annotations

import copy
import json

import nbformat

from course_utils.instructor.course import REPO

A = "00_setup_and_tour"
NB = f"{A}.ipynb"
RELEASED = nbformat.read(REPO / "notebooks" / A / NB, as_version=4)
SOLUTION = nbformat.read(REPO / "solutions" / A / NB, as_version=4)


def index_of(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


ANSWER = SOLUTION.cells[index_of(SOLUTION, "confusion_matrix")].source
STUB = RELEASED.cells[index_of(RELEASED, "confusion_matrix")].source
SIGNATURE = ANSWER.split("### BEGIN SOLUTION")[0].rstrip(" ")
# Right when every class occurs (1 point), wrong when a class is absent (edge cases, 2).
PARTIAL = SIGNATURE + ("    c = int(max(y_true.max(), y_pred.max())) + 1\n"
                       "    counts = np.zeros((c, c), dtype=np.int64)\n"
                       "    np.add.at(counts, (y_true, y_pred), 1)\n"
                       "    return counts\n")
# Right shape and dtype, wrong counts: what every attack below tries to get marks for.
WRONG = SIGNATURE + "    return np.zeros((num_classes, num_classes), dtype=np.int64)\n"


def answered(source=ANSWER):
    nb = copy.deepcopy(RELEASED)
    nb.cells[index_of(nb, "confusion_matrix")].source = source
    return nb


def with_cell(code, after="confusion_matrix", source=ANSWER):
    nb = answered(source)
    nb.cells.insert(index_of(nb, after) + 1, nbformat.v4.new_code_cell(code))
    return nb


def duplicate_exercise():
    nb = answered()
    nb.cells.insert(index_of(nb, "confusion_matrix") + 1,
                    copy.deepcopy(nb.cells[index_of(nb, "confusion_matrix")]))
    nb.cells[index_of(nb, "confusion_matrix") + 1].source = "def confusion_matrix(*a):\n    return 0\n"
    return nb


def deleted_hidden():
    nb = answered()
    del nb.cells[index_of(nb, "confusion_matrix_hidden")]
    return nb


def edited_tests():
    nb = answered("def confusion_matrix(*args):\n    return None\n")
    nb.cells[index_of(nb, "confusion_matrix_visible")].source = "pass"
    nb.cells[index_of(nb, "confusion_matrix_hidden")].source = "pass"
    nb.cells[index_of(nb, "confusion_matrix_hidden")].metadata.nbgrader["points"] = 99
    return nb


def moved_test_cell():
    nb = answered()
    cell = nb.cells.pop(index_of(nb, "confusion_matrix_hidden"))
    nb.cells.insert(index_of(nb, "confusion_matrix"), cell)   # before the answer it tests
    return nb


def stripped_readonly():
    nb = answered()
    nb.cells[index_of(nb, "profile_demo")].metadata = {}
    return nb


def duplicate_ids_json() -> bytes:
    """Hand-written JSON: two cells claim the answer cell's id (nbformat would
    otherwise refuse to write it)."""
    nb = json.loads(nbformat.writes(answered()))
    nb["cells"][index_of(RELEASED, "profile_demo")]["id"] = "confusion_matrix"
    return json.dumps(nb).encode()


STDERR = ("import sys, warnings\nfrom tqdm import tqdm\n_inner = confusion_matrix\n"
          "def confusion_matrix(*a):\n    warnings.warn('deprecated thing')\n"
          "    for _ in tqdm(range(3)): pass\n    print('noise', file=sys.stderr)\n"
          "    return _inner(*a)\n")
SNOOP = ("import os\ntry:\n    print(open('../../gradebook.db','rb').read(100))\nexcept Exception as e:\n"
         "    print('no gradebook', e)\nfor p in ['solutions', '../solutions', '__ROOT__/solutions']:\n"
         "    print(p, os.path.exists(p) and os.listdir(p))\n"
         f"import json\nsrc = json.load(open('__ROOT__/solutions/{A}/{NB}'))\n"
         "exec(next(''.join(c['source']) for c in src['cells'] if 'def confusion_matrix' in ''.join(c['source'])))\n")
GRADEBOOK_WRITE = (
    "import sqlite3\n"
    "for path in ['__ROOT__/gradebook.db', '../../gradebook.db', '../gradebook.db']:\n"
    "    try:\n"
    "        db = sqlite3.connect(path)\n"
    "        db.execute('UPDATE grade SET auto_score = 99')\n"
    "        db.commit()\n"
    "        print('wrote', path)\n"
    "    except Exception as error:\n"
    "        print('could not write', path, type(error).__name__)\n")

# Attacks on the verdict, each with the WRONG answer: all must score 0.
PATCH_NUMPY = ("import numpy as np, numpy.testing\n"
               "np.array_equal = lambda *a, **k: True\nnp.allclose = lambda *a, **k: True\n"
               "np.any = lambda *a, **k: False\nnp.all = lambda *a, **k: True\n"
               "np.testing.assert_array_equal = np.testing.assert_allclose = lambda *a, **k: None\n")
PATCH_TORCH = ("import torch, torch.testing\ntorch.allclose = lambda *a, **k: True\n"
               "torch.equal = lambda *a, **k: True\ntorch.testing.assert_close = lambda *a, **k: None\n")
PATCH_COURSE_UTILS = ("import course_utils.checks as checks, course_utils.verdict as verdict\n"
                      "for name in ['assert_equal', 'assert_close', 'assert_shape', 'assert_dtype_kind']:\n"
                      "    setattr(checks, name, lambda *a, **k: None)\n"
                      "verdict.hidden_check = lambda *a, **k: None\n"
                      "verdict.run_probe = lambda *a, **k: None\n")
PATCH_BUILTINS = ("import builtins\nbuiltins.all = lambda *a: True\nbuiltins.any = lambda *a: False\n"
                  "builtins.AssertionError = type('Harmless', (Exception,), {})\n")
ALWAYS_EQUAL = SIGNATURE + (
    "    class Same(np.ndarray):\n"
    "        def __eq__(self, other): return np.ones(np.shape(other), bool)\n"
    "        def __ne__(self, other): return np.zeros(np.shape(other), bool)\n"
    "    return np.zeros((num_classes, num_classes), dtype=np.int64).view(Same)\n")
SWALLOW_ERRORS = ("get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n")
FORGED_RESULTS = (
    "import os, glob, io, numpy as np\n"
    "from course_utils.verdict import encode, decode\n"
    "for path in glob.glob('verdict/*.in.npz'):\n"
    "    given = decode(open(path, 'rb').read())\n"
    "    c = given['num_classes']\n"
    "    fake = {'counts': np.eye(c, dtype=np.int64), 'inputs_unchanged': True}\n"
    "    open(path.replace('.in.', '.out.'), 'wb').write(encode(fake))\n"
    "    open(path, 'wb').write(encode({'y_true': np.zeros(0, int), 'y_pred': np.zeros(0, int),\n"
    "                                   'num_classes': c}))\n"
    "import course_utils.verdict as verdict\nverdict.run_probe = lambda *a, **k: None\n")

# student -> (notebook or raw bytes, expected score out of 3)
CASES = {
    "correct": (answered(), 3),
    "blank": (copy.deepcopy(RELEASED), 0),
    "partial": (answered(PARTIAL), 1),
    "wrong": (answered(WRONG), 0),
    "duplicate_grade_id": (duplicate_exercise(), 3),
    "duplicate_cell_ids": (duplicate_ids_json(), 3),
    "deleted_hidden": (deleted_hidden(), 3),
    "edited_locked": (edited_tests(), 0),
    "stripped_metadata": (stripped_readonly(), 3),
    "moved_test_cell": (moved_test_cell(), 3),
    "os_exit_late": (with_cell("import os\nos._exit(1)", after="confusion_matrix_hidden"), 1),
    "sys_exit": (with_cell("import sys\nsys.exit()\n"), 3),
    "system_exit": (with_cell("raise SystemExit(3)"), 3),
    "keyboard_interrupt": (with_cell("raise KeyboardInterrupt"), 3),
    "infinite_loop": (with_cell("while True:\n    pass\n"), None),   # depends on the limits
    "memory_bomb": (with_cell("x = bytearray(8 * 2**30)"), 3),
    "big_output": (with_cell("print('x' * (10 * 2**20))"), 3),
    "stderr_in_tests": (with_cell(STDERR), 3),
    # No answer of its own: it scores only if it can copy the solution from the course.
    "snoop": (with_cell(SNOOP, source=STUB), 0),
    "gradebook_write": (with_cell(GRADEBOOK_WRITE, source=STUB), 0),
    "patched_numpy": (with_cell(PATCH_NUMPY, source=WRONG), 0),
    "patched_torch": (with_cell(PATCH_TORCH, source=WRONG), 0),
    "patched_course_utils": (with_cell(PATCH_COURSE_UTILS, source=WRONG), 0),
    "patched_builtins": (with_cell(PATCH_BUILTINS, source=WRONG), 0),
    "always_equal": (answered(ALWAYS_EQUAL), 0),
    "swallowed_errors": (with_cell(SWALLOW_ERRORS, source=WRONG), 0),
    "forged_results": (with_cell(FORGED_RESULTS, source=WRONG), 0),
    # The honest part still scores: partly right, and patching numpy on top.
    "partial_patched_numpy": (with_cell(PATCH_NUMPY, source=PARTIAL), 1),
    "invalid_json": (b'{"cells": [', 0),
    "empty_file": (b"", 0),
}
RENAMED = "renamed"   # the correct answer in a file with another name: 3


def submission_bytes(case, root) -> bytes:
    data = case if isinstance(case, bytes) else nbformat.writes(case).encode()
    return data.replace(b"__ROOT__", str(root).encode())
