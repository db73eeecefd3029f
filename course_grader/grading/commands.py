"""The `course` subcommands for grading (argparse namespaces in, exit code out)."""
from __future__ import annotations

import json
import shlex
import tempfile
from pathlib import Path

from ..course import RELEASE, REPO, SOLUTIONS, ScratchCourse, notebooks_of
from .autograde import GradingIncomplete
from .autograde import autograde as run_autograde
from .gradebook import GradingError, WrittenScore, enter_written_scores, gradebook_grades
from .limits import LIMIT_DEFAULTS
from .safe_text import printable
from .sandbox import GraderFailure, Limits


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
    limits = Limits(args.cell_timeout, args.notebook_limit, memory=int(args.memory * 2**30))
    say = lambda line: print(printable(line))   # noqa: E731
    students = args.student
    logs = getattr(args, "resume", None) or []
    if logs:
        absent = [str(log) for log in logs if not log.is_file()]
        if absent:
            print(printable(f"REFUSED: --resume: no grading log {', '.join(absent)}"))
            return 2
        students = students_left(args.course, args.assignment, args.student, logs)
        if not students:
            print(printable("nothing left to grade: the logs record every student"))
            return 0
    executor = None
    if getattr(args, "scheduler", None):
        executor = _dask_executor(args, args.jobs)
        if executor is None:
            return 2
    # A whole-class run grades only what is missing (e.g. after Ctrl-C); naming
    # students, giving an earlier run's secret or --force regrades.
    skip = not (getattr(args, "force", False) or args.student or args.inputs_secret)
    missing: list[str] = []
    try:
        results, log_path = run_autograde(args.course, args.assignment, jobs=args.jobs,
                                          students=students, limits=limits,
                                          inputs_secret=args.inputs_secret, log=say,
                                          executor=executor, skip_graded=skip, progress=None)
    except GradingIncomplete as incomplete:
        results, log_path, missing = incomplete.records, incomplete.log_path, incomplete.missing
    except GraderFailure as error:     # before any submission: nothing graded, nothing recorded
        print(printable(f"REFUSED: {error}"))
        return 2
    except KeyboardInterrupt as interrupted:    # what was recorded is already said
        log = getattr(interrupted, "log_path", None)
        if log is not None:
            print(printable(f"to grade exactly the others: {resume_command(args, log)}"))
        return 130
    finally:
        if executor is not None:
            executor.close()
    grades = gradebook_grades(args.course, args.assignment) if results else {}
    print(f"\n{'student':<24} {'score':>9} {'manual':>14}  what happened")
    for record in results:
        manual = manual_column(grades.get(record["student"], {}))
        events = [e for n in record["notebooks"] for e in n["events"]]
        # From submissions: printable() so no \r or escape sequence rewrites the table.
        note = printable("; ".join(events), 100) or "ok"
        print(f"{printable(record['student'], 60):<24} {record['score']:>4g} / {record['max_score']:<3g}"
              f" {manual:>14}  {note}")
    if results:
        defences = results[0]["notebooks"][0].get("defences") or {}
        parts = [f"{', '.join(defences.get('namespaces') or ['no'])} namespaces"]
        parts += ["unique user"] if defences.get("unique_user") else []
        parts += [f"cgroup {defences['cgroup']}"] if defences.get("cgroup") else []
        print(f"\nsandbox: {defences.get('isolation', 'none')} ({', '.join(parts)}); "
              f"limits: {', '.join(defences.get('limits', []))} (docs/grading.md)")
        modes = sorted({n.get("defences", {}).get("isolation") for r in results for n in r["notebooks"]
                        if n.get("defences")})
        if len(modes) > 1:
            print(f"WARNING: the sandboxes were not all alike ({'; '.join(map(str, modes))}): "
                  "see each record's defences and worker")
    if missing:
        print(f"NOT graded (the grader failed, not the students; nothing recorded): {len(missing)} "
              f"submissions ({printable(', '.join(missing), 200)}); run again to grade them")
    print(f"log: {log_path}\nrecords: {args.course / 'autograded'}/<student>/{args.assignment}/"
          "grading-record.json; gradebook: gradebook.db")
    return 1 if missing else 0


def manual_column(row: dict) -> str:
    """The written answers' points as the gradebook has them: "2.25 / 3" once
    graded (an untouched answer counts 0), "pending / 3" while one waits."""
    written = [g for g in row.values() if g.manual]
    if not written:
        return "-"
    top = sum(g.max_score for g in written)
    if any(g.score is None for g in written):
        return f"pending / {top:g}"
    return f"{sum(g.score for g in written):g} / {top:g}"


def students_left(course: Path, assignment: str, named: list[str] | None,
                  logs: list[Path]) -> list[str]:
    """The students (``named``, else every submission) that the runs of
    ``logs`` did not record."""
    from .autograde import results_from, students_of

    done = {r.get("student") for log in logs for r in results_from(log)}
    return [s for s in (named or students_of(course, assignment)) if s not in done]


def resume_command(args, log_path: Path) -> str:
    """The interrupted command with ``--resume`` its log: it grades exactly
    the students that run (and those it resumed) did not record, as that run
    would have (--force, --student and the limits kept)."""
    parts = ["course", "autograde", args.assignment]
    if args.course != REPO:
        parts += ["--course", str(args.course)]
    for student in args.student or []:
        parts += ["--student", student]
    parts += ["--force"] if args.force else []
    parts += ["--insecure"] if getattr(args, "insecure", False) else []
    for option in ("jobs", "scheduler", "tls_dir", "cell_timeout", "notebook_limit", "memory", "inputs_secret"):
        value = getattr(args, option, None)
        if value is not None and value != LIMIT_DEFAULTS.get(option):
            parts += [f"--{option.replace('_', '-')}", f"{value:g}" if isinstance(value, float) else str(value)]
    logs = [*(getattr(args, "resume", None) or []), log_path]   # an earlier resume's too
    return shlex.join([*parts, *(x for log in logs for x in ("--resume", str(log)))])


def _dask_executor(args, jobs: int | None):
    """The Dask executor for ``--scheduler`` (with ``--tls-dir``, ``--insecure``),
    or None (and why) if it cannot start or the address is not safe to use."""
    scheduler, tls_dir = args.scheduler, args.tls_dir
    try:
        from .cluster_tls import InsecureScheduler, scheduler_security
        from .executors import DaskExecutor
    except ImportError as error:
        print(f"REFUSED: --scheduler needs dask and distributed ({error})")
        return None
    try:
        security, warning = scheduler_security(scheduler, tls_dir, args.insecure)
    except InsecureScheduler as error:
        print(printable(f"REFUSED: {error}"))
        return None
    if warning:
        print(f"{'!' * 78}\n{warning}\n{'!' * 78}")
    try:
        executor = DaskExecutor(scheduler, jobs, security)
    except (OSError, ValueError, TimeoutError, ImportError) as error:   # ImportError: no cryptography
        print(printable(f"REFUSED: cannot use the Dask scheduler {scheduler}: {error}"))
        return None
    print(executor.describe())
    link = executor.dashboard_link
    print(f"Dask dashboard: {link}" if link else "Dask dashboard: none")
    return executor


def cluster_certs(args) -> int:
    """``course cluster-certs DIR``: the instructor's CA and the cluster's certificates."""
    from .cluster_tls import write_certificates

    try:
        written = write_certificates(args.folder, args.days)
    except ImportError:
        print("REFUSED: course cluster-certs needs the cryptography package (pip install cryptography)")
        return 2
    except (OSError, ValueError) as error:
        print(printable(f"REFUSED: {error}"))
        return 1
    for path in written:
        print(f"{path.stat().st_mode & 0o777:o} {path}")
    print("Signed by a CA whose key is gone: to add a machine copy these files; for a new set, "
          "run again into an empty folder. Give each machine only its own key "
          "(docs/grading.md, \"Grading on a cluster\").")
    return 0


def grade(args) -> int:
    """One notebook, no course folder: scores and feedback on the terminal or as JSON."""
    from .single import grade_one, render_text

    path = args.notebook
    if not path.is_file():
        print(printable(f"REFUSED: no notebook file {path}"))
        return 2
    limits = Limits(args.cell_timeout, args.notebook_limit, memory=int(args.memory * 2**30))
    executor = None
    if getattr(args, "scheduler", None):
        executor = _dask_executor(args, 1)
        if executor is None:
            return 2
    try:
        report = grade_one(args.course, args.assignment, path, limits=limits,
                           execute=executor.run if executor else None)
    except FileNotFoundError as error:
        print(printable(f"REFUSED: {error}"))
        return 2
    except GraderFailure as error:
        print(printable(f"NOT graded: the grader failed, not the notebook ({error}); run it again"))
        return 2
    finally:
        if executor is not None:
            executor.close()
    print(json.dumps(report, indent=1) if args.json else render_text(report))
    return 1 if report["failure"] else 0


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


def grade_written(args) -> int:
    """Enter the instructor's grades of written answers (one, or a CSV of many)."""
    one = (args.student, args.cell, args.points)
    if (args.csv is None and None in one) or (args.csv is not None and one != (None,) * 3):
        print("REFUSED: give either --csv FILE, or --student, --cell and --points")
        return 2
    try:
        entries = written_scores_csv(args.csv) if args.csv else \
            [WrittenScore(args.student, args.cell, args.points, args.comment)]
        done = enter_written_scores(args.course, args.assignment, entries)
    except GradingError as error:
        print(printable(f"REFUSED: {error}", keep="\n"))
        return 1
    except OSError as error:
        print(printable(f"REFUSED: cannot read {error.filename}: {error.strerror}"))
        return 1
    print(printable("\n".join(done), keep="\n"))
    waiting = sorted(f"{s}: {g}" for s, row in gradebook_grades(args.course, args.assignment).items()
                     for g, r in row.items() if r.manual and r.score is None)
    print(f"still waiting for a grade: {len(waiting)} written answers ({printable(', '.join(waiting), 200)})"
          if waiting else f"every written answer of {args.assignment} is graded")
    return 0


WRITTEN_COLUMNS = ("student", "grade_id", "points", "comment")


def written_scores_csv(path: Path) -> list[WrittenScore]:
    """The rows of a scores CSV (columns student, grade_id, points, comment;
    an empty comment leaves any earlier one as it is)."""
    import csv

    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in WRITTEN_COLUMNS[:3] if c not in (reader.fieldnames or [])]
        if missing:
            raise GradingError(f"{path}: no column {', '.join(missing)} "
                               f"(expected: {', '.join(WRITTEN_COLUMNS)})")
        entries, problems = [], []
        for row in reader:
            where = f"{path.name} line {reader.line_num}: "
            try:
                points = float(row["points"])
            except (TypeError, ValueError):
                problems.append(f"{where}points {row['points']!r} is not a number")
                continue
            text = {k: (row.get(k) or "").strip() for k in WRITTEN_COLUMNS}
            entries.append(WrittenScore(text["student"], text["grade_id"], points,
                                        text["comment"] or None, where))
    if problems:
        raise GradingError("\n".join(problems) + "\nnothing was written")
    if not entries:
        raise GradingError(f"{path}: no rows")
    return entries
