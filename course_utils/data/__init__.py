"""Datasets for the course: download, verification, loading, preprocessing."""
from .cifar10 import CIFAR10_CLASSES, load_cifar10
from .dataset import Dataset
from .fashion_mnist import FASHION_MNIST_CLASSES, load_fashion_mnist, parse_idx
from .fetch import (
    CorruptDataError,
    DataNotFoundError,
    cache_dir,
    download,
    md5_of,
    sha256_of,
    verify_file,
)
from .transforms import (
    fit_normalizer,
    flatten_images,
    iterate_minibatches,
    normalize,
    one_hot,
    scale_pixels,
    train_val_split,
)

__all__ = [
    "CIFAR10_CLASSES", "CorruptDataError", "DataNotFoundError", "Dataset",
    "FASHION_MNIST_CLASSES", "cache_dir", "download", "fit_normalizer",
    "flatten_images", "iterate_minibatches", "load_cifar10", "load_fashion_mnist",
    "md5_of", "normalize", "one_hot", "parse_idx", "scale_pixels", "sha256_of",
    "train_val_split", "verify_file",
]
