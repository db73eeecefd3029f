"""Tests for course_utils.data.cifar10 using a tiny tarball in the real layout."""
import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest

from course_utils.data.cifar10 import CIFAR10_CLASSES, TARBALL, load_cifar10
from course_utils.data.fetch import CorruptDataError, DataNotFoundError

N_TRAIN, N_TEST = 3, 4  # images per training batch / in the test batch
PIXEL = (1, 5, 7)       # (image, y, x) of the marked pixel in data_batch_1; y != x catches transposes
RGB = (200, 100, 50)


def py2_style_pickle(obj):
    """Protocol-2 pickle naming numpy.core.multiarray like the real (py2) files."""
    data = pickle.dumps(obj, protocol=2)
    return data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def batch_dicts(seed=0):
    rng = np.random.default_rng(seed)
    batches = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        n = N_TEST if name == "test_batch" else N_TRAIN
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        batches[name] = {
            b"batch_label": f"batch {i}".encode(),
            b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": data,
            b"filenames": [f"img_{i}_{j}.png".encode() for j in range(n)],
        }
    n, y, x = PIXEL
    for c, v in enumerate(RGB):  # R plane, then G, then B, each 32x32 row-major
        batches["data_batch_1"][b"data"][n, c * 1024 + y * 32 + x] = v
    return batches


def make_tarball(path, batches, extra=()):
    meta = {b"label_names": [c.encode() for c in CIFAR10_CLASSES], b"num_cases_per_batch": N_TRAIN,
            b"num_vis": 3072}
    members = {f"cifar-10-batches-py/{k}": py2_style_pickle(v) for k, v in batches.items()}
    members["cifar-10-batches-py/batches.meta"] = py2_style_pickle(meta)
    members.update(extra)
    with tarfile.open(path, "w:gz") as tar:
        d = tarfile.TarInfo("cifar-10-batches-py")
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))


@pytest.fixture
def served(tmp_path):
    batches = batch_dicts()
    src = tmp_path / "server" / TARBALL
    src.parent.mkdir()
    md5 = make_tarball(src, batches)
    return batches, src, md5


def test_download_and_parse(served, tmp_path):
    batches, src, md5 = served
    root = tmp_path / "root"
    ds = load_cifar10(root, url=src.as_uri(), md5=md5)
    assert (root / TARBALL).read_bytes() == src.read_bytes()
    assert ds.x_train.shape == (5 * N_TRAIN, 3, 32, 32) and ds.x_train.dtype == np.uint8
    assert ds.x_test.shape == (N_TEST, 3, 32, 32)
    assert ds.y_train.dtype == np.int64
    n, y, x = PIXEL
    np.testing.assert_array_equal(ds.x_train[n, :, y, x], RGB)
    expected = np.concatenate([batches[f"data_batch_{k}"][b"data"] for k in range(1, 6)])
    np.testing.assert_array_equal(ds.x_train.reshape(len(expected), -1), expected)
    np.testing.assert_array_equal(ds.y_train, sum((batches[f"data_batch_{k}"][b"labels"]
                                                   for k in range(1, 6)), []))
    np.testing.assert_array_equal(ds.y_test, batches["test_batch"][b"labels"])
    assert ds.class_names == CIFAR10_CLASSES
    assert str(root / TARBALL) in ds.source

    again = load_cifar10(root, download=False, md5=md5)  # present: verified, no download
    np.testing.assert_array_equal(again.x_test, ds.x_test)


def test_corrupted_tarball_rejected(served, tmp_path):
    _, src, md5 = served
    root = tmp_path / "root"
    root.mkdir()
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF
    (root / TARBALL).write_bytes(bytes(data))
    with pytest.raises(CorruptDataError) as err:
        load_cifar10(root, download=False, md5=md5)
    assert str(root / TARBALL) in str(err.value) and md5 in str(err.value)


def test_wrong_download_not_kept(served, tmp_path):
    _, src, _ = served
    root = tmp_path / "root"
    with pytest.raises(CorruptDataError):
        load_cifar10(root, url=src.as_uri(), md5="0" * 32)
    assert list(root.iterdir()) == []


def test_path_traversal_member_refused(tmp_path):
    path = tmp_path / "root" / TARBALL
    path.parent.mkdir()
    md5 = make_tarball(path, batch_dicts(), extra={"../evil": b"pwned"})
    with pytest.raises(CorruptDataError, match="unsafe"):
        load_cifar10(path.parent, download=False, md5=md5)
    assert not (tmp_path / "evil").exists()


def test_malicious_pickle_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    batches = batch_dicts()
    path = tmp_path / "root" / TARBALL
    path.parent.mkdir()
    md5 = make_tarball(path, batches,
                       extra={"cifar-10-batches-py/test_batch": pickle.dumps({b"data": Evil()}, protocol=2)})
    with pytest.raises(CorruptDataError, match="not allowed"):
        load_cifar10(path.parent, download=False, md5=md5)


def test_bad_shapes_rejected(tmp_path):
    batches = batch_dicts()
    batches["data_batch_3"][b"data"] = batches["data_batch_3"][b"data"][:, :3000]
    path = tmp_path / "root" / TARBALL
    path.parent.mkdir()
    md5 = make_tarball(path, batches)
    with pytest.raises(CorruptDataError, match="data_batch_3"):
        load_cifar10(path.parent, download=False, md5=md5)


def test_missing_without_download(tmp_path):
    with pytest.raises(DataNotFoundError) as err:
        load_cifar10(tmp_path / "root", download=False)
    assert str(tmp_path / "root" / TARBALL) in str(err.value)


def test_missing_and_download_fails(tmp_path):
    url = (tmp_path / "nope.tar.gz").as_uri()
    with pytest.raises(DataNotFoundError) as err:
        load_cifar10(tmp_path / "root", url=url)
    assert str(tmp_path / "root" / TARBALL) in str(err.value) and url in str(err.value)
