"""Datasets: the original IDX files (MNIST, Fashion-MNIST), input binarization, and the small
test-set fixture shipped in ``models/`` so the demo runs without any download.

Where data comes from, first match wins: an explicit ``--data-dir``, the ``HWGEN_DATA``
environment variable, then the development checkout's ``../shared/data/<dataset>``, then the
Debian package folder (Fashion-MNIST: ``/usr/share/datasets/fashion-mnist``).
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_ROOT / "models"
FIXTURE = MODELS_DIR / "mnist_test_slice.npz"

IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
DATASETS = {"mnist": ("mnist", None), "fashion-mnist": ("fashion-mnist", "/usr/share/datasets/fashion-mnist")}


def read_idx(path) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into a numpy array, checking its header."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataError(f"cannot read IDX file {path}: {e}") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated inside its header")
    shape = tuple(int.from_bytes(raw[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim))
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    want = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != want:
        raise DataError(f"{path} holds {len(raw) - header} data bytes, its header {shape} needs {want}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def default_data_dir(dataset: str = "mnist") -> Path | None:
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
    if os.environ.get("HWGEN_DATA"):
        return Path(os.environ["HWGEN_DATA"])
    sub, system = DATASETS[dataset]
    for candidate in (PROJECT_ROOT.parent / "shared" / "data" / sub, Path.cwd().parent / "shared" / "data" / sub,
                      Path(system) if system else None):
        if candidate is not None and candidate.is_dir():
            return candidate
    return None


def _find(data_dir: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (data_dir / name).is_file():
            return data_dir / name
    raise DataError(f"{data_dir} has no {stem}[.gz]; point --data-dir (or HWGEN_DATA) at the folder "
                    f"holding the four original IDX files")


@dataclass
class Split:
    images: np.ndarray          # (B, 28, 28) uint8
    labels: np.ndarray          # (B,) uint8
    sources: dict               # file name -> sha256


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_split(split: str, data_dir=None, dataset: str = "mnist") -> Split:
    """Load the ``train`` or ``test`` split of an IDX dataset."""
    if split not in SPLIT_FILES:
        raise DataError(f"split must be train or test, not {split!r}")
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir(dataset)
    if data_dir is None or not data_dir.is_dir():
        raise DataError(f"no {dataset} data folder (looked at --data-dir, HWGEN_DATA and ../shared/data/{dataset}); "
                        f"pass --data-dir DIR holding the original IDX files")
    img_path, lab_path = (_find(data_dir, stem) for stem in SPLIT_FILES[split])
    images, labels = read_idx(img_path), read_idx(lab_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{img_path.name} {images.shape} and {lab_path.name} {labels.shape} do not pair up")
    return Split(images, labels, {p.name: sha256(p) for p in (img_path, lab_path)})


def binarize(images: np.ndarray, threshold: int) -> np.ndarray:
    """Pixels above ``threshold`` are +1 (bit 1), the rest -1 (bit 0): ``(B, H*W)`` uint8 bits."""
    images = np.asarray(images)
    return (images.reshape(len(images), -1) > threshold).astype(np.uint8)


def load_fixture(path=FIXTURE) -> Split:
    """The shipped slice of the MNIST test set (raw pixels and labels)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"fixture {path} is missing (it ships in models/; regenerate with `hwgen fixture`)")
    try:
        with np.load(path, allow_pickle=False) as z:
            return Split(z["images"], z["labels"], {"fixture": str(z["source"])})
    except (KeyError, ValueError, OSError) as e:
        raise DataError(f"fixture {path} is corrupt: {e}") from e


def write_fixture(split: Split, count: int, path=FIXTURE) -> Path:
    """Save the first ``count`` images of ``split`` as the demo/test fixture (atomically)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, images=split.images[:count], labels=split.labels[:count],
                            source=np.array(f"first {count} of {sorted(split.sources.items())}"))
    tmp.replace(path)
    return path
