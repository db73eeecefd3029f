"""Wall time to grade 30 generated submissions of notebook 00 with --jobs 1
and --jobs 2, whether every one gets its expected score, and whether the two
runs give identical scores. The submissions cycle through tests/adversarial.py:
correct, partial, blank, accidents and attacks on the verdict.

    .venv/bin/python benchmarks/grading_throughput.py [--n 30]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_grader.course import ScratchCourse  # noqa: E402
from course_grader.grading.autograde import autograde  # noqa: E402
from course_grader.grading.sandbox import Limits  # noqa: E402
from tests.adversarial import A, CASES, NB, submission_bytes  # noqa: E402


def make_course(root: Path, n: int) -> dict[str, float]:
    ScratchCourse.create(root)
    mix = [(kind, case, score) for kind, (case, score) in CASES.items() if score is not None]
    expected = {}
    for k in range(n):
        kind, case, score = mix[k % len(mix)]
        student = f"s{k:02d}-{kind}"
        folder = root / "submitted" / student / A
        folder.mkdir(parents=True)
        (folder / NB).write_bytes(submission_bytes(case, root))
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
        wrong = {s: (runs[j][0].get(s), e) for j in runs for s, e in expected.items()
                 if runs[j][0].get(s) != e}
        print(json.dumps({"submissions": args.n, "jobs1_s": round(runs[1][1], 1),
                          "jobs2_s": round(runs[2][1], 1),
                          "identical_scores": runs[1][0] == runs[2][0],
                          "unexpected_scores": wrong}, indent=1))


if __name__ == "__main__":
    main()
