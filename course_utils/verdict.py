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
import struct
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
    identity: str = ""          # the probe's, as the sealed runner reports it (grading/verdicts.py)


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
    would make it inflate or allocate more than ``data`` holds."""
    arrays = read_archive(data)
    if TYPES_KEY not in arrays:
        raise ValueError(f"the archive has no {TYPES_KEY} member")
    types = json.loads(str(arrays.pop(TYPES_KEY)[()]))
    values = {}
    for key, kind in types.items():
        array = arrays[key]
        values[key] = array[()].item() if kind in PLAIN_TYPES.values() else \
            array[()] if kind == "numpy_scalar" else array
    return values


def check_archive(data: bytes) -> None:
    """Raise ValueError unless ``data`` is an .npz that ``encode`` could have made."""
    read_archive(data)


# The header np.savez writes for an array of numbers or text; any other header is not
# from ``encode`` (numpy's own reader evaluates the header as a literal: 30 times slower).
NPY_HEADER = re.compile(r"\{'descr': '([<>|=]?[biufcU]\d+)', 'fortran_order': (False|True), "
                        r"'shape': \((|\d+,|\d+(?:, \d+)+)\), \} *\n")
NPY_MAGIC = {b"\x93NUMPY\x01\x00": (10, "<H"), b"\x93NUMPY\x02\x00": (12, "<I")}


def read_archive(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of an .npz that ``encode`` could have made, each read once: at most
    MAX_BYTES and MAX_MEMBERS, every member stored (``np.savez`` never compresses, and a
    compressed member can inflate a thousandfold), an array of numbers or text whose
    header declares exactly the bytes the member holds. Else ValueError."""
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
        arrays = {}
        for member in members:
            if not member.filename.endswith(".npy"):
                raise ValueError(f"member {member.filename[:80]!r} is not an .npy array")
            arrays[member.filename[:-4]] = _read_member(member.filename[:80], archive.read(member))
        return arrays


def _read_member(name: str, raw: bytes) -> np.ndarray:
    start, size_format = NPY_MAGIC.get(raw[:8], (None, None))
    if start is None:
        raise ValueError(f"member {name!r} has no valid .npy header (magic {raw[:8]!r})")
    (length,) = struct.unpack(size_format, raw[8:start])
    header = NPY_HEADER.fullmatch(raw[start:start + length].decode("latin1"))
    if header is None:
        raise ValueError(f"member {name!r} has no valid .npy header: expected numbers (or text) "
                         "under the header np.savez writes")
    descr, fortran, dims = header.groups()
    dtype, shape = np.dtype(descr), tuple(int(d) for d in dims.split(",") if d.strip())
    payload = raw[start + length:]
    needed = math.prod(shape) * dtype.itemsize
    if dtype.itemsize == 0 or needed != len(payload):
        raise ValueError(f"member {name!r} declares {needed} bytes of data "
                         f"(shape {shape}, dtype {dtype}) but holds {len(payload)}")
    return np.frombuffer(payload, dtype=dtype).reshape(shape, order="F" if fortran == "True" else "C").copy()


def exchange_path(name: str, kind: str) -> str:
    """in, out: .npz files; err: what the probe raised, as text; seal: the sealed
    runner's signed record (see ``seal``)."""
    suffix = {"err": "txt", "seal": "json"}.get(kind, "npz")
    return os.path.join(EXCHANGE_DIR, f"{name}.{kind}.{suffix}")


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
    printed) and the cell goes on with the next check. In the grader's
    sandbox, the sealed runner does all this (see ``seal``).
    """
    if _run_sealed is not None:
        _run_sealed([(name, probe)])
        return
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


def run_probes(checks: list) -> None:
    """``run_probe`` for each (name, probe) of a hidden cell, in order (sealed: as one
    batch, see ``seal``)."""
    if _run_sealed is not None:
        _run_sealed(checks)
        return
    for name, probe in checks:
        run_probe(name, probe)


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



# --- Round two: the sealed probe runner (issue 26, item 1) --------------------------------
#
# The kernel is the student's: any Python object in it can be replaced by a cell that runs
# before a hidden cell (``verdict.call_probe`` wrapped so that the probe gets copies,
# ``np.savez`` or ``builtins.len`` patched, an IPython input transformer that rewrites the
# probe). So in the grader a probe's result counts only if it comes from the *sealed
# runner*: closures that ``seal()`` makes before any student cell runs, which look up
# nothing by name when they run. For each check it
#
# - puts back, while the probe runs, every function, class and module that the guarded
#   modules (GUARDED_ROOTS, and those the hidden cells import) held when it was sealed,
#   the code and defaults of every Python function among them, and their classes'
#   methods; the student's versions come back after the check, so the notebook's own
#   cells run as the student wrote them;
# - records anything replaced *while* the probe ran (by the student's code it called), a
#   trace or profile function, and the probe's identity (a digest of its code and what its
#   closure holds);
# - signs that record and the probe's output with a key only it holds (read from the
#   exchange folder, then removed, before any student cell).
#
# The grader (grading/verdicts.py) counts an output only with a valid signature, the
# identity it computed from the kernel source it wrote itself, and nothing replaced.

SEAL_FILE = "seal.json"          # in EXCHANGE_DIR: {"key": hex, "modules": [...]}; removed by seal()
GUARDED_ROOTS = ("builtins", "numpy", "course_utils", "io", "_io", "zipfile", "json", "_json", "os",
                 "posixpath", "stat", "struct", "_struct", "binascii", "zlib", "ast", "math", "functools",
                 "_functools", "itertools", "operator", "_operator", "collections", "_collections",
                 "copy", "types", "contextlib", "hashlib", "_hashlib")
_IMMUTABLE_TYPE = 1 << 8         # Py_TPFLAGS_IMMUTABLETYPE: a C type nobody can patch
_MISSING = object()
_run_sealed: Callable | None = None


def seal_path() -> str:
    return os.path.join(os.environ.get(VERDICT_DIR_ENV) or EXCHANGE_DIR, SEAL_FILE)


def seal() -> bool:
    """Called in the kernel by the sandbox before the notebook's first cell: bind the
    sealed runner (see above). False if there is nothing to seal with."""
    global _run_sealed
    try:
        with open(seal_path()) as f:
            settings = json.load(f)
    except OSError:
        return False
    os.unlink(seal_path())
    import importlib
    import warnings
    with warnings.catch_warnings():     # e.g. torch's deprecated names, touched while sealing
        warnings.simplefilter("ignore")
        for name in settings.get("modules", []):
            try:
                importlib.import_module(name)
            except Exception:       # noqa: BLE001 (the hidden cell says what fails)
                pass
        roots = set(GUARDED_ROOTS) | {name.split(".")[0] for name in settings.get("modules", [])}
        _run_sealed = _sealed_runner(bytes.fromhex(settings["key"]), roots)
    return True


def code_digest(code) -> str:
    """What a probe's code does, not where it was written: no file name, no line
    numbers, no __future__ flags (a student's ``from __future__ import annotations``
    changes how IPython compiles later cells)."""
    return hashlib.sha256(repr(_code_parts(code)).encode()).hexdigest()[:32]


def _code_parts(code) -> tuple:
    consts = tuple(_code_parts(c) if hasattr(c, "co_code") else
                   ("frozenset", tuple(sorted(map(repr, c)))) if isinstance(c, frozenset) else
                   (type(c).__name__, repr(c)) for c in code.co_consts)
    return (code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount, code.co_flags & 0x3FF,
            code.co_code, code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars, consts)


def describe_object(value) -> str:
    """How a probe's closure value is named in its identity (kernel and grader alike)."""
    import types
    if isinstance(value, types.ModuleType):
        return f"module {value.__name__}"
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", "?")
    return f"{getattr(value, '__module__', '?')}.{name}"


def _watch(modules: dict) -> list[tuple]:
    """What the sealed runner puts back: (label, read(keys) -> values, write(key, value),
    keys, sealed values) for each guarded module's functions, classes and submodules,
    the methods of its Python classes, its functions' code and defaults, and
    sys.modules. Every name the closures use is bound here, at seal time."""
    import gc
    import sys
    import types
    from itertools import repeat
    from operator import attrgetter

    list_, map_, setattr_, missing = list, map, setattr, _MISSING
    errors = (AttributeError, TypeError)

    def strict(module_name) -> bool:     # see _sealed_runner.run
        return str(module_name).split(".")[0] in GUARDED_ROOTS

    def mapping(label, target, keys, write, module_name):
        get = target.get
        return (label, lambda ks: list_(map_(get, ks, repeat(missing))), write, keys,
                [target.get(k) for k in keys], strict(module_name))

    def dict_writer(d):
        def write(k, v):
            if v is missing:
                d.pop(k, None)
            else:
                d[k] = v
        return write

    def class_writer(cls, setter=type.__setattr__, deleter=type.__delattr__):
        def write(k, v):
            try:
                deleter(cls, k) if v is missing else setter(cls, k, v)
            except errors:
                pass
        return write

    def attribute(label, name, functions, is_strict):
        get = attrgetter(name)
        return (label, lambda fs: list_(map_(get, fs)), lambda f, v: setattr_(f, name, v), functions,
                [get(f) for f in functions], is_strict)

    watched, classes, functions = [], {}, {}
    for name, module in modules.items():
        d = vars(module)
        keys = [k for k, v in d.items() if isinstance(k, str) and (callable(v) or isinstance(v, types.ModuleType))]
        watched.append(mapping(name, d, keys, dict_writer(d), name))
        for v in d.values():
            if isinstance(v, type) and not v.__flags__ & _IMMUTABLE_TYPE:
                classes[id(v)] = v
            elif isinstance(v, types.FunctionType):
                functions[id(v)] = v
    for cls in classes.values():
        proxy = vars(cls)
        keys = [k for k, v in proxy.items() if callable(v) or isinstance(v, (property, classmethod, staticmethod))]
        for v in proxy.values():
            v = getattr(v, "__func__", v)
            if isinstance(v, types.FunctionType):
                functions[id(v)] = v
        # read through the class's own dict (a mappingproxy's get is 20 times slower); written
        # through type.__setattr__, which keeps the type's caches right
        (own,) = [d for d in gc.get_referents(proxy) if isinstance(d, dict)] or [proxy]
        watched.append(mapping(f"{cls.__module__}.{cls.__qualname__}", own, keys, class_writer(cls), cls.__module__))
    for is_strict in (True, False):
        group = [f for f in functions.values() if strict(getattr(f, "__module__", "")) == is_strict]
        watched += [attribute("the code of", "__code__", group, is_strict),
                    attribute("the defaults of", "__defaults__", group, is_strict),
                    attribute("the keyword defaults of", "__kwdefaults__", group, is_strict)]
    for is_strict in (True, False):
        names = [name for name in modules if strict(name) == is_strict]
        watched.append(mapping("sys.modules", sys.modules, names, dict_writer(sys.modules), "builtins" if is_strict else "-"))
    return watched


def _sealed_runner(key: bytes, roots: set[str]) -> Callable:
    """The runner: closures over what they use, all bound now (see above)."""
    import builtins
    import sys
    import types
    from operator import is_

    import _hashlib

    modules = {name: module for name, module in list(sys.modules.items())
               if isinstance(module, types.ModuleType) and name.split(".")[0] in roots}
    watched = _watch(modules)
    sealed = {id(v): v for entry in watched for v in entry[4]}     # held: no id is reused
    builtins_dict, gettrace, getprofile = vars(builtins), sys.gettrace, sys.getprofile
    hmac, sha256, module_type, function_type = (_hashlib.hmac_digest, _hashlib.openssl_sha256,
                                                types.ModuleType, types.FunctionType)
    all_, map_, zip_, type_, str_, dict_, id_, getattr_, exception = (
        all, map, zip, type, str, dict, id, getattr, Exception)
    digest, describe, dumps, call, encode_, decode_, file_open = (
        code_digest, describe_object, json.dumps, call_probe, encode, decode, open)
    folder, exchange_name, basename = os.path.dirname(seal_path()), exchange_path, os.path.basename

    def path_of(name: str, kind: str) -> str:     # the folder as sealed, whatever os.environ says later
        return f"{folder}/{basename(exchange_name(name, kind))}"

    done: set[str] = set()

    def changed() -> list[tuple]:
        """(label, write, key, sealed value, current value, strict) for each entry not as sealed."""
        found = []
        for label, read, write, keys, values, strict in watched:
            current = read(keys)
            if not all_(map_(is_, current, values)):
                found += [(label, write, k, v, c, strict) for k, c, v in zip_(keys, current, values) if c is not v]
        return found

    def put(entries: list[tuple], which: int) -> None:
        for entry in entries:
            entry[1](entry[2], entry[which])

    def trace_set() -> list[str]:
        return ["a trace or profile function was set"] if gettrace() is not None or getprofile() is not None else []

    def identity(function, depth=0) -> str:
        if type_(function) is not function_type:
            return f"not a function: {type_(function).__name__}"
        parts = [digest(function.__code__)]
        for name, cell in zip_(function.__code__.co_freevars, function.__closure__ or ()):
            parts.append(f"{name}={kind_of(cell.cell_contents, depth)}")
        if function.__defaults__ is not None or function.__kwdefaults__ is not None:
            parts.append("defaults")
        if function.__builtins__ is not builtins_dict:
            parts.append("foreign builtins")
        return " ".join(parts)

    def kind_of(value, depth) -> str:
        if type_(value) is function_type and id_(value) not in sealed:
            return f"function({identity(value, depth + 1)})" if depth < 3 else "function"
        if id_(value) in sealed and (type_(value) is not module_type or modules.get(value.__name__) is value):
            return describe(value)
        return f"unsealed {type_(value).__name__}"

    def write_file(path, data: bytes) -> None:
        with file_open(path, "wb") as f:
            f.write(data)

    def run_one(name: str, probe) -> tuple:
        """(name, identity, output bytes, error) of one probe."""
        if name in done:
            return name, "", b"", f"RuntimeError: check {name} ran twice"
        done.add(name)
        who = identity(probe)
        try:
            with file_open(path_of(name, "in"), "rb") as f:
                found = call(probe, decode_(f.read()))
            # encoded now, before the next student code runs
            return name, who, encode_(dict_(found), what=f"outputs of {name}"), None
        except exception as raised:
            return name, who, b"", raised

    def run(checks: list) -> None:
        """A hidden cell's checks, with the sealed modules in place while they run."""
        student = changed()
        put(student, 3)
        results, seals = [], {}
        try:
            findings = trace_set()
            results = [run_one(name, probe) for name, probe in checks]
            during = changed()
            # Refused: what the guarded roots (numpy, builtins, course_utils, the stdlib the
            # exchange uses) held. Packages the hidden cells import (torch) change their own
            # classes on first use (an optimizer's step, cached properties): undone, not refused.
            findings += [(f"{label}.{k}" if type_(k) is str_ else f"{label} {getattr_(k, '__qualname__', '?')}")
                         + " was replaced while the checks ran"
                         for label, _, k, _, _, strict in during if strict][:3]
            put(during, 3)
            findings += [f for f in trace_set() if f not in findings]
            for name, who, data, error in results:
                if error is None or findings:
                    record = dumps({"identity": who, "findings": findings, "output": sha256(data).hexdigest()})
                    seals[name] = dumps({"record": record,
                                         "mac": hmac(key, f"{name}\n{record}".encode(), "sha256").hex()})
        finally:
            put(student, 4)              # the student's versions again
        for name, who, data, error in results:
            if error is not None:
                message = error if type_(error) is str_ else f"{type_(error).__name__}: {str_(error)}"
                write_file(path_of(name, "err"), message[:2000].encode())
            elif data:
                write_file(path_of(name, "out"), data)
            if name in seals:
                write_file(path_of(name, "seal"), seals[name].encode())

    return run
