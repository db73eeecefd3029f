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

from course_grader.course import REPO

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


def all_metadata_stripped():
    """An editor that drops every cell's metadata: the answer is found by position."""
    nb = answered()
    for cell in nb.cells:
        cell.metadata = {}
    return nb


def too_many_cells(n=40_000) -> bytes:
    """The answer plus n tiny cells (hand-written JSON: nbformat would take seconds)."""
    nb = json.loads(nbformat.writes(answered()))
    nb["cells"] += [{"cell_type": "code", "id": f"tiny-{i}", "metadata": {}, "source": "1",
                     "outputs": [], "execution_count": None} for i in range(n)]
    return json.dumps(nb).encode()


# An error message that would rewrite the instructor's terminal: a forged table row.
ANSI_FORGER = "raise Exception('\\r\\x1b[2K\\x1b]0;title\\x07z-ansi-forger 3 / 3 ok')\n"


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
    # the answer, then a garbage copy: the last changed copy is graded, as the student's own run uses it
    "duplicate_grade_id": (duplicate_exercise(), 0),
    "duplicate_cell_ids": (duplicate_ids_json(), 3),
    "deleted_hidden": (deleted_hidden(), 3),
    "edited_locked": (edited_tests(), 0),
    "stripped_metadata": (stripped_readonly(), 3),
    "all_metadata_stripped": (all_metadata_stripped(), 3),
    "too_many_cells": (too_many_cells(), 0),
    "ansi_forger": (with_cell(ANSI_FORGER), 3),
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
# Attacks on the sandbox itself (issue 16). ``__ROOT__`` is the scratch course,
# ``__REPO__`` the repository; the pipeline test plants the files named here.
AFTER_TESTS = "confusion_matrix_edge_cases_hidden"     # a cell placed here runs after every check
SYMLINK_SWAP = (
    "import os, shutil\n"
    "shutil.rmtree('verdict')\n"
    "os.symlink('__ROOT__', 'verdict')      # the parent must never follow it\n"
    "os.symlink('__ROOT__/nbgrader_config.py', 'executed.ipynb')\n")
RESULT_IS_DIRECTORY = (
    "import glob, os\n"
    "for path in glob.glob('verdict/*.out.npz'):\n"
    "    os.unlink(path); os.mkdir(path)\n")
CLASSMATE_TAMPER = (   # copy a classmate's results, spoil a classmate's inputs, for 8 s
    "import glob, os, shutil, time\n"
    "seen = set()\n"
    "end = time.time() + 8\n"
    "while time.time() < end:\n"
    "    for path in glob.glob('/tmp/**/verdict/*.npz', recursive=True) + glob.glob('/proc/*/cwd/verdict/*.npz'):\n"
    "        if os.path.realpath(os.path.dirname(path)) == os.path.realpath('verdict'): continue   # its own\n"
    "        seen.add(path)\n"
    "        try:\n"
    "            if '.out.' in path: shutil.copy(path, 'verdict/')\n"
    "            else: open(path, 'wb').write(b'spoiled')\n"
    "        except OSError: pass\n"
    "    time.sleep(0.2)\n"
    "print('classmates found:', len(seen))\n")
THREAD_HOG = (   # as many threads as it can get, held for 12 s
    "import threading, time\n"
    "threads = []\n"
    "try:\n"
    "    for _ in range(3000):\n"
    "        t = threading.Thread(target=time.sleep, args=(12,), daemon=True); t.start(); threads.append(t)\n"
    "except RuntimeError as error:\n"
    "    print('stopped at', len(threads), 'threads:', error)\n"
    "time.sleep(12)\n")
SNOOP_COURSE = (   # everything of the course a sandbox must not see
    "import glob, os\n"
    "found = [p for pattern in ['__ROOT__/autograded/*/*/*.ipynb', '__ROOT__/submitted/*/*/*.ipynb',\n"
    "         '__ROOT__/*.zip', '__ROOT__/*.csv', '__ROOT__/gradebook.db', '__REPO__/tests/catalogue/*.py',\n"
    "         '__REPO__/solutions/*/*.ipynb', '__ROOT__/../*/*.csv']\n"
    "         for p in glob.glob(pattern)]\n"
    "print('visible course files:', len(found), found[:5])\n"
    "for path in found:\n"
    "    try: exec(open(path).read())\n"
    "    except Exception: pass\n")
PROC_ENVIRON = (
    "import glob\n"
    "for path in glob.glob('/proc/*/environ'):\n"
    "    try: print(path, open(path, 'rb').read()[:4000])\n"
    "    except OSError as error: print(path, type(error).__name__)\n")
UNIX_SOCKETS = (   # the pipeline test listens on the host at these paths
    "import socket\n"
    "for path in ['__ROOT__/../host.sock', '/tmp/course-test-host.sock', '/run/course-test-host.sock']:\n"
    "    s = socket.socket(socket.AF_UNIX)\n"
    "    try: s.connect(path); print('connected', path)\n"
    "    except OSError as error: print('refused', path, type(error).__name__)\n")
MEMORY_SPREAD = (   # three processes, each under the per-process limit, together over the sandbox's
    "import subprocess, sys\n"
    "code = 'b = bytearray(700 * 2**20); import time; time.sleep(8)'\n"
    "children = [subprocess.Popen([sys.executable, '-c', code]) for _ in range(3)]\n"
    "print('exit codes:', [c.wait() for c in children])\n")
DISK_FILL = (
    "written = 0\n"
    "for i, folder in enumerate(['.', '/tmp', '/var/tmp', '/dev/shm'] * 40):\n"
    "    try:\n"
    "        with open(f'{folder}/fill-{i}', 'wb') as f: f.write(b'x' * 10 * 2**20)\n"
    "        written += 10 * 2**20\n"
    "    except OSError: pass\n"
    "print(f'wrote {written} bytes')\n")
STASH = (   # leave this run's results where a later submission might find them
    "import ctypes, glob, os, shutil\n"
    "for folder in ['/tmp', '/var/tmp', '/dev/shm']:\n"
    "    os.makedirs(folder + '/stash-course-test', exist_ok=True)\n"
    "    for path in glob.glob('verdict/*.out.npz'): shutil.copy(path, folder + '/stash-course-test/')\n"
    "libc = ctypes.CDLL(None)\n"
    "print('shm id', libc.shmget(0x5eed, 4096, 0o1666))   # IPC_CREAT | 0666\n")
REPLAY = (
    "import glob, shutil\n"
    "found = glob.glob('/tmp/stash-course-test/*') + glob.glob('/var/tmp/stash-course-test/*') \\\n"
    "    + glob.glob('/dev/shm/stash-course-test/*')\n"
    "for path in found: shutil.copy(path, 'verdict/')\n"
    "import ctypes; print('stash files:', len(found), 'shm id', ctypes.CDLL(None).shmget(0x5eed, 0, 0))\n")

STDERR_FLOOD = (   # 768 MiB on the kernel's stderr: the parent keeps only a tail
    "import os\nchunk = b'e' * 2**20\nfor _ in range(768):\n    os.write(2, chunk)\n")

SANDBOX_CASES = {
    "stderr_flood": (with_cell(STDERR_FLOOD, after=AFTER_TESTS), 3),
    "symlink_swap": (with_cell(SYMLINK_SWAP, after=AFTER_TESTS), 0),
    "result_is_directory": (with_cell(RESULT_IS_DIRECTORY, after=AFTER_TESTS), 0),
    "classmate_tamper": (with_cell(CLASSMATE_TAMPER, after=AFTER_TESTS, source=STUB), 0),
    "thread_hog": (with_cell(THREAD_HOG), 3),
    "snoop_course": (with_cell(SNOOP_COURSE, source=STUB), 0),
    "proc_environ": (with_cell(PROC_ENVIRON), 3),
    "unix_sockets": (with_cell(UNIX_SOCKETS), 3),
    "memory_spread": (with_cell(MEMORY_SPREAD, after=AFTER_TESTS), 3),
    "disk_fill": (with_cell(DISK_FILL, after=AFTER_TESTS), 3),
}
CASES.update(SANDBOX_CASES)
# Graded in two runs, one after the other (tests/test_sandbox_isolation.py).
STASHER = with_cell(STASH, after=AFTER_TESTS)
REPLAYER = with_cell(REPLAY, after=AFTER_TESTS, source=STUB)

# Honest code the grader's own machinery once scored 0 (issue 16, items 12, 13, 15).
# A helper named like the hidden cell's `from functools import partial`.
HELPER_NAMED_PARTIAL = (
    "def partial(y_true, y_pred, num_classes, true_class):\n"
    "    \"\"\"Row true_class of the confusion matrix: what its samples were predicted as.\"\"\"\n"
    "    return np.bincount(y_pred[y_true == true_class], minlength=num_classes)\n\n\n"
    + SIGNATURE + "    rows = [partial(y_true, y_pred, num_classes, c) for c in range(num_classes)]\n"
    "    return np.array(rows, dtype=np.int64).reshape(num_classes, num_classes)\n")
# Needs no global np: the student reuses the name np for something else afterwards.
LOCAL_NUMPY = SIGNATURE + ("    import numpy\n"
                           "    counts = numpy.zeros((num_classes, num_classes), dtype=numpy.int64)\n"
                           "    numpy.add.at(counts, (y_true, y_pred), 1)\n"
                           "    return counts\n")
# Right counts, but y_true is sorted in place; np.array_equal patched so that a check
# computed in the kernel would not see it. Both hidden cells check the inputs: 0 of 3.
SORTS_Y_TRUE = SIGNATURE + ("    counts = np.zeros((num_classes, num_classes), dtype=np.int64)\n"
                            "    np.add.at(counts, (y_true, y_pred), 1)\n"
                            "    y_true.sort()\n"
                            "    return counts\n")
PATCH_ARRAY_EQUAL = "import numpy as np\nnp.array_equal = lambda *a, **k: True\n"

GRADER_CASES = {
    "chdir_elsewhere": (with_cell("import os\nos.chdir('/')\n"), 3),
    "helper_named_partial": (answered(HELPER_NAMED_PARTIAL), 3),
    "numpy_name_reused": (with_cell("np = None\n", after="confusion_matrix_visible", source=LOCAL_NUMPY), 3),
    "mutates_inputs_patched_equal": (with_cell(PATCH_ARRAY_EQUAL, source=SORTS_Y_TRUE), 0),
}
CASES.update(GRADER_CASES)

RENAMED = "renamed"   # the correct answer in a file with another name: 3


def submission_bytes(case, root) -> bytes:
    data = case if isinstance(case, bytes) else nbformat.writes(case).encode()
    return data.replace(b"__ROOT__", str(root).encode()).replace(b"__REPO__", str(REPO).encode())

# --- Round two (issue 26): attacks on the probe machinery, the parent's memory, answer copies.
# Each mutates its inputs (SORTS_Y_TRUE: right counts, y_true sorted in place, 0 of 3 unwrapped)
# and then makes the kernel's probe machinery hide it; all must score as the unwrapped answer.
# A cell that, before the hidden cells, wraps the verdict module's functions so that the probe
# gets copies (call_probe) and the "after" values it sends are the pristine inputs (decode and
# encode). Generic: it works on every notebook's checks that return ``<input>_after``.
WRAP_PROBE_MACHINERY = (
    "import numpy as np\nimport course_utils.verdict as verdict\n"
    "_call, _decode, _encode, _pristine = verdict.call_probe, verdict.decode, verdict.encode, {}\n"
    "def _copying_call(probe, given):\n"
    "    return _call(probe, {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in given.items()})\n"
    "def _remembering_decode(data):\n"
    "    values = _decode(data)\n"
    "    _pristine.update({k: v.copy() for k, v in values.items() if isinstance(v, np.ndarray)})\n"
    "    return values\n"
    "def _pristine_encode(values, what='values'):\n"
    "    return _encode({k: _pristine.get(k[:-len('_after')], v) if k.endswith('_after') else v\n"
    "                    for k, v in values.items()}, what)\n"
    "verdict.call_probe, verdict.decode, verdict.encode = _copying_call, _remembering_decode, _pristine_encode\n")
# The same, one level up: run_probe(s) replaced by a home-made runner that hands the probe copies
# and writes the pristine inputs as the "after" values (the old run_probe, forged).
OWN_RUN_PROBE = (
    "import numpy as np\nimport course_utils.verdict as verdict\n"
    "def _own_run_probe(name, probe):\n"
    "    given = verdict.decode(open(verdict.kernel_path(name, 'in'), 'rb').read())\n"
    "    found = probe(**{k: v.copy() if isinstance(v, np.ndarray) else v for k, v in given.items()})\n"
    "    found.update({k: given[k[:-len('_after')]] for k in found if k.endswith('_after')})\n"
    "    open(verdict.kernel_path(name, 'out'), 'wb').write(verdict.encode(found))\n"
    "verdict.run_probe = _own_run_probe\n"
    "verdict.run_probes = lambda checks: [_own_run_probe(*check) for check in checks]\n")
# numpy's own functions, patched so that np.savez writes pristine copies of arrays it saw loaded.
PATCH_NUMPY_IO = (
    "import numpy as np\n_load, _savez, _seen = np.load, np.savez, {}\n"
    "class _Remember:\n"
    "    def __init__(self, archive): self.archive = archive\n"
    "    def __enter__(self): return self\n"
    "    def __exit__(self, *a): return self.archive.__exit__(*a)\n"
    "    def __getitem__(self, key):\n"
    "        value = self.archive[key]\n"
    "        _seen[key] = value.copy()\n"
    "        return value\n"
    "np.load = lambda *a, **k: _Remember(_load(*a, **k))\n"
    "np.savez = lambda file, **arrays: _savez(file, **{k: _seen.get(k[:-6], v) if k.endswith('_after') else v\n"
    "                                                  for k, v in arrays.items()})\n")
# A trace function can rewrite a running probe's variables: its results do not count.
TRACE_FUNCTION = "import sys\nsys.settrace(lambda *a: None)\n"

ROUND_TWO_PROBE_CASES = {
    "mutates_inputs": (answered(SORTS_Y_TRUE), 0),
    "mutates_inputs_wrapped_machinery": (with_cell(WRAP_PROBE_MACHINERY, source=SORTS_Y_TRUE), 0),
    "mutates_inputs_own_run_probe": (with_cell(OWN_RUN_PROBE, source=SORTS_Y_TRUE), 0),
    "mutates_inputs_patched_numpy_io": (with_cell(PATCH_NUMPY_IO, source=SORTS_Y_TRUE), 0),
    "correct_wrapped_machinery": (with_cell(WRAP_PROBE_MACHINERY), 3),   # honest answer: unaffected
    "trace_function": (with_cell(TRACE_FUNCTION), 0),
}
CASES.update(ROUND_TWO_PROBE_CASES)


def answer_in_second_copy():
    """The answer cell duplicated, the answer written in the second copy, the stub
    left in the first (issue 26, item 7): the answer is graded."""
    nb = copy.deepcopy(RELEASED)
    cell = copy.deepcopy(nb.cells[index_of(nb, "confusion_matrix")])
    cell.source = ANSWER
    cell.id = "my-copy"
    nb.cells.insert(index_of(nb, "confusion_matrix") + 1, cell)
    return nb


CASES["duplicate_answer_in_second_copy"] = (answer_in_second_copy(), 3)

# ---------------------------------------------------------------------------
# Round two (issue 26, items 4, 5, 8, 9, 10): the grader's state, a keyring
# channel, instructor paths, CPU starvation. Used by tests/test_grader_round_two.py.
# A planted state directory: a local user's, with as many files as uid slots.
PLANTED_UID, PLANTED_FILES = 12345, 4096

# Leaves a key where a later sandbox (another uid) would look: the session
# keyring (inherited from the grader: shared by every sandbox) and the user's.
KEYRING_STASH = (
    "import ctypes, os\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "for keyring in (-3, -4):          # KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING\n"
    "    key = libc.syscall(248, b'user', b'course-test-stash', b'stashed results', 15, ctypes.c_int(keyring))\n"
    "    print('add_key', keyring, key, os.strerror(ctypes.get_errno()) if key < 0 else 'added')\n")
KEYRING_READ = (
    "import ctypes\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "found = [libc.syscall(249, b'user', b'course-test-stash', None, 0)]     # request_key\n"
    "found += [libc.syscall(250, 10, ctypes.c_int(k), b'user', b'course-test-stash', 0) for k in (-3, -4)]\n"
    "payload = ctypes.create_string_buffer(64)\n"
    "read = [libc.syscall(250, 11, key, payload, 64) for key in found if key > 0]   # KEYCTL_READ\n"
    "print('keys found:', sum(key > 0 for key in found), payload.value)\n")

# What the sandbox's own Python says about where it lives (no instructor path).
WHERE_AM_I = (
    "import json, os, sys, course_utils\n"
    "print('WHERE ' + json.dumps({'executable': sys.executable, 'path': sys.path, 'prefix': sys.prefix,\n"
    "    'base_prefix': sys.base_prefix, 'course_utils': course_utils.__file__,\n"
    "    'env': {k: v for k, v in os.environ.items() if 'PATH' in k}}))\n")


def cpu_window(start: float, seconds: float, processes: int) -> str:
    """Code that keeps ``processes`` processes busy from ``start`` (an absolute
    time) for ``seconds`` and prints the CPU seconds they got in that window
    (and whether it was ready before the window opened). ``processes=50``: the
    hog; ``processes=1``: the honest classmate. Each process is a session of
    its own, as in the issue: the scheduler's autogroups share CPU per
    session, and would otherwise hide the hog."""
    return (
        "import os, time\n"
        f"start, end, n = {start!r}, {start + seconds!r}, {processes}\n"
        "late = time.time() > start\n"
        "read, write = os.pipe()\n"
        "for _ in range(n):\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        while time.time() < start: time.sleep(0.01)\n"
        "        began = time.process_time()\n"
        "        while time.time() < end: pass\n"
        "        os.write(write, f'{time.process_time() - began}\\n'.encode())\n"
        "        os._exit(0)\n"
        "os.close(write)\n"
        "got = b''\n"
        "while chunk := os.read(read, 65536): got += chunk\n"
        "for _ in range(n): os.wait()\n"
        "print('CPU', sum(map(float, got.split())), 'late' if late else 'ready')\n")


# The submission's kernel kills the sandbox's runner (same uid): no executed
# notebook, but the student's doing, so recorded (0), not a grader failure.
KILL_RUNNER = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
