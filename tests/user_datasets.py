"""Small user datasets of non-MNIST shapes, written as a user would (tests/test_datasets.py,
tests/test_dataset_pipeline.py): scikit-learn's 8x8 digits as IDX files with a dataset.json,
synthesised 16x16 bar images of 4 classes as train.npz/test.npz (named by their folder), and
CIFAR-shaped 32x32x3 random images as IDX4 files. Seeds are fixed and printed."""

import json
from pathlib import Path

import numpy as np

DIGITS_TRAIN = 1437             # the fixed 1,437/360 split of the issue
SHAPES_SEED = 16
CIFAR_SEED = 32


def write_idx(path, array) -> Path:
    """An uncompressed IDX file of uint8 ``array`` (any number of dimensions)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    Path(path).write_bytes(header + array.tobytes())
    return Path(path)


def digits(folder) -> Path:
    """scikit-learn's digits (1797 images, 8x8, pixels 0..16, 10 classes) as IDX files, first 1437
    for training, with a dataset.json naming them (no input threshold: half the largest pixel, 8)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images, labels = d.images.astype(np.uint8), d.target.astype(np.uint8)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "train-images-idx3-ubyte", images[:DIGITS_TRAIN])
    write_idx(folder / "train-labels-idx1-ubyte", labels[:DIGITS_TRAIN])
    write_idx(folder / "t10k-images-idx3-ubyte", images[DIGITS_TRAIN:])
    write_idx(folder / "t10k-labels-idx1-ubyte", labels[DIGITS_TRAIN:])
    (folder / "dataset.json").write_text(json.dumps({"name": "digits", "shape": [8, 8], "classes": 10}))
    return folder


def shapes(folder, train: int = 800, test: int = 200, seed: int = SHAPES_SEED) -> Path:
    """16x16 images of 4 classes (a horizontal, vertical, diagonal or anti-diagonal bar at a random
    offset on noise), as train.npz and test.npz; no dataset.json (the folder names the dataset)."""
    print(f"shapes dataset seed {seed}")
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    line = np.arange(2, 14)
    for split, n in (("train", train), ("test", test)):
        labels = rng.integers(0, 4, n)
        images = rng.integers(0, 100, (n, 16, 16))
        for k, c in enumerate(labels):
            o = int(rng.integers(2, 14))
            if c == 0:
                images[k, o, 2:14] = 255
            elif c == 1:
                images[k, 2:14, o] = 255
            elif c == 2:
                images[k, line, line] = 255
            else:
                images[k, line, line[::-1]] = 255
        np.savez(folder / f"{split}.npz", images=images.astype(np.uint8), labels=labels.astype(np.uint8))
    return folder


def cifar_shaped(folder, train: int = 200, test: int = 40, seed: int = CIFAR_SEED) -> Path:
    """Random 32x32x3 images with random labels of 10 classes, as IDX4 (images) and IDX1 files."""
    print(f"cifar-shaped dataset seed {seed}")
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", train), ("t10k", test)):
        write_idx(folder / f"{prefix}-images-idx4-ubyte", rng.integers(0, 256, (n, 32, 32, 3)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n))
    return folder
