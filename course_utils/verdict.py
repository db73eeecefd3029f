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
import os
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

NAME = re.compile(r"^[A-Za-z0-9_]{1,80}$")
TYPES_KEY = "__types__"
PLAIN_TYPES = {bool: "bool", int: "int", float: "float", str: "str"}
MAX_BYTES = 64 * 2**20
EXCHANGE_DIR = "verdict"       # in the sandbox's working directory
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


def encoded_inputs(check: Check) -> bytes:
    """The check's inputs, from a generator seeded by its name (same every run),
    encoded as they cross to the sandbox."""
    rng = np.random.default_rng(seed_of(check.name))
    made = check.inputs(rng) if check.inputs is not None else {}
    return encode(made, what=f"inputs of {check.name}")


def make_inputs(check: Check) -> dict:
    return decode(encoded_inputs(check))


def seed_of(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


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
    """The inverse of ``encode``; refuses pickled objects."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        types = json.loads(str(archive[TYPES_KEY][()]))
        values = {}
        for key, kind in types.items():
            array = archive[key]
            values[key] = array[()].item() if kind in PLAIN_TYPES.values() else \
                array[()] if kind == "numpy_scalar" else array
    return values


def exchange_path(name: str, kind: str) -> str:
    """in, out: .npz files; err: what the probe raised, as text."""
    return os.path.join(EXCHANGE_DIR, f"{name}.{kind}.{'txt' if kind == 'err' else 'npz'}")


def run_probe(name: str, probe: Callable) -> None:
    """The grader's side of a hidden check, in the student's kernel: read the
    inputs the grader wrote, run the probe, write its outputs for the grader.
    An error in the student's code is written down for the grader (and
    printed) and the cell goes on with the next check.
    """
    try:
        with open(exchange_path(name, "in"), "rb") as f:
            given = decode(f.read())
        data = encode(call_probe(probe, given), what=f"outputs of {name}")
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        print(f"check {name}: {message}")
        with open(exchange_path(name, "err"), "w") as f:
            f.write(message[:2000])
        return
    with open(exchange_path(name, "out"), "wb") as f:
        f.write(data)
