"""Run a notebook's cells one at a time in this process, so that one expensive
execution can be followed by many cheap experiments: replace an exercise's
solution cell with a buggy (or an alternative) version, rerun that exercise's
test cells, restore it. The grading-catalogue tests are built on this.

Cells are executed with ``exec`` in a shared namespace, like a kernel would;
course notebooks contain no IPython magics.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path


class NotebookCells:
    """The code cells of a notebook, by cell id, executed in one namespace."""

    def __init__(self, path: Path):
        self.path = Path(path)
        cells = json.loads(self.path.read_text())["cells"]
        self.order = [c["id"] for c in cells if c["cell_type"] == "code"]
        self.source = {c["id"]: "".join(c["source"]) for c in cells if c["cell_type"] == "code"}
        self.namespace: dict = {"__name__": "__main__"}

    def run(self, cell_id: str, source: str | None = None) -> BaseException | None:
        """Execute a cell (or ``source`` in its place); return the exception it
        raised, or None."""
        if cell_id not in self.source:
            raise KeyError(f"{self.path.name} has no code cell {cell_id!r}")
        code = compile(self.source[cell_id] if source is None else source,
                       f"<{self.path.stem}:{cell_id}>", "exec")
        with _in_folder(self.path.parent):
            try:
                exec(code, self.namespace)
            except Exception as error:  # noqa: BLE001 (a cell may raise anything)
                return error
        return None

    def run_all(self) -> dict[str, BaseException]:
        """Execute every code cell in order; return the errors by cell id."""
        errors = {}
        for cell_id in self.order:
            error = self.run(cell_id)
            if error is not None:
                errors[cell_id] = error
        return errors


@contextmanager
def _in_folder(folder: Path):
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)
