from course_grader.build import sync_release


def test_sync_release_never_overwrites_edits_without_asking(tmp_path):
    generated = tmp_path / "generated" / "nb.ipynb"
    generated.parent.mkdir()
    generated.write_text("new release")
    target_dir = tmp_path / "notebooks" / "00_demo"

    assert sync_release([generated], target_dir, overwrite=False) == ["created notebooks/00_demo/nb.ipynb"]
    assert sync_release([generated], target_dir, overwrite=False) == []  # up to date

    (target_dir / "nb.ipynb").write_text("a student's work")
    notes = sync_release([generated], target_dir, overwrite=False)
    assert notes[0].startswith("KEPT") and (target_dir / "nb.ipynb").read_text() == "a student's work"

    notes = sync_release([generated], target_dir, overwrite=True)
    assert (target_dir / "nb.ipynb").read_text() == "new release"
    backups = list(target_dir.glob("nb.ipynb.*.bak"))
    assert len(backups) == 1 and backups[0].read_text() == "a student's work"


def test_sync_release_needs_no_backup_of_a_committed_file(tmp_path):
    import subprocess
    generated = tmp_path / "generated" / "nb.ipynb"
    generated.parent.mkdir()
    generated.write_text("new release")
    target_dir = tmp_path / "notebooks" / "00_demo"
    target_dir.mkdir(parents=True)
    (target_dir / "nb.ipynb").write_text("old release")
    git = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "old")

    notes = sync_release([generated], target_dir, overwrite=True)
    assert notes == ["replaced notebooks/00_demo/nb.ipynb (the old version is committed)"]
    assert (target_dir / "nb.ipynb").read_text() == "new release"
    assert not list(target_dir.glob("*.bak"))


class FakeCourse:
    """ScratchCourse's calls that build() makes, instantly."""

    @classmethod
    def create(cls, root):
        return cls()

    def generate(self, assignment):
        return []

    def submit(self, *args):
        pass

    def autograde(self, assignment, student):
        pass

    def scores(self, assignment, student):
        from course_grader.course import NotebookScore
        return {"nb": NotebookScore(3.0 if student == "demo-solution" else 0.0, 3.0, 0.0, ())}

    def autograded_errors(self, assignment, student):
        return {"nb": []}


def test_build_shows_progress_over_notebooks_and_steps(monkeypatch, capsys):
    """`course build` printed a line per step for its ~5 minutes and no progress."""
    from pathlib import Path

    from course_grader import build as build_module

    monkeypatch.setattr(build_module, "ScratchCourse", FakeCourse)
    monkeypatch.setattr(build_module, "sync_release", lambda *a, **k: [])
    monkeypatch.setattr(build_module, "notebooks_of", lambda *a: [Path("nb.ipynb")])
    assert build_module.build(only=["00_a", "01_b"], progress=True)
    out, err = capsys.readouterr()
    assert "course build" in err and "6/6" in err       # 2 notebooks x 3 steps
    assert [line for line in out.splitlines() if line.startswith("[")] == [
        f"[{a}] {step}" for a in ("00_a", "01_b") for step in build_module.STEPS.values()]
    build_module.build(only=["00_a"], progress=False)
    assert capsys.readouterr().err == ""                 # not on a terminal: no bar
