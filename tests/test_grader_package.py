"""Two packages (issue 23): ``course_utils`` is what students import, ``course_grader``
the instructor's grader. The only code both use is ``course_utils.verdict``; the
grader imports it, never the reverse; no import cycle; the sandbox sees the grader's
child (sandbox.RUNNER) and no other grader code."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_grader.course import REPO
from course_grader.grading import sandbox

STUDENT, GRADER = REPO / "course_utils", REPO / "course_grader"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of its code, relative imports resolved.
    ``from package import name`` counts as package.name when that is a module."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            found.add(name)
            for alias in node.names:
                candidate = REPO / Path(*f"{name}.{alias.name}".split("."))
                if candidate.with_suffix(".py").exists() or (candidate / "__init__.py").exists():
                    found.add(f"{name}.{alias.name}")
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    return {module_name(p): imported_modules(p) for p in sorted(root.rglob("*.py"))}


def test_importing_course_utils_does_not_import_the_grader():
    code = ("import importlib, pkgutil, sys, course_utils\n"
            "for info in pkgutil.walk_packages(course_utils.__path__, 'course_utils.'):\n"
            "    importlib.import_module(info.name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('course_grader', 'nbgrader', 'dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]", f"importing every course_utils module imported {out.stdout.strip()}"
    students = {m for modules in import_graph(STUDENT).values() for m in modules}
    assert not {m for m in students if m.split(".")[0] == "course_grader"}


def test_the_grader_uses_only_the_verdict_protocol_of_the_student_package():
    uses = {(module, m) for module, modules in import_graph(GRADER).items() for m in modules
            if m.split(".")[0] == "course_utils"}
    assert uses, "the grader should import course_utils.verdict (the test reads no imports?)"
    assert {m for _, m in uses} == {"course_utils.verdict"}, sorted(uses)


@pytest.mark.parametrize("root", [STUDENT, GRADER], ids=["course_utils", "course_grader"])
def test_no_import_cycle(root):
    graph = import_graph(root)
    inside = {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}

    def visit(module, path):
        for dep in inside[module]:
            assert dep not in path, f"import cycle: {' -> '.join(path[path.index(dep):] + [dep])}"
            visit(dep, path + [dep])
    for module in inside:
        visit(module, [module])


def test_the_sandbox_runner_is_self_contained():
    """What sandbox_exec imports of the grader, at any depth, is in RUNNER (else the
    sandboxed child could not start, since nothing else of the grader is mounted)."""
    graph = import_graph(GRADER)
    needed, todo = set(), ["course_grader.grading.sandbox_exec"]
    while todo:
        module = todo.pop()
        if module in needed:
            continue
        needed.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]   # its packages' __init__
        todo += [d for d in graph[module] if d in graph]
    def file_of(module: str) -> str:
        path = Path(*module.split(".")[1:])
        return str(path / "__init__.py") if (GRADER / path).is_dir() else str(path.with_suffix(".py"))
    assert {file_of(m) for m in needed} == set(sandbox.RUNNER)


@pytest.mark.skipif(os.geteuid() != 0 or sandbox.isolation() != "root", reason="the sandbox needs root and bwrap")
def test_the_sandbox_sees_the_runner_and_no_other_grader_file():
    listing = ("import os, json\n"
               "print('FILES ' + json.dumps(sorted(os.path.relpath(os.path.join(d, f), '/opt/course/course_grader')\n"
               "      for d, _, fs in os.walk('/opt/course/course_grader') for f in fs)))")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(listing)])
    result = sandbox.run_sandboxed(notebook, sandbox.Limits(60, 120))
    text = "".join(o.get("text", "") for c in result.notebook["cells"] for o in c.get("outputs", []))
    assert json.loads(text.split("FILES ", 1)[1]) == sorted(sandbox.RUNNER)
