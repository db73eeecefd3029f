"""Hidden checks whose verdict a submission cannot forge.

A hidden check has three parts:

- ``inputs(rng) -> dict``: the data the student's code is run on;
- ``probe(**inputs) -> dict``: calls the student's code and returns what it
  produced, as NumPy arrays and plain numbers;
- ``judge(inputs, outputs)``: computes the reference and raises
  ``AssertionError`` with a message in words when the outputs are wrong.

In a notebook, ``hidden_check(name, inputs=..., probe=..., judge=...)`` runs
all three in the kernel, so plain ``nbgrader autograde`` and the students'
own runs work as usual. The course's grader (``course autograde``) instead
makes the inputs and runs the judge in its own trusted process; only the
probe runs in the student's kernel, and what crosses the boundary is plain
data (an ``.npz`` file read without pickle). Patching numpy, the test helpers
or builtins, or returning objects that compare equal to anything, cannot
change a verdict computed outside the kernel.

Both ways see identical data: inputs and outputs go through the same
encoding (arrays keep dtype and shape; Python numbers stay Python numbers).
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import zipfile
from dataclasses import dataclass
from typing import Callable

import numpy as np

NAME = re.compile(r"^[A-Za-z0-9_]{1,80}$")
TYPES_KEY = "__types__"
PLAIN_TYPES = {bool: "bool", int: "int", float: "float", str: "str"}
MAX_BYTES = 64 * 2**20
MAX_MEMBERS = 1000
EXCHANGE_DIR = "verdict"       # in the sandbox's working directory
# The absolute path of EXCHANGE_DIR, set by the sandbox in the kernel's environment, so
# that a submission's os.chdir cannot make run_probe lose its files.
VERDICT_DIR_ENV = "COURSE_VERDICT_DIR"
_collecting: list | None = None


@dataclass(frozen=True)
class Check:
    name: str
    inputs: Callable | None
    probe: Callable
    judge: Callable


def hidden_check(name: str, *, probe: Callable, judge: Callable, inputs: Callable | None = None) -> None:
    """Run ``probe`` on ``inputs`` and let ``judge`` decide (see the module doc)."""
    if not NAME.match(name):
        raise ValueError(f"hidden check name {name!r}: use letters, digits and _ only")
    check = Check(name, inputs, probe, judge)
    if _collecting is not None:        # the grader reads the checks, it does not run them
        _collecting.append(check)
        return
    given = encoded_inputs(check)
    found = decode(encode(call_probe(check.probe, decode(given)), what=f"outputs of {name}"))
    check.judge(decode(given), found)   # a fresh copy: the probe may have changed its own


def collected_by_grader() -> bool:
    """True while the course's grader reads a hidden cell to judge its checks in
    its own process (it always grades the kernel in the grading profile); False
    when the cell runs in a notebook, where ``hidden_check`` judges in the
    kernel, whatever profile the notebook runs. A hidden cell reads it when it
    runs, at its top level: the judges are called after the reading ends."""
    return _collecting is not None


def encoded_inputs(check: Check, secret: str = "") -> bytes:
    """The check's inputs, from a generator seeded by its name and the grading
    run's ``secret`` (none in a notebook run), encoded as they cross to the
    sandbox. The secret makes results copied out of one run useless in another."""
    rng = np.random.default_rng(seed_of(check.name, secret))
    made = check.inputs(rng) if check.inputs is not None else {}
    return encode(made, what=f"inputs of {check.name}")


def make_inputs(check: Check) -> dict:
    return decode(encoded_inputs(check))


def seed_of(name: str, secret: str = "") -> int:
    return int.from_bytes(hashlib.sha256((secret + name).encode()).digest()[:8], "little")


def call_probe(probe: Callable, given: dict) -> dict:
    found = probe(**given)
    if not isinstance(found, dict):
        raise TypeError(f"the probe {probe.__name__} must return a dict of arrays, "
                        f"got {type(found).__name__}")
    return found


def encode(values: dict, what: str = "values") -> bytes:
    """Plain data only: ndarrays of numbers, numpy scalars, bool/int/float/str."""
    arrays, types = {}, {}
    for key, value in values.items():
        if not isinstance(key, str) or not NAME.match(key) or key == TYPES_KEY:
            raise ValueError(f"{what}: key {key!r} is not a plain name")
        kind = PLAIN_TYPES.get(type(value))
        if kind is None and isinstance(value, (np.ndarray, np.generic)):
            kind = "array" if isinstance(value, np.ndarray) else "numpy_scalar"
        if kind is None:
            raise TypeError(f"{what}: {key!r} is a {type(value).__name__}; expected a NumPy "
                            "array or a number")
        array = np.array(value)
        if array.dtype.kind not in "biufcU":
            raise TypeError(f"{what}: {key!r} has dtype {array.dtype}; expected numbers")
        arrays[key], types[key] = array, kind
    arrays[TYPES_KEY] = np.array(json.dumps(types))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    if buffer.tell() > MAX_BYTES:
        raise ValueError(f"{what} take {buffer.tell()} bytes, more than {MAX_BYTES}")
    return buffer.getvalue()


def decode(data: bytes) -> dict:
    """The inverse of ``encode``; refuses pickled objects, and anything that
    would make ``np.load`` inflate or allocate more than ``data`` holds."""
    check_archive(data)
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        types = json.loads(str(archive[TYPES_KEY][()]))
        values = {}
        for key, kind in types.items():
            array = archive[key]
            values[key] = array[()].item() if kind in PLAIN_TYPES.values() else \
                array[()] if kind == "numpy_scalar" else array
    return values


def check_archive(data: bytes) -> None:
    """Raise ValueError unless ``data`` is an .npz that ``encode`` could have
    made: at most MAX_BYTES and MAX_MEMBERS, every member stored (``np.savez``
    never compresses, and a compressed member can inflate a thousandfold) and
    an array of numbers whose header declares no more bytes than the member
    holds (``np.load`` allocates the declared size before reading)."""
    if len(data) > MAX_BYTES:
        raise ValueError(f"the archive has {len(data)} bytes, more than {MAX_BYTES}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"not an .npz archive ({error})") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise ValueError(f"the archive has {len(members)} members, more than {MAX_MEMBERS}")
        compressed = [m for m in members
                      if m.compress_type != zipfile.ZIP_STORED or m.compress_size != m.file_size]
        if compressed:
            raise ValueError(f"member {compressed[0].filename[:80]!r} is compressed; only stored "
                             "members are read")
        declared = sum(m.file_size for m in members)
        if declared > MAX_BYTES:
            raise ValueError(f"the archive's members declare {declared} bytes, more than {MAX_BYTES}")
        for member in members:
            _check_member(archive, member)


def _check_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    name = member.filename[:80]
    if not member.filename.endswith(".npy"):
        raise ValueError(f"member {name!r} is not an .npy array")
    with archive.open(member) as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f".npy version {version} is not supported")
            shape, _, dtype = read_header(f)
        except ValueError as error:
            raise ValueError(f"member {name!r} has no valid .npy header ({error})") from None
        present = member.file_size - f.tell()
    if dtype.kind not in "biufcU" or dtype.names is not None or dtype.subdtype is not None:
        raise ValueError(f"member {name!r} has dtype {dtype}; expected numbers")
    # itemsize 0 ('<U0') would allow any element count for no bytes at all
    needed = math.prod(shape) * max(dtype.itemsize, 1)
    if needed > present:
        raise ValueError(f"member {name!r} declares {needed} bytes of data "
                         f"(shape {shape}, dtype {dtype}) but holds {present}")


def exchange_path(name: str, kind: str) -> str:
    """in, out: .npz files; err: what the probe raised, as text."""
    return os.path.join(EXCHANGE_DIR, f"{name}.{kind}.{'txt' if kind == 'err' else 'npz'}")


def kernel_path(name: str, kind: str) -> str:
    """Where the kernel finds an exchange file: in ``$COURSE_VERDICT_DIR`` when
    it is set (absolute), else in EXCHANGE_DIR under the working directory."""
    folder = os.environ.get(VERDICT_DIR_ENV)
    path = exchange_path(name, kind)
    return os.path.join(folder, os.path.basename(path)) if folder else path


def run_probe(name: str, probe: Callable) -> None:
    """The grader's side of a hidden check, in the student's kernel: read the
    inputs the grader wrote, run the probe, write its outputs for the grader.
    An error in the student's code is written down for the grader (and
    printed) and the cell goes on with the next check.
    """
    try:
        with open(kernel_path(name, "in"), "rb") as f:
            given = decode(f.read())
        data = encode(call_probe(probe, given), what=f"outputs of {name}")
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        print(f"check {name}: {message}")
        with open(kernel_path(name, "err"), "w") as f:
            f.write(message[:2000])
        return
    with open(kernel_path(name, "out"), "wb") as f:
        f.write(data)


def assert_inputs_unchanged(what: str, given: dict, found: dict, names) -> None:
    """For a judge: the probe returned each input ``name`` as ``<name>_after``,
    the array the student's code got, as it was after the call; it must equal
    the input the grader made. (Compared here, not in the kernel, where
    ``np.array_equal`` may be patched.)"""
    for name in names:
        before, after = np.asarray(given[name]), found.get(f"{name}_after")
        if not isinstance(after, np.ndarray):
            raise AssertionError(f"{what}: the grader got no copy of the input {name} after the call")
        if after.shape != before.shape or after.dtype != before.dtype:
            change = f"from shape {before.shape}, {before.dtype} to {after.shape}, {after.dtype}"
        else:
            same = after == before
            if before.dtype.kind in "fc":       # nan stays nan
                same |= np.isnan(after) & np.isnan(before)
            if same.all():
                continue
            change = f"{same.size - int(same.sum())} of its {same.size} entries differ after the call"
        raise AssertionError(f"{what}: your code changed its input {name} in place ({change}); "
                             "leave the arrays you are given as they are and work on a copy.")
