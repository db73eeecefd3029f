"""What one submission costs apart from its own compute, this checkout beside a
baseline checkout (the grader before a change), side by side in one run.

    .venv/bin/python benchmarks/submission_cost.py --baseline DIR [--n 10]

DIR is another checkout of the course with its own .venv (e.g.
``git worktree add DIR <commit>`` and ``./setup.sh --install-only`` there). Both are
measured by this same script, run with each checkout's Python and code, in turns
(baseline, this, baseline, this, ...), so a load drifting during the run weighs on
both alike:

1. the fixed cost: an empty notebook (one ``pass`` cell) through ``run_sandboxed``
   (sandbox set-up, the child, the kernel's start and shutdown, teardown);
2. the parent's serial work per submission of notebook 02: prepare, judge and score,
   save (gradebook, notebook, record) -- it bounds how many workers one parent feeds.
   Where the checkout has judge processes (grading/judges.py, what a cluster run
   uses), also the parent's CPU time to score with them ("score_with_judge_processes":
   what stays in the parent when the judging runs beside it).

Medians of ``--n`` each. Prints one JSON object (benchmarks/grading_cluster.md records
a run). Not a timed test: this machine is shared and noisy.
"""
from __future__ import annotations

import argparse
import copy
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

A = "02_numpy_mlp"
ROUNDS = 2          # turns per checkout; each turn measures n / ROUNDS of each


def grader(name: str):
    """A grader module, where this checkout has it (course_grader, or the package's
    instructor/ before issue 23)."""
    for prefix in ("course_grader", "course_utils.instructor"):
        try:
            return importlib.import_module(f"{prefix}.{name}")
        except ModuleNotFoundError:
            continue
    raise ModuleNotFoundError(f"no grader module {name} in {os.getcwd()}")


def empty_notebook_seconds(n: int) -> list[float]:
    import nbformat
    sandbox = grader("grading.sandbox")
    times = []
    for _ in range(n):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
        start = time.perf_counter()
        result = sandbox.run_sandboxed(notebook, sandbox.Limits(300, 900))
        times.append(time.perf_counter() - start)
        assert result.notebook is not None, result.status
    return times


def parent_seconds(n: int) -> dict[str, list[float]]:
    """Prepare, judge + score and save of one solution of notebook 02, n times each."""
    import nbformat
    course, template_of = grader("course"), grader("grading.template")
    prepare, score, autograde = grader("grading.prepare"), grader("grading.score"), grader("grading.autograde")
    sandbox, verdicts = grader("grading.sandbox"), grader("grading.verdicts")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "course"
        course.ScratchCourse.create(root)
        template = template_of.load_templates(root, A, "benchmark-secret")[0]
        grader("grading.gradebook").register_assignment(root, [template])      # as autograde does first
        released = nbformat.read(course.REPO / "notebooks" / A / f"{A}.ipynb", as_version=4)
        solution = nbformat.read(course.REPO / "solutions" / A / f"{A}.ipynb", as_version=4)
        answers = {template_of.nbgrader_meta(c)["grade_id"]: c.source for c in solution.cells
                   if template_of.is_solution(c) and c.cell_type == "code"}
        for cell in released.cells:
            cell.source = answers.get(template_of.nbgrader_meta(cell).get("grade_id"), cell.source)
        path = root / "submitted" / "s000" / A / f"{A}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(released, path)
        checks = [c for cell in template.hidden.values() for c in cell.checks]
        prepared = prepare.prepare(path, template)
        executed = sandbox.run_sandboxed(prepared.notebook, sandbox.Limits(300, 900), template.exchange,
                                         verdicts.result_files(checks))
        out = {"prepare": [], "judge": [], "save": []}
        for _ in range(n):
            out["prepare"].append(timed(prepare.prepare, path, template))
            out["judge"].append(timed(score.score, copy.deepcopy(executed.notebook), template, None, executed.files))
        if hasattr(score, "judge_cells"):          # judge processes (issue 23)
            pool = grader("grading.judges").JudgePool(root, A, "benchmark-secret", [template], 1)
            score.score(executed.notebook, template, None, executed.files, judges=pool)   # started, loaded
            out["score_with_judge_processes"] = [
                parent_cpu(score.score, copy.deepcopy(executed.notebook), template, None, executed.files, None, pool)
                for _ in range(n)]
            pool.close()
        result = autograde.StudentResult("s000", [autograde.NotebookResult(
            A, score.score(executed.notebook, template, None, executed.files), executed=executed.notebook)],
            "benchmark-secret", "x")
        got, top = (sum(getattr(c, k) for c in result.notebooks[0].scores if not c.manual) for k in ("score", "max_score"))
        assert got == top, f"the solution got {got} / {top}"
        gradebook = grader("grading.gradebook")
        book = [gradebook.opened(root)] if hasattr(gradebook, "opened") else []   # a run's one gradebook
        out["save"] = [timed(autograde.save, root, A, result, *book) for _ in range(n)]
        for opened in book:
            opened.close()
        return out


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def parent_cpu(function, *args) -> float:
    """CPU seconds of this process (all its threads, not its children) while ``function`` runs."""
    start = time.process_time()
    function(*args)
    return time.process_time() - start


def measure_in(checkout: Path, what: str, n: int) -> object:
    """Run this script's --measure in ``checkout``, with its Python and its code."""
    python = checkout / ".venv" / "bin" / "python"
    env = dict(os.environ, PYTHONPATH=str(checkout))
    done = subprocess.run([str(python), str(Path(__file__).resolve()), "--measure", what, "--n", str(n)],
                          cwd=checkout, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"measuring {what} in {checkout} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout of the course, with its own .venv")
    parser.add_argument("--n", type=int, default=10, help="empty notebooks and parent repeats per checkout")
    parser.add_argument("--measure", choices=["empty", "parent"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(empty_notebook_seconds(args.n) if args.measure == "empty" else parent_seconds(args.n)))
        return
    if args.baseline is None or not (args.baseline / ".venv" / "bin" / "python").exists():
        parser.error("--baseline DIR: a checkout with its own .venv (see the docstring)")
    here = Path(__file__).resolve().parents[1]
    checkouts = {"baseline": args.baseline.resolve(), "this": here}
    out = {"cpus": os.cpu_count(), "load_before": round(os.getloadavg()[0], 1),
           "commits": {k: subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=v, capture_output=True,
                                         text=True).stdout.strip() for k, v in checkouts.items()}}
    empty = {k: [] for k in checkouts}
    parent = {k: {"prepare": [], "judge": [], "save": [], "score_with_judge_processes": []} for k in checkouts}
    per_turn = max(1, args.n // ROUNDS)
    for _ in range(ROUNDS):
        for name, checkout in checkouts.items():
            empty[name] += measure_in(checkout, "empty", per_turn)
        for name, checkout in checkouts.items():
            for part, values in measure_in(checkout, "parent", per_turn).items():
                parent[name][part] += values
    for name in checkouts:
        out[name] = {"empty_notebook_s": median(empty[name]), "empty_notebook_all_s": [round(t, 2) for t in empty[name]],
                     **{f"parent_{part}_s": median(v) for part, v in parent[name].items() if v}}
        out[name]["parent_total_s"] = round(sum(out[name][f"parent_{p}_s"] for p in ("prepare", "judge", "save")), 3)
        if parent[name]["score_with_judge_processes"]:     # a cluster run's parent: the judging beside it
            out[name]["parent_total_judging_beside_s"] = round(sum(
                out[name][f"parent_{p}_s"] for p in ("prepare", "score_with_judge_processes", "save")), 3)
    out["load_after"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
