"""Build course_utils/data/fashion_mnist_subset.npz from the full Fashion-MNIST.

The subset is 10,000 train / 2,000 test images, exactly 1,000 / 200 per class,
drawn without replacement with a fixed seed, so it is the same every time.

The npz is written byte-for-byte reproducibly (fixed member order and zip
timestamps), so rerunning gives an identical file and the sha256 recorded in
course_utils/data/fashion_mnist.py stays valid. (Bytes could still differ
under a different zlib build; ``--check`` compares the arrays, which is what
matters, and reports whether the bytes match too.)

Usage:
    python scripts/make_fashion_subset.py            # (re)write the file
    python scripts/make_fashion_subset.py --check    # verify the shipped file
"""
from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # runnable without installing the package

from course_utils.data import fashion_mnist as fm  # noqa: E402

SEED = 20240601
TRAIN_PER_CLASS = 1000
TEST_PER_CLASS = 200
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # earliest date zip can store; fixed for reproducibility


def stratified_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``per_class`` examples of each class, in a shuffled order.

    - labels: (N,) int class indices.
    - Returns: (per_class * C,) int64 indices into labels.
    """
    chosen = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
              for c in range(len(fm.FASHION_MNIST_CLASSES))]
    # Shuffle so that consecutive examples are not all one class.
    return rng.permutation(np.concatenate(chosen)).astype(np.int64)


def build_subset() -> dict:
    full = fm.load_fashion_mnist("full", download=False)
    rng = np.random.default_rng(SEED)
    tr = stratified_indices(full.y_train, TRAIN_PER_CLASS, rng)
    te = stratified_indices(full.y_test, TEST_PER_CLASS, rng)
    return {  # labels as uint8 to save space; the loader widens them to int64
        "x_train": full.x_train[tr], "y_train": full.y_train[tr].astype(np.uint8),
        "x_test": full.x_test[te], "y_test": full.y_test[te].astype(np.uint8),
    }


def npz_bytes(arrays: dict) -> bytes:
    """An np.load-compatible compressed npz with no varying metadata."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, arr in arrays.items():
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, npy.getvalue(), compresslevel=9)
    return buf.getvalue()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=fm.SUBSET_PATH)
    p.add_argument("--check", action="store_true", help="compare with the existing file instead of writing")
    args = p.parse_args(argv)

    arrays = build_subset()
    data = npz_bytes(arrays)
    digest = hashlib.sha256(data).hexdigest()
    if args.check:
        with np.load(args.out, allow_pickle=False) as z:
            same = set(z.files) == set(arrays) and all(np.array_equal(z[k], v) for k, v in arrays.items())
        same_bytes = args.out.read_bytes() == data
        print(f"arrays identical: {same}; bytes identical: {same_bytes}")
        return 0 if same else 1
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data)} bytes)\nsha256 {digest}")
    if digest != fm.SUBSET_SHA256:
        print("Update SUBSET_SHA256 in course_utils/data/fashion_mnist.py to the sha256 above.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
