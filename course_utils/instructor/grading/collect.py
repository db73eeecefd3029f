"""Bring submissions into the course's submitted/<student>/<assignment>/ layout.

Accepted: a folder in nbgrader's layout (<student>/<assignment>/*.ipynb), or
a folder or zip of files named by student (<student>.ipynb or
<student>_<anything>.ipynb). An existing submission is never overwritten
silently: it is refused unless ``force``.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from pathlib import Path

STUDENT = re.compile(r"^([A-Za-z0-9.-]+)(?:_.*)?\.ipynb$")


def collect(course_root: Path, assignment: str, source: Path, *, notebook_name: str,
            force: bool = False) -> list[str]:
    """Copy submissions in; returns one line per student (collected or refused)."""
    with tempfile.TemporaryDirectory() as tmp:
        if source.is_file() and zipfile.is_zipfile(source):
            folder = Path(tmp)
            with zipfile.ZipFile(source) as archive:
                for member in archive.infolist():   # flat: no paths from the archive are trusted
                    name = Path(member.filename).name
                    if not member.is_dir() and name.endswith(".ipynb") and not name.startswith("."):
                        (folder / name).write_bytes(archive.read(member))
        else:
            folder = source
        found = _nbgrader_layout(folder, assignment) or _named_by_student(folder, notebook_name)
        return [_place(course_root, assignment, student, files, force)
                for student, files in sorted(found.items())]


def _nbgrader_layout(folder: Path, assignment: str) -> dict[str, dict[str, Path]]:
    return {d.name: {p.name: p for p in sorted((d / assignment).glob("*.ipynb"))}
            for d in sorted(folder.iterdir()) if (d / assignment).is_dir()}


def _named_by_student(folder: Path, notebook_name: str) -> dict[str, dict[str, Path]]:
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(folder.glob("*.ipynb")):
        match = STUDENT.match(path.name)
        if match:
            found.setdefault(match.group(1), {})[notebook_name] = path
    return found


def _place(course_root: Path, assignment: str, student: str, files: dict[str, Path],
           force: bool) -> str:
    target = course_root / "submitted" / student / assignment
    if target.exists() and any(target.iterdir()) and not force:
        return f"{student}: REFUSED, a submission is already in {target} (use --force to replace it)"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name, path in files.items():
        shutil.copyfile(path, target / name)
    return f"{student}: collected {', '.join(files)}" + (" (replaced the old one)" if force else "")
