"""Grading on a Dask cluster vs on this machine's threads, side by side in one run.

    .venv/bin/python benchmarks/grading_cluster.py [--n 12] [--empty 4] [--notebooks]

1. ``--n`` submissions of notebook 02 (a mix: half the solution, a third the
   solution with one bug of the grading catalogue, a sixth the blank
   release) graded with ``--jobs 2`` (LocalExecutor) and on a
   ``LocalCluster`` of 2 single-threaded worker processes (``--scheduler
   local:2``), with one inputs secret, in the order local, Dask, Dask, local
   (a load drifting during the run weighs on both alike): wall times, the
   Dask overhead per submission, and whether all scores are identical.
2. The fixed cost of one submission apart from its compute: an empty
   notebook (one ``pass`` cell) through ``run_sandboxed`` (sandbox set-up,
   kernel start, teardown), ``--empty`` times here and through a Dask
   worker, alternating, one at a time (medians).
3. The parent's own work per submission of notebook 02 (prepare, judge and
   score, write gradebook + notebook + record): it is serial in the parent,
   so it bounds how many workers one parent can feed.
4. ``--notebooks``: each assignment's solution graded once in the sandbox
   (the per-notebook times of the model; without it, notebook 02's time
   stands for all).
5. A model (not a measurement) of 500 students x 9 notebooks on 1, 8 and
   64 workers from these figures.

Prints one JSON object; benchmarks/grading_cluster.md holds a run's figures.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from course_grader.course import REPO, ScratchCourse, assignments  # noqa: E402
from course_grader.grading import autograde as ag  # noqa: E402
from course_grader.grading.executors import DaskExecutor, SandboxTask  # noqa: E402
from course_grader.grading.prepare import prepare  # noqa: E402
from course_grader.grading.sandbox import Limits, run_sandboxed  # noqa: E402
from course_grader.grading.score import score  # noqa: E402
from course_grader.grading.template import is_solution, load_templates, nbgrader_meta  # noqa: E402
from course_grader.grading.verdicts import result_files  # noqa: E402
from tests.catalogue.a02_numpy_mlp import BUGS  # noqa: E402

A = "02_numpy_mlp"
LIMITS = Limits(300, 900)
STUDENTS, NOTEBOOKS = 500, 9


def answered(assignment: str, replace: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The release with every answer cell holding the solution's code (or ``replace``'s)."""
    released = nbformat.read(REPO / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)
    solution = nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    answers = {nbgrader_meta(c)["grade_id"]: c.source for c in solution.cells
               if is_solution(c) and c.cell_type == "code"}
    answers.update(replace or {})
    nb = copy.deepcopy(released)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers and cell.cell_type == "code":
            cell.source = answers[grade_id]
    return nb


def make_course(root: Path, n: int) -> dict[str, str]:
    ScratchCourse.create(root)
    blank = nbformat.read(REPO / "notebooks" / A / f"{A}.ipynb", as_version=4)
    kinds = {}
    for k in range(n):
        kind = ("correct", "correct", "correct", "bug", "bug", "blank")[k % 6]
        if kind == "bug":
            bug = BUGS[(k // 2) % len(BUGS)]
            nb, kind = answered(A, {bug.cell: bug.source}), f"bug: {bug.name}"
        else:
            nb = answered(A) if kind == "correct" else blank
        student = f"s{k:03d}"
        folder = root / "submitted" / student / A
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{A}.ipynb")
        kinds[student] = kind
    return kinds


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def empty_task() -> SandboxTask:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    return SandboxTask(nb, LIMITS, {}, [], "empty")


def parent_costs(root: Path, student: str, secret: str, repeats: int = 3) -> dict:
    """Prepare, judge + score and save of one submission, in the parent."""
    template = load_templates(root, A, secret)[0]
    path = root / "submitted" / student / A / f"{A}.ipynb"
    checks = [c for cell in template.hidden.values() for c in cell.checks]
    prepared = prepare(path, template)
    executed = run_sandboxed(prepared.notebook, LIMITS, template.exchange, result_files(checks))
    prep = [timed(prepare, path, template)[1] for _ in range(repeats)]
    judge = [timed(score, copy.deepcopy(executed.notebook), template, None, executed.files)[1]
             for _ in range(repeats)]
    result = ag.StudentResult(student, [ag.NotebookResult(
        A, score(executed.notebook, template, None, executed.files), executed=executed.notebook)],
        secret, "x")
    save = [timed(ag.save, root, A, result)[1] for _ in range(repeats)]
    return {"prepare_s": statistics.median(prep), "judge_s": statistics.median(judge),
            "save_s": statistics.median(save), "checks": len(checks)}


def notebook_times(secret: str) -> dict[str, float]:
    """Each assignment's solution, graded once in the sandbox (seconds)."""
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "course"
        ScratchCourse.create(root)
        for assignment in assignments():
            template = load_templates(root, assignment, secret)[0]
            path = Path(tmp) / f"{assignment}.ipynb"
            nbformat.write(answered(assignment), path)
            result, seconds = timed(ag.grade_file, path, template, LIMITS)
            times[assignment] = {"seconds": round(seconds, 1),
                                 "score": f"{result.score:g} / {result.max_score:g}"}
    return times


def model(per_notebook: list[float], parent_s: float, dask_s: float) -> dict:
    """Makespan of STUDENTS x NOTEBOOKS submissions: the work spread over the
    workers, or the parent's serial share if that is larger."""
    mean = statistics.mean(per_notebook)
    tasks = STUDENTS * NOTEBOOKS
    work = tasks * (mean + dask_s)
    out = {"tasks": tasks, "mean_notebook_s": round(mean, 1), "cpu_hours": round(work / 3600, 1),
           "parent_bound_h": round(tasks * parent_s / 3600, 2)}
    for workers in (1, 8, 64):
        hours = max(work / workers, tasks * parent_s) / 3600
        out[f"{workers}_workers_h"] = round(hours, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=12, help="submissions of notebook 02 (the issue: 60)")
    parser.add_argument("--empty", type=int, default=4, help="empty notebooks per executor")
    parser.add_argument("--notebooks", action="store_true",
                        help="also time each assignment's solution in the sandbox")
    parser.add_argument("--runs", default="local,dask,dask,local",
                        help="executors in the order they grade the whole set (default A B B A: a load that "
                             "drifts during the run weighs on both alike; 'local,dask' halves the time)")
    args = parser.parse_args()
    order = args.runs.split(",")
    if sorted(set(order)) != ["dask", "local"]:
        parser.error(f"--runs takes 'local' and 'dask', each at least once, comma-separated; got {args.runs!r}")
    secret = secrets.token_hex(16)
    out: dict = {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0], "submissions": args.n}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "course"
        kinds = make_course(root, args.n)
        quiet = {"limits": LIMITS, "inputs_secret": secret, "log": lambda _: None}
        executor, out["dask_start_s"] = timed(DaskExecutor, "local:2")
        runs: dict[str, list] = {"local": [], "dask": []}
        empties: dict[str, list] = {"local": [], "dask": []}
        try:
            for name in order:
                where = {"jobs": 2} if name == "local" else {"executor": executor}
                (records, _), seconds = timed(ag.autograde, root, A, **where, **quiet)
                runs[name].append((records, seconds, os.getloadavg()[0]))
            for _ in range(args.empty):      # one at a time, alternating
                empties["local"].append(timed(run_sandboxed, empty_task().notebook, LIMITS)[1])
                empties["dask"].append(timed(executor.run, empty_task())[1])
        finally:
            executor.close()
        scores = [{r["student"]: r["score"] for r in records} for name in runs for records, _, _ in runs[name]]
        out["identical_scores"] = all(s == scores[0] for s in scores)
        first = runs["local"][0][0]
        out["correct_full_marks"] = all(scores[0][s] == first[0]["max_score"]
                                        for s, k in kinds.items() if k == "correct")
        for name in runs:
            out[f"{name}_runs_s"] = [round(seconds, 1) for _, seconds, _ in runs[name]]
            out[f"{name}_load_after_runs"] = [round(load, 1) for _, _, load in runs[name]]
        local_s, dask_s = (statistics.mean(out[f"{n}_runs_s"]) for n in ("local", "dask"))
        out["local_jobs2_mean_s"], out["dask_2_workers_mean_s"] = round(local_s, 1), round(dask_s, 1)
        out["dask_extra_wall_per_submission_s"] = round((dask_s - local_s) / args.n, 2)
        out["dask_overhead_pct"] = round(100 * (dask_s / local_s - 1), 1)
        out["mix"] = {k: sum(1 for v in kinds.values() if v.split(":")[0] == k) for k in ("correct", "bug", "blank")}
        out["sandbox_s_per_submission_2_at_once"] = {
            kind: round(statistics.mean(n["seconds"] for r in first for n in r["notebooks"]
                                        if kinds[r["student"]].split(":")[0] == kind), 1)
            for kind in out["mix"] if out["mix"][kind]}
        out["empty_notebook_local_s"] = round(statistics.median(empties["local"]), 2)
        out["empty_notebook_dask_s"] = round(statistics.median(empties["dask"]), 2)
        out["parent"] = {k: round(v, 3) if isinstance(v, float) else v
                         for k, v in parent_costs(root, next(iter(kinds)), secret).items()}
    out["load_after"] = os.getloadavg()[0]
    if args.notebooks:
        out["solutions"] = notebook_times(secret)
        per_notebook = [v["seconds"] for v in out["solutions"].values()]
    else:
        per_notebook = [out["sandbox_s_per_submission_2_at_once"]["correct"]]
    parent_s = out["parent"]["prepare_s"] + out["parent"]["judge_s"] + out["parent"]["save_s"]
    dask_s = max(0.0, out["empty_notebook_dask_s"] - out["empty_notebook_local_s"])
    out["model"] = model(per_notebook, parent_s, dask_s)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
