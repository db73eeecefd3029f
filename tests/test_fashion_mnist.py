"""Tests for course_utils.data.fashion_mnist (subset, full set, cache, download)."""
import gzip
import hashlib
import shutil
import struct

import numpy as np
import pytest

from course_utils.data import fashion_mnist as fm
from course_utils.data.fetch import CorruptDataError, DataNotFoundError

REAL_DEBIAN_DIR = fm.DEBIAN_DIR
needs_debian = pytest.mark.skipif(
    not REAL_DEBIAN_DIR.is_dir(),
    reason=f"{REAL_DEBIAN_DIR} missing (install Debian's dataset-fashion-mnist to run this test)",
)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Point the cache at a temporary dir so no test touches the real one."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("COURSE_DATA_DIR", str(cache))
    return cache


def idx_bytes(arr):
    """Uncompressed IDX encoding of a uint8 array."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    return bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def synthetic(n_train=20, n_test=10, seed=0):
    """Four decompressed IDX files of a tiny fake Fashion-MNIST."""
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (n_train, 28, 28))),
        "train-labels-idx1-ubyte": idx_bytes(np.arange(n_train) % 10),
        "t10k-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (n_test, 28, 28))),
        "t10k-labels-idx1-ubyte": idx_bytes(np.arange(n_test)[::-1] % 10),
    }


def use_synthetic(monkeypatch, files):
    """Make the module expect ``files`` (name -> decompressed bytes)."""
    table = {n: (hashlib.sha256(b).hexdigest(), len(b)) for n, b in files.items()}
    monkeypatch.setattr(fm, "FILES", table)


def write_gz(directory, files):
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No Debian dir and an unreachable download URL."""
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setattr(fm, "URL_BASE", (tmp_path / "no-server").as_uri() + "/")


# ------------------------------------------------------------------ parse_idx


def test_parse_idx_roundtrip_and_truncation():
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(fm.parse_idx(idx_bytes(arr)), arr)
    with pytest.raises(CorruptDataError) as err:
        fm.parse_idx(idx_bytes(arr)[:-5])
    assert "24" in str(err.value) and "19" in str(err.value)  # expected vs found bytes
    with pytest.raises(CorruptDataError, match="magic"):
        fm.parse_idx(b"\x01\x00\x08\x01" + bytes(8))
    with pytest.raises(CorruptDataError, match="0x0d"):
        fm.parse_idx(b"\x00\x00\x0d\x01\x00\x00\x00\x01" + bytes(4))


# ------------------------------------------------------------------ subset


def test_subset_loads():
    ds = fm.load_fashion_mnist("subset")
    assert ds.x_train.shape == (10000, 28, 28) and ds.x_train.dtype == np.uint8
    assert ds.x_test.shape == (2000, 28, 28) and ds.x_test.dtype == np.uint8
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(ds.y_train), [1000] * 10)
    np.testing.assert_array_equal(np.bincount(ds.y_test), [200] * 10)
    assert ds.x_train.min() == 0 and ds.x_train.max() == 255
    assert "subset" in ds.source
    assert ds.class_names == fm.FASHION_MNIST_CLASSES and len(ds.class_names) == 10
    with pytest.raises(ValueError):  # read-only: the in-memory cache can't be corrupted
        ds.x_train[0, 0, 0] = 1


def test_size_none_follows_profile(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "grading")
    assert "subset" in fm.load_fashion_mnist().source


def test_bad_size():
    with pytest.raises(ValueError, match="subset"):
        fm.load_fashion_mnist("medium")


def test_corrupt_subset_detected(tmp_path, monkeypatch):
    bad = tmp_path / "subset.npz"
    data = bytearray(fm.SUBSET_PATH.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    monkeypatch.setattr(fm, "SUBSET_PATH", bad)
    with pytest.raises(CorruptDataError) as err:
        fm.load_fashion_mnist("subset")
    assert str(bad) in str(err.value)


# ------------------------------------------------------------------ full set


@needs_debian
def test_full_from_debian(isolated_cache):
    ds = fm.load_fashion_mnist("full", download=False)
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(ds.y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(ds.y_test), [1000] * 10)
    assert str(REAL_DEBIAN_DIR) in ds.source
    assert not isolated_cache.exists()  # nothing was downloaded or written
    assert fm.load_fashion_mnist("full", download=False).x_train is ds.x_train  # cached


@needs_debian
def test_corrupt_real_file_in_cache_not_skipped(isolated_cache):
    """A flipped byte in a cached copy raises even though Debian's copy is fine."""
    name = "t10k-labels-idx1-ubyte.gz"
    bad = isolated_cache / "fashion-mnist" / name
    bad.parent.mkdir(parents=True)
    data = bytearray((REAL_DEBIAN_DIR / name).read_bytes())
    data[len(data) // 2] ^= 0x10
    bad.write_bytes(bytes(data))
    with pytest.raises(CorruptDataError) as err:
        fm.load_fashion_mnist("full", download=False)
    assert str(bad) in str(err.value)


@pytest.mark.parametrize("damage", ["wrong-content", "truncated-gz", "truncated-idx"])
def test_corrupt_cache_file_rejected(tmp_path, monkeypatch, isolated_cache, damage):
    files = synthetic()
    use_synthetic(monkeypatch, files)
    write_gz(tmp_path / "debian", files)  # a good copy exists further down the search order
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "debian")
    cache = isolated_cache / "fashion-mnist"
    name = "train-images-idx3-ubyte"
    good = files[name]
    if damage == "wrong-content":
        blob = gzip.compress(good[:-1] + bytes([good[-1] ^ 1]))
    elif damage == "truncated-gz":
        blob = gzip.compress(good)[:-20]
    else:
        blob = gzip.compress(good[:-100])
    cache.mkdir(parents=True)
    (cache / f"{name}.gz").write_bytes(blob)
    with pytest.raises(CorruptDataError) as err:
        fm.load_fashion_mnist("full")
    assert str(cache / f"{name}.gz") in str(err.value)


def test_missing_everywhere_lists_places(nowhere, tmp_path, isolated_cache):
    with pytest.raises(DataNotFoundError) as err:
        fm.load_fashion_mnist("full")
    msg = str(err.value)
    assert str(isolated_cache / "fashion-mnist") in msg
    assert str(tmp_path / "no-debian") in msg
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "COURSE_DATA_DIR" in msg and "no-server" in msg
    assert not list((isolated_cache / "fashion-mnist").iterdir())  # no partial files


def test_missing_without_download(nowhere):
    with pytest.raises(DataNotFoundError, match="download=False"):
        fm.load_fashion_mnist("full", download=False)


def test_download_into_cache(tmp_path, monkeypatch, isolated_cache):
    files = synthetic(n_train=30, n_test=12)
    use_synthetic(monkeypatch, files)
    server = tmp_path / "server"
    write_gz(server, files)
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setattr(fm, "URL_BASE", server.as_uri() + "/")

    ds = fm.load_fashion_mnist("full")
    cache = isolated_cache / "fashion-mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{n}.gz" for n in files)
    assert ds.x_train.shape == (30, 28, 28) and ds.x_test.shape == (12, 28, 28)
    np.testing.assert_array_equal(ds.y_train, np.arange(30) % 10)
    np.testing.assert_array_equal(ds.x_test, fm.parse_idx(files["t10k-images-idx3-ubyte"]))
    assert str(cache) in ds.source

    shutil.rmtree(server)  # now served from the cache alone
    again = fm.load_fashion_mnist("full", download=False)
    np.testing.assert_array_equal(again.x_train, ds.x_train)


def test_download_of_wrong_file_is_not_cached(tmp_path, monkeypatch, isolated_cache):
    files = synthetic()
    use_synthetic(monkeypatch, files)
    served = dict(files, **{"train-labels-idx1-ubyte": idx_bytes(np.zeros(20))})
    server = tmp_path / "server"
    write_gz(server, served)
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setattr(fm, "URL_BASE", server.as_uri() + "/")
    with pytest.raises(CorruptDataError):
        fm.load_fashion_mnist("full")
    assert "train-labels-idx1-ubyte.gz" not in {p.name for p in (isolated_cache / "fashion-mnist").iterdir()}
    assert not [p for p in (isolated_cache / "fashion-mnist").iterdir() if p.name.endswith(".part")]
