"""Datasets: IDX files (MNIST, Fashion-MNIST, or any user dataset), image sets (.npz), input
binarization, and the shipped test-set slices.

A dataset has a name, an image shape (``H x W`` greyscale, ``H x W x C`` colour, or a 1-D signal
of length ``L``), a class count (>= 2) and an input threshold (pixels above it are +1):
:class:`DatasetInfo`. MNIST and Fashion-MNIST are built in (28x28, 10 classes). A user dataset is
a folder holding its train and test splits, as IDX files (``train-images-idx3-ubyte[.gz]`` and
``train-labels-idx1-ubyte[.gz]``; the test split ``t10k-`` or ``test-``; ``idx2`` signals, ``idx4``
colour images) or image sets (``train.npz``, ``test.npz``), and optionally a ``dataset.json``:
``{"name": "digits", "shape": [8, 8], "classes": 10, "input_threshold": 7}``. Without it (or for
what it leaves out) the name is the folder's, the shape the files', the classes the largest label
+ 1, and the input threshold half the largest training pixel (127 for 0..255 pixels). The IR of a
network trained on it records all four (:meth:`DatasetInfo.metadata`), and every command takes
them from there.

Where a dataset's IDX files come from, first match wins: ``--data-dir``, ``$HWGEN_DATA/<dataset>``
(``HWGEN_DATA`` is a root with one folder per dataset, as ``../shared/data``), the development
checkout's ``../shared/data/<dataset>``, then the Debian package folder (Fashion-MNIST:
``/usr/share/datasets/fashion-mnist``). Whatever the source, the decompressed content of the
official files is recognised by its SHA-256, so MNIST files are refused under the name
Fashion-MNIST and the other way round; files that are no official copy are used as given and
their hashes go into the model's metadata.

Image sets are ``.npz`` files with ``images`` (``(N, *shape)`` uint8 pixels, or ``(N, pixels)`` flat)
and ``labels`` (``(N,)`` integers), optionally ``dataset``, ``source`` and ``sha256`` (a JSON object of
the files the images came from, file name -> SHA-256): what ``hwgen images`` writes
and what ships in ``models/`` as ``<dataset>_test_slice.npz``, so the demo and the regressions
run without any download.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
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
CLASSES = 10                    # MNIST and Fashion-MNIST (a user dataset has its own: DatasetInfo)
IMAGE_PIXELS = 28 * 28
MAX_IMAGES = 1_000_000
MAX_PIXELS = 1 << 20            # per image (a 1024x1024 greyscale image, or 512x512x4)
MAX_CLASSES = 1 << 16
DATASET_JSON = "dataset.json"
NAME_RULE = "1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"

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
    """A dataset name: a built-in one (:data:`DATASETS`) or a user's (:data:`NAME_RULE`)."""
    if not isinstance(dataset, str) or not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", dataset):
        raise DataError(f"dataset name {dataset!r} is not {NAME_RULE}; built in: {', '.join(DATASETS)}")
    return dataset


def shape_text(shape) -> str:
    return "x".join(str(int(v)) for v in shape)


def canonical_shape(shape) -> tuple:
    """An image shape as the IR records it: a trailing channel of 1 is dropped (28x28x1 is 28x28)."""
    shape = tuple(int(v) for v in shape)
    return shape[:-1] if len(shape) == 3 and shape[-1] == 1 else shape


@dataclass(frozen=True)
class DatasetInfo:
    """What a network needs to know of its dataset: name, image shape (``(H, W)``, ``(H, W, C)`` or
    ``(L,)``), class count and input threshold (pixels above it are +1)."""

    name: str
    shape: tuple
    classes: int
    input_threshold: int = 127

    def __post_init__(self):
        check_dataset(self.name)
        shape = canonical_shape(self.shape)
        if not 1 <= len(shape) <= 3 or min(shape) < 1 or int(np.prod(shape)) > MAX_PIXELS:
            raise DataError(f"dataset {self.name}: the shape must be L, HxW or HxWxC of at most {MAX_PIXELS} "
                            f"pixels, not {shape_text(self.shape)}")
        object.__setattr__(self, "shape", shape)
        if isinstance(self.classes, bool) or not isinstance(self.classes, (int, np.integer)) or \
                not 2 <= self.classes <= MAX_CLASSES:
            raise DataError(f"dataset {self.name}: classes must be a whole number in [2, {MAX_CLASSES}], "
                            f"not {self.classes!r}")
        if isinstance(self.input_threshold, bool) or not isinstance(self.input_threshold, (int, np.integer)) or \
                not 0 <= self.input_threshold <= 255:
            raise DataError(f"dataset {self.name}: input_threshold must be a pixel value in [0, 255], not "
                            f"{self.input_threshold!r}")
        object.__setattr__(self, "classes", int(self.classes))
        object.__setattr__(self, "input_threshold", int(self.input_threshold))

    @property
    def pixels(self) -> int:
        return int(np.prod(self.shape))

    @property
    def conv_shape(self) -> tuple:
        """The input feature map of a conv net: ``(H, W, C)`` (conv2d) or ``(L, 1)`` (conv1d)."""
        return (*self.shape, 1) if len(self.shape) != 3 else self.shape

    def describe(self) -> str:
        """``digits (8x8, 10 classes)``."""
        return f"{self.name} ({shape_text(self.shape)}, {self.classes} classes)"

    def metadata(self) -> dict:
        """The IR metadata entries of this dataset (:class:`hwgen.ir.Network`)."""
        return {"dataset": self.name, "input_shape": list(self.shape), "classes": self.classes,
                "input_threshold": self.input_threshold}


# The built-in datasets' input thresholds, the defaults of every command that binarizes their pixels
# (``hwgen train``, the studies; a network's IR records its own): MNIST's strokes are near-white, so
# 127; Fashion-MNIST's garments are mid-grey, and 50 keeps their texture (the shipped Fashion conv
# network and the TNN study use it; the shipped fashion_mnist_bnn, trained at 127, records 127).
BUILTIN_THRESHOLDS = {"mnist": 127, "fashion-mnist": 50}
BUILTIN = {name: DatasetInfo(name, (28, 28), CLASSES, BUILTIN_THRESHOLDS[name]) for name in DATASETS}


def read_dataset_json(folder) -> dict:
    """The checked entries of ``folder``'s ``dataset.json`` (empty if there is none)."""
    path = Path(folder) / DATASET_JSON
    if not path.is_file():
        return {}
    try:
        if path.stat().st_size > 65536:
            raise DataError(f"{path} is over 64 KiB; a dataset.json holds name, shape, classes, input_threshold")
        d = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{path} is not readable JSON: {e}") from None
    known = ("name", "shape", "classes", "input_threshold", "description")
    if not isinstance(d, dict) or set(d) - set(known):
        extra = sorted(set(d) - set(known)) if isinstance(d, dict) else "not an object"
        raise DataError(f"{path}: a dataset.json is an object of {', '.join(known)}; found {extra}")
    if "name" in d:
        check_dataset(d["name"])
    if "shape" in d and (not isinstance(d["shape"], list) or not d["shape"] or
                         not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in d["shape"])):
        raise DataError(f"{path}: shape must be a list of positive whole numbers ([H, W], [H, W, C] or [L]), "
                        f"not {d['shape']!r}")
    for key, lo, hi in (("classes", 2, MAX_CLASSES), ("input_threshold", 0, 255)):
        if key in d and (isinstance(d[key], bool) or not isinstance(d[key], int) or not lo <= d[key] <= hi):
            raise DataError(f"{path}: {key} must be a whole number in [{lo}, {hi}], not {d[key]!r}")
    return d


def folder_dataset_name(folder) -> str:
    """The name of the dataset in ``folder``: its dataset.json's, else the built-in dataset its
    IDX images are an official copy of, else the folder's own name."""
    folder = Path(folder)
    name = read_dataset_json(folder).get("name")
    if name is None and folder.is_dir():     # an official copy of a built-in dataset is named by its content
        for path in sorted(folder.iterdir()):
            if re.fullmatch(r"(?:t10k|train)-images[-.]idx3-ubyte(?:\.gz)?", path.name) and path.is_file():
                known = KNOWN_CONTENT.get(hashlib.sha256(_read_file(path)[1]).hexdigest())
                if known is not None:
                    return known[0]
    if name is None:
        name = folder.resolve().name.lower()
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", name):
            raise DataError(f"the folder name {folder.resolve().name!r} is no dataset name ({NAME_RULE}): give the "
                            f"name (hwgen train NAME --data-dir ..., or 'name' in {folder / DATASET_JSON})")
    return name


def dataset_info(dataset: str, data_dir=None, splits=()) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``dataset``: built in, or from ``data_dir``'s dataset.json and the
    ``splits`` (:class:`Split`) for what it leaves out (see the module docstring)."""
    check_dataset(dataset)
    d = read_dataset_json(data_dir) if data_dir is not None else {}
    if dataset in BUILTIN and not d:
        return BUILTIN[dataset]
    splits = [s for s in splits if s is not None]
    base = BUILTIN.get(dataset)
    shape = d.get("shape") or (base.shape if base else (splits[0].shape if splits else None))
    if shape is None:
        raise DataError(f"dataset {dataset}: no shape (no images and no 'shape' in {DATASET_JSON})")
    classes = d.get("classes") or (base.classes if base else
                                   max(2, max((int(s.labels.max()) + 1 for s in splits), default=0)))
    if "input_threshold" in d:
        threshold = d["input_threshold"]
    elif base is not None:
        threshold = base.input_threshold
    elif splits:
        threshold = int(splits[0].images.max()) // 2        # half the largest pixel: 127 for 0..255
    else:
        threshold = 127
    return DatasetInfo(dataset, tuple(shape), classes, threshold)


def shipped(name: str) -> Path:
    """A file shipped in the package's ``models`` folder (networks, model cards, image slices)."""
    return MODELS_DIR / name


def shipped_slice(dataset: str) -> Path:
    """The shipped test slice of a built-in dataset (a path that does not exist for others)."""
    return shipped(f"{check_dataset(dataset).replace('-', '_').replace('.', '_')}_test_slice.npz")


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
    sub, system = DATASETS.get(check_dataset(dataset), (dataset, None))
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


@dataclass
class Split:
    images: np.ndarray          # (B, *shape) uint8 pixels, or (B, pixels) flat
    labels: np.ndarray          # (B,) integers >= 0
    sources: dict = field(default_factory=dict)    # file name -> sha256 (or a description)
    dataset: str | None = None
    official: bool = True       # the files are an official copy of ``dataset``

    @property
    def shape(self) -> tuple:
        """One image's shape (:func:`canonical_shape`)."""
        return canonical_shape(np.asarray(self.images).shape[1:])

    @property
    def sha256(self) -> dict:
        """The files the images came from that are named by their SHA-256 (name -> hex digest)."""
        return {k: v for k, v in self.sources.items() if isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v)}

    def head(self, count: int) -> "Split":
        return Split(self.images[:count], self.labels[:count], self.sources, self.dataset, self.official)


def check_split(split: Split, where, classes: int | None = None) -> Split:
    """Refuse image sets a network cannot use: wrong shapes or types, labels out of range."""
    images, labels = np.asarray(split.images), np.asarray(split.labels)
    if images.ndim not in (2, 3, 4) or images.dtype != np.uint8 or \
            not 1 <= int(np.prod(images.shape[1:])) <= MAX_PIXELS:
        raise DataError(f"{where}: images must be uint8 pixels of shape (N, L), (N, H, W) or (N, H, W, C) with at "
                        f"most {MAX_PIXELS} pixels each, not {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(images):
        raise DataError(f"{where}: labels must be one integer per image ({len(images)}), not {labels.dtype} "
                        f"{labels.shape}")
    if len(images) == 0:
        raise DataError(f"{where} holds no images")
    top = MAX_CLASSES if classes is None else classes
    if labels.min() < 0 or labels.max() >= top:
        raise DataError(f"{where}: labels must lie in [0, {top - 1}], found {int(labels.min())}..{int(labels.max())}")
    return split


SPLIT_PREFIXES = {"train": ("train",), "test": ("t10k", "test")}


def _find_split_files(data_dir: Path, split: str) -> tuple:
    """``(images, labels)`` IDX paths, or ``(npz path,)``, of ``split`` in a user dataset's folder."""
    prefixes = "|".join(SPLIT_PREFIXES[split])
    found = {}
    for what in ("images", "labels"):
        pattern = re.compile(rf"(?:{prefixes})-{what}[-.]idx\d-ubyte(?:\.gz)?")
        found[what] = sorted(p for p in data_dir.iterdir() if pattern.fullmatch(p.name) and p.is_file())
    npz = data_dir / f"{split}.npz"
    if found["images"] or found["labels"]:
        for what, paths in found.items():
            if len(paths) != 1:
                names = ", ".join(p.name for p in paths) or f"e.g. {SPLIT_PREFIXES[split][0]}-{what}-idx3-ubyte"
                raise DataError(f"{data_dir} has {len(paths)} {split} {what} IDX files ({names}); it needs exactly one")
        return found["images"][0], found["labels"][0]
    if npz.is_file():
        return (npz,)
    raise DataError(f"{data_dir} has no {split} split: neither {SPLIT_PREFIXES[split][0]}-images-idx3-ubyte[.gz] "
                    f"with {SPLIT_PREFIXES[split][0]}-labels-idx1-ubyte[.gz] nor {split}.npz")


def load_split(split: str, data_dir=None, dataset: str | None = "mnist") -> Split:
    """Load the ``train`` or ``test`` split of a dataset's folder, refusing another dataset's files.

    ``dataset`` None takes the name from the folder (:func:`folder_dataset_name`). A built-in
    dataset's files must be 28x28 (its official files are recognised by content); a user
    dataset's shape and classes are checked against its dataset.json."""
    if split not in SPLIT_FILES:
        raise DataError(f"split must be train or test, not {split!r}")
    if dataset is None:
        if data_dir is None:
            raise DataError("no dataset named and no --data-dir: name the dataset or give its folder")
        dataset = folder_dataset_name(data_dir)
    check_dataset(dataset)
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir(dataset)
    if data_dir is None or not data_dir.is_dir():
        sub = DATASETS[dataset][0] if dataset in DATASETS else dataset
        raise DataError(f"no {dataset} data folder (looked at --data-dir, $HWGEN_DATA/{sub}, "
                        f"../shared/data/{sub}); pass --data-dir DIR holding its IDX files (or train.npz, test.npz)")
    declared = read_dataset_json(data_dir)
    if declared.get("name", dataset) != dataset:
        raise DataError(f"{data_dir / DATASET_JSON} names the dataset {declared['name']!r}, not {dataset!r}: "
                        f"these are not {dataset}'s files")
    arrays, sources, official = [], {}, True
    paths = list(_find_split_files(data_dir, split))
    if len(paths) == 1:                 # an image set (.npz)
        loaded = load_images(paths[0], dataset)
        if loaded.dataset != dataset:
            raise DataError(f"{paths[0]} holds {loaded.dataset} images, not {dataset}'s")
        images, labels, official = loaded.images, loaded.labels, False
        sources = {paths[0].name: hashlib.sha256(paths[0].read_bytes()).hexdigest()}
    else:
        for path in paths:
            stored, raw = _read_file(path)
            known = KNOWN_CONTENT.get(hashlib.sha256(raw).hexdigest())
            if known is not None and known[0] != dataset:
                raise DataError(f"{path} is the {known[0]} file {known[1]}, not {dataset}'s: point --data-dir at "
                                f"the {dataset} files (HWGEN_DATA is a root with one folder per dataset, "
                                f"$HWGEN_DATA/<dataset>)")
            official &= known is not None
            arrays.append(read_idx(path, raw))
            sources[path.name] = hashlib.sha256(stored).hexdigest()
        images, labels = arrays
    if images.ndim not in (2, 3, 4) or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{data_dir}: {split} images {images.shape} and labels {labels.shape} do not pair up")
    out = Split(images, labels, sources, dataset, official)
    if images.ndim == 2 and images.dtype == np.uint8 and "shape" in declared:     # flat npz images
        out.images = images.reshape(len(images), *declared["shape"]) if \
            int(np.prod(declared["shape"])) == images.shape[1] else images
    check_split(out, f"{data_dir} ({split})", CLASSES if dataset in BUILTIN else declared.get("classes"))
    expect = BUILTIN.get(dataset)
    if expect is None and "shape" in declared:
        expect = DatasetInfo(dataset, tuple(declared["shape"]), declared.get("classes", 2))
    if expect is not None and out.shape != expect.shape:
        raise DataError(f"{data_dir}: the {split} images are {shape_text(out.shape)}, {dataset} images are "
                        f"{shape_text(expect.shape)}" + (f" (its {DATASET_JSON})" if dataset not in BUILTIN else
                                                          "; a dataset of another shape needs its own name "
                                                          f"(hwgen train NAME, or 'name' in {DATASET_JSON})"))
    if dataset in BUILTIN and int(out.labels.max()) >= CLASSES:
        raise DataError(f"{data_dir}: labels go up to {int(out.labels.max())}, {dataset} has {CLASSES} classes")
    return out


def binarize(images: np.ndarray, threshold: int) -> np.ndarray:
    """Pixels above ``threshold`` are +1 (bit 1), the rest -1 (bit 0): ``(B, pixels)`` uint8 bits in
    (row, column, channel) order, the IR's feature-map order."""
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
            for key, limit in (("images", MAX_IMAGES * MAX_PIXELS), ("labels", MAX_IMAGES * 8)):
                if f"{key}.npy" not in sizes:
                    raise DataError(f"{path} has no {key!r} array; an image set holds 'images' and 'labels' "
                                    f"(write one with `hwgen images`)")
                if sizes[f"{key}.npy"] > limit + 4096:
                    raise DataError(f"{path}: {key!r} is larger than {MAX_IMAGES} images")
            images, labels = z["images"], z["labels"]
            meta_dataset = (str(z["dataset"]) or None) if "dataset.npy" in sizes else None
            source = str(z["source"]) if "source.npy" in sizes else str(path)
            hashes = json.loads(str(z["sha256"])) if "sha256.npy" in sizes else {}
    except DataError:
        raise
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{path} is corrupt or not an image set: {type(e).__name__}: {e}") from None
    if not isinstance(hashes, dict):
        raise DataError(f"{path}: its 'sha256' entry is not a JSON object of file name -> SHA-256")
    if meta_dataset is None and path.name.endswith("_test_slice.npz"):
        meta_dataset = path.name[:-len("_test_slice.npz")].replace("_", "-")
    if dataset is not None and meta_dataset is not None and meta_dataset != dataset:
        raise DataError(f"{path} holds {meta_dataset} images, not {dataset}'s")
    # a shipped slice of a built-in dataset is a copy of its official test files
    official = path.parent == MODELS_DIR and path.name.endswith("_test_slice.npz")
    sources = {"images": source, **{str(k): str(v) for k, v in hashes.items()}}
    return check_split(Split(images, labels, sources, dataset or meta_dataset, official), path)


def load_fixture(path=None, dataset: str = "mnist") -> Split:
    """The shipped test-set slice of ``dataset`` (or the image set at ``path``)."""
    if path is None and not shipped_slice(dataset).is_file():
        raise DataError(f"hwgen ships no {dataset} test images: give them (--images FILE.npz or --data-dir DIR)")
    return load_images(path if path is not None else shipped_slice(dataset))


def write_images(split: Split, path, count: int | None = None, offset: int = 0) -> Path:
    """Save images ``offset .. offset+count`` of ``split`` as an image set (atomically)."""
    end = len(split.labels) if count is None else offset + count
    if offset < 0 or end > len(split.labels) or end <= offset:
        raise DataError(f"images {offset}..{end - 1} asked for (--offset {offset}, --count {end - offset}), the "
                        f"split holds {len(split.labels)}")
    what = f"images {offset}..{end - 1} of {sorted(split.sources.items())}"
    labels = split.labels[offset:end]
    arrays = {"images": split.images[offset:end],
              "labels": labels.astype(np.uint8 if int(labels.max()) < 256 else np.int32),
              "source": np.array(what), "dataset": np.array(split.dataset or ""),
              "sha256": np.array(json.dumps(split.sha256, sort_keys=True))}
    return atomic_write(Path(path), lambda f: np.savez_compressed(f, **arrays))


def test_images(dataset: str, data_dir=None, count: int | None = None, cap: int | None = None,
                log=None) -> tuple[Split, str]:
    """Test images of ``dataset``: its whole test set when a data folder is given or found, else
    the shipped slice (built-in datasets). Returns the split (its first ``count`` images; without
    ``count`` all of them, or the first ``cap`` when there are more, said through ``log``) and a
    description for logs."""
    check_dataset(dataset)
    folder = Path(data_dir) if data_dir is not None else default_data_dir(dataset)
    if folder is not None:
        split = load_split("test", folder, dataset)
        where = f"{dataset} test set ({folder})"
    elif shipped_slice(dataset).is_file():
        split = load_fixture(dataset=dataset)
        where = f"shipped {len(split.labels)}-image slice of the {dataset} test set"
    else:
        raise DataError(f"no {dataset} test images: pass --data-dir with its files, or set HWGEN_DATA "
                        f"(a root with one folder per dataset)")
    return take(split, where, count, cap, log), where


def take(split: Split, where: str, count: int | None = None, cap: int | None = None, log=None) -> Split:
    """The first ``count`` images of ``split`` (an error if it holds fewer); without ``count``, all
    of them, at most ``cap`` (the cap said through ``log``)."""
    available = len(split.labels)
    if count is not None:
        if count > available:
            raise DataError(f"{count} images asked for, the {where} holds {available}")
        return split.head(count)
    if cap is not None and available > cap:
        if log is not None:
            log(f"using the first {cap} of the {available} images (the default cap; --count to change)")
        return split.head(cap)
    return split


# -- guards: a network runs only on images of its own dataset and shape ------------------------------
def check_images_fit(network, label: str, split: Split, where: str) -> None:
    """Refuse to run ``network`` (named ``label``) on the images of ``split`` (from ``where``) when
    they belong to another dataset or have another shape or more classes: one line naming both."""
    info = network.dataset_info
    mine = info.describe()
    if split.dataset is not None and split.dataset != info.name:
        raise DataError(f"network {label} was trained on {mine}; the images of the {where} are "
                        f"{split.dataset} ({shape_text(split.shape)}): a network runs on its own dataset only")
    shape = split.shape
    flat = len(shape) == 1 and shape[0] == info.pixels      # an image set of flat images of the right size
    if shape != info.shape and not flat:
        raise DataError(f"network {label} takes {mine} images; the {where} holds {shape_text(shape)} images")
    top = int(np.max(split.labels))
    if top >= info.classes:
        raise DataError(f"network {label} has {info.classes} classes ({mine}); the {where} has labels up to {top}")


def _official(network) -> bool:
    md = network.metadata or {}
    return bool(md.get("data_official", md.get("dataset", "mnist") in DATASETS))


def evaluation_note(network, label: str, split: Split, where: str) -> str | None:
    """A log line when ``network`` is evaluated on other files than it was trained and tested on
    (by SHA-256; None when they are the same, or both are official copies of a built-in dataset)."""
    trained = network.trained_on
    if not trained or (split.official and _official(network)):
        return None
    got = split.sha256
    if got and set(got.values()) <= set(trained.values()):
        return None
    def files(d):
        return ", ".join(f"{k} (sha256 {v[:16]}...)" for k, v in sorted(d.items()))
    what = files(got) if got else "files without recorded hashes"
    return (f"note: {label} was trained and tested on {files(trained)}; it is evaluated on the {where}: {what}")


def network_images(network, label: str, images=None, count: int | None = None, cap: int | None = None,
                   log=None) -> tuple[Split, str, str | None]:
    """The images to run ``network`` (named ``label``) on: ``images``, an image set (.npz) or a
    dataset folder (its test split); by default the shipped test slice of a built-in dataset, or
    the test split of a user dataset's folder ($HWGEN_DATA/<name>, ../shared/data/<name>). Refused
    unless they are of the network's dataset and shape (:func:`check_images_fit`). Returns
    ``(split of count images, or all of them at most cap, description, evaluation note or None)``."""
    info = network.dataset_info
    if images is None:
        if shipped_slice(info.name).is_file():
            split = load_fixture(dataset=info.name)
            where = f"the shipped {info.name} test slice"
        else:
            folder = default_data_dir(info.name)
            if folder is None:
                raise DataError(f"hwgen ships no {info.name} test images: give them (--images FILE.npz or "
                                f"--data-dir DIR of the dataset)")
            split = load_split("test", folder, info.name)
            where = f"{info.name} test set ({folder})"
    elif Path(images).is_dir():
        declared = read_dataset_json(images).get("name")
        split = load_split("test", images, declared or info.name)
        where = f"{declared or Path(images).resolve().name} test set ({images})"
    else:
        split = load_images(images)
        where = str(images)
    check_images_fit(network, label, split, where)
    note = evaluation_note(network, label, split, where)
    return take(split, where, count, cap, log), where, note
