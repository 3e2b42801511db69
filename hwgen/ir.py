"""The network IR: the one contract between training export, golden model, RTL generator,
testbenches and flow.

A network is a list of binarized fully-connected layers. Bits follow one convention everywhere:
bit 1 means +1, bit 0 means -1 (weights, inputs and activations). For a layer with ``I`` inputs
and ``O`` neurons:

- ``weights`` is the packed bit matrix, shape ``(O, ceil(I/64))``, dtype uint64, little-endian
  within a word (input ``i`` is bit ``i % 64`` of word ``i // 64``); padding bits are zero.
- ``thresholds`` are integer popcount thresholds, shape ``(O,)``: the activation is
  ``popcount(XNOR(x, w)) >= T`` (bit 1, i.e. +1), which is ``sign(popcount - T)`` with sign(0)=+1.
- ``output`` is ``"sign"`` for hidden layers or ``"popcount"`` for an output layer whose raw
  popcounts are read (and arg-maxed).

Files are ``.npz`` (numpy, no pickle) with a JSON metadata entry, so they load without code
execution and fail loudly when corrupt.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelFileError
from .files import atomic_write

IR_FORMAT = "hwgen-ir"
IR_VERSION = 1
WORD = 64
MAX_HEADER_BYTES = 1 << 20
MAX_LAYER_WEIGHTS = 1 << 26     # 64 M weights (8 MB packed): far above any layer hwgen can map


def words_for(bits: int) -> int:
    return (bits + WORD - 1) // WORD


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a {0,1} array along its last axis into uint64 words (bit i -> word i//64, bit i%64)."""
    bits = np.asarray(bits)
    if bits.ndim == 0:
        raise ValueError("pack_bits needs at least one axis")
    length = bits.shape[-1]
    padded = np.zeros(bits.shape[:-1] + (words_for(length) * WORD,), dtype=np.uint8)
    padded[..., :length] = bits != 0
    as_bytes = np.packbits(padded, axis=-1, bitorder="little")
    return np.ascontiguousarray(as_bytes).view("<u8").astype(np.uint64)


def unpack_bits(words: np.ndarray, length: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: uint64 words -> uint8 {0,1} array with ``length`` bits."""
    words = np.ascontiguousarray(np.asarray(words, dtype=np.uint64)).astype("<u8")
    as_bytes = words.view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1, bitorder="little")[..., :length]


def _integers(what: str, values, dtype) -> np.ndarray:
    """``values`` as ``dtype`` without silent truncation or wrap-around: integer arrays must fit,
    float arrays must hold whole numbers (so ``np.zeros(8)`` is fine and 3.5 is refused)."""
    values = np.asarray(values)
    info = np.iinfo(dtype)
    if values.dtype.kind == "b":
        values = values.astype(np.uint8)
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or np.any(values != np.floor(values)):
            raise ModelFileError(f"{what} must be integers, not {values.dtype} values such as "
                                 f"{values[np.logical_or(~np.isfinite(values), values != np.floor(values))].flat[0]!r}")
    elif values.dtype.kind not in "iu":
        raise ModelFileError(f"{what} must be integers, not {values.dtype}")
    if values.size:
        lo, hi = values.min(), values.max()
        # compare as Python ints: uint64 values above 2**63 must not wrap negative
        if int(lo) < info.min or int(hi) > info.max:
            raise ModelFileError(f"{what} hold {int(lo) if int(lo) < info.min else int(hi)}, outside "
                                 f"[{info.min}, {info.max}]")
    return values.astype(dtype)


@dataclass
class Layer:
    """One binarized fully-connected layer (see module docstring for the bit conventions)."""

    n_inputs: int
    n_outputs: int
    weights: np.ndarray
    thresholds: np.ndarray
    output: str = "sign"
    name: str = ""

    def __post_init__(self):
        where = f"layer {self.name!r}" if self.name else "layer"
        self.weights = _integers(f"{where}: packed weights", self.weights, np.uint64)
        self.thresholds = _integers(f"{where}: thresholds", self.thresholds, np.int64)
        self.validate()

    @classmethod
    def from_bits(cls, weight_bits, thresholds, output="sign", name=""):
        """Build a layer from an unpacked ``(O, I)`` {0,1} weight matrix."""
        weight_bits = np.asarray(weight_bits)
        if weight_bits.ndim != 2:
            raise ValueError(f"weight bits must be a 2-D (outputs, inputs) array, not shape {weight_bits.shape}")
        o, i = weight_bits.shape
        return cls(n_inputs=i, n_outputs=o, weights=pack_bits(weight_bits),
                   thresholds=thresholds, output=output, name=name)

    def weight_bits(self) -> np.ndarray:
        return unpack_bits(self.weights, self.n_inputs)

    def validate(self):
        where = f"layer {self.name!r}" if self.name else "layer"
        if not (isinstance(self.n_inputs, (int, np.integer)) and self.n_inputs > 0):
            raise ModelFileError(f"{where}: n_inputs must be a positive integer, not {self.n_inputs!r}")
        if not (isinstance(self.n_outputs, (int, np.integer)) and self.n_outputs > 0):
            raise ModelFileError(f"{where}: n_outputs must be a positive integer, not {self.n_outputs!r}")
        want = (self.n_outputs, words_for(self.n_inputs))
        if self.weights.shape != want:
            raise ModelFileError(f"{where}: packed weights have shape {self.weights.shape}, expected {want} "
                                 f"for {self.n_outputs} outputs x {self.n_inputs} inputs")
        if self.thresholds.shape != (self.n_outputs,):
            raise ModelFileError(f"{where}: thresholds have shape {self.thresholds.shape}, "
                                 f"expected ({self.n_outputs},)")
        if self.output not in ("sign", "popcount"):
            raise ModelFileError(f"{where}: output must be 'sign' or 'popcount', not {self.output!r}")
        if self.thresholds.size and (self.thresholds.min() < 0 or self.thresholds.max() > self.n_inputs + 1):
            bad = int(np.flatnonzero((self.thresholds < 0) | (self.thresholds > self.n_inputs + 1))[0])
            raise ModelFileError(f"{where}: thresholds must lie in [0, n_inputs + 1] = [0, {self.n_inputs + 1}]; "
                                 f"neuron {bad} has {int(self.thresholds[bad])}")
        spare = words_for(self.n_inputs) * WORD - self.n_inputs
        if spare and np.any(self.weights[:, -1] >> np.uint64(WORD - spare)):
            raise ModelFileError(f"{where}: padding bits beyond input {self.n_inputs} are not zero")


def dataset_of(metadata: dict) -> str:
    """The dataset a network was trained on, from its metadata (``mnist`` if it names none)."""
    return str((metadata or {}).get("dataset") or "mnist")


@dataclass
class Network:
    """An ordered list of layers plus free-form metadata (dataset, accuracy, seed, ...)."""

    layers: list[Layer]
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        self.validate()

    @property
    def dataset(self) -> str:
        return dataset_of(self.metadata)

    @property
    def input_threshold(self) -> int:
        """Pixels above it are +1 (the binarization the network was trained with; 127 if unnamed)."""
        return int(self.metadata.get("input_threshold", 127))

    def validate(self):
        if not self.layers:
            raise ModelFileError("network has no layers")
        for k, (a, b) in enumerate(zip(self.layers, self.layers[1:])):
            if a.n_outputs != b.n_inputs:
                raise ModelFileError(f"layer {k} has {a.n_outputs} outputs but layer {k + 1} "
                                     f"expects {b.n_inputs} inputs")
            if a.output != "sign":
                raise ModelFileError(f"layer {k} is not the last layer but its output is {a.output!r}")

    def save(self, path):
        """Write the network to ``path`` (.npz) atomically."""
        atomic_write(Path(path), self.save_to)

    def save_to(self, f) -> None:
        """Write the network as .npz into the binary file object ``f``."""
        arrays = {}
        header = {"format": IR_FORMAT, "version": IR_VERSION, "metadata": self.metadata, "layers": []}
        for k, layer in enumerate(self.layers):
            header["layers"].append({"name": layer.name, "n_inputs": int(layer.n_inputs),
                                     "n_outputs": int(layer.n_outputs), "output": layer.output})
            arrays[f"w{k}"] = layer.weights
            arrays[f"t{k}"] = layer.thresholds
        arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
        # as numpy.savez_compressed, but with a fixed member date so equal networks give equal bytes
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with zf.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)

    @classmethod
    def load(cls, path) -> "Network":
        """Read and validate an IR file. Sizes are checked against the header before any array is
        read, so a corrupt or hostile file cannot make hwgen allocate without bound."""
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"model file {path} does not exist")
        try:
            if path.stat().st_size == 0:
                raise ModelFileError(f"model file {path} is empty")
            if not zipfile.is_zipfile(path):
                raise ModelFileError(f"{path} is corrupt or not an hwgen network file: not an .npz archive "
                                     f"(a plain .npy or another format renamed?)")
            with np.load(path, allow_pickle=False) as z:
                members = {info.filename: info.file_size for info in z.zip.infolist()}
                if members.get("header.npy", MAX_HEADER_BYTES + 1) > MAX_HEADER_BYTES:
                    raise ModelFileError(f"{path} has no hwgen header (or one over {MAX_HEADER_BYTES} bytes)")
                header = json.loads(bytes(z["header"]).decode())
                if not isinstance(header, dict):
                    raise ModelFileError(f"{path}: its header is not a JSON object")
                if header.get("format") != IR_FORMAT:
                    raise ModelFileError(f"{path} is not an hwgen network file (format={header.get('format')!r})")
                if header.get("version") != IR_VERSION:
                    raise ModelFileError(f"{path} has IR version {header.get('version')!r}; "
                                         f"this hwgen reads version {IR_VERSION}")
                specs = header.get("layers")
                if not isinstance(specs, list) or not all(isinstance(d, dict) for d in specs):
                    raise ModelFileError(f"{path}: its header has no list of layers")
                if not isinstance(header.get("metadata", {}), dict):
                    raise ModelFileError(f"{path}: its metadata is not a JSON object")
                layers = [cls._load_layer(z, members, k, d, path) for k, d in enumerate(specs)]
        except ModelFileError:
            raise
        except (OSError, EOFError, KeyError, ValueError, TypeError, zipfile.BadZipFile, json.JSONDecodeError,
                UnicodeDecodeError) as e:
            raise ModelFileError(f"{path} is corrupt or not an hwgen network file: {type(e).__name__}: {e}") from None
        return cls(layers=layers, metadata=header.get("metadata", {}))

    @staticmethod
    def _load_layer(z, members: dict, k: int, d: dict, path) -> Layer:
        where = f"{path}: layer {k}"
        n_in, n_out = d.get("n_inputs"), d.get("n_outputs")
        for name, value in (("n_inputs", n_in), ("n_outputs", n_out)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ModelFileError(f"{where}: {name} must be a positive integer, not {value!r}")
        if n_in * n_out > MAX_LAYER_WEIGHTS:
            raise ModelFileError(f"{where} declares {n_out} x {n_in} weights, over hwgen's limit of "
                                 f"{MAX_LAYER_WEIGHTS} per layer")
        expect = {f"w{k}.npy": n_out * words_for(n_in) * 8, f"t{k}.npy": n_out * 8}
        for member, size in expect.items():
            if member not in members:
                raise ModelFileError(f"{where}: the file has no array {member[:-4]!r}")
            if members[member] > size + 4096:             # + the .npy header
                raise ModelFileError(f"{where}: array {member[:-4]!r} is larger than its declared shape")
        weights, thresholds = z[f"w{k}"], z[f"t{k}"]
        if weights.dtype != np.dtype("<u8"):
            raise ModelFileError(f"{where}: packed weights are {weights.dtype}, an hwgen IR stores uint64 words")
        if thresholds.dtype.kind not in "iu":
            raise ModelFileError(f"{where}: thresholds are {thresholds.dtype}, an hwgen IR stores integers")
        return Layer(n_inputs=n_in, n_outputs=n_out, weights=weights, thresholds=thresholds,
                     output=d.get("output"), name=str(d.get("name", "")))
