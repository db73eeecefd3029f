"""Output limits, applied in the sandbox (to keep its file small) and again
in the parent (which must not trust the sandbox to have done it); and the
defaults of the sandbox's time and memory limits (`course autograde` options)."""
from __future__ import annotations

import json
import re

LIMIT_DEFAULTS = {"cell_timeout": 300.0, "notebook_limit": 1800.0, "memory": 4.0}   # s, s, GiB
MAX_OUTPUT_CHARS = 20_000     # per text output (stream, text/plain, error message)
MAX_OUTPUTS_PER_CELL = 50
MAX_TRACEBACK_LINES = 40
MAX_IMAGE_CHARS = 2_000_000   # base64 per image


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[output truncated by the grader: {len(text) - limit} more characters]\n"


def limit_outputs(notebook) -> int:
    """Truncate every code cell's outputs in place; returns how many were cut."""
    cut = 0
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        outputs = list(cell.get("outputs", []))
        if len(outputs) > MAX_OUTPUTS_PER_CELL:
            cut += len(outputs) - MAX_OUTPUTS_PER_CELL
            # Errors decide the score: never drop one while trimming.
            keep = outputs[:MAX_OUTPUTS_PER_CELL]
            keep += [o for o in outputs[MAX_OUTPUTS_PER_CELL:] if o.get("output_type") == "error"]
            outputs = keep
        for output in outputs:
            cut += _limit_output(output)
        cell["outputs"] = outputs
    return cut


def limit_arriving(outs: list, output, display_id=None) -> int:
    """Bound a running cell's outputs as each one arrives (a cell that floods
    stdout would otherwise hold everything in memory until it ends); returns
    how many were cut. Errors are always kept: they decide the score."""
    droppable = output.get("output_type") != "error" and display_id is None and outs and outs[-1] is output
    if len(outs) > MAX_OUTPUTS_PER_CELL and droppable:   # (a display may be updated later: kept)
        outs.pop()
        return 1
    return _limit_output(output)


def _limit_output(output) -> int:
    cut = 0
    if "text" in output:
        text = "".join(map(str, output["text"])) if isinstance(output["text"], list) else str(output["text"])
        output["text"] = _cut(text, MAX_OUTPUT_CHARS)
        cut += output["text"] != text
    for key, value in dict(output.get("data", {})).items():
        value = "".join(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else value
        limit = MAX_IMAGE_CHARS if key.startswith("image/") else MAX_OUTPUT_CHARS
        if isinstance(value, str) and len(value) > limit:
            output["data"][key] = (_cut(value, limit) if not key.startswith("image/")
                                   else "")
            cut += 1
    cut += _limit_structures(output)
    if output.get("output_type") == "error":
        for key in ("ename", "evalue"):
            output[key] = _cut(str(output.get(key, "")), MAX_OUTPUT_CHARS)
        traceback = list(output.get("traceback", []))
        if len(traceback) > MAX_TRACEBACK_LINES:
            output["traceback"] = traceback[:5] + ["[traceback truncated]"] + traceback[-20:]
            cut += 1
    return cut


# --- Round two (issue 26, item 6): a bounded executed notebook --------------------------
# Text was cut, but a display's JSON value (``display({'application/json': [[]] * 10**7},
# raw=True)``), an output's metadata and single traceback lines were not: ten million empty
# lists made a 114 MiB executed notebook, which the parent parsed into 2 GiB. The sandbox now
# cuts those too and keeps its whole notebook under EXECUTED_BUDGET; the parent, which does
# not trust it to, refuses before parsing anything larger than MAX_EXECUTED_BYTES or with
# more than MAX_JSON_CONTAINERS lists and objects (what parsing turns into Python objects).
MAX_TRACEBACK_LINE = 2_000
EXECUTED_BUDGET = 16 * 2**20            # the sandbox's executed notebook, serialized
MAX_EXECUTED_BYTES = 32 * 2**20         # what the parent parses
MAX_JSON_CONTAINERS = 200_000           # a course notebook has a few thousand
JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


def _limit_structures(output) -> int:
    """Cut JSON values (not text) of an output's data and its metadata; cut long
    traceback lines. Returns how many were cut."""
    cut = 0
    for key, value in dict(output.get("data", {})).items():
        if not isinstance(value, str) and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            size = len(json.dumps(value))
            if size > MAX_OUTPUT_CHARS:
                output["data"][key] = f"[output truncated by the grader: {size} characters of JSON]"
                cut += 1
    if output.get("metadata") and len(json.dumps(output["metadata"])) > MAX_OUTPUT_CHARS:
        output["metadata"] = {}
        cut += 1
    if output.get("output_type") == "error":
        lines = [str(line) for line in output.get("traceback", [])]
        output["traceback"] = [_cut(line, MAX_TRACEBACK_LINE) for line in lines]
        cut += sum(len(line) > MAX_TRACEBACK_LINE for line in lines)
    return cut


def fit_budget(notebook, budget: int = EXECUTED_BUDGET) -> str | None:
    """Keep the executed notebook under ``budget`` bytes (JSON): drop images, then
    every output but errors. Says what was dropped, or None."""
    import nbformat

    for what, keep in (("images", lambda key: not key.startswith("image/")), ("outputs", None)):
        if len(nbformat.writes(notebook)) <= budget:
            return None if what == "images" else "the executed notebook's images were dropped (too large)"
        for cell in notebook.cells:
            if cell.get("cell_type") != "code":
                continue
            if keep is None:
                cell["outputs"] = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            else:
                for output in cell.get("outputs", []):
                    if "data" in output:
                        output["data"] = {k: v for k, v in output["data"].items() if keep(k)} or \
                            {"text/plain": "[image dropped by the grader]"}
    return "the executed notebook's outputs (other than errors) were dropped: they were too large"


def executed_refused(data: bytes) -> str | None:
    """Why the parent refuses to parse an executed notebook of ``data``, or None.
    Strings are left out before counting brackets, so text costs nothing here."""
    if len(data) > MAX_EXECUTED_BYTES:
        return f"the executed notebook has {len(data)} bytes, more than {MAX_EXECUTED_BYTES}"
    structure = JSON_STRING.sub(b"", data)
    containers = structure.count(b"[") + structure.count(b"{")
    if containers > MAX_JSON_CONTAINERS:
        return (f"the executed notebook holds {containers} JSON lists and objects, more than "
                f"{MAX_JSON_CONTAINERS}")
    return None
