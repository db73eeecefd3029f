from course_utils.instructor.build import sync_release


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
