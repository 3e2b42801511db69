"""Datasets: the original IDX files (MNIST, Fashion-MNIST), image sets (.npz), input
binarization, and the shipped test-set slices.

Where a dataset's IDX files come from, first match wins: ``--data-dir``, ``$HWGEN_DATA/<dataset>``
(``HWGEN_DATA`` is a root with one folder per dataset, as ``../shared/data``), the development
checkout's ``../shared/data/<dataset>``, then the Debian package folder (Fashion-MNIST:
``/usr/share/datasets/fashion-mnist``). Whatever the source, the decompressed content of the
official files is recognised by its SHA-256, so MNIST files are refused under the name
Fashion-MNIST and the other way round; files that are no official copy are used as given and
their hashes go into the model's metadata.

Image sets are ``.npz`` files with ``images`` (``(N, 28, 28)`` or ``(N, 784)`` uint8 pixels) and
``labels`` (``(N,)`` integers), optionally ``dataset`` and ``source``: what ``hwgen images`` writes
and what ships in ``models/`` as ``<dataset>_test_slice.npz``, so the demo and the regressions
run without any download.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import DataError
from .files import atomic_write

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = Path(str(resources.files("hwgen.models")))
CLASSES = 10
IMAGE_PIXELS = 28 * 28
MAX_IMAGES = 1_000_000

IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
DATASETS = {"mnist": ("mnist", None), "fashion-mnist": ("fashion-mnist", "/usr/share/datasets/fashion-mnist")}
# SHA-256 of the decompressed official IDX files (gzip headers differ between copies, content does not).
KNOWN_CONTENT = {
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7": ("mnist", "t10k-images-idx3-ubyte"),
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2": ("mnist", "t10k-labels-idx1-ubyte"),
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db": ("mnist", "train-images-idx3-ubyte"),
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5": ("mnist", "train-labels-idx1-ubyte"),
    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b": ("fashion-mnist", "t10k-images-idx3-ubyte"),
    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34": ("fashion-mnist", "t10k-labels-idx1-ubyte"),
    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888": ("fashion-mnist", "train-images-idx3-ubyte"),
    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9": ("fashion-mnist", "train-labels-idx1-ubyte"),
}


def check_dataset(dataset: str) -> str:
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
    return dataset


def shipped(name: str) -> Path:
    """A file shipped in the package's ``models`` folder (networks, model cards, image slices)."""
    return MODELS_DIR / name


def shipped_slice(dataset: str) -> Path:
    return shipped(f"{check_dataset(dataset).replace('-', '_')}_test_slice.npz")


def _read_file(path: Path) -> tuple[bytes, bytes]:
    """``(file bytes, IDX bytes)`` of an IDX file, gunzipped when it ends in .gz; one read."""
    try:
        stored = path.read_bytes()
        return stored, gzip.decompress(stored) if path.suffix == ".gz" else stored
    except (OSError, EOFError, zlib.error) as e:
        reason = "it ends early (truncated)" if isinstance(e, EOFError) else (getattr(e, "strerror", None) or str(e))
        raise DataError(f"cannot read IDX file {path}: {reason}") from None


def read_idx(path, raw: bytes | None = None) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into a numpy array, checking its header."""
    path = Path(path)
    raw = _read_file(path)[1] if raw is None else raw
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
    """The folder of ``dataset``'s IDX files when none is given (see the module docstring)."""
    sub, system = DATASETS[check_dataset(dataset)]
    candidates = []
    if os.environ.get("HWGEN_DATA"):
        root = Path(os.environ["HWGEN_DATA"])
        candidates.append(root / sub)
        if any((root / f"{SPLIT_FILES['test'][0]}{ext}").is_file() for ext in ("", ".gz")):
            candidates.append(root)         # files directly in HWGEN_DATA: checked by content when read
    candidates += [PROJECT_ROOT.parent / "shared" / "data" / sub, Path.cwd().parent / "shared" / "data" / sub]
    if system:
        candidates.append(Path(system))
    return next((c for c in candidates if c.is_dir()), None)


def _find(data_dir: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (data_dir / name).is_file():
            return data_dir / name
    raise DataError(f"{data_dir} has no {stem}[.gz]; point --data-dir (or HWGEN_DATA) at the folder "
                    f"holding the four original IDX files")


@dataclass
class Split:
    images: np.ndarray          # (B, 28, 28) or (B, 784) uint8
    labels: np.ndarray          # (B,) integers in [0, CLASSES)
    sources: dict = field(default_factory=dict)    # file name -> sha256 (or a description)
    dataset: str | None = None
    official: bool = True       # the files are an official copy of ``dataset``


def check_split(split: Split, where) -> Split:
    """Refuse image sets a network cannot use: wrong shapes or types, labels out of range."""
    images, labels = np.asarray(split.images), np.asarray(split.labels)
    if images.ndim not in (2, 3) or images.dtype != np.uint8 or \
            int(np.prod(images.shape[1:])) != IMAGE_PIXELS:
        raise DataError(f"{where}: images must be uint8 pixels of shape (N, 28, 28) or (N, 784), "
                        f"not {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(images):
        raise DataError(f"{where}: labels must be one integer per image ({len(images)}), not {labels.dtype} "
                        f"{labels.shape}")
    if len(images) == 0:
        raise DataError(f"{where} holds no images")
    if labels.min() < 0 or labels.max() >= CLASSES:
        raise DataError(f"{where}: labels must lie in [0, {CLASSES - 1}], found {int(labels.min())}..{int(labels.max())}")
    return split


def load_split(split: str, data_dir=None, dataset: str = "mnist") -> Split:
    """Load the ``train`` or ``test`` split of an IDX dataset, refusing another dataset's files."""
    if split not in SPLIT_FILES:
        raise DataError(f"split must be train or test, not {split!r}")
    check_dataset(dataset)
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir(dataset)
    if data_dir is None or not data_dir.is_dir():
        raise DataError(f"no {dataset} data folder (looked at --data-dir, $HWGEN_DATA/{DATASETS[dataset][0]}, "
                        f"../shared/data/{DATASETS[dataset][0]}); pass --data-dir DIR holding the original IDX files")
    arrays, sources, official = [], {}, True
    for stem in SPLIT_FILES[split]:
        path = _find(data_dir, stem)
        stored, raw = _read_file(path)
        known = KNOWN_CONTENT.get(hashlib.sha256(raw).hexdigest())
        if known is not None and known[0] != dataset:
            raise DataError(f"{path} is the {known[0]} file {known[1]}, not {dataset}'s: point --data-dir at the "
                            f"{dataset} files (HWGEN_DATA is a root with one folder per dataset, "
                            f"$HWGEN_DATA/{DATASETS[dataset][0]})")
        official &= known is not None
        arrays.append(read_idx(path, raw))
        sources[path.name] = hashlib.sha256(stored).hexdigest()
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{data_dir}: {split} images {images.shape} and labels {labels.shape} do not pair up")
    return check_split(Split(images, labels, sources, dataset, official), f"{data_dir} ({split})")


def binarize(images: np.ndarray, threshold: int) -> np.ndarray:
    """Pixels above ``threshold`` are +1 (bit 1), the rest -1 (bit 0): ``(B, H*W)`` uint8 bits."""
    images = np.asarray(images)
    return (images.reshape(len(images), -1) > threshold).astype(np.uint8)


def load_images(path, dataset: str | None = None) -> Split:
    """Read an image set (.npz with ``images`` and ``labels``; see the module docstring).

    Sizes are checked against the archive's directory before anything is decompressed.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"image set {path} does not exist")
    if path.stat().st_size == 0:
        raise DataError(f"image set {path} is empty")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path} is not an image set (.npz with 'images' and 'labels'); write one with "
                        f"`hwgen images --dataset DATASET -o FILE.npz`")
    try:
        with np.load(path, allow_pickle=False) as z:
            sizes = {info.filename: info.file_size for info in z.zip.infolist()}
            for key, limit in (("images", MAX_IMAGES * IMAGE_PIXELS), ("labels", MAX_IMAGES * 8)):
                if f"{key}.npy" not in sizes:
                    raise DataError(f"{path} has no {key!r} array; an image set holds 'images' and 'labels' "
                                    f"(write one with `hwgen images`)")
                if sizes[f"{key}.npy"] > limit + 4096:
                    raise DataError(f"{path}: {key!r} is larger than {MAX_IMAGES} images")
            images, labels = z["images"], z["labels"]
            meta_dataset = str(z["dataset"]) if "dataset.npy" in sizes else None
            source = str(z["source"]) if "source.npy" in sizes else str(path)
    except DataError:
        raise
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{path} is corrupt or not an image set: {type(e).__name__}: {e}") from None
    if meta_dataset is None and path.name.endswith("_test_slice.npz"):
        meta_dataset = path.name[:-len("_test_slice.npz")].replace("_", "-")
    return check_split(Split(images, labels, {"images": source}, dataset or meta_dataset, False), path)


def load_fixture(path=None, dataset: str = "mnist") -> Split:
    """The shipped test-set slice of ``dataset`` (or the image set at ``path``)."""
    return load_images(path if path is not None else shipped_slice(dataset))


def write_images(split: Split, path, count: int | None = None, offset: int = 0) -> Path:
    """Save images ``offset .. offset+count`` of ``split`` as an image set (atomically)."""
    end = len(split.labels) if count is None else offset + count
    if offset < 0 or end > len(split.labels) or end <= offset:
        raise DataError(f"images {offset}..{end - 1} asked for (--offset {offset}, --count {end - offset}), the "
                        f"split holds {len(split.labels)}")
    what = f"images {offset}..{end - 1} of {sorted(split.sources.items())}"
    arrays = {"images": split.images[offset:end], "labels": split.labels[offset:end].astype(np.uint8),
              "source": np.array(what), "dataset": np.array(split.dataset or "")}
    return atomic_write(Path(path), lambda f: np.savez_compressed(f, **arrays))


def test_images(dataset: str, data_dir=None, count: int | None = None) -> tuple[Split, str]:
    """Test images of ``dataset``: its whole test set when a data folder is given or found, else
    the shipped slice. Returns the split (first ``count`` images) and a description for logs."""
    check_dataset(dataset)
    folder = Path(data_dir) if data_dir is not None else default_data_dir(dataset)
    if folder is not None:
        split = load_split("test", folder, dataset)
        where = f"{dataset} test set ({folder})"
    elif shipped_slice(dataset).is_file():
        split = load_fixture(dataset=dataset)
        where = f"shipped {len(split.labels)}-image slice of the {dataset} test set"
    else:
        raise DataError(f"no {dataset} test images: pass --data-dir with its IDX files, or set HWGEN_DATA")
    if count is not None:
        if count > len(split.labels):
            raise DataError(f"{count} images asked for, the {where} holds {len(split.labels)}")
        split = Split(split.images[:count], split.labels[:count], split.sources, split.dataset, split.official)
    return split, where
