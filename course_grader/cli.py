"""`course`: the course's command line (nbgrader's own commands keep working)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import build
from .course import REPO
from .grading.limits import LIMIT_DEFAULTS   # an interrupted autograde repeats only the others


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser(
        "build", help="generate notebooks/ from solutions/, execute the solutions, "
                      "autograde demo submissions and print a score table")
    build_cmd.add_argument("assignments", nargs="*", help="only these (default: all)")
    build_cmd.add_argument("--overwrite", action="store_true",
                           help="replace notebooks/ files that differ (a .bak copy is kept)")
    _grading_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "build":
        return 0 if build(overwrite=args.overwrite, only=args.assignments or None) else 1
    from .grading import commands as grading_commands  # noqa: PLC0415 (keep `course build` light)

    return getattr(grading_commands, args.command.replace("-", "_"))(args)


def _grading_commands(commands) -> None:
    """release, collect, autograde, grade, feedback, export, summary, grade-written,
    cluster-certs: see docs/grading.md."""
    def add(name: str, help_text: str):
        cmd = commands.add_parser(name, help=help_text)
        cmd.add_argument("assignment")
        cmd.add_argument("--course", type=Path, default=REPO,
                         help="course root (default: the repository)")
        return cmd

    release = add("release", "generate notebooks/<assignment> from solutions/ with nbgrader")
    release.add_argument("--overwrite", action="store_true",
                         help="replace released files that differ (a .bak copy is kept)")
    collect = add("collect", "copy submissions (nbgrader layout, or a folder/zip of "
                             "<student>.ipynb files) into submitted/")
    collect.add_argument("source", type=Path)
    collect.add_argument("--force", action="store_true", help="replace existing submissions")
    autograde = add("autograde", "grade submissions, each isolated in a sandbox, in parallel")
    autograde.add_argument("--jobs", type=int, default=None,
                           help="submissions at once (default: the number of CPUs; with "
                                "--scheduler: twice the cluster's threads)")
    autograde.add_argument("--scheduler", metavar="ADDRESS",
                           help="run the sandboxes on a Dask cluster: tls://HOST:8786 (with "
                                "--tls-dir), or local:N for N single-threaded worker processes "
                                "here (docs/grading.md)")
    _cluster_options(autograde)
    autograde.add_argument("--force", action="store_true",
                           help="regrade everyone (default: only those without a record of "
                                "their current submission, e.g. after Ctrl-C)")
    autograde.add_argument("--student", action="append", help="only this student (repeatable)")
    autograde.add_argument("--cell-timeout", type=float, default=LIMIT_DEFAULTS["cell_timeout"])
    autograde.add_argument("--notebook-limit", type=float, default=LIMIT_DEFAULTS["notebook_limit"],
                           help="seconds for a whole notebook")
    autograde.add_argument("--memory", type=float, default=LIMIT_DEFAULTS["memory"],
                           help="GiB of memory for a whole sandbox (cgroup; tmpfs included)")
    autograde.add_argument("--resume", type=Path, metavar="LOG", action="append",
                           help="grade only the students the run of this log did not record "
                                "(repeatable; an interrupted run prints the whole command)")
    autograde.add_argument("--inputs-secret", help="the inputs secret of an earlier run "
                           "(in its grading-record.json), to regrade it identically")
    grade = add("grade", "grade one notebook (no course folder: the templates in solutions/) "
                         "with the same sandbox and judges; print its scores and feedback")
    grade.add_argument("notebook", type=Path)
    grade.add_argument("--json", action="store_true", help="print the result as JSON")
    grade.add_argument("--cell-timeout", type=float, default=LIMIT_DEFAULTS["cell_timeout"])
    grade.add_argument("--notebook-limit", type=float, default=LIMIT_DEFAULTS["notebook_limit"],
                       help="seconds for a whole notebook")
    grade.add_argument("--memory", type=float, default=LIMIT_DEFAULTS["memory"],
                       help="GiB of memory for the sandbox (cgroup; tmpfs included)")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the sandbox on a Dask cluster (tls://HOST:8786 with --tls-dir)")
    _cluster_options(grade)
    add("feedback", "write feedback/<student>/<assignment>/*.html")
    export = add("export", "write the assignment's grades as CSV")
    export.add_argument("--csv", type=Path, default=Path("grades.csv"))
    summary = add("summary", "per-exercise score distribution: a table and a PNG plot")
    summary.add_argument("--png", type=Path, default=None)
    written = add("grade-written", "enter the instructor's grade of written answers into the "
                                   "gradebook: one (--student, --cell, --points) or a --csv of many")
    written.add_argument("--student")
    written.add_argument("--cell", help="the written answer's grade_id, e.g. derivation_fused")
    written.add_argument("--points", type=float)
    written.add_argument("--comment", help="shown to the student on the feedback page")
    written.add_argument("--csv", type=Path, help="columns student, grade_id, points, comment")
    certs = commands.add_parser("cluster-certs", help="create a CA and the TLS certificates and "
                                "keys of a Dask grading cluster (scheduler, worker, client)")
    certs.add_argument("folder", type=Path, help="where to write them (created 0700; "
                       "existing files are never replaced)")
    certs.add_argument("--days", type=int, default=365, help="how long they are valid")


def _cluster_options(cmd) -> None:
    cmd.add_argument("--tls-dir", type=Path, metavar="DIR",
                     help="the folder of `course cluster-certs DIR`: ca.pem and the client's "
                          "certificate and key, for a tls:// scheduler")
    cmd.add_argument("--insecure", action="store_true",
                     help="allow an unencrypted (tcp://) scheduler: anyone who reaches it runs "
                          "code on the workers, as root where they run as root")


if __name__ == "__main__":
    sys.exit(main())
