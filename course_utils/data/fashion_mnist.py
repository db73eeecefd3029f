"""Fashion-MNIST: the small shipped subset, or the full 60k/10k set.

The full set is found in the user's cache or in the Debian package
``dataset-fashion-mnist``, and downloaded into the cache otherwise.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import zlib
from pathlib import Path
from typing import Optional

import numpy as np

from .dataset import Dataset, _readonly
from .fetch import CorruptDataError, DataNotFoundError, cache_dir, download, verify_file

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
URL_BASE = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

# sha256 and length of the DECOMPRESSED files. Debian re-gzipped the data, so
# the .gz digests differ between sources while the contents do not.
FILES = {
    "train-images-idx3-ubyte": ("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47040016),
    "train-labels-idx1-ubyte": ("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60008),
    "t10k-images-idx3-ubyte": ("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7840016),
    "t10k-labels-idx1-ubyte": ("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10008),
}

SUBSET_PATH = Path(__file__).with_name("fashion_mnist_subset.npz")
# Regenerate with scripts/make_fashion_subset.py and update this digest.
SUBSET_SHA256 = "cea61db7d5a1ff280f161b762871b77a86c789e1396149436402230f4f7fc876"

SIZES = ("subset", "full")


def parse_idx(data: bytes, *, source: str = "IDX data") -> np.ndarray:
    """Parse an uncompressed IDX file (the MNIST format) holding uint8 values.

    Inputs:
    - data: bytes of the whole file: magic 0x00 0x00 0x08 ndim, then ndim
      big-endian uint32 sizes, then prod(sizes) uint8 values.
    - source: str naming the data in error messages (e.g. its path).

    Returns:
    - array of shape sizes, dtype uint8, read-only (a view of ``data``).

    Raises CorruptDataError on a bad header or a payload of the wrong length.
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise CorruptDataError(f"{source} is not an IDX file (bad magic number {data[:4]!r}).")
    if data[2] != 0x08:
        raise CorruptDataError(
            f"{source} has IDX dtype code 0x{data[2]:02x}; only 0x08 (uint8) is supported."
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise CorruptDataError(f"{source}: IDX header declares {ndim} dims but the file is too short.")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64))
    found = len(data) - header
    if found != expected:
        raise CorruptDataError(
            f"{source}: IDX header says shape {shape}, i.e. {expected} payload bytes, "
            f"but found {found} (truncated or corrupt file)."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_fashion_mnist(size: Optional[str] = None, *, download: bool = True) -> Dataset:
    """Load Fashion-MNIST.

    Inputs:
    - size: "subset" (shipped: 10,000 train / 2,000 test, 1,000 / 200 per
      class), "full" (60,000 / 10,000), or None to use the current run
      profile's choice (``course_utils.profile.current_profile().dataset``).
    - download: bool; for "full", whether to download missing files into
      ``cache_dir()/"fashion-mnist"``.

    Returns a Dataset with:
    - x_train: (N, 28, 28) uint8 in [0, 255]; y_train: (N,) int64 in [0, 10).
    - x_test: (M, 28, 28) uint8; y_test: (M,) int64.
    Arrays are read-only because they are cached in memory and shared between
    calls; take ``.astype(...)`` or ``.copy()`` to modify them.
    """
    if size is None:
        from course_utils.profile import current_profile  # lazy: avoid import cycles

        size = current_profile().dataset
    if size == "subset":
        return _load_subset()
    if size == "full":
        return _load_full(download)
    raise ValueError(f"size must be one of {SIZES} or None (use the run profile); got {size!r}.")


# ---------------------------------------------------------------- subset


def _stat_key(path: Path):
    st = path.stat()
    return (str(path), st.st_mtime_ns, st.st_size)


def _load_subset() -> Dataset:
    if not SUBSET_PATH.exists():
        raise DataNotFoundError(
            f"The shipped subset {SUBSET_PATH} is missing; the package is incomplete. "
            f"Reinstall it, or regenerate the file with scripts/make_fashion_subset.py."
        )
    return _load_subset_cached(_stat_key(SUBSET_PATH), SUBSET_SHA256)


@functools.lru_cache(maxsize=2)
def _load_subset_cached(key, sha256: str) -> Dataset:
    path = Path(key[0])
    try:
        verify_file(path, sha256=sha256)
    except CorruptDataError as e:
        raise CorruptDataError(
            f"{e} The shipped subset is damaged: reinstall the package or regenerate it "
            f"with scripts/make_fashion_subset.py."
        ) from None
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    return _make_dataset(arrays, source=f"Fashion-MNIST subset ({path})")


def _make_dataset(arrays, source: str) -> Dataset:
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
            raise CorruptDataError(
                f"{source}: {split} arrays have shapes {x.shape} {x.dtype} / {y.shape}; "
                f"expected (N, 28, 28) uint8 / (N,)."
            )
        if len(y) and (y.min() < 0 or y.max() >= len(FASHION_MNIST_CLASSES)):
            raise CorruptDataError(f"{source}: {split} labels outside [0, 10).")
    return Dataset(
        x_train=_readonly(np.ascontiguousarray(arrays["x_train"])),
        y_train=_readonly(arrays["y_train"].astype(np.int64)),
        x_test=_readonly(np.ascontiguousarray(arrays["x_test"])),
        y_test=_readonly(arrays["y_test"].astype(np.int64)),
        class_names=FASHION_MNIST_CLASSES,
        source=source,
    )


# ---------------------------------------------------------------- full set


def _search_dirs():
    # Read at call time so tests (and users) can redirect them.
    return [cache_dir() / "fashion-mnist", Path(DEBIAN_DIR)]


def _find(name: str) -> Optional[Path]:
    for d in _search_dirs():
        for candidate in (d / f"{name}.gz", d / name):
            if candidate.is_file():
                return candidate
    return None


def _read_verified(path: Path, name: str, *, gz: Optional[bool] = None, label=None) -> bytes:
    """Decompressed contents of ``path``, checked against FILES[name].

    gz: whether the file is gzipped (default: judged by its .gz suffix).
    label: how to name the file in errors (default: its path).
    """
    sha256, length = FILES[name]
    label = label or str(path)
    hint = _fix_hint(path) if label == str(path) else "Nothing was saved; try again."
    gz = path.suffix == ".gz" if gz is None else gz
    try:
        raw = path.read_bytes()
        data = gzip.decompress(raw) if gz else raw
    except (OSError, EOFError, zlib.error) as e:
        raise CorruptDataError(f"{label} is not a readable gzip file ({e}). {hint}") from e
    found = hashlib.sha256(data).hexdigest()
    if len(data) != length or found != sha256:
        raise CorruptDataError(
            f"{label} is corrupt: expected {length} bytes of {name} with sha256 {sha256}, "
            f"found {len(data)} bytes with sha256 {found}. {hint}"
        )
    return data


def _fix_hint(path: Path) -> str:
    if Path(DEBIAN_DIR) in path.parents:
        return "Reinstall it: `sudo apt-get install --reinstall dataset-fashion-mnist`."
    return "Delete it and run again to re-download it."


def _not_found_message(missing) -> str:
    places = "\n".join(f"  - {d}" for d in _search_dirs())
    cache = cache_dir() / "fashion-mnist"
    return (
        f"Fashion-MNIST file(s) {', '.join(missing)} not found. Looked in:\n{places}\n"
        f"To get the data, either:\n"
        f"  - sudo apt-get install dataset-fashion-mnist\n"
        f"  - download the four .gz files from {URL_BASE} into {cache}\n"
        f"  - set COURSE_DATA_DIR to a directory whose fashion-mnist/ holds them\n"
        f"or use load_fashion_mnist('subset') for the shipped 10k/2k subset."
    )


def _load_full(allow_download: bool) -> Dataset:
    found = {name: _find(name) for name in FILES}
    missing = [n for n, p in found.items() if p is None]
    if missing and not allow_download:
        raise DataNotFoundError(_not_found_message(missing) + "\n(download=False was given.)")
    for name in missing:
        dest = cache_dir() / "fashion-mnist" / f"{name}.gz"
        url = URL_BASE + f"{name}.gz"
        # The digests are of decompressed contents, so check via validate=,
        # which runs before the file is moved into place.
        check = functools.partial(_read_verified, name=name, gz=True, label=f"Downloaded {url}")
        try:
            download(url, dest, validate=check)
        except DataNotFoundError as e:
            raise DataNotFoundError(
                _not_found_message(missing) + f"\nDownloading failed: {e}"
            ) from e
        found[name] = dest
    key = tuple((*_stat_key(found[n]), *FILES[n]) for n in FILES)
    return _load_full_cached(key)


@functools.lru_cache(maxsize=2)
def _load_full_cached(key) -> Dataset:
    # Keyed on path, mtime, size and expected digest: a replaced file is re-read.
    arrays = {}
    for (path, *_), name in zip(key, FILES):
        path = Path(path)
        arrays[name] = parse_idx(_read_verified(path, name), source=str(path))
    dirs = sorted({str(Path(k[0]).parent) for k in key})
    return _make_dataset(
        {
            "x_train": arrays["train-images-idx3-ubyte"],
            "y_train": arrays["train-labels-idx1-ubyte"],
            "x_test": arrays["t10k-images-idx3-ubyte"],
            "y_test": arrays["t10k-labels-idx1-ubyte"],
        },
        source=f"Fashion-MNIST full ({', '.join(dirs)})",
    )
