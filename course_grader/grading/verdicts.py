"""The grader's side of hidden checks (``course_utils.verdict``): inputs made
and verdicts computed here, in the trusted parent; only the probes run in the
student's kernel.

For each hidden test cell the instructor wrote, ``read_checks`` executes the
cell here with ``hidden_check`` collecting instead of running, and writes the
cell the sandbox runs instead: one function holding the cell's imports, its
probe functions and one ``run_probes`` call for its checks, called once and deleted.
The judges and any reference code in the cell never enter the student's kernel.
"""
from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import hashlib
import hmac
import inspect
import json
import linecache
import re
import secrets
import symtable
import textwrap
import threading
from dataclasses import dataclass

import numpy as np

import course_utils.verdict as verdict
from course_utils.verdict import SEAL_FILE, Check, code_digest, decode, describe_object, encoded_inputs, exchange_path
from .safe_text import UNSAFE

MAX_MESSAGE = 600           # the instructor's judge's own message (trusted)
MAX_RAISED = 160            # what the student's code raised (untrusted): first line only
EXCEPTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,80}$")


@dataclass
class CellChecks:
    checks: list[Check]
    kernel_source: str          # what the sandbox runs in place of the cell


class HiddenCheckError(ValueError):
    """A hidden test cell that cannot be graded in the trusted way."""


def read_checks(source: str, label: str, namespace: dict,
                student_names: set[str] | None = None) -> CellChecks:
    """The checks a hidden test cell declares (run here, collecting only).
    ``namespace`` is shared by a notebook's hidden cells, in order, so a cell
    may reuse what an earlier hidden cell defined, as it can in the kernel.
    ``student_names``: what the answer cells define (see ``kernel_source``)."""
    filename = f"<hidden-test {label}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    collected: list[Check] = []
    verdict._collecting = collected
    try:
        exec(compile(source, filename, "exec"), namespace)
    except Exception as error:
        raise HiddenCheckError(f"hidden test cell {label!r} cannot run outside the kernel "
                               f"({type(error).__name__}: {error}); it must import what it "
                               "uses and only call student code inside its probes") from error
    finally:
        verdict._collecting = None
    if not collected:
        return CellChecks([], source)
    names = [c.name for c in collected]
    if len(set(names)) != len(names):
        raise HiddenCheckError(f"hidden test cell {label!r} repeats a check name: {names}")
    code = kernel_source(source, collected, namespace, label, student_names)
    expected = probe_identities(code, namespace)
    return CellChecks([dataclasses.replace(c, identity=expected[c.probe.__name__]) for c in collected], code)


def kernel_source(source: str, checks: list[Check], namespace: dict, label: str,
                  student_names: set[str] | None = None) -> str:
    """What the sandbox runs in place of the cell: one function holding the
    cell's imports, its probes and one ``run_probes`` of its checks, called once and
    deleted. Imports and probes are its locals, which the probes see by
    closure, so the cell neither rebinds a student's name (a helper called
    ``partial``) nor relies on one (``np = None``); the probes find the
    student's functions as globals. Given ``student_names``, a probe that uses
    any other global name (neither imported in the cell nor a builtin) is
    refused: in the kernel it would be whatever the student made of it."""
    probes = cell_probes(checks, namespace, label)
    wrapper = "_hidden_" + re.sub(r"\W", "_", label)
    body = ["from course_utils.verdict import run_probes", *cell_imports(source), "",
            *(textwrap.dedent(inspect.getsource(p)) for p in probes.values()),
            "run_probes([", *(f"    ({c.name!r}, {c.probe.__name__})," for c in checks), "])"]
    code = "\n".join(["# Hidden tests run when your notebook is graded; the grader judges the results.",
                      f"def {wrapper}():", textwrap.indent("\n".join(body), "    "), "",
                      "try:", f"    {wrapper}()", "finally:", f"    del {wrapper}", ""])
    try:
        used = probe_globals(code, wrapper)
    except SyntaxError as error:   # e.g. `from x import *`, which a function cannot hold
        raise HiddenCheckError(f"hidden test cell {label!r}: its imports and probes cannot run "
                               f"inside a function ({error.msg})") from error
    if student_names is not None:
        allowed = set(dir(builtins)) | set(student_names)
        for probe, names in used.items():
            unknown = sorted(names - allowed)
            if unknown:
                raise HiddenCheckError(
                    f"hidden test cell {label!r}: the probe {probe} uses {', '.join(unknown)}, which "
                    "the cell does not import, is not a builtin and no answer cell defines; import "
                    "it in the cell (a probe sees only the cell's imports, builtins and the "
                    "student's names)")
    return code


def probe_identities(code: str, namespace: dict) -> dict[str, str]:
    """Each probe's identity as the sealed runner reports it (``verdict.seal``):
    the digest of its code as compiled from ``code`` (the kernel source) and what
    its closure holds (the cell's imports, as imported here)."""
    (wrapper,) = [c for c in compile(code, "<hidden test>", "exec").co_consts if hasattr(c, "co_code")]
    codes = {c.co_name: c for c in wrapper.co_consts if hasattr(c, "co_code")}

    def identity(function_code, depth=0) -> str:
        parts = [code_digest(function_code)]
        for name in function_code.co_freevars:
            if name in codes:
                inner = f"function({identity(codes[name], depth + 1)})" if depth < 3 else "function"
                parts.append(f"{name}={inner}")
            else:
                parts.append(f"{name}={describe_object(namespace[name])}")
        return " ".join(parts)
    return {name: identity(c) for name, c in codes.items()}


# ast.parse is not thread-safe in CPython 3.11 (gh-106905: its recursion bookkeeping is
# shared, so two threads parsing at once raise "SystemError: AST constructor recursion depth
# mismatch"); a grading run prepares and judges students in threads.
_AST_LOCK = threading.Lock()


def parse(source: str) -> ast.Module:
    """``ast.parse``, one thread at a time."""
    with _AST_LOCK:
        return ast.parse(source)


def seal_settings(sources: list[str]) -> bytes:
    """The seal file for the sandbox (``verdict.seal``): a fresh key, and the modules
    the hidden cells import, sealed with the rest before any student cell."""
    modules = sorted({name for source in sources for node in parse(source).body
                      if isinstance(node, (ast.Import, ast.ImportFrom))
                      for name in ([a.name for a in node.names] if isinstance(node, ast.Import)
                                   else [node.module] if node.module and not node.level else [])})
    return json.dumps({"key": secrets.token_hex(32), "modules": modules}).encode()


def cell_imports(source: str) -> list[str]:
    return [ast.get_source_segment(source, node) for node in parse(source).body
            if isinstance(node, (ast.Import, ast.ImportFrom))]


def cell_probes(checks: list[Check], namespace: dict, label: str) -> dict[str, object]:
    """The checks' probe functions by name, each once."""
    probes: dict[str, object] = {}
    for check in checks:
        probe = check.probe
        name = getattr(probe, "__name__", "")
        if namespace.get(name) is not probe or probe.__qualname__ != name:
            raise HiddenCheckError(f"check {check.name!r} in {label!r}: the probe must be a "
                                   "function defined with def at the top level of the cell")
        if probe.__defaults__ is not None or probe.__kwdefaults__ is not None:
            # the sealed runner cannot tell the cell's defaults from ones a kernel rewrote
            raise HiddenCheckError(f"check {check.name!r} in {label!r}: the probe {name} has default "
                                   "arguments; give every value through the check's inputs instead")
        if probes.setdefault(name, probe) is not probe:
            raise HiddenCheckError(f"{label!r} defines two different probes named {name!r}")
    return probes


def probe_globals(code: str, wrapper: str) -> dict[str, set[str]]:
    """The global names each function defined in ``wrapper`` (a probe) uses,
    counting the functions, lambdas and comprehensions inside it."""
    top = symtable.symtable(code, "<hidden test>", "exec")
    (function,) = [t for t in top.get_children() if t.get_name() == wrapper]
    return {probe.get_name(): set(_global_names(probe)) for probe in function.get_children()}


def _global_names(table: symtable.SymbolTable):
    for symbol in table.get_symbols():
        if symbol.is_global() and symbol.is_referenced():
            yield symbol.get_name()
    for child in table.get_children():
        yield from _global_names(child)


def bound_names(source: str, defs_only: bool = False) -> set[str]:
    """Names a cell binds at its top level (defs and classes; unless
    ``defs_only``, also imports and assignments)."""
    try:
        tree = parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif defs_only:
            continue
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def check_no_shadowing(hidden_sources: dict[str, str], answer_sources: list[str]) -> None:
    """A hidden cell must not rebind a name the student defines: run whole in
    the kernel (a notebook run, plain nbgrader) it would replace the student's
    function for every later cell and check. (``course autograde`` runs it
    inside a function, see ``kernel_source``.)"""
    answers = {name for source in answer_sources for name in bound_names(source, defs_only=True)}
    for label, source in hidden_sources.items():
        clash = bound_names(source) & answers
        if clash:
            raise HiddenCheckError(f"hidden test cell {label!r} rebinds {sorted(clash)}, which "
                                   "the student defines; import or name them differently")


def inputs_files(checks: list[Check], secret: str = "") -> dict[str, bytes]:
    """What the sandbox gets: one encoded inputs file per check."""
    return {exchange_path(c.name, "in"): encoded_inputs(c, secret) for c in checks}


def result_files(checks: list[Check]) -> list[str]:
    """The files a probe may leave for the grader: its outputs or its error."""
    return [exchange_path(c.name, kind) for c in checks for kind in ("out", "err", "seal")]


@functools.lru_cache(maxsize=4096)
def _inputs(data: bytes) -> dict:
    return decode(data)


def decoded_inputs(data: bytes) -> dict:
    """The grader's own inputs file, decoded once per grading run (every submission gets
    the same ones); a copy of each array for each judge, which may change what it gets."""
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in _inputs(data).items()}


def judge(check: Check, files: dict[str, bytes]) -> str | None:
    """None if the check passes, else what is wrong, in words. ``files``: the
    inputs files the grader wrote (``inputs_files``) and what came back from
    the sandbox."""
    output = files.get(exchange_path(check.name, "out"))
    error = files.get(exchange_path(check.name, "err"))
    error = None if error is None else error[:2000].decode("utf-8", "replace")
    if output is None:
        if error:
            return f"check {check.name}: your code raised {raised(error)}"
        return (f"check {check.name}: no result reached the grader (the cell did not run "
                "to the end)")
    if len(output) > verdict.MAX_BYTES:
        return f"check {check.name}: the result is larger than {verdict.MAX_BYTES} bytes"
    try:
        found = decode(output)
    except Exception as error:
        return f"check {check.name}: the result is not plain numbers ({type(error).__name__})"
    unsealed = seal_problem(check, files, output)
    if unsealed:
        return f"check {check.name}: {unsealed}"
    try:
        check.judge(decoded_inputs(files[exchange_path(check.name, "in")]), found)
    except Exception as error:   # the judge's message is the feedback
        return f"check {check.name}: {(str(error) or type(error).__name__)[:MAX_MESSAGE]}"
    return None


SEAL_PATH = f"{verdict.EXCHANGE_DIR}/{SEAL_FILE}"


def seal_problem(check: Check, files: dict[str, bytes], output: bytes) -> str | None:
    """None if ``output`` came from the sealed runner running this check's own probe
    with nothing replaced while it ran (``verdict.seal``), else why it does not count.
    Without a seal file among ``files`` (a run outside the grader's sandbox) there is
    nothing to verify."""
    if SEAL_PATH not in files:
        return None
    try:
        key = bytes.fromhex(json.loads(files[SEAL_PATH])["key"])
        sealed = json.loads(files.get(exchange_path(check.name, "seal"), b"")[:20_000])
        record, mac = str(sealed["record"]), str(sealed["mac"])
        signed = hmac.compare_digest(hmac.new(key, f"{check.name}\n{record}".encode(), "sha256").hexdigest(), mac)
        record = json.loads(record) if signed else {}
    except (ValueError, KeyError, TypeError):
        signed, record = False, {}
    if not signed or record.get("output") != hashlib.sha256(output).hexdigest():
        return ("its result did not come from the grader's sealed probe runner (code in the notebook "
                "replaced or bypassed the grader's machinery), so it does not count")
    findings = [str(f)[:200] for f in record.get("findings", [])][:3]
    if findings:
        return ("the grader's functions were tampered with while your code ran: " + "; ".join(findings)
                + ". Results obtained that way do not count; leave numpy, the course's modules and "
                "Python's own functions as they are.")
    if check.identity and record.get("identity") != check.identity:
        return ("the probe that ran is not the grader's (its code or its imports were changed in the "
                "kernel), so its result does not count")
    return None


def raised(error: str) -> str:
    """What the student's code raised, as the feedback shows it: the exception's
    name and the first line of its message, short and without control
    characters. The message is the student's (it can carry any file the
    kernel could read), so no more of it is copied."""
    name, _, message = error.partition(": ")
    if not EXCEPTION_NAME.match(name):
        name, message = "an error", error
    lines = message.strip().splitlines()
    first = UNSAFE.sub("", lines[0] if lines else "").strip()
    if len(first) > MAX_RAISED:
        first = first[:MAX_RAISED - 3] + "..."
    return f"{name}: {first}" if first else name
