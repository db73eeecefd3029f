"""The container every loader returns."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)  # eq on arrays is ambiguous; compare fields yourself
class Dataset:
    """A train/test split of an image classification dataset.

    Arrays returned by the loaders are read-only (they are shared with an
    in-memory cache); ``x.astype(np.float32)`` or ``x.copy()`` gives a
    writable array.

    - x_train: (N, H, W) uint8 for grayscale, (N, 3, H, W) uint8 for colour.
    - y_train: (N,) int64 class indices in [0, len(class_names)).
    - x_test, y_test: the same for the M test examples.
    - class_names: tuple of str, class_names[k] names label k.
    - source: str, human-readable origin (file or directory it came from).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple
    source: str

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __repr__(self) -> str:
        # The default repr would print whole arrays into a notebook.
        return (
            f"Dataset(x_train={self.x_train.shape} {self.x_train.dtype}, "
            f"x_test={self.x_test.shape} {self.x_test.dtype}, "
            f"classes={len(self.class_names)}, source={self.source!r})"
        )


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a
