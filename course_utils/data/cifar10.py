"""CIFAR-10 (python version): download, verify, parse.

The tarball is read directly, without extracting anything to disk, in one
streaming pass.
"""
from __future__ import annotations

import functools
import io
import pickle
import tarfile
from pathlib import Path, PurePosixPath
from typing import Optional

import numpy as np

from .dataset import Dataset, _readonly
from .fetch import CorruptDataError, DataNotFoundError, cache_dir, download as _download, verify_file

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
TARBALL = "cifar-10-python.tar.gz"
BATCH_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"


def load_cifar10(root=None, *, download: bool = True, url: str = URL, md5: str = MD5) -> Dataset:
    """Load CIFAR-10, downloading the python tarball if needed.

    Inputs:
    - root: str or Path of the directory holding ``cifar-10-python.tar.gz``;
      default ``cache_dir()/"cifar10"``.
    - download: bool, whether to download the tarball if it is missing.
    - url: str, where to download from (any urllib scheme, incl. file://).
    - md5: str, expected md5 of the tarball (the one published upstream).

    Returns a Dataset with:
    - x_train: (50000, 3, 32, 32) uint8, channels R, G, B; y_train: (50000,) int64.
    - x_test: (10000, 3, 32, 32) uint8; y_test: (10000,) int64.
    Arrays are read-only (shared with an in-memory cache).
    """
    root = Path(root) if root is not None else cache_dir() / "cifar10"
    path = root / TARBALL
    if path.is_file():
        verify_file(path, md5=md5)
    elif not download:
        raise DataNotFoundError(_not_found_message(path, url) + "\n(download=False was given.)")
    else:
        try:
            _download(url, path, md5=md5)  # atomic: verified before it appears
        except DataNotFoundError as e:
            raise DataNotFoundError(_not_found_message(path, url) + f"\nDownloading failed: {e}") from e
    st = path.stat()
    return _load_cached(str(path), st.st_mtime_ns, st.st_size, md5.lower())


def _not_found_message(path: Path, url: str) -> str:
    return (
        f"CIFAR-10 not found: looked for {path}.\n"
        f"To get it, either:\n"
        f"  - call load_cifar10(download=True) with network access\n"
        f"  - download {url} by hand and put it at {path}\n"
        f"  - set COURSE_DATA_DIR to a directory whose cifar10/ holds {TARBALL}"
    )


@functools.lru_cache(maxsize=2)
def _load_cached(path: str, mtime_ns: int, size: int, md5: str) -> Dataset:
    # Called only after the md5 check above; the key changes if the file does.
    raw = _read_members(Path(path))
    meta = _unpickle(raw[META], META)
    names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in meta.get(b"label_names", ()))
    if len(names) != 10:
        raise CorruptDataError(f"{path}: {META} lists {len(names)} class names, expected 10.")
    train = [_parse_batch(raw[b], b, path) for b in TRAIN_BATCHES]
    x_test, y_test = _parse_batch(raw[TEST_BATCH], TEST_BATCH, path)
    return Dataset(
        x_train=_readonly(np.concatenate([x for x, _ in train])),
        y_train=_readonly(np.concatenate([y for _, y in train])),
        x_test=_readonly(x_test),
        y_test=_readonly(y_test),
        class_names=names,
        source=f"CIFAR-10 ({path})",
    )


def _check_member(m: tarfile.TarInfo, path: Path) -> None:
    p = PurePosixPath(m.name)
    if p.is_absolute() or ".." in p.parts:
        raise CorruptDataError(f"{path}: refusing archive member with unsafe path {m.name!r}.")
    if not (m.isfile() or m.isdir()):
        raise CorruptDataError(f"{path}: refusing archive member {m.name!r} (links/devices not allowed).")


def _read_members(path: Path) -> dict:
    """Bytes of every batch file, keyed by base name, from one pass over the tar."""
    wanted = {f"{BATCH_DIR}/{n}": n for n in (*TRAIN_BATCHES, TEST_BATCH, META)}
    out = {}
    try:
        # Sequential "r|gz" stream mode: one decompression pass, no seeking.
        with tarfile.open(path, mode="r|gz") as tar:
            for m in tar:
                _check_member(m, path)
                name = m.name[2:] if m.name.startswith("./") else m.name
                if name in wanted and m.isfile():
                    out[wanted[name]] = tar.extractfile(m).read()
    except (tarfile.TarError, OSError, EOFError) as e:
        raise CorruptDataError(f"{path} is not a readable .tar.gz ({e}). Delete it and download again.") from e
    missing = sorted(set(wanted.values()) - set(out))
    if missing:
        raise CorruptDataError(f"{path} lacks {', '.join(f'{BATCH_DIR}/{m}' for m in missing)}.")
    return out


class _BatchUnpickler(pickle.Unpickler):
    """Unpickler that only builds numpy arrays, not arbitrary objects."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),   # written by the real (py2) files
        ("numpy._core.multiarray", "_reconstruct"),  # written by numpy >= 2
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # py3 protocol-2 pickles spell bytes this way
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR-10 batch")
        if module == "numpy.core.multiarray":
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        return super().find_class(module, name)


def _unpickle(data: bytes, name: str) -> dict:
    # Unpickling can run code, so it happens only on bytes whose md5 matched
    # the published one; the restricted unpickler is a second line of defence.
    try:
        obj = _BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as e:
        raise CorruptDataError(f"{BATCH_DIR}/{name} could not be unpickled: {e}") from e
    if not isinstance(obj, dict):
        raise CorruptDataError(f"{BATCH_DIR}/{name} holds a {type(obj).__name__}, expected a dict.")
    return obj


def _parse_batch(data: bytes, name: str, path) -> tuple:
    """(images (n, 3, 32, 32) uint8, labels (n,) int64) from one batch file."""
    d = _unpickle(data, name)
    x = np.asarray(d.get(b"data"))
    y = np.asarray(d.get(b"labels"))
    if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3 * 32 * 32:
        raise CorruptDataError(f"{path}: {name} data is {x.shape} {x.dtype}, expected (n, 3072) uint8.")
    if y.shape != (len(x),) or (len(y) and (y.min() < 0 or y.max() > 9)):
        raise CorruptDataError(f"{path}: {name} has {y.shape} labels for {len(x)} images, or labels outside 0..9.")
    # Each row is the R plane, then G, then B, each 32x32 row-major.
    return x.reshape(-1, 3, 32, 32), y.astype(np.int64)
