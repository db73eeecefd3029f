"""The `course` subcommands for grading (argparse namespaces in, exit code out)."""
from __future__ import annotations

import tempfile
from pathlib import Path

from ..course import RELEASE, SOLUTIONS, ScratchCourse, notebooks_of
from .autograde import autograde as run_autograde
from .sandbox import Limits


def release(args) -> int:
    from ..build import sync_release

    with tempfile.TemporaryDirectory(prefix="course-release-") as tmp:
        course = ScratchCourse.create(Path(tmp) / "course", source=args.course)
        generated = course.generate(args.assignment)
        notes = sync_release(generated, args.course / RELEASE / args.assignment,
                             overwrite=args.overwrite)
    print("\n".join(notes) or f"{RELEASE}/{args.assignment} is up to date")
    return 1 if any(n.startswith("KEPT") for n in notes) else 0


def collect(args) -> int:
    from .collect import collect as run_collect

    sources = notebooks_of(args.course, SOLUTIONS, args.assignment)
    lines = run_collect(args.course, args.assignment, args.source,
                        notebook_name=sources[0].name, force=args.force)
    print("\n".join(lines) or f"no submissions found in {args.source}")
    return 1 if any("REFUSED" in line for line in lines) else 0


def autograde(args) -> int:
    results, log_path = run_autograde(args.course, args.assignment, jobs=args.jobs,
                                      students=args.student,
                                      limits=Limits(args.cell_timeout, args.notebook_limit))
    print(f"\n{'student':<24} {'score':>9} {'manual':>7}  what happened")
    for record in results:
        manual = sum(c["max_score"] for n in record["notebooks"] for c in n["scores"]
                     if c["manual"] and c["answered"])
        events = [e for n in record["notebooks"] for e in n["events"]]
        note = "; ".join(events)[:100] or "ok"
        print(f"{record['student']:<24} {record['score']:>4g} / {record['max_score']:<3g}"
              f"{manual:>5g} pt  {note}")
    if results:
        defences = results[0]["notebooks"][0].get("defences") or {}
        active = [k for k, v in defences.items() if v and k != "rlimits"]
        print(f"\nsandbox defences: {', '.join(active) or 'none'}; "
              f"limits: {', '.join(defences.get('rlimits', []))}")
    print(f"log: {log_path}\nrecords: {args.course / 'autograded'}/<student>/{args.assignment}/"
          "grading-record.json; gradebook: gradebook.db")
    return 0


def feedback(args) -> int:
    from .feedback import write_feedback

    written = write_feedback(args.course, args.assignment)
    print(f"wrote {len(written)} feedback pages under {args.course / 'feedback'}")
    return 0


def export(args) -> int:
    from .report import export_csv

    count = export_csv(args.course, args.assignment, args.csv)
    print(f"wrote {count} students' grades to {args.csv}")
    return 0


def summary(args) -> int:
    from .report import summary as run_summary

    png = args.png or args.course / "grading_logs" / args.assignment / "summary.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    print(run_summary(args.course, args.assignment, png))
    print(f"plot: {png}")
    return 0
