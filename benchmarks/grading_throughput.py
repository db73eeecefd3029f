"""Wall time to grade 30 generated submissions of notebook 00 with --jobs 1
and --jobs 2, and whether two runs give identical scores.

    /tmp/venv/bin/python benchmarks/grading_throughput.py [--n 30]
"""
from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path

import nbformat

from course_utils.instructor.course import REPO, ScratchCourse
from course_utils.instructor.grading.autograde import autograde
from course_utils.instructor.grading.sandbox import Limits

A = "00_setup_and_tour"
NB = f"{A}.ipynb"


def submissions() -> list[tuple[str, object, float]]:
    """(kind, notebook or raw bytes, expected score) in a repeating mix."""
    released = nbformat.read(REPO / "notebooks" / A / NB, as_version=4)
    solution = nbformat.read(REPO / "solutions" / A / NB, as_version=4)
    gid = lambda c: c.metadata.get("nbgrader", {}).get("grade_id")  # noqa: E731
    answer = next(c.source for c in solution.cells if gid(c) == "confusion_matrix")
    partial = answer.split("### BEGIN SOLUTION")[0].rstrip(" ") + (
        "    c = int(max(y_true.max(), y_pred.max())) + 1\n"
        "    counts = np.zeros((c, c), dtype=np.int64)\n"
        "    np.add.at(counts, (y_true, y_pred), 1)\n    return counts\n")

    def with_answer(source, extra=None):
        nb = copy.deepcopy(released)
        i = next(i for i, c in enumerate(nb.cells) if gid(c) == "confusion_matrix")
        nb.cells[i].source = source
        if extra:
            nb.cells.insert(i + 1, nbformat.v4.new_code_cell(extra))
        return nb

    return [("correct", with_answer(answer), 3), ("partial", with_answer(partial), 1),
            ("blank", copy.deepcopy(released), 0),
            ("os_exit", with_answer(answer, "import os; os._exit(1)"), 0),
            ("memory_bomb", with_answer(answer, "x = bytearray(8 * 2**30)"), 3),
            ("invalid_json", b'{"cells": [', 0)]


def make_course(root: Path, n: int) -> dict[str, float]:
    course = ScratchCourse.create(root)
    mix, expected = submissions(), {}
    for k in range(n):
        kind, nb, score = mix[k % len(mix)]
        student = f"s{k:02d}-{kind}"
        folder = root / "submitted" / student / A
        folder.mkdir(parents=True)
        data = nb if isinstance(nb, bytes) else nbformat.writes(nb).encode()
        (folder / NB).write_bytes(data)
        expected[student] = score
    return expected


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "course"
        expected = make_course(root, args.n)
        runs = {}
        for jobs in (1, 2):
            start = time.perf_counter()
            results, _ = autograde(root, A, jobs=jobs, limits=Limits(60, 300), log=lambda *_: None)
            runs[jobs] = ({r["student"]: r["score"] for r in results}, time.perf_counter() - start)
        wrong = {s: (runs[1][0].get(s), e) for s, e in expected.items() if runs[1][0].get(s) != e}
        print(json.dumps({"submissions": args.n, "jobs1_s": round(runs[1][1], 1),
                          "jobs2_s": round(runs[2][1], 1),
                          "identical_scores": runs[1][0] == runs[2][0],
                          "unexpected_scores": wrong}, indent=1))


if __name__ == "__main__":
    main()
