"""Bring submissions into the course's submitted/<student>/<assignment>/ layout.

Accepted: a folder in nbgrader's layout (<student>/<assignment>/*.ipynb), or
a folder or zip of files named by student (<student>.ipynb or
<student>_<anything>.ipynb). An existing submission is never overwritten
silently: it is refused unless ``force``.

Links are never followed: a symbolic link (a file, or any folder between the
source folder and the file), a zip member whose mode says link, and anything
else that is not a regular file is refused with a "REFUSED" line, so a
submission cannot make collect copy a file of the instructor's (the
solutions) in its place. Every line is printable (safe_text).
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

from .safe_text import printable

STUDENT = re.compile(r"^([A-Za-z0-9.-]+)(?:_.*)?\.ipynb$")
# A student name becomes a folder name: no "..", no leading dot, nothing a terminal interprets.
STUDENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")


def collect(course_root: Path, assignment: str, source: Path, *, notebook_name: str,
            force: bool = False) -> list[str]:
    """Copy submissions in; returns one line per student (collected or refused)
    and one per file refused."""
    refused: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        if source.is_file() and zipfile.is_zipfile(source):
            folder = Path(tmp)
            _unzip_flat(source, folder, refused)
        else:
            folder = source
        found = _nbgrader_layout(folder, assignment, refused) \
            or _named_by_student(folder, notebook_name, refused)
        placed = [_place(course_root, assignment, student, files, force)
                  for student, files in sorted(found.items())]
    return [printable(line) for line in refused + placed]


def _unzip_flat(archive_path: Path, folder: Path, refused: list[str]) -> None:
    """The zip's notebooks, flat: no path from the archive is trusted, and only
    members that are regular files (or carry no Unix mode at all)."""
    with zipfile.ZipFile(archive_path) as archive:
        for member in archive.infolist():
            name = Path(member.filename).name
            if member.is_dir() or not name.endswith(".ipynb") or name.startswith("."):
                continue
            kind = stat.S_IFMT(member.external_attr >> 16)
            if kind not in (0, stat.S_IFREG):
                what = "is a symbolic link" if kind == stat.S_IFLNK else "is not a regular file"
                refused.append(f"REFUSED {member.filename} in {archive_path.name}: it {what}; "
                               "not collected")
                continue
            (folder / name).write_bytes(archive.read(member))


def _not_regular(path: Path, root: Path) -> str | None:
    """Why ``path`` must not be collected (a link on the way from ``root``, or
    not a regular file), or None. lstat only: nothing is followed."""
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        mode = os.lstat(current).st_mode
        if stat.S_ISLNK(mode):
            return "is a symbolic link" if current == path else \
                f"is inside {current.relative_to(root)}, a symbolic link"
    return None if stat.S_ISREG(mode) else "is not a regular file"


def _regular_files(paths, root: Path, refused: list[str]) -> list[Path]:
    keep = []
    for path in paths:
        why = _not_regular(path, root)
        if why:
            refused.append(f"REFUSED {path.relative_to(root)}: it {why}; not collected")
        else:
            keep.append(path)
    return keep


def _nbgrader_layout(folder: Path, assignment: str, refused: list[str]) -> dict[str, dict[str, Path]]:
    found = {}
    for student in sorted(folder.iterdir()):
        work = student / assignment
        if not work.is_dir():
            continue
        files = _regular_files(sorted(work.glob("*.ipynb")), folder, refused)
        if files:
            found[student.name] = {p.name: p for p in files}
    return found


def _named_by_student(folder: Path, notebook_name: str, refused: list[str]) -> dict[str, dict[str, Path]]:
    found: dict[str, dict[str, Path]] = {}
    for path in _regular_files(sorted(folder.glob("*.ipynb")), folder, refused):
        match = STUDENT.match(path.name)
        if match:
            found.setdefault(match.group(1), {})[notebook_name] = path
    return found


def _place(course_root: Path, assignment: str, student: str, files: dict[str, Path],
           force: bool) -> str:
    if not STUDENT_NAME.match(student):
        return (f"{student!r}: REFUSED, not a plain student name (letters, digits, "
                "and . _ @ + - after the first character)")
    target = course_root / "submitted" / student / assignment
    if target.exists() and any(target.iterdir()) and not force:
        return f"{student}: REFUSED, a submission is already in {target} (use --force to replace it)"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name, path in files.items():
        _copy_no_follow(path, target / name)
    return f"{student}: collected {', '.join(files)}" + (" (replaced the old one)" if force else "")


def _copy_no_follow(source: Path, target: Path) -> None:
    """Copy a file checked by _not_regular, refusing a link or special file that
    replaced it since (O_NOFOLLOW; O_NONBLOCK so a FIFO cannot hang collect)."""
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise OSError(f"{source} is not a regular file")
        with open(target, "wb") as out:
            shutil.copyfileobj(f, out)
