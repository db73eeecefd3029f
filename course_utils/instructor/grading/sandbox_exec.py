"""The sandboxed child: ``python -m course_utils.instructor.grading.sandbox_exec IN OUT``.

Runs as the unprivileged sandbox user in a directory holding only IN. It
reads IN, deletes it (the kernel need not find the hidden tests on disk),
executes it cell by cell with nbclient under a per-cell and a whole-notebook
time limit, and writes the executed notebook to OUT and what happened to
OUT + ".status.json". Nothing here is trusted by the parent beyond
"these are the outputs": the parent scores them itself.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from .limits import limit_outputs


def run(notebook, *, cell_timeout: float, notebook_limit: float, cwd: str) -> dict:
    status = {"stopped_at": None, "reason": None, "events": []}
    deadline = time.monotonic() + notebook_limit
    client = NotebookClient(notebook, timeout=int(cell_timeout), kernel_name="python3",
                            allow_errors=True, interrupt_on_timeout=True,
                            record_timing=False, resources={"metadata": {"path": cwd}})
    with client.setup_kernel(env=dict(os.environ)):
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 1:
                status.update(stopped_at=index, reason="time limit for the whole notebook "
                              f"({notebook_limit:g} s) reached; later cells were not run")
                break
            client.timeout = max(1, int(min(cell_timeout, remaining)))
            started = time.monotonic()
            try:
                client.execute_cell(cell, index)
            except DeadKernelError:
                status.update(stopped_at=index, reason=f"the kernel died in cell {index} "
                              "(e.g. os._exit, a crash or the memory limit); later cells were not run")
                break
            except CellTimeoutError:
                status.update(stopped_at=index, reason=f"cell {index} ran past its time limit "
                              "and could not be interrupted; later cells were not run")
                break
            if time.monotonic() - started >= client.timeout:
                status["events"].append(f"cell {index} was interrupted after its time limit "
                                        f"({client.timeout} s)")
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--cell-timeout", type=float, default=300)
    parser.add_argument("--notebook-limit", type=float, default=1800)
    args = parser.parse_args(argv)
    notebook = nbformat.read(args.input, as_version=4)
    os.unlink(args.input)
    cwd = os.path.dirname(os.path.abspath(args.output))
    try:
        status = run(notebook, cell_timeout=args.cell_timeout,
                     notebook_limit=args.notebook_limit, cwd=cwd)
    except Exception as error:  # the kernel could not start, or nbclient broke
        status = {"stopped_at": 0, "reason": f"execution failed: {type(error).__name__}: "
                  f"{str(error)[:500]}", "events": []}
    status["truncated_outputs"] = limit_outputs(notebook)
    nbformat.write(notebook, args.output)
    with open(args.output + ".status.json", "w") as f:
        json.dump(status, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
