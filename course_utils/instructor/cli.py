"""`course`: the course's command line (nbgrader's own commands keep working)."""
from __future__ import annotations

import argparse
import sys

from .build import build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser(
        "build", help="generate notebooks/ from solutions/, execute the solutions, "
                      "autograde demo submissions and print a score table")
    build_cmd.add_argument("assignments", nargs="*", help="only these (default: all)")
    build_cmd.add_argument("--overwrite", action="store_true",
                           help="replace notebooks/ files that differ (a .bak copy is kept)")
    args = parser.parse_args(argv)
    if args.command == "build":
        return 0 if build(overwrite=args.overwrite, only=args.assignments or None) else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
