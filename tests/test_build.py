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
