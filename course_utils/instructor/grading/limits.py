"""Output limits, applied in the sandbox (to keep its file small) and again
in the parent (which must not trust the sandbox to have done it)."""
from __future__ import annotations

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
        text = "".join(output["text"]) if isinstance(output["text"], list) else str(output["text"])
        output["text"] = _cut(text, MAX_OUTPUT_CHARS)
        cut += output["text"] != text
    for key, value in dict(output.get("data", {})).items():
        value = "".join(value) if isinstance(value, list) else value
        limit = MAX_IMAGE_CHARS if key.startswith("image/") else MAX_OUTPUT_CHARS
        if isinstance(value, str) and len(value) > limit:
            output["data"][key] = (_cut(value, limit) if not key.startswith("image/")
                                   else "")
            cut += 1
    if output.get("output_type") == "error":
        for key in ("ename", "evalue"):
            output[key] = _cut(str(output.get(key, "")), MAX_OUTPUT_CHARS)
        traceback = list(output.get("traceback", []))
        if len(traceback) > MAX_TRACEBACK_LINES:
            output["traceback"] = traceback[:5] + ["[traceback truncated]"] + traceback[-20:]
            cut += 1
    return cut
