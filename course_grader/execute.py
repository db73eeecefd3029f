"""Execute notebooks headless in a chosen run profile."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient



def tool_env(**overrides: str) -> dict[str, str]:
    """Environment for nbgrader and kernels: this interpreter's bin/ first on
    PATH (nbgrader's gradebook runs the `alembic` program found there) and the
    grading profile, whatever the caller's $COURSE_PROFILE says (a student's
    `full` must not reach the grader); ``overrides`` win over both."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["COURSE_PROFILE"] = "grading"
    env.update(overrides)
    return env


@dataclass(frozen=True)
class CellError:
    cell_id: str
    name: str      # exception class name, e.g. "NotImplementedError"
    message: str


def execute_notebook(path: Path, *, profile: str = "grading", timeout: int = 300,
                     allow_errors: bool = False, notebook: nbformat.NotebookNode | None = None,
                     ) -> tuple[nbformat.NotebookNode, list[CellError]]:
    """Run every cell of ``path`` (or of ``notebook``, a changed copy of it) in
    a fresh kernel, in the notebook's folder.

    With ``allow_errors=False`` the first failing cell raises
    ``nbclient.exceptions.CellExecutionError``; otherwise execution goes on and
    the errors are returned. A dying kernel always raises.
    Returns the executed notebook and the list of cell errors.
    """
    notebook = notebook if notebook is not None else nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            allow_errors=allow_errors,
                            resources={"metadata": {"path": str(Path(path).parent)}})
    client.execute(env=tool_env(COURSE_PROFILE=profile))  # passed on to the kernel
    return notebook, cell_errors(notebook)


def output_errors(cell) -> list[tuple[str, str]]:
    """(exception name, message) of every error output of one executed cell.
    Read with .get: the notebook may come from an untrusted kernel."""
    return [(str(out.get("ename", "")), str(out.get("evalue", "")))
            for out in cell.get("outputs", []) if out.get("output_type") == "error"]


def cell_errors(notebook: nbformat.NotebookNode) -> list[CellError]:
    """The errors recorded in the outputs of an executed notebook."""
    return [CellError(cell.get("id", "?"), name, message)
            for cell in notebook.cells if cell.cell_type == "code"
            for name, message in output_errors(cell)]
