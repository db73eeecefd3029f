"""Tests for course_utils.data.fetch: cache location, checksums, atomic download."""
import hashlib
from pathlib import Path

import pytest

from course_utils.data.fetch import (
    CorruptDataError,
    DataNotFoundError,
    cache_dir,
    download,
    md5_of,
    sha256_of,
    verify_file,
)

PAYLOAD = bytes(range(256)) * 5000  # > 1 MiB so chunked reads take several passes


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "server" / "blob.bin"
    src.parent.mkdir()
    src.write_bytes(PAYLOAD)
    return src


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache_dir() == tmp_path / "home" / ".cache" / "dl-course"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "dl-course"
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "course"))
    assert cache_dir() == tmp_path / "course"
    assert not (tmp_path / "course").exists()  # not created until written to


def test_digests_match_hashlib(source):
    assert sha256_of(source) == hashlib.sha256(PAYLOAD).hexdigest()
    assert md5_of(source) == hashlib.md5(PAYLOAD).hexdigest()


def test_download_file_url_verifies(source, tmp_path):
    dest = tmp_path / "cache" / "sub" / "blob.bin"
    out = download(source.as_uri(), dest, sha256=hashlib.sha256(PAYLOAD).hexdigest(),
                   md5=hashlib.md5(PAYLOAD).hexdigest())
    assert out == dest
    assert dest.read_bytes() == PAYLOAD
    assert sorted(p.name for p in dest.parent.iterdir()) == ["blob.bin"]  # no temp left


@pytest.mark.parametrize("kind", ["sha256", "md5"])
def test_wrong_checksum_leaves_nothing(source, tmp_path, kind):
    dest_dir = tmp_path / "cache"
    dest = dest_dir / "blob.bin"
    with pytest.raises(CorruptDataError) as err:
        download(source.as_uri(), dest, **{kind: "0" * (64 if kind == "sha256" else 32)})
    assert "0" * 32 in str(err.value) and str(dest) in str(err.value)
    assert not dest.exists()
    assert list(dest_dir.iterdir()) == []


def test_failed_download_keeps_existing_dest(source, tmp_path):
    dest = tmp_path / "blob.bin"
    dest.write_bytes(b"old good file")
    with pytest.raises(CorruptDataError):
        download(source.as_uri(), dest, sha256="f" * 64)
    assert dest.read_bytes() == b"old good file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin", "server"]


def test_validate_hook_can_reject(source, tmp_path):
    dest = tmp_path / "cache" / "blob.bin"

    def reject(path):
        assert path.read_bytes() == PAYLOAD and path != dest
        raise CorruptDataError("nope")

    with pytest.raises(CorruptDataError, match="nope"):
        download(source.as_uri(), dest, validate=reject)
    assert list(dest.parent.iterdir()) == []


def test_missing_url_raises_data_not_found(tmp_path):
    url = (tmp_path / "does-not-exist.bin").as_uri()
    dest = tmp_path / "cache" / "x.bin"
    with pytest.raises(DataNotFoundError) as err:
        download(url, dest)
    assert url in str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    assert list(dest.parent.iterdir()) == []


def test_verify_file_detects_flipped_byte(source):
    good = sha256_of(source)
    verify_file(source, sha256=good, md5=md5_of(source))  # passes
    data = bytearray(source.read_bytes())
    data[123456] ^= 0x01
    source.write_bytes(bytes(data))
    with pytest.raises(CorruptDataError) as err:
        verify_file(source, sha256=good)
    msg = str(err.value)
    assert str(source) in msg and good in msg and sha256_of(source) in msg
    assert "Delete" in msg
